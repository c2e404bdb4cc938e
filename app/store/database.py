"""The database handle: one SQLAlchemy engine from `DATABASE_URL`, migrated to the newest schema.

Store code is plain synchronous SQLAlchemy Core (the same statements for SQLite and
Postgres) and runs through `Database.transaction`/`Database.read`, which hand a whole
unit of work to a worker thread in one step, off the event loop. SQLite gets a single
thread and connection: it takes one writer at a time, and queueing writers here, in
order, beats SQLite's own lock, whose waiters sleep in steps of milliseconds. It runs
in WAL mode with a full fsync on commit, so a committed row survives a crash.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url

MIGRATIONS = Path(__file__).parent / "migrations"
POSTGRES_POOL_SIZE = 10

T = TypeVar("T")


def engine_url(database_url: str) -> str:
    """Map the contract's URL forms onto SQLAlchemy's drivers."""
    url = make_url(database_url)
    if url.drivername in ("postgres", "postgresql"):
        return str(url.set(drivername="postgresql+psycopg"))
    return database_url


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
    def __init__(self, database_url: str) -> None:
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
            self.engine = create_engine(
                url, pool_size=POSTGRES_POOL_SIZE, max_overflow=0, pool_pre_ping=True
            )
            threads = POSTGRES_POOL_SIZE
        self._executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="db")

    async def _submit(self, work: Callable[[], T]) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, work)

    async def transaction(self, fn: Callable[..., T], *args: Any, durable: bool = True) -> T:
        """Run `fn(connection, *args)` in one transaction, committed when it returns.

        `durable=False` is for bookkeeping that may be lost in a power failure (not in a
        process crash) without harm, such as a job's status: SQLite then skips the fsync,
        and the next durable commit syncs it along.
        """

        def work() -> T:
            with self.engine.connect() as conn:
                conn.info["sqlite_synchronous"] = "FULL" if durable else "NORMAL"
                with conn.begin():
                    return fn(conn, *args)

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
