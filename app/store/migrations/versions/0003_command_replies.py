"""The reply comment of each command line.

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
        "command_replies",
        sa.Column("comment_id", sa.BigInteger, primary_key=True),
        sa.Column("line", sa.Integer, primary_key=True),
        sa.Column("reply_id", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("command_replies")
