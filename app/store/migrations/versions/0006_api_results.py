"""The answers to commands sent through the HTTP API.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "api_results",
        sa.Column("job_id", sa.String(100), primary_key=True),
        sa.Column("login", sa.String(100), nullable=False),
        sa.Column("ok", sa.Integer, nullable=False),
        sa.Column("reply", sa.Text, nullable=False),
        sa.Column("finished_at", sa.Float, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("api_results")
