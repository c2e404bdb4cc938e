"""Every store on a real Postgres: migrations, the queue's claims across processes, the
deployment slot under contention, and a webhook through to the worker.

Each test gets a database of its own, dropped afterwards (tests/support/postgres.py).
Skips only when Postgres does not answer; `.ci/run` starts it, so CI runs these.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import pytest
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text

from app.deploy.store import DeployStore
from app.installations import ACTIVE, DELETED, InstallationStore
from app.review.store import ReviewStore
from app.review.target import ReviewTarget
from app.store.database import MIGRATIONS, Database
from app.store.deliveries import LEASE_LAPSED, DeliveryStore, NewDelivery
from app.store.schema import metadata
from tests.support import plugins, postgres

PLUGIN = "tests.support.plugins:router"


@pytest.fixture
def pg_url() -> Iterator[str]:
    yield from postgres.fresh_database()


@pytest.fixture
async def db(pg_url: str) -> AsyncIterator[Database]:
    database = Database(pg_url)
    await database.migrate()
    yield database
    await database.close()


def head_revision() -> str:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    head = ScriptDirectory.from_config(config).get_current_head()
    assert head is not None
    return head


# ------------------------------------------------------------------- migrations
async def test_migrations_bring_an_empty_database_to_head(pg_url: str) -> None:
    database = Database(pg_url)
    try:
        assert database.engine.dialect.name == "postgresql"
        assert database.engine.dialect.driver == "psycopg"
        # Several processes starting at once: one migrates, the others find it done.
        others = [Database(pg_url) for _ in range(2)]
        await asyncio.gather(database.migrate(), *(other.migrate() for other in others))
        for other in others:
            await other.close()
        await database.migrate()  # and again on the next start: nothing to do

        def schema(conn: Any) -> tuple[str, set[str]]:
            version = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
            return version, set(inspect(conn).get_table_names())

        version, tables = await database.read(schema)
        assert version == head_revision()
        assert set(metadata.tables) <= tables
        await database.ping()
    finally:
        await database.close()


async def test_a_transaction_that_loses_a_conflict_runs_again(db: Database) -> None:
    calls = []

    def work(conn: Any) -> str:
        calls.append(1)
        if len(calls) == 1:  # what Postgres answers when a concurrent transaction won
            conn.execute(text("DO $$ BEGIN RAISE EXCEPTION USING ERRCODE = '40001'; END $$"))
        return "committed"

    assert await db.transaction(work) == "committed"
    assert len(calls) == 2


# ---------------------------------------------------------------- the queue
async def test_deliveries_are_added_claimed_finished_retried_and_pruned(db: Database) -> None:
    store = DeliveryStore(db)
    new = await store.add_many(
        [
            NewDelivery(id="d1", event="push", payload=b"\x00{}\xff", installation_id=2**40),
            NewDelivery(id="d2", event="push", payload=b"{}", repository="o/r"),
            NewDelivery(id="d2", event="push", payload=b"{}"),  # twice in one batch
            NewDelivery(id="skip", event="star", payload=b"{}", handled=False),
            NewDelivery(id="later", event="probe", payload=b"{}", run_after=time.time() + 60),
        ]
    )
    assert new == {"d1", "d2", "skip", "later"}
    redelivered = [
        NewDelivery(id="d1", event="push", payload=b"x"),
        NewDelivery(id="d3", event="push", payload=b"3"),
    ]
    assert await store.add_many(redelivered) == {"d3"}
    assert (await store.counts())["queued"] == 4

    settled, claimed = await store.settle_and_claim((), "w1", 10, lease_seconds=60)
    assert settled == 0
    assert sorted(d.id for d in claimed) == ["d1", "d2", "d3"]  # not "later", not "skip"
    first = next(d for d in claimed if d.id == "d1")
    assert (first.payload, first.installation_id, first.attempts) == (b"\x00{}\xff", 2**40, 1)
    assert await store.claim("w2", 10, lease_seconds=60) == []

    await store.extend_lease(["d1", "d2", "d3"], "w1", 120)
    assert await store.reschedule("d2", "w1", "RuntimeError: try again", time.time())
    assert await store.bury("d3", "w1", "PermanentError: no")
    settled, claimed = await store.settle_and_claim(["d1"], "w1", 10, lease_seconds=60)
    assert settled == 1
    assert [(d.id, d.attempts, d.last_error) for d in claimed] == [
        ("d2", 2, "RuntimeError: try again")
    ]
    assert not await store.finish("d2", "w2")  # not w2's lease
    assert await store.finish("d2", "w1")

    assert await store.retry(all_dead=True) == ["d3"]
    [again] = await store.claim("w1", 10, lease_seconds=60)
    assert (again.id, again.attempts) == ("d3", 1)
    await store.finish("d3", "w1")

    assert await store.counts() == {"queued": 1, "running": 0, "done": 4, "dead": 0}
    assert [d.id for d in await store.list(status="queued")] == ["later"]
    assert await store.oldest_queued_age() == 0.0
    await asyncio.sleep(0.01)
    assert await store.prune(0.001) == 4
    assert await store.get("d1") is None
    assert (await store.get("later")).payload == b"{}"  # type: ignore[union-attr]


async def test_a_lapsed_lease_is_taken_again_then_dead_lettered(db: Database) -> None:
    store = DeliveryStore(db)
    await store.add_many([NewDelivery(id="poison", event="push", payload=b"{}")])
    for attempt in (1, 2):
        _, claimed = await store.settle_and_claim((), f"w{attempt}", 10, 0.01, max_attempts=2)
        assert [(d.id, d.attempts) for d in claimed] == [("poison", attempt)]
        await asyncio.sleep(0.02)  # the worker "dies": its lease lapses
    assert (await store.settle_and_claim((), "w3", 10, 0.01, max_attempts=2))[1] == []
    dead = await store.get("poison")
    assert dead is not None
    assert (dead.status, dead.attempts, dead.last_error) == ("dead", 2, LEASE_LAPSED)


def claim_until_empty(url: str, worker: str, start: Any) -> list[str]:
    """One process of the race below: its own Database, four claim loops at once."""

    async def loop(store: DeliveryStore, name: str) -> list[str]:
        mine: list[str] = []
        finished: list[str] = []
        idle = 0
        while idle < 3:
            _, claimed = await store.settle_and_claim(finished, name, 7, lease_seconds=60)
            finished = [d.id for d in claimed]
            mine += finished
            idle = 0 if claimed else idle + 1
            await asyncio.sleep(0.002)  # the jobs' "work"
        return mine

    async def main() -> list[str]:
        database = Database(url, pool_size=4)
        try:
            store = DeliveryStore(database)
            await database.ping()
            await asyncio.to_thread(start.wait, 60)  # every process ready: claim together
            loops = [loop(store, f"{worker}-{n}") for n in range(4)]
            return [i for ids in await asyncio.gather(*loops) for i in ids]
        finally:
            await database.close()

    return asyncio.run(main())


async def test_claimers_in_several_processes_take_each_delivery_exactly_once(
    db: Database, pg_url: str
) -> None:
    store = DeliveryStore(db)
    ids = [f"race-{n:04d}" for n in range(600)]
    await store.add_many([NewDelivery(id=i, event="push", payload=b"{}") for i in ids])
    spawn = multiprocessing.get_context("spawn")
    with spawn.Manager() as manager, ProcessPoolExecutor(3, mp_context=spawn) as pool:
        start = manager.Barrier(3)
        futures = [
            asyncio.wrap_future(pool.submit(claim_until_empty, pg_url, f"p{n}", start))
            for n in range(3)
        ]
        results = await asyncio.gather(*futures)
    taken = Counter(i for claimed in results for i in claimed)
    assert sorted(taken) == ids
    assert [i for i, times in taken.items() if times > 1] == []
    assert sum(1 for claimed in results if claimed) >= 2, "the processes should have raced"
    assert await store.counts() == {"queued": 0, "running": 0, "done": 600, "dead": 0}


async def test_claimers_in_threads_of_one_process_take_each_delivery_once(db: Database) -> None:
    store = DeliveryStore(db)
    ids = [f"t-{n:03d}" for n in range(200)]
    await store.add_many([NewDelivery(id=i, event="push", payload=b"{}") for i in ids])

    async def loop(name: str) -> list[str]:
        mine: list[str] = []
        while claimed := await store.claim(name, 3, lease_seconds=60):
            mine += [d.id for d in claimed]
        return mine

    results = await asyncio.gather(*(loop(f"w{n}") for n in range(8)))
    taken = [i for claimed in results for i in claimed]
    assert sorted(taken) == ids  # each once, none twice


# ------------------------------------------------------------ the other stores
async def test_two_reservations_at_once_exactly_one_wins(db: Database, pg_url: str) -> None:
    other = Database(pg_url)  # a second process' connections
    try:
        stores = [DeployStore(db), DeployStore(other)]
        for round_ in range(10):
            environment = f"production-{round_}"
            won = await asyncio.gather(
                *(stores[n % 2].reserve("Octo/Widgets", environment) for n in range(6))
            )
            assert sum(map(bool, won)) == 1, won
        state = await stores[1].state("octo/widgets", "production-0")
        assert state.in_flight == 0
        await stores[0].attach("octo/widgets", "production-0", 123)
        assert not await stores[1].reserve("octo/widgets", "production-0")
        await stores[1].release("octo/widgets", "production-0", 123)
        assert await stores[0].reserve("octo/widgets", "production-0")
        await stores[0].lock("octo/widgets", "production-0", "alice", "incident")
        assert (await stores[1].state("octo/widgets", "production-0")).locked_by == "alice"
    finally:
        await other.close()


async def test_review_store_round_trip(db: Database) -> None:
    store = ReviewStore(db)
    target = ReviewTarget(
        repository="Octo/Widgets",
        clone_url="https://example.com/octo/widgets.git",
        default_branch="main",
        head_sha="a" * 40,
        head_branch="feature",
        head_clone_url="https://example.com/octo/widgets.git",
        base_sha=None,
        pull_number=7,
    )
    assert await store.claim(target, 10.0) == "a" * 40
    newer = ReviewTarget(**{**target.to_dict(), "head_sha": "b" * 40})
    assert await store.claim(newer, 20.0) == "b" * 40
    assert await store.claim(target, 15.0) == "b" * 40  # the older request stands down
    assert await store.latest_head(target) == "b" * 40
    await store.remember_check_run(2**40, "delivery-1", target)
    assert await store.check_run_for("delivery-1") == 2**40
    assert await store.target_of(2**40) == target
    await store.set_summary_comment("Octo/Widgets", 7, 99)
    assert await store.summary_comment("octo/widgets", 7) == 99
    await store.forget_summary_comment("octo/widgets", 7)
    assert await store.summary_comment("octo/widgets", 7) is None
    await store.mark_reported("Octo/Widgets", 7, ["f1", "f2"])
    await store.mark_reported("Octo/Widgets", 7, ["f2"])
    assert await store.unreported("octo/widgets", 7, ["f1", "f2", "f3"]) == {"f3"}


async def test_installation_store_round_trip(db: Database) -> None:
    store = InstallationStore(db)
    installation = {"id": 1001, "account": {"login": "octo-org", "type": "Organization"}}
    await store.record(installation, ACTIVE, [{"full_name": "octo-org/a", "id": 1}])
    await store.record(installation, ACTIVE, [{"full_name": "octo-org/a", "id": 1}])
    await store.add_repositories(installation, [{"full_name": "octo-org/b", "id": 2}])
    assert await store.installation_for("octo-org/b") == 1001
    assert await store.installation_for("Octo-Org/B") == 1001  # names are case-insensitive
    got = await store.get(1001)
    assert got is not None
    assert (got["account"], got["repositories"]) == ("octo-org", ["octo-org/a", "octo-org/b"])
    await store.remove_repositories(1001, [{"full_name": "octo-org/a"}])
    await store.record(installation, DELETED)
    assert await store.installation_for("octo-org/b") is None
    await store.add_repositories(installation, [{"full_name": "octo-org/c"}])
    assert (await store.get(1001))["repositories"] == []  # type: ignore[index]


# ------------------------------------------------------------------ end to end
async def test_a_webhook_is_persisted_and_worked_off_on_postgres(
    pg_url: str, start_deckhand: Any
) -> None:  # pg_url first: its database is dropped after the server stopped
    deckhand = await start_deckhand(database_url=pg_url, plugins=[PLUGIN], max_attempts=3)
    assert deckhand.store.db.engine.dialect.name == "postgresql"
    status, _, flaky = await deckhand.post("deckhand_test", {"mode": "fail_times", "n": 1})
    assert status == 202
    _, _, doomed = await deckhand.post("deckhand_test", {"mode": "permanent"})
    again, _, _ = await deckhand.post(
        "deckhand_test", {"mode": "fail_times", "n": 1}, delivery_id=flaky
    )
    assert again == 202  # a redelivery is acknowledged, not run twice
    finished = await deckhand.wait_finished([flaky, doomed])
    assert (finished[flaky].status, finished[flaky].attempts) == ("done", 2)
    assert (finished[doomed].status, finished[doomed].last_error) == (
        "dead",
        "PermanentError: cannot be done",
    )
    assert len(plugins.ATTEMPTS[flaky]) == 2
