"""HealthTarget: a deployed app's health endpoint on loopback, for the health watch tests.

A real aiohttp server on `127.0.0.1` (ephemeral port). `target.url` is
`http://127.0.0.1:PORT/healthz`. Modes switch at runtime:

```python
async with HealthTarget() as target:
    target.healthy()                 # 200 {"status": "ok", "checks": {"db": "ok"}} (default)
    target.failing(503)              # that status, with {"status": "down"}
    target.slow(2.0)                 # sleep, then answer healthy (woken when the server closes)
    target.body({"status": "degraded"}, status=200)  # dict/list: JSON; str/bytes: as is
    target.drop()                    # close the connection without answering
    target.redirect("/elsewhere")    # 302 to that location (relative or absolute)
    target.fail_next(2, status=500)  # the next 2 probes fail, then the mode above again
    target.hits, target.requests[-1].headers
```

Every path answers the same way, so a redirect to `/elsewhere` lands on the mode again
unless `redirect(..., times=1)` limits it.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.fakes.loopback import LoopbackServer

HEALTHY_BODY: dict[str, Any] = {"status": "ok", "checks": {"db": "ok"}}


@dataclass
class HealthRequest:
    method: str
    path: str
    headers: dict[str, str]
    at: float = field(default_factory=time.time)  # when the probe arrived (epoch seconds)


@dataclass
class _Mode:
    kind: str  # "body", "slow", "drop", "redirect"
    status: int = 200
    payload: bytes = b""
    content_type: str = "application/json"
    seconds: float = 0.0
    location: str = ""
    times: int | None = None  # for a redirect: how many times, then back to healthy


def _encode(body: object) -> tuple[bytes, str]:
    if isinstance(body, bytes):
        return body, "application/octet-stream"
    if isinstance(body, str):
        return body.encode(), "text/plain"
    return json.dumps(body).encode(), "application/json"


class HealthTarget(LoopbackServer):
    def __init__(self, path: str = "/healthz") -> None:
        super().__init__()
        self.path = path
        self.hits = 0
        self.requests: list[HealthRequest] = []
        self._mode = self._healthy_mode()
        self._fail_next = 0
        self._fail_status = 503
        self._closing = asyncio.Event()

    # --- lifecycle -------------------------------------------------------------------------

    def routes(self, app: web.Application) -> None:
        app.router.add_route("*", "/{tail:.*}", self._handle)

    async def __aexit__(self, *exc: object) -> None:
        self._closing.set()  # wake slow handlers
        await super().__aexit__(*exc)

    @property
    def url(self) -> str:
        return self.base_url + self.path

    # --- modes -----------------------------------------------------------------------------

    @staticmethod
    def _healthy_mode() -> _Mode:
        payload, content_type = _encode(HEALTHY_BODY)
        return _Mode("body", 200, payload, content_type)

    def healthy(self) -> None:
        self._mode = self._healthy_mode()

    def failing(self, status: int = 503) -> None:
        payload, content_type = _encode({"status": "down"})
        self._mode = _Mode("body", status, payload, content_type)

    def slow(self, seconds: float) -> None:
        payload, content_type = _encode(HEALTHY_BODY)
        self._mode = _Mode("slow", 200, payload, content_type, seconds=seconds)

    def body(self, body: Mapping[str, Any] | list[Any] | str | bytes, status: int = 200) -> None:
        payload, content_type = _encode(body)
        self._mode = _Mode("body", status, payload, content_type)

    def drop(self) -> None:
        self._mode = _Mode("drop")

    def redirect(self, location: str, status: int = 302, times: int | None = None) -> None:
        self._mode = _Mode("redirect", status, location=location, times=times)

    def fail_next(self, n: int, status: int = 503) -> None:
        """The next `n` probes answer `status`; then the current mode again."""
        self._fail_next = n
        self._fail_status = status

    # --- serving ---------------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        self.hits += 1
        self.requests.append(HealthRequest(request.method, request.path, dict(request.headers)))
        if self._fail_next > 0:
            self._fail_next -= 1
            payload, _ = _encode({"status": "down"})
            return web.Response(
                status=self._fail_status, body=payload, content_type="application/json"
            )
        mode = self._mode
        if mode.kind == "drop":
            transport = request.transport
            if transport is not None:
                transport.abort()
            raise asyncio.CancelledError  # nothing more to write on a dead connection
        if mode.kind == "redirect":
            if mode.times is not None:
                mode.times -= 1
                if mode.times <= 0:
                    self.healthy()
            return web.Response(status=mode.status, headers={"Location": mode.location})
        if mode.kind == "slow":
            try:
                await asyncio.wait_for(self._closing.wait(), mode.seconds)
            except TimeoutError:
                pass
        return web.Response(status=mode.status, body=mode.payload, content_type=mode.content_type)
