"""History for the dashboard: each review run's outcome (findings, fixes pushed) and
every health probe (latency over time).

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "review_runs",
        sa.Column("check_run_id", sa.BigInteger, primary_key=True),
        sa.Column("repository", sa.String(200), nullable=False),
        sa.Column("pull_number", sa.Integer),
        sa.Column("branch", sa.String(300)),
        sa.Column("head_sha", sa.String(40), nullable=False),
        sa.Column("conclusion", sa.String(20), nullable=False),
        sa.Column("errors", sa.Integer, nullable=False),
        sa.Column("warnings", sa.Integer, nullable=False),
        sa.Column("notices", sa.Integer, nullable=False),
        sa.Column("fix_sha", sa.String(40)),
        sa.Column("fixes", sa.Integer),
        sa.Column("finished_at", sa.Float, nullable=False),
    )
    op.create_index(
        "ix_review_runs_repository_finished_at", "review_runs", ["repository", "finished_at"]
    )
    op.create_table(
        "health_probes",
        sa.Column("deployment_id", sa.BigInteger, primary_key=True),
        sa.Column("probe", sa.Integer, primary_key=True),
        sa.Column("repository", sa.String(200), nullable=False),
        sa.Column("environment", sa.String(100), nullable=False),
        sa.Column("probed_at", sa.Float, nullable=False),
        sa.Column("latency_ms", sa.Float),
        sa.Column("ok", sa.Integer, nullable=False),
        sa.Column("ours", sa.Integer, nullable=False),
        sa.Column("status_code", sa.Integer),
        sa.Column("error", sa.String(200)),
    )
    op.create_index("ix_health_probes_probed_at", "health_probes", ["probed_at"])
    op.create_index(
        "ix_health_probes_environment",
        "health_probes",
        ["repository", "environment", "probed_at"],
    )


def downgrade() -> None:
    op.drop_index("ix_health_probes_environment", table_name="health_probes")
    op.drop_index("ix_health_probes_probed_at", table_name="health_probes")
    op.drop_table("health_probes")
    op.drop_index("ix_review_runs_repository_finished_at", table_name="review_runs")
    op.drop_table("review_runs")
