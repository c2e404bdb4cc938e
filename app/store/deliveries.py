"""DeliveryStore: the durable record of every inbound event and its place in the work queue.

A delivery moves `queued → running → done`; a failed attempt goes back to `queued` with a
later `run_after`, and one that keeps failing ends `dead` with its error, until an admin
retries it. A `running` row is leased: if its worker dies, the lease runs out and another
worker takes it again. This module only reads and writes rows; policy lives in app.queue.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, delete, func, insert, or_, select, update

from app.store.database import Database
from app.store.schema import deliveries

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
    def from_row(cls, row: Any) -> Delivery:
        fields = dict(row._mapping)
        fields.pop("locked_by", None)
        fields.pop("locked_until", None)
        fields.setdefault("payload", b"")
        return cls(**fields)


_SUMMARY_COLUMNS = [c for c in deliveries.c if c.name != "payload"]


class DeliveryStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def add_many(self, items: Sequence[NewDelivery]) -> set[str]:
        """Persist new deliveries in one transaction; returns the ids that were new.

        An id already stored (a redelivery) is left as it is and not queued again.
        """
        now = time.time()
        unique = {item.id: item for item in items}
        async with self.db.begin() as conn:
            existing = set(
                (
                    await conn.execute(
                        select(deliveries.c.id).where(deliveries.c.id.in_(list(unique)))
                    )
                ).scalars()
            )
            rows = [
                {
                    "id": item.id,
                    "source": item.source,
                    "event": item.event,
                    "action": item.action,
                    "installation_id": item.installation_id,
                    "repository": item.repository,
                    "payload": item.payload,
                    "status": QUEUED,
                    "attempts": 0,
                    "run_after": now,
                    "received_at": now,
                }
                for item_id, item in unique.items()
                if item_id not in existing
            ]
            if rows:
                await conn.execute(insert(deliveries), rows)
        return {str(row["id"]) for row in rows}

    async def claim(self, worker_id: str, limit: int, lease_seconds: float) -> list[Delivery]:
        """Lease up to `limit` due deliveries (queued and due, or running with a lapsed lease)."""
        now = time.time()
        due = (
            select(deliveries.c.id)
            .where(
                or_(
                    and_(deliveries.c.status == QUEUED, deliveries.c.run_after <= now),
                    and_(deliveries.c.status == RUNNING, deliveries.c.locked_until < now),
                )
            )
            .order_by(deliveries.c.run_after)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        statement = (
            update(deliveries)
            .where(deliveries.c.id.in_(due.scalar_subquery()))
            .values(
                status=RUNNING,
                locked_by=worker_id,
                locked_until=now + lease_seconds,
                attempts=deliveries.c.attempts + 1,
                started_at=now,
            )
            .returning(*deliveries.c)
        )
        async with self.db.begin() as conn:
            rows = (await conn.execute(statement)).all()
        return sorted((Delivery.from_row(r) for r in rows), key=lambda d: d.run_after)

    async def extend_lease(self, ids: Iterable[str], worker_id: str, lease_seconds: float) -> None:
        ids = list(ids)
        if not ids:
            return
        async with self.db.begin() as conn:
            await conn.execute(
                update(deliveries)
                .where(deliveries.c.id.in_(ids), deliveries.c.locked_by == worker_id)
                .values(locked_until=time.time() + lease_seconds)
            )

    async def finish(self, delivery_id: str, worker_id: str) -> bool:
        """Mark done; False when the lease was lost to another worker meanwhile."""
        return await self._release(delivery_id, worker_id, status=DONE, finished_at=time.time())

    async def reschedule(self, delivery_id: str, worker_id: str, error: str, at: float) -> bool:
        return await self._release(
            delivery_id, worker_id, status=QUEUED, run_after=at, last_error=error
        )

    async def bury(self, delivery_id: str, worker_id: str, error: str) -> bool:
        """Move to the dead-letter state with the error that put it there."""
        return await self._release(
            delivery_id, worker_id, status=DEAD, last_error=error, finished_at=time.time()
        )

    async def _release(self, delivery_id: str, worker_id: str, **values: Any) -> bool:
        async with self.db.begin() as conn:
            result = await conn.execute(
                update(deliveries)
                .where(
                    deliveries.c.id == delivery_id,
                    deliveries.c.locked_by == worker_id,
                    deliveries.c.status == RUNNING,
                )
                .values(locked_by=None, locked_until=None, **values)
            )
        return bool(result.rowcount)

    async def retry(self, ids: Iterable[str] = (), *, all_dead: bool = False) -> list[str]:
        """Queue dead deliveries again with a fresh attempt count; returns the ids queued."""
        condition = deliveries.c.status == DEAD
        if not all_dead:
            condition = and_(condition, deliveries.c.id.in_(list(ids)))
        async with self.db.begin() as conn:
            result = await conn.execute(
                update(deliveries)
                .where(condition)
                .values(status=QUEUED, attempts=0, run_after=time.time(), finished_at=None)
                .returning(deliveries.c.id)
            )
            return list(result.scalars())

    async def get(self, delivery_id: str) -> Delivery | None:
        async with self.db.connect() as conn:
            row = (
                await conn.execute(select(deliveries).where(deliveries.c.id == delivery_id))
            ).first()
        return Delivery.from_row(row) if row else None

    async def list(self, status: str | None = None, limit: int = 50) -> list[Delivery]:
        query = select(*_SUMMARY_COLUMNS).order_by(deliveries.c.received_at.desc()).limit(limit)
        if status:
            query = query.where(deliveries.c.status == status)
        async with self.db.connect() as conn:
            return [Delivery.from_row(r) for r in (await conn.execute(query)).all()]

    async def counts(self) -> dict[str, int]:
        query = select(deliveries.c.status, func.count()).group_by(deliveries.c.status)
        async with self.db.connect() as conn:
            found = {status: n for status, n in (await conn.execute(query)).all()}
        return {status: found.get(status, 0) for status in STATUSES}

    async def oldest_queued_age(self) -> float:
        """Seconds the oldest due delivery has waited (0 when none waits)."""
        now = time.time()
        query = select(func.min(deliveries.c.run_after)).where(
            deliveries.c.status == QUEUED, deliveries.c.run_after <= now
        )
        async with self.db.connect() as conn:
            oldest = (await conn.execute(query)).scalar()
        return max(0.0, now - oldest) if oldest else 0.0

    async def prune(self, older_than_seconds: float) -> int:
        """Delete finished (done) deliveries older than the retention period."""
        cutoff = time.time() - older_than_seconds
        async with self.db.begin() as conn:
            result = await conn.execute(
                delete(deliveries).where(
                    deliveries.c.status == DONE, deliveries.c.finished_at < cutoff
                )
            )
        return int(result.rowcount or 0)
