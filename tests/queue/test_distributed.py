"""The distributed queue (procrastinate on Postgres) in one process, with real workers.

Each test gets a fresh Postgres database and runs `Service`s configured with `QUEUE_URL`
(web-only ones to store and announce deliveries, worker ones whose procrastinate workers
run in the test's event loop). They check what the queue promises: a delivery runs once
and a redelivery sends nothing; failures are retried through new jobs or dead-lettered;
scheduled jobs wait for their time; `recover` sends jobs for ledger rows that have none
and retries the jobs of dead workers; and `claim_one` lets exactly one job run a delivery.

Skips when Postgres is unreachable (tests/support/postgres.py). The multi-process version
of these guarantees, with SIGKILL, is tests/scale/test_replicas.py.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import orjson
import pytest
from procrastinate.types import JSONDict
from sqlalchemy import update

from app.queue.distributed import TASK, DistributedQueue
from app.service import Service
from app.store.deliveries import (
    DEAD,
    DONE,
    LEASE_LAPSED,
    QUEUED,
    RUNNING,
    Delivery,
    DeliveryStore,
    NewDelivery,
)
from app.store.schema import deliveries
from app.web import create_app
from tests.support import plugins, postgres
from tests.support.deckhand import make_settings
from tests.support.waiting import eventually

PLUGIN = "tests.support.plugins:router"
EVENT = "deckhand_test"
QUEUE_SETTINGS: dict[str, Any] = {
    "plugins": [PLUGIN],
    "max_attempts": 3,
    "retry_base_seconds": 0.05,
    "lease_seconds": 30.0,
    "worker_concurrency": 4,
    "queue_heartbeat_seconds": 0.5,
    "queue_stalled_seconds": 2.0,
    "queue_recover_seconds": 1,  # the relay waits max(stalled, 3 * recover) = 3 s
}

StartService = Callable[..., Awaitable[Service]]


@pytest.fixture
def pg_url() -> Iterator[str]:
    yield from postgres.fresh_database()


def queue_settings(tmp_path: Path, pg_url: str, **overrides: Any) -> Any:
    values = {**QUEUE_SETTINGS, "database_url": pg_url, "queue_url": pg_url, **overrides}
    return make_settings(tmp_path, **values)


@pytest.fixture
async def start(pg_url: str, tmp_path: Path) -> AsyncIterator[StartService]:
    """Start a Service on the test's database: `worker=False` for a web-only replica."""
    services: list[Service] = []

    async def start_service(*, worker: bool = True, **overrides: Any) -> Service:
        service = Service(queue_settings(tmp_path, pg_url, **overrides), web=False, worker=worker)
        services.append(service)
        await service.start()
        return service

    yield start_service
    for service in reversed(services):
        await service.stop()


# ------------------------------------------------------------------------------ helpers
def delivery(mode: str = "ok", **data: Any) -> NewDelivery:
    payload = orjson.dumps({"mode": mode, **data})
    return NewDelivery(id=f"dist-{uuid.uuid4()}", event=EVENT, payload=payload)


def queue_of(service: Service) -> DistributedQueue:
    assert service.queue is not None
    return service.queue


def runs(delivery_id: str) -> int:
    """How many times the test handler ran for this delivery."""
    return len(plugins.ATTEMPTS[delivery_id])


async def add_without_job(service: Service, items: Sequence[NewDelivery]) -> None:
    """Commit ledger rows with no job sent for them (a replica that died after its commit)."""
    announce, service.db.on_enqueue = service.db.on_enqueue, None
    try:
        assert await service.deliveries.add_many(items) == {item.id for item in items}
    finally:
        service.db.on_enqueue = announce


async def backdate(service: Service, delivery_id: str, seconds: float) -> None:
    """Move the row's times into the past, as if it had waited that long: the relay
    leaves alone rows younger than its grace (`max(stalled, 3 * recover)` seconds)."""
    statement = (
        update(deliveries)
        .where(deliveries.c.id == delivery_id)
        .values(
            run_after=deliveries.c.run_after - seconds,
            received_at=deliveries.c.received_at - seconds,
            started_at=deliveries.c.started_at - seconds,
        )
    )
    await service.db.transaction(lambda conn: conn.execute(statement))


async def jobs_for(queue: DistributedQueue, delivery_id: str) -> list[dict[str, Any]]:
    """The delivery's procrastinate jobs still in the table (successful ones are deleted)."""
    return await queue.app.connector.execute_query_all_async(
        "SELECT id, status, worker_id, scheduled_at FROM procrastinate_jobs "
        "WHERE task_name = %(task)s AND args->>'delivery_id' = %(id)s ORDER BY id",
        task=TASK,
        id=delivery_id,
    )


