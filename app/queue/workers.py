"""WorkerPool: leases due deliveries from the store and runs a job function on each.

At-least-once: a delivery is marked done only after its job returned; a worker killed
mid-job loses its lease and another (or the restarted process) runs the job again, so
jobs must be idempotent (see DESIGN.md). Failures are retried with exponential backoff
and full jitter; after `max_attempts` the delivery is dead-lettered with its error.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import socket
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence

from app.logs import get_logger
from app.queue.outcomes import attempt, record_failure
from app.store.deliveries import Delivery, DeliveryStore

log = get_logger(__name__)

Job = Callable[[Delivery], Awaitable[None]]
PRUNE_EVERY_SECONDS = 3600.0
SETTLE_SECONDS = 0.05  # longest a finished job waits to be marked done


class WorkerPool:
    def __init__(
        self,
        store: DeliveryStore,
        job: Job,
        *,
        concurrency: int = 8,
        max_attempts: int = 5,
        retry_base_seconds: float = 2.0,
        lease_seconds: float = 60.0,
        poll_seconds: float = 1.0,
        retention_seconds: float = 14 * 86400,
        job_timeout_seconds: float = 600.0,
    ) -> None:
        self.store = store
        self.job = job
        self.concurrency = concurrency
        self.max_attempts = max_attempts
        self.retry_base_seconds = retry_base_seconds
        self.lease_seconds = lease_seconds
        self.poll_seconds = poll_seconds
        self.retention_seconds = retention_seconds
        self.job_timeout_seconds = job_timeout_seconds
        self.worker_id = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._active: dict[str, asyncio.Task[None]] = {}
        self._completed: list[str] = []  # done, to be marked so with the next claim
        self._reserved = 0  # slots promised to deliveries being leased at ingest
        self._full = False  # the last claim took all it could: work may be waiting
        self._settle_timer: asyncio.TimerHandle | None = None
        self._wakeup = asyncio.Event()
        self._stopping = False
        self._tasks: list[asyncio.Task[None]] = []
        self.last_poll = 0.0

    def wake(self) -> None:
        """Called when new work was committed, so it starts without waiting for a poll."""
        self._wakeup.set()

    @property
    def running(self) -> bool:
        return bool(self._tasks) and not any(t.done() for t in self._tasks)

    def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._claim_loop(), name="queue-claim"),
            asyncio.create_task(self._lease_loop(), name="queue-lease"),
            asyncio.create_task(self._prune_loop(), name="queue-prune"),
        ]

    async def stop(self, grace_seconds: float = 10.0) -> None:
        """Stop taking work, let running jobs finish for a while, then hand the rest back."""
        self._stopping = True
        self._wakeup.set()
        claim_loop, *others = self._tasks
        for task in others:
            task.cancel()
        # The claim loop is left to finish its transaction: cancelling the wait would not
        # stop the database thread, and what it claimed would sit leased to nobody.
        await asyncio.gather(claim_loop, *others, return_exceptions=True)
        if self._active:
            _, pending = await asyncio.wait(list(self._active.values()), timeout=grace_seconds)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        if self._completed:
            await self._settle_and_claim(0)

    async def _claim_loop(self) -> None:
        while not self._stopping:
            self.last_poll = time.time()
            free = self.concurrency - len(self._active) - self._reserved
            self._wakeup.clear()  # before the claim, so a wake-up during it is not lost
            claimed = await self._settle_and_claim(free)
            if claimed is None:  # the database failed: back off before trying again
                await asyncio.sleep(self.poll_seconds)
                continue
            for delivery in claimed:
                self._start(delivery)
            self._full = len(claimed) >= free  # more may be due: a finished job wakes us
            if len(claimed) == free and free > 0:
                continue  # there may be more due right now
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), self.poll_seconds)

    async def _settle_and_claim(self, limit: int) -> list[Delivery] | None:
        """One transaction: record the jobs that finished, lease the next ones.

        None when the database failed; the finished jobs are kept for the next try.
        """
        finished = self.take_finished()
        try:
            settled, claimed = await self.store.settle_and_claim(
                finished, self.worker_id, max(limit, 0), self.lease_seconds, self.max_attempts
            )
        except Exception:
            log.exception("queue_claim_failed")
            self.give_back_finished(finished)
            return None
        if settled < len(finished):
            log.warning("queue_lease_lost", jobs=len(finished) - settled)
        return claimed

    def reserve(self, wanted: int) -> int:
        """Free slots, up to `wanted`, for deliveries the ingest transaction will lease to
        this worker (see `adopt`); held until then, so no claim fills them meanwhile."""
        if self._stopping or not self.running:
            return 0
        granted = max(0, min(wanted, self.concurrency - len(self._active) - self._reserved))
        self._reserved += granted
        return granted

    def adopt(self, granted: int, leased: Sequence[Delivery]) -> None:
        """Run the deliveries leased to this worker as they were stored (no claim, no
        second read), and give back the `granted` slots. A stopping pool starts none:
        their leases lapse and the next start takes them again."""
        self._reserved -= granted
        if self._stopping:
            return
        for delivery in leased:
            self._start(delivery)

    def _start(self, delivery: Delivery) -> None:
        task = asyncio.create_task(self._run(delivery), name=f"job-{delivery.id}")
        self._active[delivery.id] = task
        task.add_done_callback(functools.partial(self._done, delivery.id))

    def take_finished(self) -> tuple[str, ...]:
        """The jobs finished since the last settlement, for the caller to mark done (with
        this worker's id); `give_back_finished` if that fails."""
        finished, self._completed = tuple(self._completed), []
        return finished

    def give_back_finished(self, finished: Sequence[str]) -> None:
        self._completed[:0] = finished

    def _done(self, delivery_id: str, _task: object = None) -> None:
        self._active.pop(delivery_id, None)
        if self._full or self._stopping:  # a slot is free for work that is waiting
            self._wakeup.set()
        elif self._settle_timer is None:
            # Finished jobs are settled by the next ingest commit (IngestBatcher), or by
            # the claim loop SETTLE_SECONDS from now: one transaction for many jobs.
            loop = asyncio.get_running_loop()
            self._settle_timer = loop.call_later(SETTLE_SECONDS, self._settle_due)

    def _settle_due(self) -> None:
        self._settle_timer = None
        if self._completed:
            self._wakeup.set()

    async def _lease_loop(self) -> None:
        while True:
            await asyncio.sleep(self.lease_seconds / 3)
            try:
                await self.store.extend_lease(
                    list(self._active), self.worker_id, self.lease_seconds
                )
            except Exception:
                log.exception("queue_lease_renewal_failed")

    async def _prune_loop(self) -> None:
        while True:
            try:
                removed = await self.store.prune(self.retention_seconds)
                if removed:
                    log.info("queue_pruned", removed=removed)
            except Exception:
                log.exception("queue_prune_failed")
            await asyncio.sleep(PRUNE_EVERY_SECONDS)

    async def _run(self, delivery: Delivery) -> None:
        async def done() -> None:
            self._completed.append(delivery.id)  # marked done with the next batch

        async def interrupted() -> None:  # shutdown: hand it back rather than wait out the lease
            await self.store.reschedule(delivery.id, self.worker_id, "interrupted", time.time())

        await attempt(
            delivery,
            self.job,
            time_limit=self.job_timeout_seconds,
            done=done,
            failed=functools.partial(self._failed, delivery),
            interrupted=interrupted,
        )

    async def _failed(self, delivery: Delivery, exc: Exception) -> str:
        at = await record_failure(
            self.store,
            delivery,
            exc,
            self.worker_id,
            max_attempts=self.max_attempts,
            retry_base_seconds=self.retry_base_seconds,
        )
        return "dead" if at is None else "retry"
