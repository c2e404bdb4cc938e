"""AlertStore: counting once per job, one claim at a time, flush buckets."""

from __future__ import annotations

import asyncio
import itertools
import time
from pathlib import Path

from app.alerts.sources import Alert
from app.alerts.store import AlertStore, flush_phase, flush_time
from app.alerts.tracker import AlertTracker
from app.config.repo import AlertsConfig
from app.github.client import MAX_ATTEMPTS
from app.store.database import Database
from tests.support.deckhand import make_settings


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


async def test_a_claim_lasts_as_long_as_creating_the_issue_may_take(tmp_path: Path) -> None:
    store = await make_store(tmp_path)
    await store.record("o/r", "b1", [alert()])
    key = alert().key("o/r")
    settings = make_settings(tmp_path, github_max_inline_wait=60.0, github_timeout=30.0)
    tracker = AlertTracker(None, store.db, settings, AlertsConfig(), "o/r", 1, None)
    seconds = tracker._claim_seconds()
    assert seconds == MAX_ATTEMPTS * (60.0 + 30.0) + 30.0  # every attempt waits, then times out
    before = time.time()
    assert await store.claim("o/r", key, seconds) == "new"
    row = await store.get("o/r", key)
    assert row is not None and row.claimed_until is not None
    assert before + seconds <= row.claimed_until <= time.time() + seconds
    await store.db.close()


def test_flush_buckets() -> None:
    assert flush_time(100.0, 30.0) == 120.0
    assert flush_time(119.9, 30.0) == 120.0
    assert flush_time(120.0, 30.0) == 150.0
    # shifted by a phase: buckets end at 7, 37, 67, ...
    assert flush_time(100.0, 30.0, 7.0) == 127.0
    assert flush_time(126.9, 30.0, 7.0) == 127.0
    assert flush_time(127.0, 30.0, 7.0) == 157.0
    # at a bucket's very end, float rounding must not give back `now` itself
    assert flush_time(153.39999999999998, 7.3, 0.1) > 153.39999999999998


def test_the_flushes_of_a_storm_are_spread_over_the_interval() -> None:
    phases = sorted(flush_phase(f"key-{n}", 30.0) for n in range(20))
    assert all(0.0 <= p < 30.0 for p in phases)
    assert flush_phase("key-3", 30.0) == flush_phase("key-3", 30.0)  # stable for a key
    assert len({round(p, 3) for p in phases}) == 20
    assert max(b - a for a, b in itertools.pairwise(phases)) < 10.0  # no wide gap
    assert phases[-1] - phases[0] > 15.0
