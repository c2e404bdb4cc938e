"""One attempt at a delivery's job and what becomes of it, the same for both queue backends.

`attempt` runs the job within its time limit and settles the outcome through the
backend's own steps: done, failed (`record_failure`), or interrupted by shutdown (handed
back at once). An outcome that cannot be recorded (the database is away) is logged and
counted as `unrecorded`: the delivery stays leased to this attempt, and the backend's
recovery runs it again once the lease lapses or the job is seen to have ended.

A `PermanentError`, or a failure on the last allowed attempt, dead-letters the delivery
with its error (scrubbed of secrets); any other failure puts it back in the queue after
an exponential backoff with full jitter, or at the time a `RetryLater` asks for.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable

from app import metrics
from app.logs import get_logger, redactor
from app.queue.errors import PermanentError, RetryLater
from app.store.deliveries import Delivery, DeliveryStore

log = get_logger("app.queue")

MAX_BACKOFF_SECONDS = 600.0


async def attempt(
    delivery: Delivery,
    job: Callable[[Delivery], Awaitable[None]],
    *,
    time_limit: float,
    done: Callable[[], Awaitable[object]],
    failed: Callable[[Exception], Awaitable[str]],
    interrupted: Callable[[], Awaitable[object]],
) -> str:
    """Run `job(delivery)` once and settle it; returns the outcome as counted in metrics
    (done, retry, dead, interrupted or unrecorded). `failed` records the failure and names
    the outcome; `interrupted` runs shielded, and the cancellation goes on even if it
    fails."""
    if delivery.attempts == 1:
        metrics.QUEUE_LATENCY_SECONDS.observe(max(0.0, time.time() - delivery.received_at))
    started, outcome = time.perf_counter(), "done"
    try:
        try:
            async with asyncio.timeout(time_limit):
                await job(delivery)
        except asyncio.CancelledError:
            outcome = "interrupted"
            try:
                await asyncio.shield(interrupted())
            except Exception:  # its lease lapses instead; the shutdown goes on
                log.exception("queue_hand_back_failed", delivery_id=delivery.id)
            raise
        except Exception as exc:
            outcome = await failed(exc)
        else:
            await done()
    except asyncio.CancelledError:
        outcome = "interrupted"  # also while its outcome was being recorded
        raise
    except Exception:
        outcome = "unrecorded"
        log.exception("queue_outcome_not_recorded", delivery_id=delivery.id)
    finally:
        metrics.DELIVERIES_PROCESSED.labels(delivery.event, outcome).inc()
        metrics.PROCESSING_SECONDS.labels(delivery.event).observe(time.perf_counter() - started)
    return outcome


def backoff_delay(attempt: int, base: float) -> float:
    """Full-jitter exponential backoff for the given (1-based) attempt."""
    ceiling = min(MAX_BACKOFF_SECONDS, base * 2 ** (attempt - 1))
    return random.uniform(ceiling / 2, ceiling)  # noqa: S311 - jitter, not cryptography


def describe(exc: BaseException) -> str:
    """The error as stored with the delivery and shown by the CLI: scrubbed of secrets."""
    if isinstance(exc, TimeoutError) and not str(exc):
        return "TimeoutError: the job ran longer than its time limit"
    return str(redactor.scrub(f"{type(exc).__name__}: {exc}"))[:2000]


async def record_failure(
    store: DeliveryStore,
    delivery: Delivery,
    exc: Exception,
    worker_id: str,
    *,
    max_attempts: int,
    retry_base_seconds: float,
) -> float | None:
    """Dead-letter or reschedule the delivery; returns when it runs again (None: dead)."""
    error = describe(exc)
    context = {
        "delivery_id": delivery.id,
        "github_event": delivery.event,
        "attempt": delivery.attempts,
    }
    if isinstance(exc, PermanentError) or delivery.attempts >= max_attempts:
        log.error("delivery_dead", error=error, exc_info=exc, **context)
        await store.bury(delivery.id, worker_id, error)
        return None
    if isinstance(exc, RetryLater):
        at = exc.at
    else:
        at = time.time() + backoff_delay(delivery.attempts, retry_base_seconds)
    log.warning("delivery_retry", error=error, retry_in=round(at - time.time(), 2), **context)
    await store.reschedule(delivery.id, worker_id, error, at)
    return at