async def no_jobs_left(queue: DistributedQueue, *delivery_ids: str) -> bool:
    for delivery_id in delivery_ids:
        if await jobs_for(queue, delivery_id):
            return False
    return True


async def finished(store: DeliveryStore, delivery_id: str, within: float = 15.0) -> Delivery:
    """Wait until the delivery is done or dead."""

    async def check() -> Delivery | None:
        found = await store.get(delivery_id)
        return found if found is not None and found.status in (DONE, DEAD) else None

    result: Delivery = await eventually(check, within=within)
    return result


def record_announcements(service: Service) -> list[list[str]]:
    """The ids each `Database.on_enqueue` call announced to the queue."""
    announced: list[list[str]] = []
    announce = service.db.on_enqueue
    assert announce is not None

    async def spy(items: Sequence[Any]) -> None:
        announced.append([item.id for item in items])
        await announce(items)

    service.db.on_enqueue = spy
    return announced


def record_claims(
    store: DeliveryStore,
    monkeypatch: pytest.MonkeyPatch,
    claims: list[tuple[str, str, bool]] | None = None,
) -> list[tuple[str, str, bool]]:
    """Each `claim_one` a job made: (delivery id, job key, whether it got the delivery)."""
    claims = [] if claims is None else claims
    claim_one = store.claim_one

    async def spy(
        delivery_id: str, worker_id: str, lease_seconds: float, max_attempts: int
    ) -> Delivery | None:
        claimed = await claim_one(delivery_id, worker_id, lease_seconds, max_attempts)
        claims.append((delivery_id, worker_id, claimed is not None))
        return claimed

    monkeypatch.setattr(store, "claim_one", spy)
    return claims


