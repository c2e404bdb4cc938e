"""DeployStore: deployment history, environment locks and health watches, in the database.

- An environment has at most one deployment in flight: `reserve` takes the slot in one
  transaction (two `/deploy production` at the same moment: exactly one gets it, across
  processes), `attach` names the deployment, `release` frees it when it ends. A slot left
  by a crashed run expires after `STALE_AFTER` seconds. The slot remembers the command
  that took it (`in_flight_key`): a retried job of that command resumes its own slot
  (`Reservation.RESUMED`) instead of being refused by it.
- `/lock` sets a sticky lock that only `/unlock` lifts; an automatic rollback sets one too.
- History rows are keyed by GitHub's deployment id and, for a command, by the comment
  line that asked for it, so a retried job finds the deployment it already created.
- Every health probe is kept as a row (`record_probe`, keyed by deployment and probe
  number) for `PROBE_RETENTION` seconds: each write also deletes at most
  `PROBE_PRUNE_BATCH` expired rows, so the table stays bounded without a separate job.
"""

from __future__ import annotations

import enum
import json
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, and_, delete, func, insert, or_, select, update

from app.deploy.health import ProbeResult
from app.store.database import Database
from app.store.schema import deployments, environments, health_probes, health_watches
from app.store.upsert import upsert

STALE_AFTER = 3600.0
FINAL = frozenset({"success", "failure", "error", "inactive"})
PROBE_RETENTION = 30 * 86400.0
PROBE_PRUNE_BATCH = 200


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
    # Its last status change, as the store has it (0: not read from the store); not part
    # of what makes two records equal.
    updated_at: float = field(default=0.0, compare=False)

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
            updated_at=float(row.updated_at),
        )


@dataclass(frozen=True)
class EnvironmentState:
    in_flight: int | None = None  # 0: reserved, deployment not created yet
    locked_by: str | None = None
    lock_reason: str | None = None
    in_flight_key: str | None = None  # the command that holds the slot, if one does


@dataclass(frozen=True)
class ProbeRecord:
    """One stored health probe. `latency` (seconds) is None when no answer came."""

    deployment_id: int
    probe: int
    environment: str
    at: datetime
    ok: bool
    latency: float | None
    status: int | None
    reason: str
    ours: bool = False

    @classmethod
    def from_row(cls, row: Any) -> ProbeRecord:
        latency = None if row.latency_ms is None else float(row.latency_ms) / 1000
        return cls(
            deployment_id=int(row.deployment_id),
            probe=int(row.probe),
            environment=row.environment,
            at=datetime.fromtimestamp(float(row.probed_at), UTC),
            ok=bool(row.ok),
            latency=latency,
            status=None if row.status_code is None else int(row.status_code),
            reason=row.error or "",
            ours=bool(row.ours),
        )


def _prune_probes(conn: Connection, cutoff: float) -> int:
    """Delete up to `PROBE_PRUNE_BATCH` probes older than `cutoff`."""
    old = conn.execute(
        select(health_probes.c.deployment_id, health_probes.c.probe)
        .where(health_probes.c.probed_at < cutoff)
        .order_by(health_probes.c.probed_at)
        .limit(PROBE_PRUNE_BATCH)
    ).all()
    by_deployment: dict[int, list[int]] = {}
    for deployment_id, number in old:
        by_deployment.setdefault(deployment_id, []).append(number)
    for deployment_id, numbers in by_deployment.items():
        conn.execute(
            delete(health_probes).where(
                health_probes.c.deployment_id == deployment_id,
                health_probes.c.probe.in_(numbers),
            )
        )
    return len(old)


class Reservation(enum.Enum):
    """What `reserve` did; false when refused."""

    def __bool__(self) -> bool:
        return self in (Reservation.TAKEN, Reservation.RESUMED)

    REFUSED = 0
    LOCKED = -1  # someone else locked the environment (false too)
    TAKEN = 1  # the slot was free (or stale)
    RESUMED = 2  # the same command held it already: an earlier run of it died


AUTOMATIC = "deckhand"  # the actor of an automatic rollback, and the holder of its lock


def locked_against(locked_by: str | None, actor: str) -> bool:
    """Whether a lock stops `actor`: one someone else holds, or the one an automatic
    rollback took (whatever a person's login is, it never counts as that one's)."""
    if not locked_by:
        return False
    return locked_by == AUTOMATIC or locked_by.lower() != actor.lower()


def _key(repository: str, environment: str) -> Any:
    return and_(
        environments.c.repository == repository.lower(),
        environments.c.environment == environment,
    )


