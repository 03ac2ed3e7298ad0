"""Accounts, not names: a random, never reused id per user (what tokens name as `sub`), and
usernames in their canonical form (accounts.canonical_username), so that one person has one name.

Tokens issued before this revision name a username: they are refused after it (log in again).
Two existing names that become the same (`Alice` and `alice`) stop the migration with a message
naming them: rename or remove one (`users` commands of the version before), then migrate again.

Revision ID: 0004
Revises: 0003
"""

import secrets
import unicodedata

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


class UsernameClash(SystemExit):
    """One line for `migrate` to print, instead of a traceback."""


def canonical(username: str) -> str:
    # A copy, as of this revision: a migration must not change when the code does later.
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", username).casefold())


def upgrade() -> None:
    users = sa.table("users", sa.column("id", sa.Integer), sa.column("username", sa.String))
    connection = op.get_bind()
    rows = connection.execute(sa.select(users.c.id, users.c.username).order_by(users.c.id)).all()
    names: dict[str, str] = {}
    for row in rows:
        clash = names.setdefault(canonical(row.username), row.username)
        if clash != row.username:
            raise UsernameClash(
                f"error: the usernames {clash!r} and {row.username!r} are now the same name "
                f"({canonical(row.username)!r}): rename or remove one of them, then migrate again"
            )
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("uid", sa.String(length=32), nullable=True))
    users = sa.table("users", sa.column("id"), sa.column("username"), sa.column("uid"))
    for row in rows:
        values = {"uid": secrets.token_urlsafe(16), "username": canonical(row.username)}
        connection.execute(sa.update(users).where(users.c.id == row.id).values(**values))
    with op.batch_alter_table("users") as batch:
        batch.alter_column("uid", existing_type=sa.String(length=32), nullable=False)
        batch.create_unique_constraint(op.f("uq_users_uid"), ["uid"])


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_constraint(op.f("uq_users_uid"), type_="unique")
        batch.drop_column("uid")
