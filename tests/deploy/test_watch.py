"""The health watch's probe job (`app.deploy.watch.run_probe`) on a real SQLite database
against a real health endpoint on loopback: a watch that a newer deployment superseded
while its probe was in flight stays ended, and never rolls back; every probe is kept
as a row of its own."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import structlog

from app.deploy.health import HealthTally, ProbeResult
from app.deploy.store import DeploymentRecord, DeployStore, probes_of, probes_since
from app.deploy.watch import run_probe
from app.store.database import Database
from tests.fakes.health_target import HealthTarget
from tests.support.waiting import eventually

REPO = "octo-org/widgets"


def deployment(id: int) -> DeploymentRecord:
    return DeploymentRecord(
        id=id,
        repository=REPO,
        environment="production",
        sha=f"{id}" * 40,
        ref="main",
        actor="alice",
        components=(),
        rollback_of=None,
        forced=False,
        status="success",
        pull_number=None,
        reason=None,
        created_at=1_700_000_000.0 + id,
    )


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database(f"sqlite:///{tmp_path}/deckhand.db")
    await database.migrate()
    yield database
    await database.close()


@pytest.fixture
async def target() -> AsyncIterator[HealthTarget]:
    async with HealthTarget() as health:
        yield health


async def watching(db: Database, url: str, failures_so_far: int) -> DeployStore:
    """Deployment 1 under watch, `failures_so_far` failed probes counted (of 3 allowed)."""
    store = DeployStore(db)
    await store.record(deployment(1), None)
    tally = HealthTally()
    for _ in range(failures_so_far):
        tally = tally.record(ProbeResult(False, 503, 0.01, "HTTP 503"))
    settings = {
        "url": url,
        "urls": [url],
        "interval": 60.0,
        "failures": 3,
        "timeout": 5.0,
        "max_latency": 0.1,  # a probe slower than this fails
        "expect": {},
        "default_branch": "main",
    }
    state = {"probe": failures_so_far, "tally": tally.to_dict()}
    await store.start_watch(deployment(1), 1001, settings, state, ends_at=4e9)
    return store


async def probe_superseded_in_flight(
    db: Database, store: DeployStore, target: HealthTarget
) -> None:
    """Run probe 3 of deployment 1; while the endpoint is answering, a newer deployment
    supersedes the watch."""
    target.slow(0.5)
    log = structlog.wrap_logger(logging.getLogger("test"))
    job = asyncio.create_task(run_probe(None, db, {"deployment_id": 1, "probe": 3}, log))
    await eventually(lambda: target.hits or job.done())
    await store.stop_watches(REPO, "production", "superseded")
    await job  # gh=None: a rollback attempt would raise here


async def test_a_superseded_watch_is_not_revived_by_its_probe_in_flight(
    db: Database, target: HealthTarget
) -> None:
    store = await watching(db, target.url, failures_so_far=0)
    await probe_superseded_in_flight(db, store, target)
    watch = await store.watch(1)
    assert watch is not None and watch["status"] == "superseded"


async def test_a_superseded_watch_does_not_roll_back_on_its_last_failure(
    db: Database, target: HealthTarget
) -> None:
    store = await watching(db, target.url, failures_so_far=2)
    await probe_superseded_in_flight(db, store, target)  # the third failure: too slow
    watch = await store.watch(1)
    assert watch is not None and watch["status"] == "superseded"
    assert (await store.state(REPO, "production")).locked_by is None


async def test_every_probe_is_kept_once_with_its_latency_or_its_failure(
    db: Database, target: HealthTarget
) -> None:
    await watching(db, target.url, failures_so_far=0)
    log = structlog.wrap_logger(logging.getLogger("test"))
    await run_probe(None, db, {"deployment_id": 1, "probe": 1}, log)
    await run_probe(None, db, {"deployment_id": 1, "probe": 1}, log)  # the job again
    target.failing(503)
    await run_probe(None, db, {"deployment_id": 1, "probe": 2}, log)
    target.drop()
    await run_probe(None, db, {"deployment_id": 1, "probe": 3}, log)

    ok, failed, dropped = await probes_of(db, 1)
    assert (ok.probe, ok.ok, ok.status, ok.environment) == (1, True, 200, "production")
    assert ok.latency is not None and 0 < ok.latency < 5
    assert (failed.probe, failed.ok, failed.status, failed.reason) == (2, False, 503, "HTTP 503")
    assert failed.latency is not None
    assert (dropped.probe, dropped.ok, dropped.status, dropped.latency) == (3, False, None, None)
    watch = await DeployStore(db).watch(1)
    assert watch is not None
    recent = watch["tally"]["tally"]["recent"]  # the tally's samples carry the same times
    assert [r["at"] for r in recent] == [p.at.isoformat() for p in (ok, failed, dropped)]
    found = await probes_since(db, REPO, ok.at.timestamp())
    assert [p.probe for p in found["production"]] == [1, 2, 3]
