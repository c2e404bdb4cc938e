"""The dashboard's reads over the queue's ledger (the deliveries table), limited to the
repositories a person can see.

Names are compared case-insensitively (GitHub's are), so a delivery stored as
`Octo-Org/Widgets` belongs to `octo-org/widgets`. A delivery without a repository (an
installation event) belongs to nobody here. Only reads: retrying goes through
`DeliveryStore.retry`. Kept apart from `app.store.deliveries`, whose queue code these
reads must not slow down or complicate.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from sqlalchemy import ColumnElement, Connection, func, select

from app.store.database import Database
from app.store.deliveries import DEAD, QUEUED, STATUSES, Delivery
from app.store.schema import deliveries

DEAD_LIMIT = 100


def _of(repositories: Sequence[str]) -> ColumnElement[bool]:
    return func.lower(deliveries.c.repository).in_(sorted({r.lower() for r in repositories}))


async def depth(db: Database, repositories: Sequence[str]) -> dict[str, int]:
    """Deliveries per status, of these repositories only."""
    query = (
        select(deliveries.c.status, func.count())
        .where(_of(repositories))
        .group_by(deliveries.c.status)
    )
    found = dict(await db.read(lambda conn: conn.execute(query).all()))
    return {status: int(found.get(status, 0)) for status in STATUSES}


async def dead_counts(db: Database, repositories: Sequence[str]) -> dict[str, int]:
    """Lower-cased repository -> its dead letters, of these repositories only."""
    lowered = func.lower(deliveries.c.repository)
    query = (
        select(lowered, func.count())
        .where(_of(repositories), deliveries.c.status == DEAD)
        .group_by(lowered)
    )
    rows = await db.read(lambda conn: conn.execute(query).all())
    return {str(repository): int(count) for repository, count in rows}


async def oldest_queued_age(db: Database, repositories: Sequence[str]) -> float:
    """Seconds the oldest due delivery of these repositories has waited (0 when none)."""
    now = time.time()
    query = select(func.min(deliveries.c.run_after)).where(
        _of(repositories), deliveries.c.status == QUEUED, deliveries.c.run_after <= now
    )
    oldest = await db.read(lambda conn: conn.execute(query).scalar())
    return max(0.0, now - oldest) if oldest else 0.0


async def dead_letters(
    db: Database, repositories: Sequence[str], limit: int = DEAD_LIMIT
) -> list[Delivery]:
    """Dead deliveries of these repositories, the most recently failed first."""

    def read(conn: Connection) -> list[Delivery]:
        query = (
            select(deliveries)
            .where(_of(repositories), deliveries.c.status == DEAD)
            .order_by(deliveries.c.finished_at.desc(), deliveries.c.received_at.desc())
            .limit(limit)
        )
        return [Delivery.from_row(row) for row in conn.execute(query)]

    return await db.read(read)
