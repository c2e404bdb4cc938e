"""GitHubClient: gidgethub on aiohttp, made careful for a bot that must not give up or flood.

- authenticates each request through an `Authorizer` (App JWT or installation token) and,
  on a 401, drops that credential and retries once with a fresh one;
- conditional GETs through a per-installation ETag cache (a 304 costs no rate limit);
- retries, bounded, with backoff: connection failures; 5xx answers and timeouts for
  idempotent methods only (a POST may have been applied already); rate limits
  (`Retry-After`, `x-ratelimit-reset`), where a wait longer than `max_inline_wait`
  becomes `RetryLater`, so the queue parks the job instead of a worker;
- slows down as `x-ratelimit-remaining` nears zero, spreading what is left over the window;
- at most `concurrency` requests in flight per installation.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import aiohttp
from gidgethub import HTTPException, sansio
from gidgethub.aiohttp import GitHubAPI

from app import metrics
from app.logs import get_logger
from app.queue.errors import RetryLater

log = get_logger(__name__)

USER_AGENT = "Deckhand-GitHub-App"
MAX_ATTEMPTS = 4
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
LOW_WATER_FRACTION = 0.05
SECONDARY_LIMIT_DEFAULT_WAIT = 60.0


class Authorizer(Protocol):
    async def authorization(self) -> str:
        """The `Authorization` header value to send."""

    def refused(self, authorization: str) -> None:
        """GitHub answered 401 to this value: forget it."""


@dataclass
class InstallationState:
    """What all clients of one installation share: concurrency, rate limit, ETag cache."""

    label: str
    concurrency: int
    etags: MutableMapping[str, Any]
    semaphore: asyncio.Semaphore = field(init=False)
    rate_limit: sansio.RateLimit | None = None

    def __post_init__(self) -> None:
        self.semaphore = asyncio.Semaphore(self.concurrency)

    def observe(self, headers: Mapping[str, str]) -> None:
        rate_limit = sansio.RateLimit.from_http(headers)
        if rate_limit is not None:
            self.rate_limit = rate_limit
            metrics.GITHUB_RATE_LIMIT_REMAINING.labels(self.label).set(rate_limit.remaining)


def rate_limit_wait(status: int, headers: Mapping[str, str], body: Any, now: float) -> float | None:
    """Seconds GitHub asks us to wait, or None when the answer is not a rate limit."""
    if status not in (403, 429):
        return None
    if "retry-after" in headers:
        try:
            return max(0.0, float(headers["retry-after"]))
        except ValueError:
            return SECONDARY_LIMIT_DEFAULT_WAIT
    if headers.get("x-ratelimit-remaining") == "0" and "x-ratelimit-reset" in headers:
        return max(0.0, float(headers["x-ratelimit-reset"]) - now) + 1.0
    message = str(body.get("message", "")) if isinstance(body, Mapping) else str(body)
    if status == 429 or "rate limit" in message.lower():
        return SECONDARY_LIMIT_DEFAULT_WAIT
    return None


def _backoff(attempt: int) -> float:
    return random.uniform(0.25, 0.5) * 2 ** (attempt - 1)  # noqa: S311 - jitter


class GitHubClient(GitHubAPI):
    def __init__(
        self,
        session: aiohttp.ClientSession,
        *,
        authorizer: Authorizer,
        state: InstallationState,
        base_url: str,
        timeout: float = 30.0,
        max_inline_wait: float = 60.0,
        retry_unsafe: bool = False,
    ) -> None:
        super().__init__(session, USER_AGENT, cache=state.etags, base_url=base_url.rstrip("/"))
        self._authorizer = authorizer
        self._state = state
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._max_inline_wait = max_inline_wait
        # POST and PATCH may have been applied before a 5xx or a timeout: sending them
        # again could duplicate a comment or an issue, so only safe ones are retried.
        self._retry_unsafe = retry_unsafe
        self._sent_authorization = ""

    async def _request(
        self, method: str, url: str, headers: Mapping[str, str], body: bytes = b""
    ) -> tuple[int, Mapping[str, str], bytes]:
        request_headers = dict(headers)
        request_headers["authorization"] = await self._authorizer.authorization()
        self._sent_authorization = request_headers["authorization"]
        attempt = 0
        while True:
            attempt += 1
            try:
                async with (
                    self._state.semaphore,
                    self._session.request(
                        method, url, headers=request_headers, data=body, timeout=self._timeout
                    ) as response,
                ):
                    status, response_headers = response.status, response.headers
                    payload = await response.read()
            except (aiohttp.ClientConnectorError, TimeoutError, aiohttp.ClientError) as exc:
                sent = not isinstance(exc, aiohttp.ClientConnectorError)
                if attempt >= MAX_ATTEMPTS or (sent and not self._may_resend(method)):
                    raise
                metrics.GITHUB_RETRIES.labels("connection").inc()
                log.warning("github_retry", reason=type(exc).__name__, method=method, url=url)
                await asyncio.sleep(_backoff(attempt))
                continue
            self._state.observe(response_headers)
            metrics.GITHUB_REQUESTS.labels(method, f"{status // 100}xx").inc()
            return status, response_headers, payload

    def _may_resend(self, method: str) -> bool:
        return self._retry_unsafe or method in IDEMPOTENT_METHODS

    async def manage_rate_limit(self, *, method: str, url: str) -> None:
        """Before a request: slow down when the window is nearly used up."""
        rate_limit = self._state.rate_limit
        if rate_limit is None or rate_limit.limit <= 0:
            return
        low_water = max(1, int(rate_limit.limit * LOW_WATER_FRACTION))
        if rate_limit.remaining > low_water:
            return
        until_reset = max(0.0, rate_limit.reset_datetime.timestamp() - time.time())
        wait = until_reset if rate_limit.remaining <= 0 else until_reset / rate_limit.remaining
        if wait > self._max_inline_wait:
            raise RetryLater(
                f"GitHub rate limit nearly used up ({rate_limit.remaining} left)",
                at=time.time() + until_reset,
            )
        if wait > 0:
            metrics.GITHUB_RETRIES.labels("throttle").inc()
            await asyncio.sleep(wait)

    async def handle_rate_limit_error(
        self, *, method: str, url: str, exception: HTTPException, attempt: int
    ) -> bool:
        """After an error answer: decide whether (and when) to send the request again."""
        status = int(exception.status_code)
        headers = exception.headers
        if status == 401 and attempt == 1:
            metrics.GITHUB_RETRIES.labels("unauthorized").inc()
            self._authorizer.refused(self._sent_authorization)
            return True
        wait = rate_limit_wait(status, headers, {"message": str(exception)}, time.time())
        if wait is not None:
            if wait > self._max_inline_wait or attempt >= MAX_ATTEMPTS:
                raise RetryLater(f"GitHub rate limit: {exception}", at=time.time() + wait)
            metrics.GITHUB_RETRIES.labels("rate_limit").inc()
            log.warning("github_rate_limited", wait=wait, method=method, url=url)
            await asyncio.sleep(wait)
            return True
        if status >= 500 and attempt < MAX_ATTEMPTS and self._may_resend(method):
            metrics.GITHUB_RETRIES.labels("server_error").inc()
            log.warning("github_retry", status=status, method=method, url=url)
            await asyncio.sleep(_backoff(attempt))
            return True
        return False
