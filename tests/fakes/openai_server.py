"""FakeOpenAI: an OpenAI-compatible chat completions server on loopback, for tests.

A real aiohttp server on `127.0.0.1` (ephemeral port); `ai.url` is the base URL to give
the openai client (it ends in `/v1`). It implements `POST /v1/chat/completions` with
OpenAI's response and error shapes, checks `Authorization: Bearer <api_key>` (401 with
OpenAI's `invalid_api_key` error otherwise) and records every request.

```python
async with FakeOpenAI(api_key="sk-test") as ai:
    ai.reply_findings([{"path": "app.py", "line": 3, "severity": "error", "message": "..."}])
    ai.reply('{"findings": []}')           # canned replies are answered in order
    ai.status(500, times=1)                # faults come first, while they last
    ai.slow(5)                             # ... sleep 5 s, then answer normally
    ai.malformed() / ai.wrong_schema() / ai.truncated() / ai.refusal() / ai.no_choices()
    ai.requests[-1].json["model"]
```

A fault without `times` lasts until `reset()`. With no canned reply queued, the answer is
`{"findings": []}`.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from tests.fakes.loopback import LoopbackServer

EMPTY_ANSWER = '{"findings": []}'


@dataclass
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    authorized: bool
    status: int = 0

    @property
    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


@dataclass
class Canned:
    """One answer: message content (None for a refusal), finish reason, refusal text."""

    content: str | None
    finish_reason: str = "stop"
    refusal: str | None = None
    no_choices: bool = False


Behaviour = Callable[["FakeOpenAI", dict[str, Any]], Awaitable[web.StreamResponse | None]]


@dataclass
class _Fault:
    behaviour: Behaviour
    times: int | None  # None: until reset()


def _error(status: int, message: str, type_: str, code: str | None) -> web.Response:
    body = {"error": {"message": message, "type": type_, "param": None, "code": code}}
    return web.json_response(body, status=status)


_STATUS_ERRORS = {
    400: ("Invalid request.", "invalid_request_error", None),
    401: ("Incorrect API key provided.", "invalid_request_error", "invalid_api_key"),
    403: ("You are not allowed to sample from this model.", "invalid_request_error", None),
    404: ("The model does not exist or you do not have access to it.", "invalid_request_error",
          "model_not_found"),
    429: ("Rate limit reached for requests. Please try again later.", "requests",
          "rate_limit_exceeded"),
    500: ("The server had an error while processing your request. Sorry about that!",
          "server_error", None),
    502: ("Bad gateway.", "server_error", None),
    503: ("The engine is currently overloaded, please try again later.", "server_error", None),
}  # fmt: skip


def _mask(key: str) -> str:
    """OpenAI's way of echoing a wrong key: the first 3 and last 4 characters."""
    return f"{key[:3]}{'*' * max(len(key) - 7, 0)}{key[-4:]}" if len(key) > 7 else "***"


