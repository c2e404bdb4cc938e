"""The review bot's tables: newest head per PR or branch, check runs, summary comments,
findings already reported.

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
    op.create_table(
        "review_heads",
        sa.Column("repository", sa.String(200), primary_key=True),
        sa.Column("run_key", sa.String(300), primary_key=True),
        sa.Column("head_sha", sa.String(40), nullable=False),
        sa.Column("requested_at", sa.Float, nullable=False),
    )
    op.create_table(
        "review_check_runs",
        sa.Column("check_run_id", sa.BigInteger, primary_key=True),
        sa.Column("delivery_id", sa.String(100), nullable=False),
        sa.Column("repository", sa.String(200), nullable=False),
        sa.Column("head_sha", sa.String(40), nullable=False),
        sa.Column("target", sa.Text, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
    )
    op.create_index("ix_review_check_runs_delivery_id", "review_check_runs", ["delivery_id"])
    op.create_table(
        "review_pull_requests",
        sa.Column("repository", sa.String(200), primary_key=True),
        sa.Column("number", sa.Integer, primary_key=True),
        sa.Column("summary_comment_id", sa.BigInteger),
    )
    op.create_table(
        "review_reported",
        sa.Column("repository", sa.String(200), primary_key=True),
        sa.Column("number", sa.Integer, primary_key=True),
        sa.Column("fingerprint", sa.String(40), primary_key=True),
    )


def downgrade() -> None:
    for table in ("review_reported", "review_pull_requests", "review_check_runs", "review_heads"):
        op.drop_table(table)
