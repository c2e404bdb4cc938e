"""DeliveryStore: the durable record of every inbound event and its place in the work queue.

A delivery moves `queued → running → done`; a failed attempt goes back to `queued` with a
later `run_after`, and one that keeps failing ends `dead` with its error, until an admin
retries it. A `running` row is leased: if its worker dies, the lease runs out and another
worker takes it again. This module only reads and writes rows; policy lives in app.queue.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import Connection, Dialect, Table, and_, bindparam, delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.elements import BindParameter

from app.store.database import Database
from app.store.schema import deliveries, delivery_payloads

QUEUED, RUNNING, DONE, DEAD = "queued", "running", "done", "dead"
STATUSES = (QUEUED, RUNNING, DONE, DEAD)


@dataclass(frozen=True)
class NewDelivery:
    """What the web tier persists for one inbound event."""

    id: str
    event: str
    payload: bytes
    action: str | None = None
    installation_id: int | None = None
    repository: str | None = None
    source: str = "github"
    handled: bool = True  # False: no handler wants it; stored as done, never queued
    run_after: float | None = None  # a job scheduled for later (health probes); None: now


@dataclass(frozen=True)
class Queued:
    """A delivery just (re)queued, as the queue is told of it (`Database.on_enqueue`)."""

    id: str
    run_after: float | None = None  # None: now


@dataclass(frozen=True)
class Delivery:
    id: str
    source: str
    event: str
    action: str | None
    installation_id: int | None
    repository: str | None
    status: str
    attempts: int
    run_after: float
    last_error: str | None
    received_at: float
    started_at: float | None
    finished_at: float | None
    payload: bytes = b""

    @classmethod
    def from_row(cls, row: Any, payload: bytes = b"") -> Delivery:
        fields = dict(row._mapping)
        fields.pop("locked_by", None)
        fields.pop("locked_until", None)
        fields.setdefault("payload", payload)
        return cls(**fields)


_STATUS_COLUMNS = (
    "id", "source", "event", "action", "installation_id", "repository", "status",
    "attempts", "run_after", "received_at", "started_at", "finished_at", "locked_by",
    "locked_until",
)  # fmt: skip


@dataclass(frozen=True)
class Handover:
    """What an ingest transaction also does for the embedded pool in its process: lease
    up to `limit` of the new deliveries that are due now to `worker_id` (the pool runs
    them, see WorkerPool.adopt), and mark that worker's `finished` jobs done."""

    worker_id: str
    lease_seconds: float
    limit: int
    finished: tuple[str, ...] = ()


@functools.cache
def _insert_new_sql(dialect: Dialect, table: Table, columns: tuple[str, ...]) -> tuple[str, Any]:
    """`INSERT ... ON CONFLICT (id) DO NOTHING`, compiled once per dialect and table.

    The hot path of ingest: executed through the driver directly, with rows as tuples
    in the statement's parameter order, to spare SQLAlchemy's per-row work.
    """
    insert_for = postgresql.insert if dialect.name == "postgresql" else sqlite.insert
    statement = (
        insert_for(table)
        .values({name: None for name in columns})
        .on_conflict_do_nothing(index_elements=["id"])
    )
    compiled = statement.compile(dialect=dialect)
    return str(compiled), tuple(compiled.positiontup) if compiled.positiontup else None


def _insert_new(
    conn: Connection, table: Table, columns: tuple[str, ...], rows: list[dict[str, Any]]
) -> int:
    sql, order = _insert_new_sql(conn.dialect, table, columns)
    parameters: list[Any] = [tuple(row[k] for k in order) for row in rows] if order else rows
    return int(conn.exec_driver_sql(sql, parameters).rowcount)