class FakeOpenAI(LoopbackServer):
    shutdown_timeout = 1.0
    client_max_size = 64 * 1024 * 1024

    def __init__(self, api_key: str = "sk-fake-test-key-0123456789") -> None:
        super().__init__()
        self.api_key = api_key
        self.requests: list[RecordedRequest] = []
        self._replies: deque[Canned] = deque()
        self._faults: list[_Fault] = []
        self._closing = asyncio.Event()

    # --- lifecycle -------------------------------------------------------------------------

    def routes(self, app: web.Application) -> None:
        app.router.add_post("/v1/chat/completions", self._chat_completions)

    async def __aexit__(self, *exc: object) -> None:
        self._closing.set()  # wake slow handlers
        await super().__aexit__(*exc)

    @property
    def url(self) -> str:
        return f"{self.base_url}/v1"

    # --- scripting -------------------------------------------------------------------------

    def reply(
        self, content: str | None, *, finish_reason: str = "stop", refusal: str | None = None
    ) -> None:
        """Queue one answer (message content as the model would write it)."""
        self._replies.append(Canned(content, finish_reason, refusal))

    def reply_findings(self, findings: list[Any]) -> None:
        self.reply(json.dumps({"findings": findings}))

    def malformed(self) -> None:
        self.reply("Sure! Here is my review: the code looks mostly fine, but line 3 ...")

    def wrong_schema(self) -> None:
        self.reply(json.dumps({"issues": [{"file": "app.py", "row": 1, "text": "bad"}]}))

    def truncated(self) -> None:
        self.reply(
            '{"findings": [{"path": "app.py", "line": 2, "severity": "err', finish_reason="length"
        )

    def refusal(self) -> None:
        self.reply(None, refusal="I'm sorry, but I can't help with that request.")

    def no_choices(self) -> None:
        self._replies.append(Canned(None, no_choices=True))

    def slow(self, seconds: float, times: int | None = None) -> None:
        """Wait `seconds` before answering (woken early when the server closes)."""

        async def behaviour(fake: FakeOpenAI, _body: dict[str, Any]) -> None:
            try:
                await asyncio.wait_for(fake._closing.wait(), seconds)
            except TimeoutError:
                pass

        self._faults.append(_Fault(behaviour, times))

    def status(self, code: int, times: int | None = None, retry_after: float | None = None) -> None:
        """Answer HTTP `code` with OpenAI's error JSON (e.g. 500, 429)."""
        message, type_, error_code = _STATUS_ERRORS.get(code, ("Error.", "server_error", None))

        async def behaviour(_fake: FakeOpenAI, _body: dict[str, Any]) -> web.Response:
            response = _error(code, message, type_, error_code)
            if retry_after is not None:
                response.headers["retry-after-ms"] = str(int(retry_after * 1000))
            return response

        self._faults.append(_Fault(behaviour, times))

    def reset(self) -> None:
        self._faults.clear()
        self._replies.clear()

    # --- the endpoint ----------------------------------------------------------------------

    async def _chat_completions(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        expected = f"Bearer {self.api_key}"
        given = request.headers.get("Authorization", "")
        record = RecordedRequest(
            request.method, request.path, dict(request.headers), body, given == expected
        )
        self.requests.append(record)
        response = await self._answer(record, given)
        record.status = response.status
        return response

    async def _answer(self, record: RecordedRequest, given: str) -> web.StreamResponse:
        if not record.authorized:
            key = given.removeprefix("Bearer ").strip()
            if not key:
                return _error(
                    401,
                    "You didn't provide an API key. You need to provide your API key in an "
                    "Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
                    "invalid_request_error",
                    None,
                )
            return _error(
                401,
                f"Incorrect API key provided: {_mask(key)}. You can find your API key at "
                "https://platform.openai.com/account/api-keys.",
                "invalid_request_error",
                "invalid_api_key",
            )
        try:
            data = json.loads(record.body)
        except ValueError:
            return _error(400, "We could not parse the JSON body of your request.",
                          "invalid_request_error", None)  # fmt: skip
        if not isinstance(data, dict) or not isinstance(data.get("model"), str):
            return _error(400, "you must provide a model parameter", "invalid_request_error", None)
        if not isinstance(data.get("messages"), list) or not data["messages"]:
            return _error(400, "'messages' is a required property", "invalid_request_error", None)
        for fault in list(self._faults):
            if fault.times is not None:
                fault.times -= 1
                if fault.times <= 0:
                    self._faults.remove(fault)
            response = await fault.behaviour(self, data)
            if response is not None:
                return response
        canned = self._replies.popleft() if self._replies else Canned(EMPTY_ANSWER)
        return web.json_response(self._completion(data, canned))

    def _completion(self, data: dict[str, Any], canned: Canned) -> dict[str, Any]:
        prompt = sum(len(str(m.get("content", ""))) for m in data["messages"]) // 4
        completion = len(canned.content or canned.refusal or "") // 4
        choices = [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": canned.content,
                    "refusal": canned.refusal,
                    "annotations": [],
                },
                "logprobs": None,
                "finish_reason": canned.finish_reason,
            }
        ]
        return {
            "id": f"chatcmpl-{uuid.uuid4().hex[:24]}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": data["model"],
            "choices": [] if canned.no_choices else choices,
            "usage": {
                "prompt_tokens": prompt,
                "completion_tokens": completion,
                "total_tokens": prompt + completion,
            },
            "service_tier": "default",
            "system_fingerprint": "fp_fake",
        }