def record_defers(queue: DistributedQueue, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The deliveries the worker side sent a new job for (retries, resends, hand-backs)."""
    deferred: list[str] = []
    defer = queue._defer

    async def spy(delivery_id: str, at: float | None = None) -> None:
        deferred.append(delivery_id)
        await defer(delivery_id, at)

    monkeypatch.setattr(queue, "_defer", spy)
    return deferred


async def settle_with_a_later_delivery(service: Service) -> None:
    """Run one more delivery through the queue, so that anything sent before it has had
    its chance to run (a duplicate, if there were one, would show itself by now)."""
    sentinel = delivery()
    await service.deliveries.add_many([sentinel])
    assert (await finished(service.deliveries, sentinel.id)).status == DONE
    await eventually(lambda: no_jobs_left(queue_of(service), sentinel.id))


# -------------------------------------------------------------------- runs exactly once
async def test_a_delivery_runs_once_and_a_redelivery_sends_no_job(start: StartService) -> None:
    service = await start()
    queue, store = queue_of(service), service.deliveries
    announced = record_announcements(service)
    item = delivery()

    assert await store.add_many([item]) == {item.id}
    done = await finished(store, item.id)
    assert (done.status, done.attempts, done.last_error) == (DONE, 1, None)
    await eventually(lambda: no_jobs_left(queue, item.id))  # deleted once successful

    assert await store.add_many([item]) == set()  # GitHub redelivers the same id
    assert await jobs_for(queue, item.id) == []
    await settle_with_a_later_delivery(service)

    assert announced[0] == [item.id] and len(announced) == 2  # the item, then the sentinel
    assert runs(item.id) == 1
    again = await store.get(item.id)
    assert again is not None and (again.status, again.attempts) == (DONE, 1)


async def test_a_transient_failure_is_retried_through_a_new_job_until_done(
    start: StartService, monkeypatch: pytest.MonkeyPatch
) -> None:
    service = await start()
    claims = record_claims(service.deliveries, monkeypatch)
    deferred = record_defers(queue_of(service), monkeypatch)
    item = delivery("fail_times", n=2)

    await service.deliveries.add_many([item])
    done = await finished(service.deliveries, item.id)

    assert (done.status, done.attempts) == (DONE, 3)
    assert done.last_error == "RuntimeError: transient failure 2"
    assert runs(item.id) == 3
    assert deferred == [item.id, item.id]  # one new job per retry
    keys = [key for delivery_id, key, got in claims if delivery_id == item.id and got]
    assert len(keys) == 3 and len(set(keys)) == 3, claims  # each attempt a job of its own
    await eventually(lambda: no_jobs_left(queue_of(service), item.id))


async def test_failures_end_dead_after_max_attempts_or_at_once_when_permanent(
    start: StartService, monkeypatch: pytest.MonkeyPatch
) -> None:
    service = await start()
    deferred = record_defers(queue_of(service), monkeypatch)
    always, permanent = delivery("always"), delivery("permanent")

    await service.deliveries.add_many([always, permanent])
    dead = await finished(service.deliveries, always.id)
    dead_at_once = await finished(service.deliveries, permanent.id)

    assert (dead.status, dead.attempts) == (DEAD, 3)
    assert dead.last_error == "RuntimeError: this always fails"
    assert dead.finished_at is not None
    assert (dead_at_once.status, dead_at_once.attempts) == (DEAD, 1)
    assert dead_at_once.last_error == "PermanentError: cannot be done"
    assert deferred == [always.id, always.id]  # the permanent one was never sent again
    await settle_with_a_later_delivery(service)
    assert (runs(always.id), runs(permanent.id)) == (3, 1)
    assert await no_jobs_left(queue_of(service), always.id, permanent.id)


async def test_a_scheduled_job_waits_for_its_time(start: StartService) -> None:
    service = await start()
    job_id = f"dist-probe-{uuid.uuid4()}"
    at = time.time() + 1.5
    not_before = time.monotonic() + (at - time.time())

    scheduled = await service.deliveries.schedule(
        job_id, EVENT, {"mode": "ok"}, repository="octo-org/widgets", installation_id=None, at=at
    )
    assert scheduled
    [job] = await jobs_for(queue_of(service), job_id)
    assert job["status"] == "todo" and abs(job["scheduled_at"].timestamp() - at) < 0.01
    assert not await service.deliveries.schedule(  # the same job id again: nothing new
        job_id, EVENT, {"mode": "ok"}, repository="octo-org/widgets", installation_id=None, at=at
    )
    assert len(await jobs_for(queue_of(service), job_id)) == 1

    done = await finished(service.deliveries, job_id)
    assert (done.status, done.attempts) == (DONE, 1)
    assert runs(job_id) == 1
    assert plugins.ATTEMPTS[job_id][0] >= not_before - 0.01, "ran before its time"


# -------------------------------------------------------------------------- the relay
async def test_recover_sends_a_job_for_ledger_rows_that_have_none(
    start: StartService, monkeypatch: pytest.MonkeyPatch
) -> None:
    web = await start(worker=False)
    web_queue = queue_of(web)
    committed_only = delivery()  # the replica died between its commit and its defer
    await add_without_job(web, [committed_only])
    job_lost = delivery()  # its job was lost (deleted) before any worker took it
    await web.deliveries.add_many([job_lost])
    [job] = await jobs_for(web_queue, job_lost.id)
    await web_queue.app.connector.execute_query_async(
        "DELETE FROM procrastinate_jobs WHERE id = %(id)s", id=job["id"]
    )
    assert await jobs_for(web_queue, committed_only.id) == []
    assert await jobs_for(web_queue, job_lost.id) == []

    worker = await start()
    resent = record_defers(queue_of(worker), monkeypatch)
    for item in (committed_only, job_lost):
        done = await finished(worker.deliveries, item.id)
        assert (done.status, done.attempts) == (DONE, 1)
    await settle_with_a_later_delivery(worker)
    assert sorted(resent) == sorted([committed_only.id, job_lost.id])
    assert (runs(committed_only.id), runs(job_lost.id)) == (1, 1)


async def test_a_retried_dead_letter_runs_again(
    start: StartService, monkeypatch: pytest.MonkeyPatch
) -> None:
    service = await start(max_attempts=1)
    store = service.deliveries
    announced, unannounced = delivery("fail_times", n=1), delivery("fail_times", n=1)
    await store.add_many([announced, unannounced])
    for item in (announced, unannounced):
        dead = await finished(store, item.id)
        assert (dead.status, dead.attempts) == (DEAD, 1)
        assert dead.last_error == "RuntimeError: transient failure 1"

    assert await store.retry([announced.id]) == [announced.id]  # the CLI or the dashboard
    # A retry whose queue is not told (an older CLI, a crash after the commit): the
    # relay finds the queued row without a job.
    tell, service.db.on_enqueue = service.db.on_enqueue, None
    try:
        assert await store.retry([unannounced.id]) == [unannounced.id]
    finally:
        service.db.on_enqueue = tell
    await backdate(service, unannounced.id, 10.0)  # retried a while ago

    for item in (announced, unannounced):
        done = await finished(store, item.id)
        assert (done.status, done.attempts) == (DONE, 1)
        assert runs(item.id) == 2
    await settle_with_a_later_delivery(service)
    assert (runs(announced.id), runs(unannounced.id)) == (2, 2)


# ------------------------------------------------------------------ claim_one exactness
async def test_several_jobs_for_one_delivery_run_it_once_across_workers(
    start: StartService, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = await start(), await start()
    items = [delivery() for _ in range(12)]
    await add_without_job(first, items)
    claims = record_claims(first.deliveries, monkeypatch)
    record_claims(second.deliveries, monkeypatch, claims)

    # Three jobs per delivery, taken by the two workers' 8 slots as they come.
    jobs: list[JSONDict] = [{"delivery_id": item.id} for item in items for _ in range(3)]
    await queue_of(first).deliver.batch_defer_async(*jobs)
    for item in items:
        done = await finished(first.deliveries, item.id)
        assert (done.status, done.attempts) == (DONE, 1)
    await eventually(lambda: no_jobs_left(queue_of(first), *(item.id for item in items)))

    assert [runs(item.id) for item in items] == [1] * len(items)
    for item in items:
        mine = [got for delivery_id, _, got in claims if delivery_id == item.id]
        assert len(mine) == 3 and mine.count(True) == 1, claims


async def test_a_job_finds_its_delivery_held_by_another_job_and_does_nothing(
    start: StartService, monkeypatch: pytest.MonkeyPatch
) -> None:
    service = await start()
    queue, store = queue_of(service), service.deliveries
    item = delivery()
    await add_without_job(service, [item])
    held = await store.claim_one(item.id, "job:999999999", 30.0, 3)  # a job that is gone
    assert held is not None and held.attempts == 1
    claims = record_claims(store, monkeypatch)

    job_id = await queue.deliver.defer_async(delivery_id=item.id)
    await eventually(lambda: no_jobs_left(queue, item.id))  # it ran, and succeeded
    assert claims[0] == (item.id, f"job:{job_id}", False)
    assert runs(item.id) == 0
    still = await store.get(item.id)
    assert still is not None and (still.status, still.attempts) == (RUNNING, 1)

    # The holder has no job: once the delivery has waited past the grace, recover
    # puts it back and sends a job for it, which runs it once.
    await backdate(service, item.id, 10.0)
    done = await finished(store, item.id)
    assert (done.status, done.attempts) == (DONE, 2)
    assert runs(item.id) == 1


async def test_claim_one_takes_back_its_own_claim_and_buries_it_past_max_attempts(
    start: StartService,
) -> None:
    service = await start(worker=False)
    store = service.deliveries
    item = delivery()
    await add_without_job(service, [item])

    first = await store.claim_one(item.id, "job:1", 30.0, 2)
    assert first is not None and (first.status, first.attempts) == (RUNNING, 1)
    assert first.payload == item.payload
    assert await store.claim_one(item.id, "job:2", 30.0, 2) is None  # another job's
    again = await store.claim_one(item.id, "job:1", 30.0, 2)  # retried after its worker died
    assert again is not None and again.attempts == 2
    assert await store.claim_one(item.id, "job:1", 30.0, 2) is None  # past max_attempts
    buried = await store.get(item.id)
    assert buried is not None and (buried.status, buried.attempts) == (DEAD, 2)
    assert buried.last_error == LEASE_LAPSED and buried.finished_at is not None
    assert await store.claim_one(item.id, "job:1", 30.0, 2) is None  # dead stays dead


# ------------------------------------------------------------------------- dead workers
async def test_the_jobs_of_a_dead_worker_are_retried_and_run_once(
    start: StartService, monkeypatch: pytest.MonkeyPatch
) -> None:
    web = await start(worker=False)
    web_queue = queue_of(web)
    resumed, last_chance = delivery(), delivery()
    await web.deliveries.add_many([resumed, last_chance])
    job_ids = {}
    for item in (resumed, last_chance):
        [job] = await jobs_for(web_queue, item.id)
        job_ids[item.id] = job["id"]

    # A worker took both jobs, claimed their deliveries and died: its heartbeat stopped
    # long ago and its jobs are left 'doing'. `last_chance` was on its last attempt.
    dead_worker = await web_queue.app.connector.execute_query_one_async(
        "INSERT INTO procrastinate_workers (last_heartbeat) "
        "VALUES (NOW() - INTERVAL '1 hour') RETURNING id"
    )
    await web_queue.app.connector.execute_query_async(
        "UPDATE procrastinate_jobs SET status = 'doing', worker_id = %(worker)s "
        "WHERE id = ANY(%(ids)s)",
        worker=dead_worker["id"],
        ids=list(job_ids.values()),
    )
    for item, attempts in ((resumed, 1), (last_chance, 2)):
        for _ in range(attempts):
            assert await web.deliveries.claim_one(item.id, f"job:{job_ids[item.id]}", 30.0, 2)

    worker = await start(max_attempts=2)
    claims = record_claims(worker.deliveries, monkeypatch)
    done = await finished(worker.deliveries, resumed.id)
    assert (done.status, done.attempts) == (DONE, 2)
    buried = await finished(worker.deliveries, last_chance.id)
    assert (buried.status, buried.attempts, buried.last_error) == (DEAD, 2, LEASE_LAPSED)
    await eventually(lambda: no_jobs_left(queue_of(worker), resumed.id, last_chance.id))
    await settle_with_a_later_delivery(worker)

    # The same jobs came back (procrastinate retried them) and took back their claims.
    assert (resumed.id, f"job:{job_ids[resumed.id]}", True) in claims
    assert (last_chance.id, f"job:{job_ids[last_chance.id]}", False) in claims
    assert (runs(resumed.id), runs(last_chance.id)) == (1, 0)


async def test_a_job_interrupted_by_shutdown_hands_its_delivery_back(
    start: StartService, monkeypatch: pytest.MonkeyPatch
) -> None:
    web = await start(worker=False)
    calls: list[str] = []

    async def job(delivery: Delivery) -> None:
        calls.append(delivery.id)
        if len(calls) == 1:
            await asyncio.sleep(3600)  # still running when its worker shuts down

    queues: list[DistributedQueue] = []

    async def start_worker() -> DistributedQueue:
        queue = DistributedQueue(web.settings, web.deliveries, job)
        queues.append(queue)
        run = queue.app.run_worker_async

        async def run_with_a_short_grace(**options: Any) -> None:
            await run(**{**options, "shutdown_graceful_timeout": 0.2})

        monkeypatch.setattr(queue.app, "run_worker_async", run_with_a_short_grace)
        await queue.open()
        queue.start_worker()
        return queue

    try:
        first = await start_worker()
        item = delivery()
        await web.deliveries.add_many([item])
        await eventually(lambda: calls == [item.id])
        await first.stop_worker()  # the grace runs out: the job is cancelled

        back = await web.deliveries.get(item.id)
        assert back is not None and (back.status, back.attempts) == (QUEUED, 1)
        assert [job["status"] for job in await jobs_for(first, item.id)] == ["aborted", "todo"]

        await start_worker()
        done = await finished(web.deliveries, item.id)
        assert (done.status, done.attempts) == (DONE, 2)
        assert calls == [item.id, item.id]
    finally:
        for queue in queues:
            await queue.close()


async def test_a_worker_draining_its_jobs_at_shutdown_is_not_taken_for_dead(
    start: StartService,
) -> None:
    web = await start(worker=False)
    running: list[str] = []
    completed: list[str] = []
    overlapped: list[str] = []

    async def job(delivery: Delivery) -> None:
        if running:
            overlapped.append(delivery.id)
        running.append(delivery.id)
        try:
            await asyncio.sleep(4.0)  # longer than queue_stalled_seconds, shorter than the grace
            completed.append(delivery.id)
        finally:
            running.remove(delivery.id)

    queues = [DistributedQueue(web.settings, web.deliveries, job) for _ in range(2)]
    try:
        for queue in queues:
            await queue.open()
        draining, other = queues
        draining.start_worker()
        item = delivery()
        await web.deliveries.add_many([item])
        await eventually(lambda: running == [item.id])
        other.start_worker()
        await draining.stop_worker()  # SIGTERM: it finishes its job, for up to 10 s
        done = await finished(web.deliveries, item.id)
        await eventually(lambda: not running)
        # Finished by the draining worker, or cut short at a grace that ends before it
        # could be taken for dead and handed back: either way run to the end once, and
        # never by two workers at the same time.
        assert done.status == DONE
        assert (overlapped, completed) == ([], [item.id])
    finally:
        for queue in queues:
            await queue.close()


# ---------------------------------------------------------------------------- healthz
async def test_healthz_of_a_web_only_replica_names_the_procrastinate_backend(
    pg_url: str, tmp_path: Path, aiohttp_client: Any
) -> None:
    app = create_app(queue_settings(tmp_path, pg_url), worker=False)
    client = await aiohttp_client(app)
    answer = await client.get("/healthz")
    body = await answer.json()
    assert answer.status == 200, body
    assert body["queue_backend"] == "procrastinate"
    assert body["database"] == "ok" and body["workers"] == "external"
