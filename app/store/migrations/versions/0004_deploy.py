"""Deployments, environment locks and health watches.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "deployments",
        sa.Column("id", sa.BigInteger, primary_key=True),
        sa.Column("repository", sa.String(200), nullable=False),
        sa.Column("environment", sa.String(100), nullable=False),
        sa.Column("sha", sa.String(40), nullable=False),
        sa.Column("ref", sa.String(300)),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("components", sa.Text, nullable=False),
        sa.Column("rollback_of", sa.BigInteger),
        sa.Column("forced", sa.Integer, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("pull_number", sa.Integer),
        sa.Column("command_key", sa.String(100), unique=True),
        sa.Column("reason", sa.Text),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
    )
    op.create_index(
        "ix_deployments_repository_environment",
        "deployments",
        ["repository", "environment", "created_at"],
    )
    op.create_table(
        "environments",
        sa.Column("repository", sa.String(200), primary_key=True),
        sa.Column("environment", sa.String(100), primary_key=True),
        sa.Column("in_flight", sa.BigInteger),
        sa.Column("in_flight_since", sa.Float),
        sa.Column("locked_by", sa.String(100)),
        sa.Column("lock_reason", sa.Text),
        sa.Column("locked_at", sa.Float),
    )
    op.create_table(
        "health_watches",
        sa.Column("deployment_id", sa.BigInteger, primary_key=True),
        sa.Column("repository", sa.String(200), nullable=False),
        sa.Column("environment", sa.String(100), nullable=False),
        sa.Column("installation_id", sa.BigInteger, nullable=False),
        sa.Column("settings", sa.Text, nullable=False),
        sa.Column("tally", sa.Text, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("started_at", sa.Float, nullable=False),
        sa.Column("ends_at", sa.Float, nullable=False),
    )


def downgrade() -> None:
    for table in ("health_watches", "environments", "deployments"):
        op.drop_table(table)
