"""Login-throttling counters, and the issue time of refresh tokens for the retry window.

Revision ID: 0003
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0001"
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


def downgrade() -> None:
    with op.batch_alter_table("refresh_tokens") as batch:
        batch.drop_column("issued_at")
    op.drop_table("login_throttle")