def _reserve(
    conn: Connection,
    repository: str,
    environment: str,
    now: float,
    key: str | None,
    actor: str | None,
) -> Reservation:
    upsert(
        conn,
        environments,
        [{"repository": repository.lower(), "environment": environment}],
        ["repository", "environment"],
    )
    if actor is not None:  # a lock taken since the command's own check still holds
        locked_by = conn.execute(
            select(environments.c.locked_by).where(_key(repository, environment))
        ).scalar()
        if locked_against(locked_by, actor):
            return Reservation.LOCKED
    if key is not None:  # held by this very command: an earlier run of it died
        resumed = conn.execute(
            update(environments)
            .where(
                _key(repository, environment),
                environments.c.in_flight.is_not(None),
                environments.c.in_flight_key == key,
            )
            .values(in_flight_since=now)
        )
        if resumed.rowcount == 1:
            return Reservation.RESUMED
    taken = conn.execute(
        update(environments)
        .where(
            _key(repository, environment),
            or_(
                environments.c.in_flight.is_(None),
                environments.c.in_flight_since < now - STALE_AFTER,
            ),
        )
        .values(in_flight=0, in_flight_since=now, in_flight_key=key)
    )
    return Reservation.TAKEN if taken.rowcount == 1 else Reservation.REFUSED


class DeployStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    # ------------------------------------------------------------- environments
    async def state(self, repository: str, environment: str) -> EnvironmentState:
        def read(conn: Connection) -> EnvironmentState:
            row = conn.execute(select(environments).where(_key(repository, environment))).first()
            if row is None:
                return EnvironmentState()
            return EnvironmentState(
                row.in_flight, row.locked_by, row.lock_reason, row.in_flight_key
            )

        return await self.db.read(read)

    async def reserve(
        self,
        repository: str,
        environment: str,
        key: str | None = None,
        actor: str | None = None,
    ) -> Reservation:
        """Take the environment's one in-flight slot for the command `key` (if any):
        REFUSED when another run holds it, LOCKED when someone other than `actor` locked
        the environment (checked only with an actor: an automatic rollback has none),
        RESUMED when `key` already holds it. In one transaction, so a lock taken while
        the command waited (for a 👍, for component detection) is not missed."""
        return await self.db.transaction(_reserve, repository, environment, time.time(), key, actor)

    async def attach(self, repository: str, environment: str, deployment_id: int) -> None:
        """Name the deployment holding the slot (the command's key stays with it)."""
        await self._set(repository, environment, in_flight=deployment_id)

    async def release(
        self,
        repository: str,
        environment: str,
        deployment_id: int | None,
        key: str | None = None,
    ) -> None:
        """Free the slot if `deployment_id` (or, with None, a mere reservation, of the
        command `key` when given) holds it."""

        def work(conn: Connection) -> None:
            query = (
                update(environments)
                .where(_key(repository, environment))
                .where(environments.c.in_flight == (deployment_id or 0))
            )
            if deployment_id is None and key is not None:
                query = query.where(environments.c.in_flight_key == key)
            conn.execute(query.values(in_flight=None, in_flight_since=None, in_flight_key=None))

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

    async def set_status(
        self, deployment_id: int, status: str
    ) -> tuple[DeploymentRecord, bool] | None:
        """Record a reported status; returns the deployment as stored and whether the
        report changed it (None: not ours). Reports can arrive out of order (GitHub does
        not promise order, and several workers take them): a repeat changes nothing, and
        a late non-final status never takes a finished deployment back."""

        def work(conn: Connection) -> tuple[DeploymentRecord, bool] | None:
            where = deployments.c.id == deployment_id
            row = conn.execute(select(deployments).where(where)).first()
            if row is None:
                return None
            if row.status == status or (row.status in FINAL and status not in FINAL):
                return DeploymentRecord.from_row(row), False
            conn.execute(
                update(deployments).where(where).values(status=status, updated_at=time.time())
            )
            row = conn.execute(select(deployments).where(where)).first()
            return DeploymentRecord.from_row(row), True

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

    async def rolled_back_by(self, deployment_id: int) -> DeploymentRecord | None:
        """The first deployment that rolled this one back (when it went bad), if any."""

        def read(conn: Connection) -> DeploymentRecord | None:
            row = conn.execute(
                select(deployments)
                .where(deployments.c.rollback_of == deployment_id)
                .order_by(deployments.c.created_at, deployments.c.id)
                .limit(1)
            ).first()
            return DeploymentRecord.from_row(row) if row else None

        return await self.db.read(read)

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

    async def successful_before(self, record: DeploymentRecord) -> list[DeploymentRecord]:
        """The deployments to `record`'s environment older than it whose last status is
        `success`: the ones it supersedes."""

        def read(conn: Connection) -> list[DeploymentRecord]:
            query = select(deployments).where(
                deployments.c.repository == record.repository.lower(),
                deployments.c.environment == record.environment,
                deployments.c.status == "success",
                deployments.c.id < record.id,
            )
            return [DeploymentRecord.from_row(r) for r in conn.execute(query.order_by("id"))]

        return await self.db.read(read)

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

    async def record_probe(
        self,
        deployment_id: int,
        repository: str,
        environment: str,
        number: int,
        result: ProbeResult,
        at: float | None = None,
    ) -> None:
        """Keep probe `number` of the deployment's watch (a repeat of the same probe
        replaces its row) and prune expired probes. The latency is kept only when an
        answer came (a timeout or a refused connection has none)."""
        row = {
            "deployment_id": deployment_id,
            "probe": number,
            "repository": repository.lower(),
            "environment": environment,
            "probed_at": time.time() if at is None else at,
            "latency_ms": None if result.status is None else round(result.latency * 1000, 3),
            "ok": int(result.ok),
            "ours": int(result.ours and not result.ok),
            "status_code": result.status,
            "error": None if result.ok else result.reason[:200],
        }

        def work(conn: Connection) -> None:
            upsert(conn, health_probes, [row], ["deployment_id", "probe"])
            _prune_probes(conn, time.time() - PROBE_RETENTION)

        await self.db.transaction(work)

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


