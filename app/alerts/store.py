"""AlertStore: one row per repository and alert fingerprint, the source of truth for counts.

`record` counts a batch of alerts (each job counted once, whatever its retries; the
jobs of one moment share a transaction), `claim` makes one job at a time the creator of
a fingerprint's issue (so a storm or a retry never opens two), and the rest follow the
issue's life. Nothing here talks to GitHub.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import hashlib
import math
import time
import weakref
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import (
    Connection,
    Dialect,
    Integer,
    and_,
    bindparam,
    case,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite

from app.alerts.sources import Alert
from app.store.database import Database
from app.store.schema import alert_batches, alerts

NEW, CREATING, OPEN, CLOSED = "new", "creating", "open", "closed"
FIRING, RESOLVED_PENDING, RESOLVED_DONE = 0, 1, 2  # the `resolved` column
CLAIM_SECONDS = 60.0  # at least; see AlertTracker's claim, sized to the GitHub client
_COLUMNS = tuple(c.name for c in alerts.c)


@dataclass(frozen=True)
class AlertRow:
    repository: str
    key: str
    source: str
    fingerprint: str
    title: str
    environment: str
    state: str
    claimed_until: float | None
    issue_number: int | None
    previous_issue: int | None
    comment_id: int | None
    count: int
    base_count: int
    shown_count: int
    resolved: int
    first_seen: float
    last_seen: float
    flush_at: float | None
    triaged_issue: int | None
    latest_json: str

    @property
    def latest(self) -> Alert:
        """The newest alert of this fingerprint (parsed when asked for)."""
        return Alert.from_dict(orjson.loads(self.latest_json))

    @property
    def occurrences(self) -> int:
        """Occurrences that belong to the current issue."""
        return self.count - self.base_count

    @classmethod
    def from_row(cls, row: Any) -> AlertRow:
        fields = (
            dict(zip(_COLUMNS, row, strict=True)) if isinstance(row, tuple) else dict(row._mapping)
        )
        fields.pop("updated_at", None)
        fields["latest_json"] = fields.pop("latest")
        return cls(**fields)


@dataclass(frozen=True)
class Recorded:
    """What a batch changed: the rows after it, and the flushes it must schedule."""

    rows: dict[str, AlertRow]
    flushes: dict[str, float]  # key -> when its occurrence comment is due
    counted: bool  # False: an earlier attempt of the same job already counted it


def _where(repository: str, key: str) -> Any:
    return and_(alerts.c.repository == repository.lower(), alerts.c.key == key)


def _get(conn: Connection, repository: str, key: str) -> AlertRow | None:
    row = conn.execute(select(alerts).where(_where(repository, key))).first()
    return AlertRow.from_row(row) if row else None


def flush_phase(key: str, interval: float) -> float:
    """Where in each interval this fingerprint's buckets end: a fixed share of it taken
    from the key, so the fingerprints of one storm do not all edit their issues at the
    same moment (a burst GitHub's secondary rate limits frown on)."""
    digest = hashlib.blake2b(key.encode(), digest_size=4).digest()
    return int.from_bytes(digest, "big") / 2**32 * interval


def flush_time(now: float, interval: float, phase: float = 0.0) -> float:
    """The end of the time bucket `now` falls in (buckets shifted by `phase`): one flush
    per fingerprint per bucket."""
    due = (math.floor((now - phase) / interval) + 1) * interval + phase
    return due if due > now else due + interval  # float rounding at a bucket's very end


# The hot path of a storm, built once: count a fingerprint's occurrences (and return the
# row), then take its next flush if none is pending.
_HERE = and_(alerts.c.repository == bindparam("r"), alerts.c.key == bindparam("k"))
_COUNT = (
    update(alerts)
    .where(_HERE)
    .values(
        count=alerts.c.count + bindparam("n", type_=Integer),
        last_seen=case(
            (bindparam("n2", type_=Integer) > 0, bindparam("now")), else_=alerts.c.last_seen
        ),
        resolved=case(
            (bindparam("last_firing", type_=Integer) == 1, FIRING),
            (alerts.c.resolved == FIRING, RESOLVED_PENDING),
            else_=alerts.c.resolved,
        ),
        title=bindparam("title"),
        latest=bindparam("latest"),
        updated_at=bindparam("now2"),
    )
    .returning(*alerts.c)
)
_TAKE_FLUSH = (
    update(alerts)
    .where(_HERE, or_(alerts.c.flush_at.is_(None), alerts.c.flush_at <= bindparam("now")))
    .values(flush_at=bindparam("due"))
)


def _batch_statement(dialect: str) -> Any:
    insert_for = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert_for(alert_batches).values(id=bindparam("id"), counted_at=bindparam("at"))
    return statement.on_conflict_do_nothing(index_elements=["id"])


_STATEMENTS = {
    "count": lambda _d: _COUNT,
    "take_flush": lambda _d: _TAKE_FLUSH,
    "batch": _batch_statement,
}


@functools.cache
def _compiled(dialect: Dialect, name: str) -> tuple[str, tuple[str, ...] | None, dict[str, Any]]:
    compiled = _STATEMENTS[name](dialect.name).compile(dialect=dialect)
    order = tuple(compiled.positiontup) if compiled.positiontup else None
    return str(compiled), order, dict(compiled.params)  # params: the literals' values


def _raw(conn: Connection, name: str, params: dict[str, Any]) -> Any:
    """Run one of the hot statements through the driver, compiled once per dialect: the
    storm path would otherwise spend most of its time in SQLAlchemy's per-call work."""
    sql, order, literals = _compiled(conn.dialect, name)
    given = {**literals, **params}
    return conn.exec_driver_sql(sql, tuple(given[k] for k in order) if order else given)


def _record(
    conn: Connection,
    repository: str,
    batch_id: str,
    items: Sequence[Alert],
    default_environment: str,
    interval: float,
) -> Recorded:
    now = time.time()
    counted = bool(_raw(conn, "batch", {"id": batch_id, "at": now}).rowcount)
    by_key: dict[str, list[Alert]] = defaultdict(list)
    for alert in items:
        by_key[alert.key(repository)].append(alert)
    rows: dict[str, AlertRow] = {}
    flushes: dict[str, float] = {}
    for key, group in by_key.items():
        latest = group[-1]
        firing = sum(1 for a in group if a.status == "firing")
        where = {"r": repository.lower(), "k": key}
        found = None
        if counted:
            found = _raw(
                conn,
                "count",
                {
                    **where,
                    "n": firing,
                    "n2": firing,
                    "now": now,
                    "now2": now,
                    "last_firing": int(latest.status == "firing"),
                    "title": latest.title,
                    "latest": orjson.dumps(latest.to_dict()).decode(),
                },
            ).first()
        if found is None:
            found = _insert_or_get(conn, repository, key, group, firing, now, default_environment)
        row = AlertRow.from_row(found)
        if firing and counted and (row.flush_at is None or row.flush_at <= now):
            due = flush_time(now, interval, flush_phase(key, interval))
            if _raw(conn, "take_flush", {**where, "now": now, "due": due}).rowcount:
                flushes[key] = due
                row = dataclasses.replace(row, flush_at=due)
        rows[key] = row
    return Recorded(rows, flushes, counted)


def _insert_or_get(
    conn: Connection,
    repository: str,
    key: str,
    group: list[Alert],
    firing: int,
    now: float,
    default_environment: str,
) -> Any:
    """The fingerprint's first sighting (or, on a retry, the row as it is)."""
    existing = conn.execute(select(alerts).where(_where(repository, key))).first()
    if existing is not None:
        return existing
    latest = group[-1]
    conn.execute(
        insert(alerts).values(
            repository=repository.lower(),
            key=key,
            source=latest.source,
            fingerprint=latest.fingerprint,
            title=latest.title,
            environment=latest.environment or default_environment,
            state=NEW,
            count=firing,
            base_count=0,
            shown_count=0,
            resolved=FIRING if latest.status == "firing" else RESOLVED_PENDING,
            first_seen=min(a.started_at for a in group),
            last_seen=now,
            flush_at=None,
            latest=orjson.dumps(latest.to_dict()).decode(),
            updated_at=now,
        )
    )
    return conn.execute(select(alerts).where(_where(repository, key))).first()


def _claim(conn: Connection, repository: str, key: str, now: float, seconds: float) -> str | None:
    """Take the right to create the issue; returns the state it had (None: not taken)."""
    before = conn.execute(select(alerts.c.state).where(_where(repository, key))).scalar()
    taken = conn.execute(
        update(alerts)
        .where(
            _where(repository, key),
            alerts.c.issue_number.is_(None),
            or_(
                alerts.c.state == NEW,
                and_(alerts.c.state == CREATING, alerts.c.claimed_until < now),
            ),
        )
        .values(state=CREATING, claimed_until=now + seconds)
    )
    return str(before) if taken.rowcount == 1 else None


RecordArgs = tuple[str, str, list[Alert], str, float]


def _record_many(conn: Connection, batch: list[RecordArgs]) -> list[Recorded | Exception]:
    """Each job's batch in its own savepoint, so one bad batch fails only its own job."""
    results: list[Recorded | Exception] = []
    for args in batch:
        try:
            with conn.begin_nested():
                results.append(_record(conn, *args))
        except Exception as exc:
            results.append(exc)
    return results


class _RecordGroup:
    """Group commit for `record`: the alert jobs running at the same moment (a storm runs
    dozens at once) share one transaction, and one trip to the database thread."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.pending: list[tuple[RecordArgs, asyncio.Future[Recorded]]] = []
        self.task: asyncio.Task[None] | None = None

    async def record(self, args: RecordArgs) -> Recorded:
        future: asyncio.Future[Recorded] = asyncio.get_running_loop().create_future()
        self.pending.append((args, future))
        if self.task is None or self.task.done():
            self.task = asyncio.create_task(self._drain(), name="alert-record-group")
        return await future

    async def _drain(self) -> None:
        while self.pending:
            batch, self.pending = self.pending, []
            try:
                results = await self.db.transaction(
                    _record_many, [args for args, _ in batch], durable=False
                )
            except Exception as exc:
                results = [exc] * len(batch)
            for (_, future), result in zip(batch, results, strict=True):
                if future.done():
                    continue
                if isinstance(result, Exception):
                    future.set_exception(result)
                else:
                    future.set_result(result)


_groups: weakref.WeakKeyDictionary[Database, _RecordGroup] = weakref.WeakKeyDictionary()


class AlertStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def record(
        self,
        repository: str,
        batch_id: str,
        items: Sequence[Alert],
        default_environment: str = "production",
        interval: float = 30.0,
    ) -> Recorded:
        """Count a batch (once per `batch_id`) and say which flushes to schedule.

        Not fsynced: a power cut can lose it only together with the job's own finished
        state, which is committed after it, so the job then runs and counts again.
        """
        group = _groups.get(self.db)
        if group is None:
            group = _groups[self.db] = _RecordGroup(self.db)
        return await group.record(
            (repository, batch_id, list(items), default_environment, interval)
        )

    async def get(self, repository: str, key: str) -> AlertRow | None:
        return await self.db.read(_get, repository, key)

    async def claim(self, repository: str, key: str, seconds: float = CLAIM_SECONDS) -> str | None:
        """Take the right to create the issue for `seconds`: as long as the creating job
        may still send its request, so no other job creates a second one meanwhile."""
        return await self.db.transaction(_claim, repository, key, time.time(), seconds)

    async def update(self, repository: str, key: str, **values: Any) -> None:
        values["updated_at"] = time.time()
        await self.db.transaction(
            lambda conn: conn.execute(
                update(alerts).where(_where(repository, key)).values(**values)
            )
        )

    async def opened(self, repository: str, key: str, issue_number: int) -> None:
        await self.update(
            repository, key, state=OPEN, issue_number=issue_number, claimed_until=None
        )

    async def release(self, repository: str, key: str) -> None:
        """Give a claim back after a failed attempt, so the retry may take it at once."""
        await self.db.transaction(
            lambda conn: conn.execute(
                update(alerts)
                .where(_where(repository, key), alerts.c.state == CREATING)
                .values(claimed_until=0.0)
            )
        )

    async def supersede(self, repository: str, key: str, row: AlertRow, since: float) -> None:
        """The issue was closed too long ago: the occurrences from `since` on go to a new
        issue."""
        await self.update(
            repository,
            key,
            first_seen=since,
            state=NEW,
            issue_number=None,
            previous_issue=row.issue_number,
            comment_id=None,
            base_count=row.shown_count if row.shown_count > row.base_count else row.base_count,
            claimed_until=None,
        )

    async def rows(self, repository: str) -> list[AlertRow]:
        def read(conn: Connection) -> list[AlertRow]:
            query = select(alerts).where(alerts.c.repository == repository.lower())
            return [AlertRow.from_row(r) for r in conn.execute(query)]

        return await self.db.read(read)


_HAS_OPEN_ISSUE = (alerts.c.state == OPEN, alerts.c.issue_number.is_not(None))


async def open_issues(db: Database, repository: str) -> list[AlertRow]:
    """The repository's alerts with an open issue, most recently seen first."""
    query = (
        select(alerts)
        .where(alerts.c.repository == repository.lower(), *_HAS_OPEN_ISSUE)
        .order_by(alerts.c.last_seen.desc())
    )
    return await db.read(lambda conn: [AlertRow.from_row(r) for r in conn.execute(query)])


async def open_issue_counts(db: Database, repositories: list[str]) -> dict[str, int]:
    """Lower-cased repository -> how many of its alerts have an open issue."""
    names = sorted({r.lower() for r in repositories})
    if not names:
        return {}
    query = (
        select(alerts.c.repository, func.count())
        .where(alerts.c.repository.in_(names), *_HAS_OPEN_ISSUE)
        .group_by(alerts.c.repository)
    )
    rows = await db.read(lambda conn: conn.execute(query).all())
    return {str(repository): int(count) for repository, count in rows}
