"""An environment's in-flight slot remembers the command that took it (in_flight_key), so
a retried job resumes its own reservation and finds the deployment it already created.

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("environments") as batch:
        batch.add_column(sa.Column("in_flight_key", sa.String(100), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("environments") as batch:
        batch.drop_column("in_flight_key")