def _add_many(
    conn: Connection, items: Sequence[NewDelivery], lease: Handover | None = None
) -> tuple[set[str], list[Delivery]]:
    if lease is not None:
        _finish(conn, lease.finished, lease.worker_id)
    now = time.time()
    unique = {item.id: item for item in items}
    due = [i for i in unique.values() if i.handled and i.run_after is None]
    leasing = {item.id for item in due[: lease.limit]} if lease else set()
    rows = [
        {
            "id": item.id,
            "source": item.source,
            "event": item.event,
            "action": item.action,
            "installation_id": item.installation_id,
            "repository": item.repository,
            "status": (RUNNING if item.id in leasing else QUEUED) if item.handled else DONE,
            "attempts": 1 if item.id in leasing else 0,
            "run_after": item.run_after or now,
            "received_at": now,
            "started_at": now if item.id in leasing else None,
            "finished_at": None if item.handled else now,
            "locked_by": lease.worker_id if lease and item.id in leasing else None,
            "locked_until": now + lease.lease_seconds if lease and item.id in leasing else None,
        }
        for item in unique.values()
    ]
    inserted = _insert_new(conn, deliveries, _STATUS_COLUMNS, rows)
    if inserted == len(rows):
        new = set(unique)
    else:  # some were redeliveries: the new rows are the ones stamped by this transaction
        query = select(deliveries.c.id).where(
            deliveries.c.id.in_(list(unique)), deliveries.c.received_at == now
        )
        new = set(conn.execute(query).scalars())
    payloads = [{"id": i, "payload": unique[i].payload} for i in unique if i in new]
    if payloads:
        _insert_new(conn, delivery_payloads, ("id", "payload"), payloads)
    leased = [_leased(unique[i], now) for i in unique if i in leasing and i in new]
    return new, leased


def _leased(item: NewDelivery, now: float) -> Delivery:
    """The Delivery a claim would have read back for a row leased at ingest."""
    return Delivery(
        id=item.id,
        source=item.source,
        event=item.event,
        action=item.action,
        installation_id=item.installation_id,
        repository=item.repository,
        status=RUNNING,
        attempts=1,
        run_after=now,
        last_error=None,
        received_at=now,
        started_at=now,
        finished_at=None,
        payload=item.payload,
    )


# The queue's hot statements, built once: SQLAlchemy then reuses their cache keys and
# compiled forms, where a statement built per call would be built, keyed and looked up.
_IDS: BindParameter[str] = bindparam("ids", expanding=True)
_FINISH = (
    update(deliveries)
    .where(
        deliveries.c.id.in_(_IDS),
        deliveries.c.locked_by == bindparam("worker"),
        deliveries.c.status == RUNNING,
    )
    .values(status=DONE, finished_at=bindparam("now"), locked_by=None, locked_until=None)
)
_LAPSED = (
    select(deliveries.c.id)
    .where(deliveries.c.status == RUNNING, deliveries.c.locked_until < bindparam("now"))
    .limit(bindparam("limit"))
    .with_for_update(skip_locked=True)
)
_DUE = (
    select(deliveries.c.id)
    .where(deliveries.c.status == QUEUED, deliveries.c.run_after <= bindparam("now"))
    .order_by(deliveries.c.run_after)
    .limit(bindparam("limit"))
    .with_for_update(skip_locked=True)
)
_LEASE = (
    update(deliveries)
    .where(deliveries.c.id.in_(_IDS))
    .values(
        status=RUNNING,
        locked_by=bindparam("worker"),
        locked_until=bindparam("until"),
        attempts=deliveries.c.attempts + 1,
        started_at=bindparam("now"),
    )
    .returning(*deliveries.c)
)
_PAYLOADS = select(delivery_payloads.c.id, delivery_payloads.c.payload).where(
    delivery_payloads.c.id.in_(_IDS)
)


def _finish(conn: Connection, ids: Sequence[str], worker_id: str) -> int:
    if not ids:
        return 0
    result = conn.execute(_FINISH, {"ids": list(ids), "worker": worker_id, "now": time.time()})
    return int(result.rowcount or 0)


LEASE_LAPSED = "the job's worker stopped renewing its lease (crashed, killed or hung)"


