"""IngestBatcher with the embedded pool on real SQLite: deliveries leased in the ingest
commit and run from memory, a full pool left to claim, finished jobs settled by the
next commit, and nothing promised or lost when a commit fails."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from sqlalchemy import select

from app.queue import workers
from app.queue.ingest import IngestBatcher
from app.queue.workers import WorkerPool
from app.store.database import Database
from app.store.deliveries import Delivery, DeliveryStore, NewDelivery
from app.store.schema import deliveries
from tests.support.waiting import eventually


class Jobs:
    """The pool's job: records what it ran, and holds a job until released."""

    def __init__(self) -> None:
        self.ran: list[Delivery] = []
        self.release: dict[str, asyncio.Event] = {}

    async def __call__(self, delivery: Delivery) -> None:
        self.ran.append(delivery)
        if delivery.id in self.release:
            await self.release[delivery.id].wait()


class CountingStore(DeliveryStore):
    """Counts the claims that returned something (deliveries the pool had to fetch)."""

    claimed = 0

    async def settle_and_claim(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        settled, claimed = await super().settle_and_claim(*args, **kwargs)
        self.claimed += len(claimed)
        return settled, claimed


@pytest.fixture
async def setup(
    tmp_path: Path,
) -> AsyncIterator[Callable[..., tuple[IngestBatcher, WorkerPool, Jobs, CountingStore]]]:
    db = Database(f"sqlite:///{tmp_path}/ingest.db")
    await db.migrate()
    started: list[tuple[IngestBatcher, WorkerPool]] = []

    def start(
        concurrency: int = 4, poll_seconds: float = 0.05
    ) -> tuple[IngestBatcher, WorkerPool, Jobs, CountingStore]:
        store, jobs = CountingStore(db), Jobs()
        pool = WorkerPool(store, jobs, concurrency=concurrency, poll_seconds=poll_seconds)
        db.on_enqueue = lambda _queued: _wake(pool)
        batcher = IngestBatcher(store, pool=pool)
        pool.start()
        batcher.start()
        started.append((batcher, pool))
        return batcher, pool, jobs, store

    yield start
    for batcher, pool in started:
        await batcher.stop()
        await pool.stop(grace_seconds=1)
    await db.close()


async def _wake(pool: WorkerPool) -> None:
    pool.wake()


def new(delivery_id: str) -> NewDelivery:
    return NewDelivery(id=delivery_id, event="push", payload=b'{"n": 1}')


async def row(store: DeliveryStore, delivery_id: str) -> dict[str, object]:
    query = select(deliveries).where(deliveries.c.id == delivery_id)
    found = await store.db.read(lambda conn: conn.execute(query).one())
    return dict(found._mapping)


async def is_done(store: DeliveryStore, delivery_id: str) -> bool:
    found = await store.get(delivery_id)
    return found is not None and found.status == "done"


async def test_a_delivery_is_leased_in_the_ingest_commit_and_run_without_a_claim(setup) -> None:
    batcher, pool, jobs, store = setup()
    jobs.release["d1"] = asyncio.Event()
    assert await batcher.submit(new("d1"))
    stored = await row(store, "d1")  # as the answer goes out: already the pool's
    assert (stored["status"], stored["locked_by"], stored["attempts"]) == (
        "running",
        pool.worker_id,
        1,
    )
    await eventually(lambda: [d.id for d in jobs.ran] == ["d1"])
    assert jobs.ran[0].payload == b'{"n": 1}'  # from memory, as stored
    jobs.release["d1"].set()
    await eventually(lambda: is_done(store, "d1"))
    assert store.claimed == 0


async def test_a_full_pool_leaves_the_rest_queued_for_its_claims(setup) -> None:
    batcher, _pool, jobs, store = setup(concurrency=1)
    jobs.release["first"] = asyncio.Event()
    assert await batcher.submit(new("first"))
    assert await batcher.submit(new("second"))
    assert (await row(store, "second"))["status"] == "queued"
    jobs.release["first"].set()
    await eventually(lambda: is_done(store, "second"))
    assert [d.id for d in jobs.ran] == ["first", "second"]
    assert store.claimed == 1  # the second, once the slot was free


async def test_the_next_ingest_commit_settles_finished_jobs(
    setup, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(workers, "SETTLE_SECONDS", 60.0)  # the claim loop would wait long
    batcher, _pool, jobs, store = setup(poll_seconds=60.0)
    assert await batcher.submit(new("d1"))
    await eventually(lambda: [d.id for d in jobs.ran] == ["d1"])
    await asyncio.sleep(0.05)  # the job returns
    assert (await row(store, "d1"))["status"] == "running"
    assert await batcher.submit(new("d2"))
    assert (await row(store, "d1"))["status"] == "done"


async def test_a_failed_commit_promises_no_slot_and_loses_no_finished_job(
    setup, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(workers, "SETTLE_SECONDS", 60.0)
    batcher, pool, jobs, store = setup(concurrency=2, poll_seconds=60.0)
    assert await batcher.submit(new("d1"))
    await eventually(lambda: [d.id for d in jobs.ran] == ["d1"])
    await asyncio.sleep(0.05)

    async def broken(*_args: object) -> None:
        raise OSError("disk full")

    with monkeypatch.context() as patch:
        patch.setattr(store, "add_and_lease", broken)
        with pytest.raises(OSError, match="disk full"):
            await batcher.submit(new("d2"))
    assert pool.reserve(2) == 2  # both slots are free again
    pool.adopt(2, [])
    assert await batcher.submit(new("d3"))
    assert (await row(store, "d1"))["status"] == "done"  # settled with the next commit
    await eventually(lambda: sorted(d.id for d in jobs.ran) == ["d1", "d3"])


async def test_without_more_ingest_a_finished_job_is_settled_soon(setup) -> None:
    batcher, _pool, jobs, store = setup(poll_seconds=60.0)  # no poll comes to settle it
    assert await batcher.submit(new("d1"))
    await eventually(lambda: [d.id for d in jobs.ran] == ["d1"])
    await eventually(lambda: is_done(store, "d1"), within=2.0)  # SETTLE_SECONDS: 50 ms