# ----------------------------------------------------------- dashboard reads
async def latest_by_environment(
    db: Database, repositories: list[str]
) -> dict[str, list[DeploymentRecord]]:
    """Lower-cased repository -> its newest deployment in each environment (by name)."""
    names = sorted({r.lower() for r in repositories})
    if not names:
        return {}

    def read(conn: Connection) -> dict[str, list[DeploymentRecord]]:
        newest = (
            select(
                deployments.c.repository,
                deployments.c.environment,
                func.max(deployments.c.created_at).label("created_at"),
            )
            .where(deployments.c.repository.in_(names))
            .group_by(deployments.c.repository, deployments.c.environment)
            .subquery()
        )
        query = (
            select(deployments)
            .join(
                newest,
                and_(
                    deployments.c.repository == newest.c.repository,
                    deployments.c.environment == newest.c.environment,
                    deployments.c.created_at == newest.c.created_at,
                ),
            )
            .order_by(deployments.c.environment, deployments.c.id.desc())
        )
        found: dict[str, list[DeploymentRecord]] = {}
        for row in conn.execute(query):
            records = found.setdefault(row.repository, [])
            if not records or records[-1].environment != row.environment:
                records.append(DeploymentRecord.from_row(row))
        return found

    return await db.read(read)


async def probes_since(
    db: Database, repository: str, since: float, limit: int = 500
) -> dict[str, list[ProbeRecord]]:
    """Environment -> the repository's probes since `since`, across deployments, oldest
    first (the newest `limit` of each environment)."""

    def read(conn: Connection) -> dict[str, list[ProbeRecord]]:
        names = conn.execute(
            select(health_probes.c.environment)
            .where(
                health_probes.c.repository == repository.lower(),
                health_probes.c.probed_at >= since,
            )
            .distinct()
        ).scalars()
        found: dict[str, list[ProbeRecord]] = {}
        for name in sorted(names):
            rows = conn.execute(
                select(health_probes)
                .where(
                    health_probes.c.repository == repository.lower(),
                    health_probes.c.environment == name,
                    health_probes.c.probed_at >= since,
                )
                .order_by(health_probes.c.probed_at.desc(), health_probes.c.probe.desc())
                .limit(limit)
            )
            found[name] = [ProbeRecord.from_row(r) for r in rows][::-1]
        return found

    return await db.read(read)


async def probes_of(db: Database, deployment_id: int, limit: int = 1000) -> list[ProbeRecord]:
    """The deployment's probes in order (the newest `limit`)."""

    def read(conn: Connection) -> list[ProbeRecord]:
        rows = conn.execute(
            select(health_probes)
            .where(health_probes.c.deployment_id == deployment_id)
            .order_by(health_probes.c.probe.desc())
            .limit(limit)
        )
        return [ProbeRecord.from_row(r) for r in rows][::-1]

    return await db.read(read)
