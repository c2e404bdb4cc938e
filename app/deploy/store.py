"""DeployStore: deployment history, environment locks and health watches, in the database.

- An environment has at most one deployment in flight: `reserve` takes the slot in one
  transaction (two `/deploy production` at the same moment: exactly one gets it, across
  processes), `attach` names the deployment, `release` frees it when it ends. A slot left
  by a crashed run expires after `STALE_AFTER` seconds.
- `/lock` sets a sticky lock that only `/unlock` lifts; an automatic rollback sets one too.
- History rows are keyed by GitHub's deployment id and, for a command, by the comment
  line that asked for it, so a retried job finds the deployment it already created.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, and_, func, insert, or_, select, update

from app.store.database import Database
from app.store.schema import deployments, environments, health_watches
from app.store.upsert import upsert

STALE_AFTER = 3600.0
FINAL = frozenset({"success", "failure", "error", "inactive"})


@dataclass(frozen=True)
class DeploymentRecord:
    id: int
    repository: str
    environment: str
    sha: str
    ref: str | None
    actor: str
    components: tuple[str, ...]
    rollback_of: int | None
    forced: bool
    status: str
    pull_number: int | None
    reason: str | None
    created_at: float

    @classmethod
    def from_row(cls, row: Any) -> DeploymentRecord:
        return cls(
            id=row.id,
            repository=row.repository,
            environment=row.environment,
            sha=row.sha,
            ref=row.ref,
            actor=row.actor,
            components=tuple(json.loads(row.components or "[]")),
            rollback_of=row.rollback_of,
            forced=bool(row.forced),
            status=row.status,
            pull_number=row.pull_number,
            reason=row.reason,
            created_at=row.created_at,
        )


@dataclass(frozen=True)
class EnvironmentState:
    in_flight: int | None = None  # 0: reserved, deployment not created yet
    locked_by: str | None = None
    lock_reason: str | None = None


def _key(repository: str, environment: str) -> Any:
    return and_(
        environments.c.repository == repository.lower(),
        environments.c.environment == environment,
    )


def _reserve(conn: Connection, repository: str, environment: str, now: float) -> bool:
    upsert(
        conn,
        environments,
        [{"repository": repository.lower(), "environment": environment}],
        ["repository", "environment"],
    )
    taken = conn.execute(
        update(environments)
        .where(
            _key(repository, environment),
            or_(
                environments.c.in_flight.is_(None),
                environments.c.in_flight_since < now - STALE_AFTER,
            ),
        )
        .values(in_flight=0, in_flight_since=now)
    )
    return taken.rowcount == 1


class DeployStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    # ------------------------------------------------------------- environments
    async def state(self, repository: str, environment: str) -> EnvironmentState:
        def read(conn: Connection) -> EnvironmentState:
            row = conn.execute(select(environments).where(_key(repository, environment))).first()
            if row is None:
                return EnvironmentState()
            return EnvironmentState(row.in_flight, row.locked_by, row.lock_reason)

        return await self.db.read(read)

    async def reserve(self, repository: str, environment: str) -> bool:
        """Take the environment's one in-flight slot; False when another run holds it."""
        return await self.db.transaction(_reserve, repository, environment, time.time())

    async def attach(self, repository: str, environment: str, deployment_id: int) -> None:
        await self._set(repository, environment, in_flight=deployment_id)

    async def release(self, repository: str, environment: str, deployment_id: int | None) -> None:
        """Free the slot if `deployment_id` (or, with None, a mere reservation) holds it."""

        def work(conn: Connection) -> None:
            conn.execute(
                update(environments)
                .where(_key(repository, environment))
                .where(environments.c.in_flight == (deployment_id or 0))
                .values(in_flight=None, in_flight_since=None)
            )

        await self.db.transaction(work)

    async def lock(self, repository: str, environment: str, user: str, reason: str | None) -> None:
        def work(conn: Connection) -> None:
            upsert(
                conn,
                environments,
                [{"repository": repository.lower(), "environment": environment}],
                ["repository", "environment"],
            )
            conn.execute(
                update(environments)
                .where(_key(repository, environment))
                .values(locked_by=user, lock_reason=reason, locked_at=time.time())
            )

        await self.db.transaction(work)

    async def unlock(self, repository: str, environment: str) -> None:
        await self._set(repository, environment, locked_by=None, lock_reason=None, locked_at=None)

    async def _set(self, repository: str, environment: str, **values: Any) -> None:
        await self.db.transaction(
            lambda conn: conn.execute(
                update(environments).where(_key(repository, environment)).values(**values)
            )
        )

    # ------------------------------------------------------------------ history
    async def record(self, record: DeploymentRecord, command_key: str | None) -> None:
        row = {
            "id": record.id,
            "repository": record.repository.lower(),
            "environment": record.environment,
            "sha": record.sha,
            "ref": record.ref,
            "actor": record.actor,
            "components": json.dumps(list(record.components)),
            "rollback_of": record.rollback_of,
            "forced": int(record.forced),
            "status": record.status,
            "pull_number": record.pull_number,
            "command_key": command_key,
            "reason": record.reason,
            "created_at": record.created_at,
            "updated_at": time.time(),
        }
        await self.db.transaction(lambda conn: conn.execute(insert(deployments), [row]))

    async def set_status(self, deployment_id: int, status: str) -> DeploymentRecord | None:
        """Record a new status; returns the deployment (None if it is not ours)."""

        def work(conn: Connection) -> DeploymentRecord | None:
            conn.execute(
                update(deployments)
                .where(deployments.c.id == deployment_id)
                .values(status=status, updated_at=time.time())
            )
            row = conn.execute(select(deployments).where(deployments.c.id == deployment_id)).first()
            return DeploymentRecord.from_row(row) if row else None

        return await self.db.transaction(work)

    async def get(self, deployment_id: int) -> DeploymentRecord | None:
        return await self._one(deployments.c.id == deployment_id)

    async def command_key(self, deployment_id: int) -> str | None:
        """The `<comment id>:<line>` of the command that started the deployment, if any."""
        return await self.db.read(
            lambda conn: conn.execute(
                select(deployments.c.command_key).where(deployments.c.id == deployment_id)
            ).scalar()
        )

    async def by_command(self, command_key: str) -> DeploymentRecord | None:
        return await self._one(deployments.c.command_key == command_key)

    async def _one(self, condition: Any) -> DeploymentRecord | None:
        def read(conn: Connection) -> DeploymentRecord | None:
            row = conn.execute(select(deployments).where(condition)).first()
            return DeploymentRecord.from_row(row) if row else None

        return await self.db.read(read)

    async def history(
        self, repository: str, environment: str | None = None, limit: int = 10
    ) -> list[DeploymentRecord]:
        def read(conn: Connection) -> list[DeploymentRecord]:
            query = select(deployments).where(deployments.c.repository == repository.lower())
            if environment:
                query = query.where(deployments.c.environment == environment)
            query = query.order_by(deployments.c.created_at.desc(), deployments.c.id.desc())
            return [DeploymentRecord.from_row(r) for r in conn.execute(query.limit(limit))]

        return await self.db.read(read)

    async def last_good(
        self, repository: str, environment: str, before: int | None = None
    ) -> DeploymentRecord | None:
        """The newest successful (or since superseded) deployment older than `before`."""
        for record in await self.history(repository, environment, limit=200):
            if before is not None and record.id >= before:
                continue
            if record.status in ("success", "inactive"):
                return record
        return None

    async def succeeded(self, repository: str, environment: str, sha: str) -> bool:
        return any(
            r.sha == sha and r.status in ("success", "inactive")
            for r in await self.history(repository, environment, limit=200)
        )

    async def count_since(self, repository: str, environment: str, since: float) -> int:
        def read(conn: Connection) -> int:
            return int(
                conn.execute(
                    select(func.count())
                    .select_from(deployments)
                    .where(
                        deployments.c.repository == repository.lower(),
                        deployments.c.environment == environment,
                        deployments.c.created_at >= since,
                    )
                ).scalar()
                or 0
            )

        return await self.db.read(read)

    # ------------------------------------------------------------ health watches
    async def start_watch(
        self,
        deployment: DeploymentRecord,
        installation_id: int,
        settings: dict[str, Any],
        tally: dict[str, Any],
        ends_at: float,
    ) -> None:
        row = {
            "deployment_id": deployment.id,
            "repository": deployment.repository,
            "environment": deployment.environment,
            "installation_id": installation_id,
            "settings": json.dumps(settings),
            "tally": json.dumps(tally),
            "status": "watching",
            "started_at": time.time(),
            "ends_at": ends_at,
        }
        await self.db.transaction(
            lambda conn: upsert(conn, health_watches, [row], ["deployment_id"])
        )

    async def watch(self, deployment_id: int) -> dict[str, Any] | None:
        def read(conn: Connection) -> dict[str, Any] | None:
            row = conn.execute(
                select(health_watches).where(health_watches.c.deployment_id == deployment_id)
            ).first()
            if row is None:
                return None
            data = dict(row._mapping)
            data["settings"] = json.loads(data["settings"])
            data["tally"] = json.loads(data["tally"])
            return data

        return await self.db.read(read)

    async def save_watch(self, deployment_id: int, tally: dict[str, Any], status: str) -> bool:
        """Record a probe on a watch that is still running; False when it has ended (a
        newer deployment superseded it, or an earlier attempt closed it)."""

        def save(conn: Any) -> bool:
            result = conn.execute(
                update(health_watches)
                .where(
                    health_watches.c.deployment_id == deployment_id,
                    health_watches.c.status == "watching",
                )
                .values(tally=json.dumps(tally), status=status)
            )
            return bool(result.rowcount)

        return bool(await self.db.transaction(save))

    async def stop_watches(self, repository: str, environment: str, reason: str) -> None:
        """A newer deployment ends the watches of the older ones in that environment."""
        await self.db.transaction(
            lambda conn: conn.execute(
                update(health_watches)
                .where(
                    health_watches.c.repository == repository.lower(),
                    health_watches.c.environment == environment,
                    health_watches.c.status == "watching",
                )
                .values(status=reason)
            )
        )
