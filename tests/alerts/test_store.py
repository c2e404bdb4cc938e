"""AlertStore: counting once per job, one claim at a time, flush buckets."""

from __future__ import annotations

import asyncio
from pathlib import Path

from app.alerts.sources import Alert
from app.alerts.store import AlertStore, flush_time
from app.store.database import Database


def alert(fingerprint: str = "fp", status: str = "firing") -> Alert:
    return Alert("generic", fingerprint, "T", "error", status, None, "")  # type: ignore[arg-type]


async def make_store(tmp_path: Path) -> AlertStore:
    db = Database(f"sqlite:///{tmp_path}/a.db")
    await db.migrate()
    return AlertStore(db)


async def test_counts_once_per_batch_and_schedules_one_flush_per_bucket(tmp_path: Path) -> None:
    store = await make_store(tmp_path)
    first = await store.record("o/r", "b1", [alert(), alert(), alert("other")], interval=60)
    key = alert().key("o/r")
    assert (
        first.counted
        and first.rows[key].count == 2
        and set(first.flushes)
        == {
            key,
            alert("other").key("o/r"),
        }
    )
    again = await store.record("o/r", "b1", [alert(), alert()], interval=60)
    assert not again.counted and again.rows[key].count == 2
    later = await store.record("o/r", "b2", [alert()], interval=60)
    assert later.rows[key].count == 3 and later.flushes == {}  # same bucket
    resolved = await store.record("o/r", "b3", [alert(status="resolved")], interval=60)
    assert resolved.rows[key].count == 3 and resolved.rows[key].resolved == 1
    await store.db.close()


async def test_one_claim_at_a_time(tmp_path: Path) -> None:
    store = await make_store(tmp_path)
    await store.record("o/r", "b1", [alert()])
    key = alert().key("o/r")
    claims = await asyncio.gather(*(store.claim("o/r", key) for _ in range(10)))
    assert claims.count("new") == 1 and claims.count(None) == 9
    await store.release("o/r", key)
    assert await store.claim("o/r", key) == "creating"  # a lapsed claim: look for the issue
    await store.opened("o/r", key, 12)
    assert await store.claim("o/r", key) is None
    await store.db.close()


def test_flush_buckets() -> None:
    assert flush_time(100.0, 30.0) == 120.0
    assert flush_time(119.9, 30.0) == 120.0
    assert flush_time(120.0, 30.0) == 150.0
