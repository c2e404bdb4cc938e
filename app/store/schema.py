"""The tables, as SQLAlchemy Core metadata shared by the code and the migrations.

Times are stored as UNIX epoch seconds (floats): the same type and ordering on SQLite
and Postgres, and cheap to compare in the queue's claim query.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Float,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
)

metadata = MetaData()

deliveries = Table(
    "deliveries",
    metadata,
    Column("id", String(100), primary_key=True),
    Column("source", String(32), nullable=False, default="github"),
    Column("event", String(64), nullable=False),
    Column("action", String(64)),
    Column("installation_id", BigInteger),
    Column("repository", String(200)),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("run_after", Float, nullable=False),
    Column("locked_by", String(100)),
    Column("locked_until", Float),
    Column("last_error", Text),
    Column("received_at", Float, nullable=False),
    Column("started_at", Float),
    Column("finished_at", Float),
    Index("ix_deliveries_status_run_after", "status", "run_after"),
)

# The body apart from the status row: a job changes state several times, and rewriting
# a large row each time would cost far more than the small status row does.
delivery_payloads = Table(
    "delivery_payloads",
    metadata,
    Column("id", String(100), primary_key=True),
    Column("payload", LargeBinary, nullable=False),
)

installations = Table(
    "installations",
    metadata,
    Column("id", BigInteger, primary_key=True),
    Column("account", String(200), nullable=False),
    Column("account_type", String(32)),
    Column("status", String(16), nullable=False),
    Column("updated_at", Float, nullable=False),
)

installation_repositories = Table(
    "installation_repositories",
    metadata,
    Column("installation_id", BigInteger, primary_key=True),
    Column("repository", String(200), primary_key=True),
    Column("repository_id", BigInteger),
    Index("ix_installation_repositories_repository", "repository"),
)
