"""DeployReceiver: the far end of the `webhook` deploy backend, on loopback.

A real aiohttp server on `127.0.0.1` (ephemeral port) that takes Deckhand's signed
deployment requests at `receiver.url` (`/deploy`), checks `X-Deckhand-Signature` with the
shared secret (401 otherwise, and the request is counted in `rejected`), records what it
accepted and answers like a deployer would. It also sends the signed status callbacks a
real receiver would send to Deckhand's `callback_url`.

```python
async with DeployReceiver(secret) as receiver:
    receiver.fail_next(2, status=503)          # the next 2 requests fail, then 202 again
    receiver.down()                            # every request: 503 (receiver.up() to undo)
    receiver.log_url = "https://ci.example/1"  # returned in the 202 body
    [request] = receiver.received              # .body (dict), .headers, .raw
    await receiver.callback(request.body["callback_url"], "success", log_url=...)
```
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Self

import aiohttp
from aiohttp import web

from tests.fakes.loopback import LoopbackServer


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


@dataclass
class ReceivedRequest:
    body: dict[str, Any]
    headers: dict[str, str]
    raw: bytes
    at: float = field(default_factory=time.time)


class DeployReceiver(LoopbackServer):
    def __init__(self, secret: str) -> None:
        super().__init__()
        self.secret = secret
        self.received: list[ReceivedRequest] = []
        self.rejected = 0
        self.attempts = 0
        self.log_url: str | None = None
        self._fail_next = 0
        self._fail_status = 503
        self._down = False
        self._session: aiohttp.ClientSession | None = None

    def routes(self, app: web.Application) -> None:
        app.router.add_post("/deploy", self._handle)

    async def __aenter__(self) -> Self:
        await super().__aenter__()
        self._session = aiohttp.ClientSession()
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._session is not None:
            await self._session.close()
        await super().__aexit__(*exc)

    @property
    def url(self) -> str:
        return f"{self.base_url}/deploy"

    # --- scripting ---------------------------------------------------------------------
    def fail_next(self, times: int, status: int = 503) -> None:
        self._fail_next, self._fail_status = times, status

    def down(self, status: int = 503) -> None:
        self._down, self._fail_status = True, status

    def up(self) -> None:
        self._down = False

    # --- the endpoint ------------------------------------------------------------------
    async def _handle(self, request: web.Request) -> web.Response:
        self.attempts += 1
        raw = await request.read()
        given = request.headers.get("X-Deckhand-Signature", "")
        if not hmac.compare_digest(given, sign(self.secret, raw)):
            self.rejected += 1
            return web.json_response({"error": "bad signature"}, status=401)
        if self._down:
            return web.json_response({"error": "down"}, status=self._fail_status)
        if self._fail_next > 0:
            self._fail_next -= 1
            return web.json_response({"error": "try again"}, status=self._fail_status)
        self.received.append(ReceivedRequest(json.loads(raw), dict(request.headers), raw))
        answer: dict[str, Any] = {"accepted": True}
        if self.log_url:
            answer["log_url"] = self.log_url
        return web.json_response(answer, status=202)

    # --- callbacks to Deckhand ---------------------------------------------------------
    async def callback(
        self,
        url: str,
        state: str,
        *,
        log_url: str | None = None,
        description: str | None = None,
        delivery_id: str | None = None,
        secret: str | None = None,
        body: bytes | None = None,
    ) -> tuple[int, dict[str, Any]]:
        """POST a signed status callback to `url`; (status, JSON answer)."""
        assert self._session is not None
        if body is None:  # named as Deckhand's request named it (the URL's last part)
            fields: dict[str, Any] = {"deployment_id": int(url.rsplit("/", 1)[1]), "state": state}
            if log_url is not None:
                fields["log_url"] = log_url
            if description is not None:
                fields["description"] = description
            body = json.dumps(fields).encode()
        headers = {
            "Content-Type": "application/json",
            "X-Deckhand-Signature": sign(secret if secret is not None else self.secret, body),
            "X-Deckhand-Delivery": delivery_id or str(uuid.uuid4()),
        }
        async with self._session.post(url, data=body, headers=headers) as response:
            try:
                answer = await response.json(content_type=None)
            except ValueError:
                answer = {"raw": await response.text()}
            return response.status, answer
