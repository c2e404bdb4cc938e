"""DistributedQueue: deliveries carried by procrastinate, a job queue on Postgres, so that
several web replicas and worker processes share the work (`QUEUE_URL=postgresql://...`).

The deliveries table stays the ledger: what was received, its status and error, the dead
letters that the CLI and the dashboard retry. procrastinate carries one job per delivery
to a worker (LISTEN/NOTIFY, scheduled jobs, worker heartbeats, stalled-job detection).

Exactly once: a job claims its delivery in the ledger (`DeliveryStore.claim_one`, keyed
by the job's id) before it runs it, and settles it after. A duplicate job, or a
redelivery that reached another replica, finds the delivery taken or done and does
nothing; a job that procrastinate retries after its worker died takes back its own claim.
Side effects that were half done when the worker died are found again by their
idempotency keys (see DESIGN.md).

A periodic `recover` task (one run per tick among all workers) retries the jobs of
workers that stopped sending heartbeats, and sends a job for every ledger row that has
none: a web replica that died between its commit and its defer, a dead letter retried
from the CLI or the dashboard, a job that ended without settling its delivery.
"""

from __future__ import annotations

import asyncio
import datetime
import functools
import time
from collections.abc import Sequence

import procrastinate
import psycopg
from procrastinate import JobContext
from procrastinate.schema import SchemaManager
from procrastinate.types import JSONDict
from sqlalchemy import (
    Column,
    Connection,
    MetaData,
    String,
    Table,
    exists,
    literal,
    or_,
    select,
)
from sqlalchemy.dialects.postgresql import ENUM, JSONB
from sqlalchemy.engine import make_url

from app.config.settings import Settings
from app.logs import get_logger
from app.queue.outcomes import attempt, record_failure
from app.queue.workers import Job
from app.store.deliveries import QUEUED, RUNNING, DeliveryStore, Queued
from app.store.schema import deliveries
from app.store.urls import engine_url

log = get_logger(__name__)

TASK = "deckhand.deliver"
RECOVER_TASK = "deckhand.recover"
QUEUE = "deckhand"
SCHEMA_LOCK = 0x6465636B_71756575  # "deckqueu": one process applies the schema
RECOVER_BATCH = 1000
JOB_PREFIX = "job:"

# The columns of procrastinate's job table that the recovery query reads.
procrastinate_jobs = Table(
    "procrastinate_jobs",
    MetaData(),
    Column("id"),
    Column("task_name", String),
    Column("status", ENUM("todo", "doing", name="procrastinate_job_status", create_type=False)),
    Column("args", JSONB),
)
QUEUE_CONNECTIONS = 4  # per process: LISTEN, fetching, settling jobs, the heartbeat


def conninfo(queue_url: str) -> str:
    """A libpq URL from the contract's forms (`postgres://`, `postgresql+psycopg://`)."""
    url = make_url(engine_url(queue_url))
    if url.get_backend_name() != "postgresql":
        raise ValueError("QUEUE_URL must be a postgresql:// URL (the queue runs on Postgres)")
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def _require_same_database(queue_url: str, database_url: str) -> None:
    """The jobs and the ledger must live in one database: a delivery's job is found
    from its row, and one backup covers both."""
    queue, ledger = make_url(engine_url(queue_url)), make_url(engine_url(database_url))
    same = (queue.host, queue.port, queue.database) == (ledger.host, ledger.port, ledger.database)
    if ledger.get_backend_name() != "postgresql" or not same:
        raise ValueError(
            "QUEUE_URL must name the same Postgres database as DATABASE_URL "
            f"(QUEUE_URL: {queue.host}:{queue.port}/{queue.database}, "
            f"DATABASE_URL: {ledger.render_as_string()})"
        )


def _job_key(job_id: int | None) -> str:
    return f"{JOB_PREFIX}{job_id}"


def _unsent(conn: Connection, older_than: float) -> list[tuple[str, str | None]]:
    """Ledger rows that should have a job and have none waiting or running: due queued
    rows, and running rows, that have waited longer than `older_than`. Returns (delivery
    id, the job key holding it). The ledger and procrastinate share one database."""
    live_job = (
        select(literal(1))
        .select_from(procrastinate_jobs)
        .where(
            procrastinate_jobs.c.task_name == TASK,
            procrastinate_jobs.c.status.in_(("todo", "doing")),
            procrastinate_jobs.c.args["delivery_id"].astext == deliveries.c.id,
        )
    )
    query = (
        select(deliveries.c.id, deliveries.c.locked_by)
        .where(
            or_(
                (deliveries.c.status == QUEUED) & (deliveries.c.run_after < older_than),
                (deliveries.c.status == RUNNING) & (deliveries.c.started_at < older_than),
            ),
            ~exists(live_job),
        )
        .order_by(deliveries.c.run_after)
        .limit(RECOVER_BATCH)
    )
    return [(row.id, row.locked_by) for row in conn.execute(query)]


