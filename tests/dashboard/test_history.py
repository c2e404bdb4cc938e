"""Per-environment views of a repository's deployments and their success rate."""

from __future__ import annotations

from app.dashboard.history import EnvironmentView
from app.deploy.store import EnvironmentState
from tests.dashboard.conftest import deployment


def test_success_rate_counts_finished_deployments_only() -> None:
    view = EnvironmentView("production", EnvironmentState())
    assert view.success_rate is None
    view.deployments = [deployment(1, "pending"), deployment(2, "inactive")]
    assert view.success_rate is None
    view.deployments += [deployment(3, "success"), deployment(4, "success"), deployment(5, "error")]
    assert view.success_rate == 67
