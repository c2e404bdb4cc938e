"""GitHub App authentication: the App's JWT and cached installation access tokens.

The JWT (RS256) is backdated 60 s against clock drift and expires 9 minutes after it is
made, within GitHub's 10-minute limit. Installation tokens are cached until shortly before
their `expires_at`; concurrent callers for one installation share a single fetch, and a
token GitHub refused (401) is dropped so the next caller fetches a new one.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import jwt
from cachetools import LRUCache, TLRUCache

from app.queue.errors import PermanentError

JWT_BACKDATE_SECONDS = 60
JWT_LIFETIME_SECONDS = 9 * 60
JWT_REUSE_SECONDS = 5 * 60
TOKEN_REFRESH_MARGIN_SECONDS = 5 * 60


class NotConfigured(PermanentError):
    """The App's credentials are missing, so nothing can be done on GitHub."""


class AppCredentials:
    """Signs the App's JWTs; reuses one for a few minutes rather than signing per request."""

    def __init__(self, app_id: int | None, private_key_pem: str | None) -> None:
        self.app_id = app_id
        self._private_key_pem = private_key_pem
        self._cached: tuple[str, float] | None = None

    @property
    def configured(self) -> bool:
        return self.app_id is not None and bool(self._private_key_pem)

    def jwt(self) -> str:
        if not self.configured:
            raise NotConfigured(
                "GitHub App credentials are not configured: "
                "set GITHUB_APP_ID and GITHUB_PRIVATE_KEY (or GITHUB_PRIVATE_KEY_PATH)"
            )
        now = time.time()
        if self._cached and self._cached[1] > now:
            return self._cached[0]
        issued_at = int(now) - JWT_BACKDATE_SECONDS
        token = jwt.encode(
            {"iat": issued_at, "exp": int(now) + JWT_LIFETIME_SECONDS, "iss": str(self.app_id)},
            self._private_key_pem,  # type: ignore[arg-type]
            algorithm="RS256",
        )
        self._cached = (token, now + JWT_REUSE_SECONDS)
        return token


@dataclass(frozen=True)
class InstallationToken:
    token: str
    refresh_at: float  # time.monotonic() after which the cache must not hand it out


TokenFetcher = Callable[[int], Awaitable[dict[str, Any]]]


def _refresh_at(expires_at: str, now_wall: float, now_mono: float) -> float:
    expires = datetime.fromisoformat(expires_at.replace("Z", "+00:00"))
    if expires.tzinfo is None:
        expires = expires.replace(tzinfo=UTC)
    lifetime = expires.timestamp() - now_wall
    margin = min(TOKEN_REFRESH_MARGIN_SECONDS, max(lifetime, 0) / 10)
    return now_mono + lifetime - margin


class InstallationTokens:
    """A TTL cache of installation tokens, filled by `fetch` (POST .../access_tokens)."""

    def __init__(self, fetch: TokenFetcher, maxsize: int = 10_000) -> None:
        self._fetch = fetch
        self._cache: TLRUCache[int, InstallationToken] = TLRUCache(
            maxsize=maxsize, ttu=lambda _key, value, _now: value.refresh_at, timer=time.monotonic
        )
        # Bounded like the cache; losing a lock at worst costs one extra token fetch.
        self._locks: LRUCache[int, asyncio.Lock] = LRUCache(maxsize=maxsize)

    async def get(self, installation_id: int) -> str:
        cached = self._cache.get(installation_id)
        if cached is not None:
            return cached.token
        lock = self._locks.get(installation_id)
        if lock is None:
            lock = self._locks[installation_id] = asyncio.Lock()
        async with lock:
            cached = self._cache.get(installation_id)
            if cached is not None:
                return cached.token
            data = await self._fetch(installation_id)
            entry = InstallationToken(
                token=data["token"],
                refresh_at=_refresh_at(data["expires_at"], time.time(), time.monotonic()),
            )
            self._cache[installation_id] = entry
            return entry.token

    def invalidate(self, installation_id: int, token: str) -> None:
        """Drop the cached token if it is still the one that was refused."""
        cached = self._cache.get(installation_id)
        if cached is not None and cached.token == token:
            del self._cache[installation_id]
