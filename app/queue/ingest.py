"""IngestBatcher: group commit for inbound deliveries.

Each request hands its delivery over and waits; one task commits everything that arrived
meanwhile in a single transaction (one fsync for many requests), then answers them all.
The answer is given only after the commit, so an acknowledged delivery is on disk (and,
through `Database.on_enqueue`, already handed to the queue).

With the embedded queue in the same process (`pool`), the commit also leases the new
deliveries to that pool, as many as it has free slots, and the pool starts them from
memory: no claim transaction, no second read of the payload. Should the process die
before they finish, their leases lapse and they are claimed again, as any running job.
The same commit marks the pool's finished jobs done, so under a steady stream of
deliveries the pool seldom needs a transaction of its own.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from app.logs import get_logger
from app.store.deliveries import Delivery, DeliveryStore, Handover, NewDelivery

if TYPE_CHECKING:
    from app.queue.workers import WorkerPool

log = get_logger(__name__)


class IngestBatcher:
    def __init__(
        self,
        store: DeliveryStore,
        *,
        pool: WorkerPool | None = None,
        max_batch: int = 512,
    ) -> None:
        self._store = store
        self._pool = pool
        self._max_batch = max_batch
        self._pending: list[tuple[NewDelivery, asyncio.Future[bool]]] = []
        self._ready = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closing = False

    async def submit(self, delivery: NewDelivery) -> bool:
        """Persist one delivery; True when it is new, False when its id was already stored."""
        if self._closing or self._task is None:
            raise RuntimeError("the ingest batcher is not running")
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._pending.append((delivery, future))
        self._ready.set()
        return await future

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="ingest-batcher")

    async def stop(self) -> None:
        """Commit what is pending, then stop."""
        self._closing = True
        self._ready.set()
        if self._task is not None:
            await self._task

    async def _run(self) -> None:
        while True:
            await self._ready.wait()
            self._ready.clear()
            while self._pending:
                batch = self._pending[: self._max_batch]
                del self._pending[: self._max_batch]
                await self._commit(batch)
            if self._closing:
                return

    async def _commit(self, batch: list[tuple[NewDelivery, asyncio.Future[bool]]]) -> None:
        pool = self._pool
        handover: Handover | None = None
        leased: list[Delivery] = []
        if pool is not None:
            granted, finished = pool.reserve(len(batch)), pool.take_finished()
            handover = Handover(pool.worker_id, pool.lease_seconds, granted, finished)
        try:
            new_ids, leased = await self._store.add_and_lease([d for d, _ in batch], handover)
        except Exception as exc:  # the requests answer 503 and GitHub redelivers later
            log.exception("ingest_commit_failed", batch=len(batch))
            if pool is not None and handover is not None:
                pool.give_back_finished(handover.finished)
            for _, future in batch:
                if not future.done():
                    future.set_exception(exc)
            return
        finally:
            if pool is not None and handover is not None:
                pool.adopt(handover.limit, leased)
        seen: set[str] = set()
        for delivery, future in batch:
            # Within one batch, only the first of two equal ids counts as new.
            is_new = delivery.id in new_ids and delivery.id not in seen
            seen.add(delivery.id)
            if not future.done():
                future.set_result(is_new)
