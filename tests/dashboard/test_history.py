"""Per-environment views of a repository's deployments: success rate, durations, and the
time to recover (pure functions, no database)."""

from __future__ import annotations

from dataclasses import replace

from app.dashboard.history import (
    DeploymentRow,
    EnvironmentView,
    incidents,
    rows_of,
    span,
    time_to_recover,
)
from app.deploy.store import EnvironmentState
from tests.dashboard.conftest import deployment


def _rows(*spec: tuple[int, str, float, float]) -> list[DeploymentRow]:
    """(id, status, created_at, updated_at) -> rows, in the store's order (newest first)."""
    records = [replace(deployment(n, s, created_at=c), updated_at=u) for n, s, c, u in spec]
    return rows_of(sorted(records, key=lambda r: -r.created_at))


def test_success_rate_counts_finished_deployments_only() -> None:
    view = EnvironmentView("production", EnvironmentState())
    assert view.success_rate is None
    view.rows = _rows((1, "pending", 1, 1))
    assert view.success_rate is None
    view.rows += _rows((2, "inactive", 2, 2))  # a success a later one superseded
    assert view.success_rate == 100
    view.rows += _rows((3, "success", 3, 3), (4, "success", 4, 4), (5, "error", 5, 5))
    assert view.success_rate == 75


def test_time_to_recover_is_the_mean_from_going_bad_to_the_next_success() -> None:
    rows = _rows(
        (1, "success", 100, 110),
        (2, "failure", 200, 230),  # went bad at 230
        (3, "error", 300, 320),  # the same incident
        (4, "success", 400, 430),  # recovered: 430 - 230 = 200
        (5, "failure", 500, 510),  # went bad at 510
        (6, "inactive", 600, 610),  # recovered: 610 - 510 = 100
    )
    assert incidents(rows) == [(230, 430), (510, 610)]
    assert time_to_recover(rows) == 150


def test_a_rolled_back_deployment_went_bad_when_its_rollback_started() -> None:
    bad = replace(deployment(2, "success", created_at=200), updated_at=210)  # then unhealthy
    rollback = replace(deployment(3, "success", created_at=260), rollback_of=2, updated_at=290)
    first = replace(deployment(1, "inactive", created_at=100), updated_at=105)
    rows = rows_of([rollback, bad, first])
    by_id = {row.record.id: row for row in rows}
    assert by_id[2].rolled_back_by == rollback and by_id[2].bad and not by_id[2].good
    assert incidents(rows) == [(260, 290)]
    assert time_to_recover(rows) == 30


def test_of_two_rollbacks_the_first_is_named_and_starts_the_incident() -> None:
    bad = replace(deployment(2, "success", created_at=200), updated_at=205)
    first = replace(deployment(3, "failure", created_at=260), rollback_of=2, updated_at=270)
    second = replace(deployment(4, "success", created_at=300), rollback_of=2, updated_at=310)
    rows = rows_of([second, first, bad])
    by_id = {row.record.id: row for row in rows}
    assert by_id[2].rolled_back_by == first
    assert incidents(rows) == [(260, 310)]
    assert time_to_recover(rows) == 50


def test_no_recovery_yet_means_no_time_and_an_open_incident() -> None:
    rows = _rows((1, "success", 1, 2), (2, "failure", 10, 12), (3, "pending", 20, 20))
    assert time_to_recover(rows) is None
    view = EnvironmentView("production", EnvironmentState(), rows)
    assert view.unrecovered
    assert time_to_recover(_rows((1, "success", 1, 2))) is None
    assert time_to_recover([]) is None


def test_durations_and_spans() -> None:
    done, running = _rows((1, "in_progress", 10, 50), (2, "success", 100, 165))  # newest first
    assert (done.duration, running.duration) == (65, None)
    assert [span(s) for s in (None, 5, 65, 60, 3600, 3720, 90000, 86400)] == [
        "—", "5 s", "1 min 5 s", "1 min", "1 h", "1 h 2 min", "1 d 1 h", "1 d",
    ]  # fmt: skip
