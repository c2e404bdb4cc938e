"""DeliveryStore on real SQLite: leases, lapsed leases, dead letters, pruning."""

from __future__ import annotations

import asyncio

import pytest

from app.store.database import Database
from app.store.deliveries import LEASE_LAPSED, DeliveryStore, NewDelivery


@pytest.fixture
async def store(tmp_path):
    db = Database(f"sqlite:///{tmp_path}/store.db")
    await db.migrate()
    yield DeliveryStore(db)
    await db.close()


async def test_a_lapsed_lease_is_taken_again_by_another_worker(store) -> None:
    await store.add_many([NewDelivery(id="d1", event="push", payload=b"{}")])
    [_first] = await store.claim("worker-a", 10, lease_seconds=0.05)
    assert await store.claim("worker-b", 10, lease_seconds=60) == []
    await asyncio.sleep(0.1)
    [again] = await store.claim("worker-b", 10, lease_seconds=60)
    assert (again.id, again.attempts, again.payload) == ("d1", 2, b"{}")
    assert not await store.finish("d1", "worker-a")  # the first worker lost it
    assert await store.finish("d1", "worker-b")


async def test_a_delivery_that_keeps_killing_its_worker_is_dead_lettered(store) -> None:
    await store.add_many([NewDelivery(id="poison", event="push", payload=b"{}")])
    for _ in range(3):
        claimed = await store.settle_and_claim((), "w", 10, 0.01, max_attempts=3)
        assert [d.id for d in claimed[1]] == ["poison"]
        await asyncio.sleep(0.02)  # the worker "dies": its lease lapses
    assert (await store.settle_and_claim((), "w", 10, 0.01, max_attempts=3))[1] == []
    dead = await store.get("poison")
    assert dead is not None
    assert (dead.status, dead.attempts, dead.last_error) == ("dead", 3, LEASE_LAPSED)


async def test_prune_removes_old_finished_deliveries_and_their_payloads(store) -> None:
    ids = [f"d{i}" for i in range(5)]
    await store.add_many([NewDelivery(id=i, event="push", payload=b"{}") for i in ids])
    await store.add_many([NewDelivery(id="ignored", event="star", payload=b"{}", handled=False)])
    _, claimed = await store.settle_and_claim((), "w", 10, 60)
    await store.settle_and_claim([d.id for d in claimed[:3]], "w", 0, 60)
    await asyncio.sleep(0.01)
    assert await store.prune(0.001) == 4  # three done and the ignored one
    assert [d.id for d in await store.list(limit=10)] != []
    assert await store.get("d0") is None
    assert (await store.get("d4")).status == "running"
