"""users.tokens_valid_from: tokens issued before it are refused (password change, sign out everywhere).

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Existing users get 0: every token they hold stays valid.
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("tokens_valid_from", sa.Integer(), server_default="0", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_column("tokens_valid_from")
