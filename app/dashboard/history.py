"""A repository's deployments as the dashboard shows them: per environment, newest first.

Reads `DeployStore` only (history, and the environment's lock and in-flight slot); the
success rate counts finished deployments (success against failure and error), leaving
out those still running and the `inactive` ones GitHub retired.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from app.deploy.store import DeploymentRecord, DeployStore, EnvironmentState

HISTORY_LIMIT = 200
FAILED = frozenset({"failure", "error"})


@dataclass
class EnvironmentView:
    name: str
    state: EnvironmentState
    deployments: list[DeploymentRecord] = field(default_factory=list)

    @property
    def success_rate(self) -> int | None:
        """Percent of finished deployments that succeeded; None before the first one."""
        succeeded = sum(1 for d in self.deployments if d.status == "success")
        failed = sum(1 for d in self.deployments if d.status in FAILED)
        if succeeded + failed == 0:
            return None
        return round(100 * succeeded / (succeeded + failed))


def when(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d %H:%M UTC")


async def environments(store: DeployStore, repository: str) -> list[EnvironmentView]:
    """Each environment the repository deployed to, by name."""
    views: dict[str, EnvironmentView] = {}
    for record in await store.history(repository, limit=HISTORY_LIMIT):
        view = views.get(record.environment)
        if view is None:
            state = await store.state(repository, record.environment)
            view = views[record.environment] = EnvironmentView(record.environment, state)
        view.deployments.append(record)
    return [views[name] for name in sorted(views)]