def _bury_lapsed(conn: Connection, now: float, max_attempts: int) -> None:
    """Dead-letter jobs whose lease lapsed on their last attempt: a delivery that kills
    its worker every time must not crash-loop the service."""
    buried = (
        select(deliveries.c.id)
        .where(
            deliveries.c.status == RUNNING,
            deliveries.c.locked_until < now,
            deliveries.c.attempts >= max_attempts,
        )
        .with_for_update(skip_locked=True)  # Postgres: never wait behind another claimer
    )
    conn.execute(
        update(deliveries)
        .where(deliveries.c.id.in_(buried.scalar_subquery()))
        .values(
            status=DEAD, last_error=LEASE_LAPSED, finished_at=now, locked_by=None, locked_until=None
        )
    )


def _claim(
    conn: Connection, worker_id: str, limit: int, lease_seconds: float, max_attempts: int
) -> list[Delivery]:
    """Lease due jobs: lapsed leases first (their worker died), then queued by `run_after`.

    Two index range scans, each with its own LIMIT, so a deep queue costs nothing extra.
    On Postgres, `FOR UPDATE SKIP LOCKED` lets claimers in several processes pass each
    other's rows by; SQLite ignores it (its claims are serialized by `BEGIN IMMEDIATE`).
    """
    if limit <= 0:
        return []
    now = time.time()
    ids = list(conn.execute(_LAPSED, {"now": now, "limit": limit}).scalars())
    if ids:  # a worker died: its jobs on their last attempt are buried, not run again
        _bury_lapsed(conn, now, max_attempts)
        ids = list(conn.execute(_LAPSED, {"now": now, "limit": limit}).scalars())
    if len(ids) < limit:
        ids += conn.execute(_DUE, {"now": now, "limit": limit - len(ids)}).scalars()
    if not ids:
        return []
    claimed = _lease(conn, ids, worker_id, lease_seconds, now)
    return sorted(claimed, key=lambda d: d.run_after)


def _lease(
    conn: Connection, ids: list[str], worker_id: str, lease_seconds: float, now: float
) -> list[Delivery]:
    """Mark these deliveries running for `worker_id`, one attempt more; with payloads."""
    leased = {"ids": ids, "worker": worker_id, "until": now + lease_seconds, "now": now}
    rows = conn.execute(_LEASE, leased).all()
    payloads = {row.id: row.payload for row in conn.execute(_PAYLOADS, {"ids": ids})}
    return [Delivery.from_row(r, payloads.get(r.id, b"")) for r in rows]


CLAIM_TOLERANCE_SECONDS = 1.0  # a scheduled job may start this early (clock skew)


def _claim_one(
    conn: Connection, delivery_id: str, worker_id: str, lease_seconds: float, max_attempts: int
) -> Delivery | None:
    now = time.time()
    row = conn.execute(
        select(deliveries).where(deliveries.c.id == delivery_id).with_for_update()
    ).first()
    if row is None:
        return None
    queued_and_due = row.status == QUEUED and row.run_after <= now + CLAIM_TOLERANCE_SECONDS
    taken_back = row.status == RUNNING and row.locked_by == worker_id
    if not (queued_and_due or taken_back):
        return None
    if taken_back and row.attempts >= max_attempts:
        dead = {"status": DEAD, "last_error": LEASE_LAPSED, "finished_at": now}
        _release(conn, delivery_id, worker_id, dead)
        return None
    [claimed] = _lease(conn, [delivery_id], worker_id, lease_seconds, now)
    return claimed


def _release(conn: Connection, delivery_id: str, worker_id: str, values: dict[str, Any]) -> bool:
    result = conn.execute(
        update(deliveries)
        .where(
            deliveries.c.id == delivery_id,
            deliveries.c.locked_by == worker_id,
            deliveries.c.status == RUNNING,
        )
        .values(locked_by=None, locked_until=None, **values)
    )
    return bool(result.rowcount)


PRUNE_BATCH = 1000


