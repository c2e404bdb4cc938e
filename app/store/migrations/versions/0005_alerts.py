"""Production alerts: one row per fingerprint, and the alert jobs already counted.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "alerts",
        sa.Column("repository", sa.String(200), primary_key=True),
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("fingerprint", sa.Text, nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("environment", sa.String(100), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("claimed_until", sa.Float),
        sa.Column("issue_number", sa.Integer),
        sa.Column("previous_issue", sa.Integer),
        sa.Column("comment_id", sa.BigInteger),
        sa.Column("count", sa.Integer, nullable=False),
        sa.Column("base_count", sa.Integer, nullable=False),
        sa.Column("shown_count", sa.Integer, nullable=False),
        sa.Column("resolved", sa.Integer, nullable=False),
        sa.Column("first_seen", sa.Float, nullable=False),
        sa.Column("last_seen", sa.Float, nullable=False),
        sa.Column("flush_at", sa.Float),
        sa.Column("triaged_issue", sa.Integer),
        sa.Column("latest", sa.Text, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
    )
    op.create_table(
        "alert_batches",
        sa.Column("id", sa.String(100), primary_key=True),
        sa.Column("counted_at", sa.Float, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("alert_batches")
    op.drop_table("alerts")
