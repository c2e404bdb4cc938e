"""The review store's record of completed runs (`record_run`) and the dashboard's read of
them (`recent_reviews`), on SQLite and on Postgres."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from app.review.store import ReviewStore, RunOutcome, recent_reviews
from app.review.target import ReviewTarget
from app.store.database import Database
from tests.support import postgres

REPO = "Octo-Org/Widgets"


@pytest.fixture(params=["sqlite", "postgres"])
async def db(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    """SQLite, and Postgres unless it does not answer (then skipped)."""
    async for database in postgres.migrated_database(request.param, tmp_path):
        yield database


def target(
    head: str, *, pull: int | None = None, branch: str = "feature", repo: str = REPO
) -> ReviewTarget:
    return ReviewTarget(repo, "", "main", head * 40, branch, "", None, pull_number=pull)


async def test_a_completed_run_is_recorded_with_findings_and_its_fix_commit(
    db: Database,
) -> None:
    store = ReviewStore(db)
    pr = target("a", pull=7)
    await store.remember_check_run(101, "d-1", pr)
    outcome = RunOutcome("failure", errors=2, warnings=3, notices=1, fix_sha="f" * 40, fixes=4)
    await store.record_run(101, pr, outcome, finished_at=1000.0)

    [run] = await recent_reviews(db, "octo-org/widgets")
    assert (run.check_run_id, run.head_sha, run.pull_number, run.branch) == (
        101,
        "a" * 40,
        7,
        "feature",
    )
    assert run.outcome == outcome and run.finished_at == 1000.0
    assert run.findings == 6


async def test_a_rerun_of_the_same_check_run_updates_its_row(db: Database) -> None:
    store = ReviewStore(db)
    pr = target("a", pull=7)
    await store.remember_check_run(101, "d-1", pr)
    await store.record_run(101, pr, RunOutcome("failure", errors=1), finished_at=1000.0)
    await store.record_run(101, pr, RunOutcome("success"), finished_at=1010.0)

    [run] = await recent_reviews(db, REPO)
    assert run.outcome == RunOutcome("success") and run.finished_at == 1010.0
    assert run.findings == 0


async def test_a_retry_that_pushes_nothing_keeps_the_fix_commit_it_pushed(
    db: Database,
) -> None:
    """The retried job finds the branch moved by its own fix commit and pushes nothing."""
    store = ReviewStore(db)
    pr = target("a", pull=7)
    await store.remember_check_run(101, "d-1", pr)
    pushed = RunOutcome("failure", errors=1, fix_sha="f" * 40, fixes=2)
    await store.record_run(101, pr, pushed)
    await store.record_run(101, pr, RunOutcome("failure", errors=1))

    [run] = await recent_reviews(db, REPO)
    assert run.outcome is not None
    assert (run.outcome.fix_sha, run.outcome.fixes) == ("f" * 40, 2)


async def test_recent_reviews_are_newest_first_limited_and_of_one_repository(
    db: Database,
) -> None:
    store = ReviewStore(db)
    for number in range(1, 6):
        run_target = target(str(number), pull=number)
        await store.remember_check_run(number, f"d-{number}", run_target)
        await store.record_run(number, run_target, RunOutcome("success"))
    branch = target("b", branch="topic")
    await store.remember_check_run(50, "d-50", branch)  # opened, not completed yet
    await store.remember_check_run(60, "d-60", target("c", repo="octo-org/other"))

    runs = await recent_reviews(db, REPO, limit=3)
    assert [r.check_run_id for r in runs] == [50, 5, 4]
    assert runs[0].outcome is None and runs[0].finished_at is None
    assert (runs[0].pull_number, runs[0].branch) == (None, "topic")
    assert runs[0].findings is None
    assert len(await recent_reviews(db, REPO)) == 6
