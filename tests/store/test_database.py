"""Database on real SQLite: its threads, the connection SQLite keeps open, and closing."""

from __future__ import annotations

import asyncio
import functools
import threading
from pathlib import Path

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import Connection, text
from sqlalchemy.exc import DBAPIError, OperationalError

from app.store.database import Database, DatabaseThreads


@pytest.fixture
async def db(tmp_path: Path):
    database = Database(f"sqlite:///{tmp_path}/db.sqlite")
    await database.migrate()
    yield database
    await database.close()


def _create(conn: Connection) -> None:
    conn.execute(text("CREATE TABLE IF NOT EXISTS notes (n INTEGER)"))


def _insert(conn: Connection, n: int) -> None:
    conn.execute(text("INSERT INTO notes VALUES (:n)"), {"n": n})


def _notes(conn: Connection) -> list[int]:
    return list(conn.execute(text("SELECT n FROM notes ORDER BY n")).scalars())


async def test_a_transaction_is_committed_and_a_failed_one_leaves_nothing(db: Database) -> None:
    await db.transaction(_create)
    await db.transaction(_insert, 1)

    def insert_then_fail(conn: Connection) -> None:
        _insert(conn, 2)
        raise ValueError("half-way")

    with pytest.raises(ValueError, match="half-way"):
        await db.transaction(insert_then_fail)
    assert await db.read(_notes) == [1]
    await db.transaction(_insert, 3)  # the connection kept open is still usable
    assert await db.read(_notes) == [1, 3]


def _commits(mode: str) -> float:
    name = "deckhand_database_commit_seconds_count"
    return REGISTRY.get_sample_value(name, {"mode": mode}) or 0.0


async def test_commits_are_timed_by_whether_they_waited_for_the_disk(db: Database) -> None:
    await db.transaction(_create)
    durable, relaxed = _commits("durable"), _commits("relaxed")
    waits = REGISTRY.get_sample_value("deckhand_database_wait_seconds_count") or 0.0
    await db.transaction(_insert, 1)
    await db.transaction(_insert, 2, durable=False)
    await db.read(_notes)
    assert (_commits("durable"), _commits("relaxed")) == (durable + 1, relaxed + 1)

    def fail(conn: Connection) -> None:
        raise ValueError("nothing to commit")

    with pytest.raises(ValueError):
        await db.transaction(fail)
    assert (_commits("durable"), _commits("relaxed")) == (durable + 1, relaxed + 1)
    assert REGISTRY.get_sample_value("deckhand_database_wait_seconds_count") == waits + 4


async def test_what_a_reader_writes_is_not_kept(db: Database) -> None:
    await db.transaction(_create)
    await db.read(_insert, 7)  # a read may run any statement; nothing it does is kept
    assert await db.read(_notes) == []


async def test_sqlite_keeps_its_connection_open_until_reset(db: Database) -> None:
    def connection_id(conn: Connection) -> int:
        return id(conn.connection.driver_connection)

    def synchronous(conn: Connection) -> int:
        return int(conn.exec_driver_sql("PRAGMA synchronous").scalar_one())

    first = await db.read(connection_id)
    assert await db.transaction(connection_id) == first
    assert await db.transaction(connection_id, durable=False) == first
    assert await db.transaction(synchronous) == 2  # FULL: the commit is synced to disk
    assert await db.transaction(synchronous, durable=False) == 1  # NORMAL
    db.reset()
    assert await db.read(connection_id) != first


def _replace_with_garbage(database: Path) -> None:
    for leftover in database.parent.glob(database.name + "*"):
        leftover.unlink()
    database.write_bytes(b"this is not a database" * 100)


async def test_a_reset_notices_a_database_file_that_was_replaced(
    db: Database, tmp_path: Path
) -> None:
    await db.ping()
    _replace_with_garbage(tmp_path / "db.sqlite")
    db.reset()
    with pytest.raises(DBAPIError):
        await db.ping()


async def test_a_cancelled_caller_does_not_stop_the_work_or_the_thread(db: Database) -> None:
    await db.transaction(_create)
    started, release = threading.Event(), threading.Event()

    def slow(conn: Connection) -> None:
        started.set()
        release.wait(10)
        _insert(conn, 1)

    task = asyncio.create_task(db.transaction(slow))
    assert await asyncio.to_thread(started.wait, 10)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    release.set()
    assert await db.read(_notes) == [1]  # queued behind it: the work was finished


async def test_close_finishes_the_calls_under_way_then_refuses_new_ones(tmp_path: Path) -> None:
    database = Database(f"sqlite:///{tmp_path}/db.sqlite")
    await database.transaction(_create)
    pending = [asyncio.create_task(database.transaction(_insert, n)) for n in range(20)]
    await asyncio.sleep(0)  # every call is queued
    await database.close()
    await asyncio.gather(*pending)
    with pytest.raises(RuntimeError, match="closed"):
        await database.ping()
    reopened = Database(f"sqlite:///{tmp_path}/db.sqlite")
    try:
        assert await reopened.read(_notes) == list(range(20))
    finally:
        await reopened.close()


async def test_threads_hand_back_errors_of_any_kind() -> None:
    threads = DatabaseThreads(2, "test-db")
    try:

        def fails() -> None:
            raise OperationalError("SELECT 1", {}, Exception("disk I/O error"))

        with pytest.raises(OperationalError, match="disk I/O error"):
            await threads.submit(fails)
        answers = await asyncio.gather(
            *(threads.submit(functools.partial(pow, n, 2)) for n in range(50))
        )
        assert answers == [n * n for n in range(50)]
    finally:
        await asyncio.to_thread(threads.close, 10)
