"""What happens to a delivery whose job failed, the same for both queue backends.

A `PermanentError`, or a failure on the last allowed attempt, dead-letters the delivery
with its error (scrubbed of secrets); any other failure puts it back in the queue after
an exponential backoff with full jitter, or at the time a `RetryLater` asks for.
"""

from __future__ import annotations

import random
import time

from app.logs import get_logger, redactor
from app.queue.errors import PermanentError, RetryLater
from app.store.deliveries import Delivery, DeliveryStore

log = get_logger("app.queue")

MAX_BACKOFF_SECONDS = 600.0


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
