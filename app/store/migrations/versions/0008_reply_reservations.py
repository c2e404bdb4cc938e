"""A command's reply is reserved before it is posted: reply_id is empty until GitHub
answers, so a job that died in between knows to look for the posted reply by its marker.

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("command_replies") as batch:
        batch.alter_column("reply_id", existing_type=sa.BigInteger, nullable=True)


def downgrade() -> None:
    op.execute("DELETE FROM command_replies WHERE reply_id IS NULL")
    with op.batch_alter_table("command_replies") as batch:
        batch.alter_column("reply_id", existing_type=sa.BigInteger, nullable=False)
