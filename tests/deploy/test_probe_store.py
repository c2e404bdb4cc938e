"""Every health probe kept as a row (`DeployStore.record_probe`), read back per environment
over a window (`probes_since`) and per deployment (`probes_of`), and pruned after
`PROBE_RETENTION`, on SQLite and on Postgres."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import func, insert, select

from app.deploy import store as deploy_store
from app.deploy.health import ProbeResult
from app.deploy.store import PROBE_RETENTION, DeployStore, probes_of, probes_since
from app.store.database import Database
from app.store.schema import health_probes
from tests.support import postgres

REPO = "Octo-Org/Widgets"
OK = ProbeResult(True, 200, 0.125, "HTTP 200")


@pytest.fixture(params=["sqlite", "postgres"])
async def db(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    """SQLite, and Postgres unless it does not answer (then skipped)."""
    async for database in postgres.migrated_database(request.param, tmp_path):
        yield database


async def count(db: Database) -> int:
    return int(
        await db.read(
            lambda conn: conn.execute(select(func.count()).select_from(health_probes)).scalar()
        )
    )


async def test_a_probe_is_kept_once_per_deployment_and_number(db: Database) -> None:
    store = DeployStore(db)
    now = round(time.time())
    await store.record_probe(1, REPO, "production", 1, OK, at=now - 60)
    failed = ProbeResult(False, 503, 0.05, "HTTP 503")
    await store.record_probe(1, REPO, "production", 1, failed, at=now - 59)  # the job again
    await store.record_probe(1, REPO, "production", 2, OK, at=now)

    first, second = await probes_of(db, 1)
    assert (first.probe, first.ok, first.status, first.reason) == (1, False, 503, "HTTP 503")
    assert first.latency == pytest.approx(0.05) and first.at.timestamp() == now - 59
    assert (second.probe, second.ok, second.reason) == (2, True, "")
    assert second.latency == pytest.approx(0.125)
    assert await count(db) == 2


async def test_a_probe_without_an_answer_has_no_latency(db: Database) -> None:
    store = DeployStore(db)
    await store.record_probe(1, REPO, "production", 1, ProbeResult(False, None, 5.0, "timed out"))
    ours = ProbeResult(False, None, 0.0, "DNS lookup failed on our side", ours=True)
    await store.record_probe(1, REPO, "production", 2, ours)
    timed_out, our_error = await probes_of(db, 1)
    assert (timed_out.latency, timed_out.status, timed_out.reason) == (None, None, "timed out")
    assert not timed_out.ok and not timed_out.ours
    assert our_error.latency is None and our_error.ours


async def test_probes_since_groups_an_environment_across_deployments(db: Database) -> None:
    store = DeployStore(db)
    now = time.time()
    await store.record_probe(1, REPO, "production", 1, OK, at=now - 8 * 86400)  # too old
    await store.record_probe(1, REPO, "production", 2, OK, at=now - 3 * 86400)
    await store.record_probe(2, REPO, "production", 1, OK, at=now - 60)
    await store.record_probe(2, REPO, "production", 2, OK, at=now - 30)
    await store.record_probe(3, REPO, "staging", 1, OK, at=now - 10)
    await store.record_probe(4, "octo-org/other", "production", 1, OK, at=now - 10)

    found = await probes_since(db, "octo-org/widgets", now - 7 * 86400)
    assert sorted(found) == ["production", "staging"]
    assert [(p.deployment_id, p.probe) for p in found["production"]] == [(1, 2), (2, 1), (2, 2)]
    assert [p.environment for p in found["staging"]] == ["staging"]
    limited = await probes_since(db, REPO, now - 7 * 86400, limit=2)
    assert [(p.deployment_id, p.probe) for p in limited["production"]] == [(2, 1), (2, 2)]


async def test_expired_probes_are_pruned_on_write_a_batch_at_a_time(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(deploy_store, "PROBE_PRUNE_BATCH", 3)
    old = time.time() - PROBE_RETENTION - 60
    rows = [
        {
            "deployment_id": 1,
            "probe": number,
            "repository": REPO.lower(),
            "environment": "production",
            "probed_at": old + number,
            "latency_ms": 100.0,
            "ok": 1,
            "ours": 0,
        }
        for number in range(1, 6)
    ]
    await db.transaction(lambda conn: conn.execute(insert(health_probes), rows))
    store = DeployStore(db)

    await store.record_probe(3, REPO, "production", 1, OK)
    assert await count(db) == 3  # the 3 oldest of the 5 expired went, the new one came
    assert [p.probe for p in await probes_of(db, 1)] == [4, 5]
    await store.record_probe(3, REPO, "production", 2, OK)
    assert await probes_of(db, 1) == []
    assert [(p.deployment_id, p.probe) for p in await probes_of(db, 3)] == [(3, 1), (3, 2)]
