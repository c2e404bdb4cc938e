"""Service: builds the parts from the settings and runs them for as long as the process lives.

Roles: `web` verifies, persists and enqueues; `worker` runs handlers. The embedded default
(no `QUEUE_URL`) runs both in one process with the in-process WorkerPool; scaled out
(`QUEUE_URL=postgresql://...`), each process runs one role and procrastinate carries the
jobs between them (app.queue.distributed).
"""

from __future__ import annotations

from app.config.settings import Settings
from app.github.app import GitHubApp
from app.logs import get_logger
from app.queue.distributed import DistributedQueue
from app.queue.ingest import IngestBatcher
from app.queue.workers import WorkerPool
from app.store.database import Database, pool_size_for
from app.store.deliveries import DeliveryStore
from app.worker import Dispatcher, load_router

log = get_logger("deckhand.service")
WEB_CONNECTIONS = 4


class Service:
    def __init__(self, settings: Settings, *, web: bool = True, worker: bool = True) -> None:
        self.settings = settings
        # A web-only process needs few connections (ingest commits in batches).
        connections = pool_size_for(settings.worker_concurrency) if worker else WEB_CONNECTIONS
        self.db = Database(settings.database_url, pool_size=connections)
        self.deliveries = DeliveryStore(self.db)
        self.github_app = GitHubApp(settings)
        self.router = load_router(settings.plugins)
        self.pool: WorkerPool | None = None
        self.queue: DistributedQueue | None = None
        dispatcher = Dispatcher(self.router, self.github_app, self.db, settings)
        self.runs_jobs = worker
        if settings.queue_url:
            self.queue = DistributedQueue(settings, self.deliveries, dispatcher if worker else None)
            self.db.on_enqueue = self.queue.announce
        elif worker:
            self.pool = WorkerPool(
                self.deliveries,
                dispatcher,
                concurrency=settings.worker_concurrency,
                max_attempts=settings.max_attempts,
                retry_base_seconds=settings.retry_base_seconds,
                lease_seconds=settings.lease_seconds,
                poll_seconds=settings.poll_seconds,
                retention_seconds=settings.retention_days * 86400,
                job_timeout_seconds=settings.job_timeout_seconds,
            )
            self.db.on_enqueue = self._wake_pool
        self.batcher: IngestBatcher | None = None
        if web:
            self.batcher = IngestBatcher(self.deliveries, pool=self.pool)

    async def start(self) -> None:
        await self.db.migrate()
        missing = self.settings.missing_app_credentials()
        if missing:
            log.warning(
                "setup_mode",
                missing=missing,
                message="Deckhand is running without GitHub App credentials; set "
                + ", ".join(missing)
                + " (see README: Registering the GitHub App). Deliveries that need GitHub "
                "will be dead-lettered until then and can be retried with "
                "`python -m app deliveries retry --all-dead`.",
            )
        if self.settings.github_webhook_secret is None and self.settings.insecure_no_secret:
            log.warning(
                "webhook_signatures_not_checked",
                message="DECKHAND_INSECURE_NO_SECRET=1 and no GITHUB_WEBHOOK_SECRET: anyone "
                "who can reach /webhooks/github can send deliveries; set the secret",
            )
        if self.queue:
            await self.queue.open()
        if self.batcher:
            self.batcher.start()
        if self.pool:
            self.pool.start()
        if self.queue and self.runs_jobs:
            self.queue.start_worker()
        log.info(
            "service_started",
            web=self.batcher is not None,
            worker=self.runs_jobs,
            queue="procrastinate" if self.queue else "embedded",
        )

    async def _wake_pool(self, _new: object) -> None:
        if self.pool:
            self.pool.wake()

    async def stop(self) -> None:
        if self.batcher:
            await self.batcher.stop()
        if self.pool:
            await self.pool.stop()
        if self.queue:
            await self.queue.stop_worker()
            await self.queue.close()
        await self.github_app.close()
        await self.db.close()
        log.info("service_stopped")
