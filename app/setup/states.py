"""One-time `state` values of the manifest flow, kept in this process's memory with an expiry.

The setup page issues one per rendered form; the `/setup` callback must present it once,
within the hour. A restart forgets them (the user simply starts again). Also remembers the
App registered by this process, so `/` can say that a restart is needed. No I/O.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

STATE_TTL_SECONDS = 3600.0  # GitHub's manifest codes also expire after an hour
MAX_PENDING = 1000


@dataclass(frozen=True)
class RegisteredApp:
    """The App this process registered; its credentials load on the next start."""

    app_id: int
    slug: str
    html_url: str
    stored_in: str | None  # the env file written, or None when shown on the page


class ManifestStates:
    def __init__(
        self, ttl: float = STATE_TTL_SECONDS, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.ttl = ttl
        self.clock = clock
        self._pending: dict[str, float] = {}
        self.registered: RegisteredApp | None = None

    def issue(self) -> str:
        """A fresh random state, valid once for `ttl` seconds."""
        self._prune()
        if len(self._pending) >= MAX_PENDING:  # a crawler reloading the page
            oldest = min(self._pending, key=self._pending.__getitem__)
            del self._pending[oldest]
        state = secrets.token_urlsafe(24)
        self._pending[state] = self.clock() + self.ttl
        return state

    def is_pending(self, state: str) -> bool:
        """Whether `state` was issued here and has not expired (without using it up)."""
        self._prune()
        return state in self._pending

    def consume(self, state: str) -> bool:
        """Whether `state` was issued here and has not expired; it cannot be used again."""
        self._prune()
        return self._pending.pop(state, None) is not None

    def _prune(self) -> None:
        now = self.clock()
        for state in [s for s, expires in self._pending.items() if expires <= now]:
            del self._pending[state]
