"""Service: builds the parts from the settings and runs them for as long as the process lives.

Roles: `web` verifies, persists and enqueues; `worker` leases jobs and runs handlers. The
embedded default runs both in one process; scaled out, each process runs one role.
"""

from __future__ import annotations

from app.config.settings import Settings
from app.github.app import GitHubApp
from app.logs import get_logger
from app.queue.ingest import IngestBatcher
from app.queue.workers import WorkerPool
from app.store.database import Database, pool_size_for
from app.store.deliveries import DeliveryStore
from app.worker import Dispatcher, load_router

log = get_logger("deckhand.service")


class Service:
    def __init__(self, settings: Settings, *, web: bool = True, worker: bool = True) -> None:
        self.settings = settings
        self.db = Database(
            settings.database_url, pool_size=pool_size_for(settings.worker_concurrency)
        )
        self.deliveries = DeliveryStore(self.db)
        self.github_app = GitHubApp(settings)
        self.router = load_router(settings.plugins)
        self.pool: WorkerPool | None = None
        if worker:
            dispatcher = Dispatcher(self.router, self.github_app, self.db, settings)
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
        self.batcher: IngestBatcher | None = None
        if web:
            self.batcher = IngestBatcher(
                self.deliveries, on_commit=self.pool.wake if self.pool else None
            )

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
        if self.batcher:
            self.batcher.start()
        if self.pool:
            self.pool.start()
        log.info("service_started", web=self.batcher is not None, worker=self.pool is not None)

    async def stop(self) -> None:
        if self.batcher:
            await self.batcher.stop()
        if self.pool:
            await self.pool.stop()
        await self.github_app.close()
        await self.db.close()
        log.info("service_stopped")
