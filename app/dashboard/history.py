"""A repository's deployments as the dashboard shows them: per environment, newest first,
with the success rate and the mean time to recover.

Reads the deploy store only. The success rate counts finished deployments (success
against failure and error), leaving out those still running and the `inactive` ones
GitHub retired. A deployment *went bad* when it ended in failure or error (at its last
status change), or when a later deployment rolled it back (at that rollback's start);
the environment *recovered* when the next deployment created after it succeeded (at
that success). Consecutive bad deployments are one incident. The time to recover is the
mean over the incidents that recovered. `time_to_recover` and `incidents` are pure.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from app.deploy.store import (
    FINAL,
    DeploymentRecord,
    DeployStore,
    EnvironmentState,
)
from app.store.database import Database

HISTORY_LIMIT = 200
FAILED = frozenset({"failure", "error"})
GOOD = frozenset({"success", "inactive"})


@dataclass(frozen=True)
class DeploymentRow:
    """One deployment with what the dashboard derives from its neighbours."""

    record: DeploymentRecord
    rolled_back_by: DeploymentRecord | None = None

    @property
    def updated_at(self) -> float:
        return self.record.updated_at

    @property
    def duration(self) -> float | None:
        """Seconds from creation to its final status; None while it runs."""
        if self.record.status not in FINAL:
            return None
        return max(0.0, self.updated_at - self.record.created_at)

    @property
    def bad(self) -> bool:
        return self.record.status in FAILED or self.rolled_back_by is not None

    @property
    def good(self) -> bool:
        return self.record.status in GOOD and self.rolled_back_by is None

    @property
    def went_bad_at(self) -> float:
        if self.rolled_back_by is not None:
            return self.rolled_back_by.created_at
        return self.updated_at


def incidents(rows: Sequence[DeploymentRow]) -> list[tuple[float, float | None]]:
    """(went bad, recovered or None) per incident, oldest first."""
    found: list[tuple[float, float | None]] = []
    since: float | None = None
    for row in sorted(rows, key=lambda r: (r.record.created_at, r.record.id)):
        if row.bad:
            if since is None:
                since = row.went_bad_at
        elif row.good and since is not None:
            found.append((since, max(since, row.updated_at)))
            since = None
    if since is not None:
        found.append((since, None))
    return found


def time_to_recover(rows: Sequence[DeploymentRow]) -> float | None:
    """Mean seconds from going bad to the next success; None without a recovered incident."""
    spans = [end - start for start, end in incidents(rows) if end is not None]
    return sum(spans) / len(spans) if spans else None


@dataclass
class EnvironmentView:
    name: str
    state: EnvironmentState
    rows: list[DeploymentRow] = field(default_factory=list)

    @property
    def deployments(self) -> list[DeploymentRecord]:
        return [row.record for row in self.rows]

    @property
    def success_rate(self) -> int | None:
        """Percent of finished deployments that succeeded (superseded ones, now
        `inactive`, included); None before the first one."""
        succeeded = sum(1 for d in self.deployments if d.status in GOOD)
        failed = sum(1 for d in self.deployments if d.status in FAILED)
        if succeeded + failed == 0:
            return None
        return round(100 * succeeded / (succeeded + failed))

    @property
    def time_to_recover(self) -> float | None:
        return time_to_recover(self.rows)

    @property
    def unrecovered(self) -> bool:
        """The newest incident has not recovered yet."""
        found = incidents(self.rows)
        return bool(found) and found[-1][1] is None


def when(timestamp: float | None) -> str:
    if timestamp is None:
        return "—"
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d %H:%M UTC")


def span(seconds: float | None) -> str:
    """`42 s`, `3 min 5 s`, `2 h 10 min`, `3 d 4 h`; an em dash for None."""
    if seconds is None:
        return "—"
    whole = round(seconds)
    if whole < 60:
        return f"{whole} s"
    minutes, secs = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes} min {secs} s" if secs else f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"


def rows_of(records: Sequence[DeploymentRecord]) -> list[DeploymentRow]:
    """Rows in the store's order (newest first), each knowing the first deployment that
    rolled it back (when it went bad), as the deployment's own page does
    (`DeployStore.rolled_back_by`)."""
    rollbacks = {r.rollback_of: r for r in records if r.rollback_of is not None}  # oldest wins
    return [DeploymentRow(r, rollbacks.get(r.id)) for r in records]


async def environments(db: Database, repository: str) -> list[EnvironmentView]:
    """Each environment the repository deployed to, by name."""
    store = DeployStore(db)
    views: dict[str, EnvironmentView] = {}
    for row in rows_of(await store.history(repository, limit=HISTORY_LIMIT)):
        view = views.get(row.record.environment)
        if view is None:
            state = await store.state(repository, row.record.environment)
            view = views[row.record.environment] = EnvironmentView(row.record.environment, state)
        view.rows.append(row)
    return [views[name] for name in sorted(views)]
