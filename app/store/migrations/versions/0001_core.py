"""Core tables: deliveries (the durable queue) with their payloads, and installations.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "deliveries",
        sa.Column("id", sa.String(100), primary_key=True),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("event", sa.String(64), nullable=False),
        sa.Column("action", sa.String(64)),
        sa.Column("installation_id", sa.BigInteger),
        sa.Column("repository", sa.String(200)),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("run_after", sa.Float, nullable=False),
        sa.Column("locked_by", sa.String(100)),
        sa.Column("locked_until", sa.Float),
        sa.Column("last_error", sa.Text),
        sa.Column("received_at", sa.Float, nullable=False),
        sa.Column("started_at", sa.Float),
        sa.Column("finished_at", sa.Float),
    )
    op.create_index("ix_deliveries_status_run_after", "deliveries", ["status", "run_after"])
    op.create_table(
        "delivery_payloads",
        sa.Column("id", sa.String(100), primary_key=True),
        sa.Column("payload", sa.LargeBinary, nullable=False),
    )
    op.create_table(
        "installations",
        sa.Column("id", sa.BigInteger, primary_key=True),
        sa.Column("account", sa.String(200), nullable=False),
        sa.Column("account_type", sa.String(32)),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
    )
    op.create_table(
        "installation_repositories",
        sa.Column("installation_id", sa.BigInteger, primary_key=True),
        sa.Column("repository", sa.String(200), primary_key=True),
        sa.Column("repository_id", sa.BigInteger),
    )
    op.create_index(
        "ix_installation_repositories_repository", "installation_repositories", ["repository"]
    )


def downgrade() -> None:
    op.drop_table("installation_repositories")
    op.drop_table("installations")
    op.drop_table("delivery_payloads")
    op.drop_table("deliveries")
