"""DeployStore's deployment history on SQLite and on Postgres: records read back with
their last status change, and which deployment rolled one back."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest

from app.deploy.store import DeploymentRecord, DeployStore
from app.store.database import Database
from tests.support import postgres

REPO = "octo-org/widgets"


@pytest.fixture(params=["sqlite", "postgres"])
async def db(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    """SQLite, and Postgres unless it does not answer (then skipped)."""
    async for database in postgres.migrated_database(request.param, tmp_path):
        yield database


def deployment(number: int, created_at: float, rollback_of: int | None = None) -> DeploymentRecord:
    return DeploymentRecord(
        id=number,
        repository=REPO,
        environment="production",
        sha=f"{number:040x}",
        ref="main",
        actor="alice",
        components=(),
        rollback_of=rollback_of,
        forced=False,
        status="queued",
        pull_number=None,
        reason=None,
        created_at=created_at,
    )


async def test_a_record_is_read_back_with_its_last_status_change(db: Database) -> None:
    store = DeployStore(db)
    before = time.time()
    await store.record(deployment(1, before - 60), None)
    recorded = await store.get(1)
    assert recorded is not None and recorded.updated_at >= before
    stored = await store.set_status(1, "success")
    assert stored is not None and stored[1] is True
    changed = stored[0]
    assert changed.status == "success" and changed.updated_at >= recorded.updated_at
    [listed] = await store.history(REPO)
    assert listed.updated_at == changed.updated_at
    # when it changed is not part of what the deployment is
    assert replace(changed, updated_at=0.0) == changed


async def test_the_first_rollback_of_a_deployment_is_the_one_named(db: Database) -> None:
    store = DeployStore(db)
    now = time.time()
    await store.record(deployment(2, now - 300), None)
    assert await store.rolled_back_by(2) is None
    await store.record(deployment(4, now - 100, rollback_of=2), None)  # the second try
    await store.record(deployment(3, now - 200, rollback_of=2), None)  # the first, failed
    first = await store.rolled_back_by(2)
    assert first is not None and first.id == 3


async def test_a_late_or_repeated_status_changes_nothing(db: Database) -> None:
    store = DeployStore(db)
    await store.record(deployment(1, time.time()), None)
    assert await store.set_status(404, "success") is None  # not ours
    for status, changed in [
        ("in_progress", True),
        ("success", True),
        ("success", False),  # GitHub sent it twice
        ("in_progress", False),  # arrived after the success
        ("queued", False),
        ("inactive", True),  # superseded: final to final is news
    ]:
        stored = await store.set_status(1, status)
        assert stored is not None and stored[1] is changed, status
    final = await store.get(1)
    assert final is not None and final.status == "inactive"
