"""The database handle: one SQLAlchemy engine from `DATABASE_URL`, migrated to the newest schema.

Store code is plain synchronous SQLAlchemy Core (the same statements for SQLite and
Postgres) and runs through `Database.transaction`/`Database.read`, which hand a whole
unit of work to a database thread in one step, off the event loop (`DatabaseThreads`:
a queue in, the answer back through the loop, at a third of `run_in_executor`'s cost).
SQLite gets a single thread, which keeps its connection open: it takes one writer at a
time, and queueing writers here, in order, beats SQLite's own lock, whose waiters
sleep in steps of milliseconds. It runs in WAL mode with a full fsync on commit, so a
committed row survives a crash.

Postgres (`postgresql://`, driven by psycopg 3) gets a pool of connections with one
thread each, in READ COMMITTED: the queue claims with `FOR UPDATE SKIP LOCKED`, and a
transaction that loses a deadlock or serialization conflict is run again from the start.
Several processes may share one Postgres database; migrations take an advisory lock.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from app import metrics
from app.store.urls import engine_url

MIGRATIONS = Path(__file__).parent / "migrations"
POSTGRES_POOL_SIZE = 10
# Postgres answers these when a transaction lost to a concurrent one; running it again
# from the start is the documented remedy (deadlock_detected, serialization_failure).
RETRYABLE_SQLSTATES = frozenset({"40P01", "40001"})
RETRY_ATTEMPTS = 5
CLOSE_TIMEOUT_SECONDS = 30.0
MIGRATION_LOCK = 0x6465636B  # pg_advisory_xact_lock key: one migrating process at a time

T = TypeVar("T")
_COMMIT_SECONDS = {
    True: metrics.DATABASE_COMMIT_SECONDS.labels("durable"),
    False: metrics.DATABASE_COMMIT_SECONDS.labels("relaxed"),
}


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
    # (Straight to the driver: SQLAlchemy's statement machinery costs more than these.)
    mode = conn.info.pop("sqlite_begin", "IMMEDIATE")
    synchronous = conn.info.pop("sqlite_synchronous", "FULL")
    driver = conn.connection.driver_connection
    assert driver is not None
    if conn.info.get("sqlite_synchronous_now") != synchronous:
        driver.execute(f"PRAGMA synchronous={synchronous}")
        conn.info["sqlite_synchronous_now"] = synchronous
    driver.execute(f"BEGIN {mode}")


class DatabaseThreads:
    """Threads that run blocking database calls for the event loop.

    Calls wait in one queue and any free thread takes the next; the answer comes back
    through `call_soon_threadsafe`. A thread may keep state of its own (`local`), such
    as an open connection. A call whose awaiter was cancelled still runs to its end,
    as with `run_in_executor`.
    """

    def __init__(self, count: int, name: str) -> None:
        self.local = threading.local()
        self._calls: queue.SimpleQueue[tuple[Callable[[], Any], Any, Any, float] | None] = (
            queue.SimpleQueue()
        )
        self._threads = [
            threading.Thread(target=self._serve, name=f"{name}-{n}", daemon=True)
            for n in range(count)
        ]
        self._closed = False
        for thread in self._threads:
            thread.start()

    def submit(self, work: Callable[[], T]) -> asyncio.Future[T]:
        if self._closed:
            raise RuntimeError("the database is closed")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._calls.put((work, loop, future, time.perf_counter()))
        return future

    def _serve(self) -> None:
        while (call := self._calls.get()) is not None:
            work, loop, future, queued_at = call
            metrics.DATABASE_WAIT_SECONDS.observe(time.perf_counter() - queued_at)
            try:
                answer, error = work(), None
            except BaseException as exc:  # handed to the awaiter, like run_in_executor
                answer, error = None, exc
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                loop.call_soon_threadsafe(_settle, future, answer, error)
        on_exit = getattr(self.local, "on_exit", None)
        if on_exit is not None:
            on_exit()

    def close(self, timeout: float) -> None:
        """Let the queued calls finish, then end the threads (blocking; at most `timeout`)."""
        self._closed = True
        for _ in self._threads:
            self._calls.put(None)
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))


def _settle(future: asyncio.Future[Any], answer: Any, error: BaseException | None) -> None:
    if future.done():  # cancelled while the thread worked
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(answer)


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
            threads = 1  # its connection stays open (see `_connection`)
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
        self._threads = DatabaseThreads(threads, "db")
        self._generation = 0  # `reset` raises it: held connections are then reopened
        # Told about deliveries once they are committed, so the queue starts on them: the
        # embedded pool wakes up, the distributed queue sends them to its workers.
        self.on_enqueue: Callable[[Sequence[Any]], Awaitable[None]] | None = None

    async def _submit(self, work: Callable[[], T]) -> T:
        return await self._threads.submit(work)

    @contextlib.contextmanager
    def _connection(self) -> Iterator[Connection]:
        """A connection for one unit of work on a database thread. Postgres: one from
        the pool (checked with a ping). SQLite: the thread's own, kept open, since
        opening one per transaction would cost more than most transactions (and a
        second one, used in turns, would find its page cache stale each time)."""
        if not self.is_sqlite:
            with self.engine.connect() as conn:
                yield conn
            return
        local = self._threads.local
        held: Connection | None = getattr(local, "connection", None)
        if held is not None and (held.invalidated or local.generation != self._generation):
            held.close()
            held = None
        if held is None:
            held = local.connection = self.engine.connect()
            local.generation = self._generation
            local.on_exit = held.close
        yield held

    def reset(self) -> None:
        """Close every connection: pooled ones now, held ones before their next use."""
        self._generation += 1
        self.engine.dispose()

    async def transaction(self, fn: Callable[..., T], *args: Any, durable: bool = True) -> T:
        """Run `fn(connection, *args)` in one transaction, committed when it returns.

        `durable=False` is for bookkeeping that may be lost in a power failure (not in a
        process crash) without harm, such as a job's status: SQLite then skips the fsync,
        and the next durable commit syncs it along; Postgres commits it asynchronously.
        On Postgres `fn` may run more than once (see RETRYABLE_SQLSTATES).
        """

        def once() -> T:
            with self._connection() as conn:
                conn.info["sqlite_synchronous"] = "FULL" if durable else "NORMAL"
                with conn.begin():
                    if not durable and not self.is_sqlite:
                        conn.exec_driver_sql("SET LOCAL synchronous_commit TO OFF")
                    result = fn(conn, *args)
                    committing = time.perf_counter()
                _COMMIT_SECONDS[durable].observe(time.perf_counter() - committing)
                return result

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
            with self._connection() as conn:
                conn.info["sqlite_begin"] = "DEFERRED"
                transaction = conn.begin()
                try:
                    return fn(conn, *args)
                finally:
                    transaction.rollback()

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
        """Finish the calls under way, close every connection, end the threads."""
        await asyncio.to_thread(self._threads.close, CLOSE_TIMEOUT_SECONDS)
        self.engine.dispose()
