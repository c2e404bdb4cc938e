"""The database handle: one SQLAlchemy engine from `DATABASE_URL`, migrated to the newest schema.

Store code is plain synchronous SQLAlchemy Core (the same statements for SQLite and
Postgres) and runs through `Database.transaction`/`Database.read`, which hand a whole
unit of work to a worker thread in one step, off the event loop. SQLite gets a single
thread and connection: it takes one writer at a time, and queueing writers here, in
order, beats SQLite's own lock, whose waiters sleep in steps of milliseconds. It runs
in WAL mode with a full fsync on commit, so a committed row survives a crash.

Postgres (`postgresql://`, driven by psycopg 3) gets a pool of connections with one
thread each, in READ COMMITTED: the queue claims with `FOR UPDATE SKIP LOCKED`, and a
transaction that loses a deadlock or serialization conflict is run again from the start.
Several processes may share one Postgres database; migrations take an advisory lock.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

MIGRATIONS = Path(__file__).parent / "migrations"
POSTGRES_POOL_SIZE = 10
# Postgres answers these when a transaction lost to a concurrent one; running it again
# from the start is the documented remedy (deadlock_detected, serialization_failure).
RETRYABLE_SQLSTATES = frozenset({"40P01", "40001"})
RETRY_ATTEMPTS = 5
MIGRATION_LOCK = 0x6465636B  # pg_advisory_xact_lock key: one migrating process at a time

T = TypeVar("T")


def engine_url(database_url: str) -> str:
    """Map the contract's URL forms onto SQLAlchemy's drivers."""
    url = make_url(database_url)
    if url.drivername in ("postgres", "postgresql"):
        return str(url.set(drivername="postgresql+psycopg"))
    return database_url


def pool_size_for(worker_concurrency: int) -> int:
    """Postgres connections for one process: one per concurrent job up to a cap (jobs
    mostly wait on GitHub, and every replica shares the server's `max_connections`),
    plus the claim loop, lease renewal and ingest."""
    return min(worker_concurrency, 16) + 3


def _retryable(exc: DBAPIError) -> bool:
    return getattr(exc.orig, "sqlstate", None) in RETRYABLE_SQLSTATES


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None  # SQLAlchemy emits BEGIN itself (see _sqlite_begin)
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _sqlite_begin(conn: Connection) -> None:
    # A transaction takes the write lock at BEGIN, so it never fails upgrading a read
    # lock when another process writes; reads begin deferred and block no writer.
    mode = conn.info.pop("sqlite_begin", "IMMEDIATE")
    synchronous = conn.info.pop("sqlite_synchronous", "FULL")
    if conn.info.get("sqlite_synchronous_now") != synchronous:
        conn.exec_driver_sql(f"PRAGMA synchronous={synchronous}")
        conn.info["sqlite_synchronous_now"] = synchronous
    conn.exec_driver_sql(f"BEGIN {mode}")


class Database:
    def __init__(self, database_url: str, *, pool_size: int = POSTGRES_POOL_SIZE) -> None:
        url = make_url(engine_url(database_url))
        self.is_sqlite = url.get_backend_name() == "sqlite"
        if self.is_sqlite:
            if url.database and url.database != ":memory:":
                Path(url.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
            self.engine: Engine = create_engine(
                url,
                connect_args={"timeout": 30, "check_same_thread": False},
                pool_size=1,
                max_overflow=0,
            )
            event.listen(self.engine, "connect", _sqlite_pragmas)
            event.listen(self.engine, "begin", _sqlite_begin)
            threads = 1
        else:
            # One connection per thread, so no thread ever waits for the pool.
            self.engine = create_engine(
                url,
                pool_size=pool_size,
                max_overflow=0,
                pool_pre_ping=True,
                pool_recycle=1800,
                isolation_level="READ COMMITTED",
                connect_args={"application_name": "deckhand"},
            )
            threads = pool_size
        self._executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="db")
        # Told about deliveries once they are committed, so the queue starts on them: the
        # embedded pool wakes up, the distributed queue sends them to its workers.
        self.on_enqueue: Callable[[Sequence[Any]], Awaitable[None]] | None = None

    async def _submit(self, work: Callable[[], T]) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, work)

    async def transaction(self, fn: Callable[..., T], *args: Any, durable: bool = True) -> T:
        """Run `fn(connection, *args)` in one transaction, committed when it returns.

        `durable=False` is for bookkeeping that may be lost in a power failure (not in a
        process crash) without harm, such as a job's status: SQLite then skips the fsync,
        and the next durable commit syncs it along; Postgres commits it asynchronously.
        On Postgres `fn` may run more than once (see RETRYABLE_SQLSTATES).
        """

        def once() -> T:
            with self.engine.connect() as conn:
                conn.info["sqlite_synchronous"] = "FULL" if durable else "NORMAL"
                with conn.begin():
                    if not durable and not self.is_sqlite:
                        conn.exec_driver_sql("SET LOCAL synchronous_commit TO OFF")
                    return fn(conn, *args)

        def work() -> T:
            attempt = 1
            while True:
                try:
                    return once()
                except DBAPIError as exc:
                    if self.is_sqlite or attempt >= RETRY_ATTEMPTS or not _retryable(exc):
                        raise
                time.sleep(0.01 * attempt)  # Postgres rolled it back: run it again
                attempt += 1

        return await self._submit(work)

    async def read(self, fn: Callable[..., T], *args: Any) -> T:
        """Run `fn(connection, *args)` for reading; nothing it does is committed."""

        def work() -> T:
            with self.engine.connect() as conn:
                conn.info["sqlite_begin"] = "DEFERRED"
                return fn(conn, *args)

        return await self._submit(work)

    async def migrate(self) -> None:
        """Bring the schema to the newest revision (safe to run on every start)."""

        def upgrade(connection: Connection) -> None:
            if not self.is_sqlite:  # several processes may start at once
                connection.execute(
                    text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK}
                )
            config = Config()
            config.set_main_option("script_location", str(MIGRATIONS))
            config.attributes["connection"] = connection
            command.upgrade(config, "head")

        await self.transaction(upgrade)

    async def ping(self) -> None:
        await self.read(lambda conn: conn.execute(text("SELECT 1")).scalar())

    async def close(self) -> None:
        await self._submit(self.engine.dispose)
        self._executor.shutdown(wait=False)