class DistributedQueue:
    def __init__(self, settings: Settings, store: DeliveryStore, job: Job | None) -> None:
        self.settings = settings
        self.store = store
        self.job = job
        self.conninfo = conninfo(settings.queue_url)
        _require_same_database(settings.queue_url, settings.database_url)
        self.app = procrastinate.App(
            connector=procrastinate.PsycopgConnector(
                conninfo=self.conninfo,
                kwargs={"application_name": "deckhand-queue"},
                min_size=1,
                max_size=QUEUE_CONNECTIONS,
            )
        )
        self.deliver = self.app.task(name=TASK, queue=QUEUE, pass_context=True)(self._deliver)
        recover = self.app.task(name=RECOVER_TASK, queue=QUEUE)(self._recover)
        every = settings.queue_recover_seconds
        self.app.periodic(cron=f"* * * * * */{every}", periodic_id="recover")(recover)
        self._worker: asyncio.Task[None] | None = None

    async def open(self) -> None:
        await self._ensure_schema()
        await self.app.open_async()

    async def close(self) -> None:
        await self.stop_worker()
        await self.app.close_async()

    async def _ensure_schema(self) -> None:
        """Apply procrastinate's schema once, under an advisory lock (replicas start at once)."""
        async with await psycopg.AsyncConnection.connect(self.conninfo, autocommit=True) as conn:
            await conn.execute("SELECT pg_advisory_lock(%s)", (SCHEMA_LOCK,))
            try:
                found = await conn.execute("SELECT to_regclass('procrastinate_jobs')")
                row = await found.fetchone()
                if row is None or row[0] is None:
                    await conn.execute(SchemaManager.get_schema())
                    log.info("queue_schema_applied")
            finally:
                await conn.execute("SELECT pg_advisory_unlock(%s)", (SCHEMA_LOCK,))

    async def ping(self) -> None:
        await self.app.connector.execute_query_one_async("SELECT 1 AS ok")

    # -- web side -----------------------------------------------------------------------

    async def announce(self, items: Sequence[Queued]) -> None:
        """Send a job for each newly committed or retried delivery (`Database.on_enqueue`).

        A failure is logged, not raised: the delivery is already stored, and `recover`
        sends its job within a few seconds.
        """
        now = time.time()
        due: list[JSONDict] = [
            {"delivery_id": i.id} for i in items if not i.run_after or i.run_after <= now
        ]
        later = [i for i in items if i.run_after and i.run_after > now]
        try:
            if due:
                await self.deliver.batch_defer_async(*due)
            for item in later:
                await self._defer(item.id, item.run_after)
        except Exception:
            log.exception("queue_defer_failed", deliveries=len(items))

    async def _defer(self, delivery_id: str, at: float | None = None) -> None:
        when = datetime.datetime.fromtimestamp(at, datetime.UTC) if at else None
        await self.deliver.configure(schedule_at=when).defer_async(delivery_id=delivery_id)

    # -- worker side --------------------------------------------------------------------

    def start_worker(self) -> None:
        self._worker = asyncio.create_task(
            self.app.run_worker_async(
                queues=[QUEUE],
                concurrency=self.settings.worker_concurrency,
                install_signal_handlers=False,
                listen_notify=True,
                delete_jobs="successful",
                update_heartbeat_interval=self.settings.queue_heartbeat_seconds,
                stalled_worker_timeout=self.settings.queue_stalled_seconds,
                # Hand back what still runs before the silence makes it look dead.
                shutdown_graceful_timeout=max(
                    0.0,
                    min(
                        10.0,
                        self.settings.queue_stalled_seconds
                        - 2 * self.settings.queue_heartbeat_seconds,
                    ),
                ),
            ),
            name="queue-worker",
        )

    @property
    def worker_running(self) -> bool:
        return self._worker is not None and not self._worker.done()

    async def stop_worker(self) -> None:
        """Stop taking jobs; running ones get procrastinate's graceful shutdown time."""
        if self._worker is not None:
            self._worker.cancel()
            await asyncio.gather(self._worker, return_exceptions=True)
            self._worker = None

    async def _deliver(self, context: JobContext, delivery_id: str) -> None:
        assert self.job is not None, "a web-only process runs no jobs"
        key = _job_key(context.job.id)
        delivery = await self.store.claim_one(
            delivery_id, key, self.settings.lease_seconds, self.settings.max_attempts
        )
        if delivery is None:
            return  # done, dead, not due, or another job holds it

        async def failed(exc: Exception) -> str:
            at = await record_failure(
                self.store,
                delivery,
                exc,
                key,
                max_attempts=self.settings.max_attempts,
                retry_base_seconds=self.settings.retry_base_seconds,
            )
            if at is None:
                return "dead"
            try:
                await self._defer(delivery_id, at)
            except Exception:  # the retry is recorded; recovery sends its job
                log.exception("queue_defer_failed", delivery_id=delivery_id)
            return "retry"

        await attempt(
            delivery,
            self.job,
            time_limit=self.settings.job_timeout_seconds,
            done=functools.partial(self.store.finish, delivery_id, key),
            failed=failed,
            interrupted=functools.partial(self._hand_back, delivery_id, key),  # to any worker
        )

    async def _hand_back(self, delivery_id: str, key: str) -> None:
        if await self.store.reschedule(delivery_id, key, "interrupted", time.time()):
            await self._defer(delivery_id)

    async def _recover(self, timestamp: int) -> None:
        """Retry stalled jobs, then send a job for ledger rows that have none."""
        manager = self.app.job_manager
        stalled = await manager.get_stalled_jobs(
            seconds_since_heartbeat=self.settings.queue_stalled_seconds
        )
        for stalled_job in stalled:
            log.warning("queue_job_stalled", job=stalled_job.id, args=stalled_job.task_kwargs)
            await manager.retry_job(stalled_job)
        grace = max(self.settings.queue_stalled_seconds, 3.0 * self.settings.queue_recover_seconds)
        rows = await self.store.db.read(_unsent, time.time() - grace)
        if not rows:
            return
        for delivery_id, holder in rows:
            if holder is not None:  # running, but its job ended: put it back first
                ended = "the job ended without settling its delivery"
                if not await self.store.reschedule(delivery_id, holder, ended, time.time()):
                    continue
            log.warning("queue_job_resent", delivery_id=delivery_id)
            await self._defer(delivery_id)
