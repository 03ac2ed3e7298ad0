"""Login-throttling counters, and what the retry window needs to issue a refresh token again:
its issue time and its login's scopes.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "login_throttle",
        sa.Column("key", sa.String(length=32), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("in_flight", sa.Integer(), nullable=False),
        sa.Column("window_start", sa.Float(), nullable=False),
        sa.Column("blocked_until", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_login_throttle")),
    )
    op.create_index("ix_login_throttle_window_start", "login_throttle", ["window_start"])
    # Tokens issued before this revision have none: they cannot be issued again, so presenting
    # one after it was spent is reuse, as before.
    with op.batch_alter_table("refresh_tokens") as batch:
        batch.add_column(sa.Column("issued_at", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("scope", sa.String(length=500), server_default="", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("refresh_tokens") as batch:
        batch.drop_column("scope")
        batch.drop_column("issued_at")
    op.drop_table("login_throttle")