def _prune_batch(conn: Connection, cutoff: float) -> int:
    old = list(
        conn.execute(
            select(deliveries.c.id)
            .where(deliveries.c.status == DONE, deliveries.c.finished_at < cutoff)
            .limit(PRUNE_BATCH)
            .with_for_update(skip_locked=True)  # another process may be pruning too
        ).scalars()
    )
    conn.execute(delete(delivery_payloads).where(delivery_payloads.c.id.in_(old)))
    return int(conn.execute(delete(deliveries).where(deliveries.c.id.in_(old))).rowcount or 0)


class DeliveryStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def add_many(self, items: Sequence[NewDelivery]) -> set[str]:
        """Persist new deliveries in one transaction; returns the ids that were new.

        An id already stored (a redelivery) is left as it is and not queued again.
        The queue hears of the new ones (`Database.on_enqueue`) before this returns.
        """
        return (await self.add_and_lease(items, None))[0]

    async def add_and_lease(
        self, items: Sequence[NewDelivery], lease: Handover | None
    ) -> tuple[set[str], list[Delivery]]:
        """`add_many`, and in the same transaction what `lease` asks: up to `lease.limit`
        of the new, due deliveries leased to `lease.worker_id` (its caller runs those, the
        queue is not told of them; they come back as a claim would have returned them),
        and that worker's finished jobs marked done."""
        new, leased = await self.db.transaction(_add_many, items, lease)
        taken = {d.id for d in leased}
        announced = {
            i.id: Queued(i.id, i.run_after)
            for i in items
            if i.id in new and i.handled and i.id not in taken
        }
        await self._announce(list(announced.values()))
        return new, leased

    async def _announce(self, queued: list[Queued]) -> None:
        if queued and self.db.on_enqueue is not None:
            await self.db.on_enqueue(queued)

    async def schedule(
        self,
        job_id: str,
        event: str,
        data: dict[str, Any],
        *,
        repository: str,
        installation_id: int | None,
        at: float | None = None,
    ) -> bool:
        """Queue one of Deckhand's own jobs (a health probe, a status poll, a flush) to
        run at `at`. The payload names the installation and repository as a GitHub event
        does, so the job gets the same client and config. A deterministic `job_id` makes
        scheduling idempotent: False when that job was already stored."""
        payload = {
            **data,
            "installation": {"id": installation_id},
            "repository": {"full_name": repository, **data.get("repository", {})},
        }
        job = NewDelivery(
            id=job_id,
            event=event,
            payload=orjson.dumps(payload),
            installation_id=installation_id,
            repository=repository,
            source="deckhand",
            run_after=at,
        )
        return bool(await self.add_many([job]))

    async def settle_and_claim(
        self,
        finished: Sequence[str],
        worker_id: str,
        limit: int,
        lease_seconds: float,
        max_attempts: int = 5,
    ) -> tuple[int, list[Delivery]]:
        """Mark this worker's finished jobs done and lease up to `limit` due ones, at once.

        Due: queued with `run_after` passed, or running with a lapsed lease (its worker died).
        Returns how many finished jobs were still this worker's to settle, and the claimed.
        """

        def work(conn: Connection) -> tuple[int, list[Delivery]]:
            settled = _finish(conn, finished, worker_id)
            return settled, _claim(conn, worker_id, limit, lease_seconds, max_attempts)

        return await self.db.transaction(work, durable=False)

    async def claim_one(
        self, delivery_id: str, worker_id: str, lease_seconds: float, max_attempts: int
    ) -> Delivery | None:
        """Claim this delivery for `worker_id` when it is due, or already that worker's.

        The distributed queue's exactly-once gate: a job may only run its delivery if
        it is queued and due, or if the same job (retried after its worker died) holds
        it. None when another job holds it, it is done or dead, or it is not due yet.
        A delivery taken back after its last allowed attempt is dead-lettered instead.
        """
        return await self.db.transaction(
            _claim_one, delivery_id, worker_id, lease_seconds, max_attempts
        )

    async def claim(self, worker_id: str, limit: int, lease_seconds: float) -> list[Delivery]:
        return (await self.settle_and_claim((), worker_id, limit, lease_seconds))[1]

    async def finish(self, delivery_id: str, worker_id: str) -> bool:
        """Mark done; False when the lease was lost to another worker meanwhile."""
        return bool(await self.db.transaction(_finish, [delivery_id], worker_id, durable=False))

    async def extend_lease(self, ids: Iterable[str], worker_id: str, lease_seconds: float) -> None:
        ids = list(ids)
        if not ids:
            return
        statement = (
            update(deliveries)
            .where(deliveries.c.id.in_(ids), deliveries.c.locked_by == worker_id)
            .values(locked_until=time.time() + lease_seconds)
        )
        await self.db.transaction(lambda conn: conn.execute(statement), durable=False)

    async def reschedule(self, delivery_id: str, worker_id: str, error: str, at: float) -> bool:
        values = {"status": QUEUED, "run_after": at, "last_error": error}
        return await self.db.transaction(_release, delivery_id, worker_id, values, durable=False)

    async def bury(self, delivery_id: str, worker_id: str, error: str) -> bool:
        """Move to the dead-letter state with the error that put it there."""
        values = {"status": DEAD, "last_error": error, "finished_at": time.time()}
        return await self.db.transaction(_release, delivery_id, worker_id, values)

    async def retry(self, ids: Iterable[str] = (), *, all_dead: bool = False) -> list[str]:
        """Queue dead deliveries again with a fresh attempt count; returns the ids queued."""
        condition = deliveries.c.status == DEAD
        if not all_dead:
            condition = and_(condition, deliveries.c.id.in_(list(ids)))
        statement = (
            update(deliveries)
            .where(condition)
            .values(status=QUEUED, attempts=0, run_after=time.time(), finished_at=None)
            .returning(deliveries.c.id)
        )
        queued: list[str] = await self.db.transaction(
            lambda conn: list(conn.execute(statement).scalars())
        )
        await self._announce([Queued(i) for i in queued])
        return queued

    async def get(self, delivery_id: str) -> Delivery | None:
        query = (
            select(deliveries, delivery_payloads.c.payload)
            .outerjoin(delivery_payloads, delivery_payloads.c.id == deliveries.c.id)
            .where(deliveries.c.id == delivery_id)
        )
        row = await self.db.read(lambda conn: conn.execute(query).first())
        return Delivery.from_row(row) if row else None

    async def list(self, status: str | None = None, limit: int = 50) -> list[Delivery]:
        query = select(deliveries).order_by(deliveries.c.received_at.desc()).limit(limit)
        if status:
            query = query.where(deliveries.c.status == status)
        rows = await self.db.read(lambda conn: conn.execute(query).all())
        return [Delivery.from_row(r) for r in rows]

    async def counts(self) -> dict[str, int]:
        query = select(deliveries.c.status, func.count()).group_by(deliveries.c.status)
        found = dict(await self.db.read(lambda conn: conn.execute(query).all()))
        return {status: int(found.get(status, 0)) for status in STATUSES}

    async def oldest_queued_age(self) -> float:
        """Seconds the oldest due delivery has waited (0 when none waits)."""
        now = time.time()
        query = select(func.min(deliveries.c.run_after)).where(
            deliveries.c.status == QUEUED, deliveries.c.run_after <= now
        )
        oldest = await self.db.read(lambda conn: conn.execute(query).scalar())
        return max(0.0, now - oldest) if oldest else 0.0

    async def prune(self, older_than_seconds: float) -> int:
        """Delete finished (done) deliveries older than the retention period, in short
        transactions so ingest never waits long behind a large clean-up."""
        cutoff, removed = time.time() - older_than_seconds, 0
        while batch := await self.db.transaction(_prune_batch, cutoff, durable=False):
            removed += batch
        return removed
