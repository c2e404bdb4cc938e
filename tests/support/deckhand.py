"""A real Deckhand server on loopback for tests, and a client that speaks to it like GitHub.

`DeckhandHarness` posts signed deliveries to the real `POST /webhooks/github` and waits on
the real database for the queue to finish them.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
import uuid
from typing import Any

import aiohttp

from app.config.settings import Settings
from app.store.deliveries import Delivery, DeliveryStore
from tests.support import postgres

WEBHOOK_SECRET = "test-webhook-secret-0123456789"


def sign(body: bytes, secret: str = WEBHOOK_SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def database_url_for_test(tmp_path: Any) -> str:
    """The test's database: a SQLite file in `tmp_path`, or with
    `DECKHAND_TEST_DATABASE=postgres` a fresh Postgres database (tests/support/postgres.py)."""
    if postgres.selected():
        return postgres.database_for(str(tmp_path))
    return f"sqlite:///{tmp_path}/deckhand.db"


def make_settings(tmp_path: Any, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": database_url_for_test(tmp_path),
        "git_cache_dir": f"{tmp_path}/git",
        "github_webhook_secret": WEBHOOK_SECRET,
        "github_api_url": "http://127.0.0.1:9",
        "retry_base_seconds": 0.05,
        "poll_seconds": 0.05,
        "lease_seconds": 5.0,
        "github_max_inline_wait": 5.0,
        "github_timeout": 5.0,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


class DeckhandHarness:
    def __init__(self, url: str, session: aiohttp.ClientSession, store: DeliveryStore) -> None:
        self.url = url.rstrip("/")
        self.session = session
        self.store = store

    async def post(
        self,
        event: str,
        payload: Any,
        *,
        delivery_id: str | None = None,
        secret: str | None = WEBHOOK_SECRET,
        headers: dict[str, str] | None = None,
        body: bytes | None = None,
    ) -> tuple[int, dict[str, Any], str]:
        """POST one delivery; returns (status, json body, delivery id)."""
        delivery_id = delivery_id or str(uuid.uuid4())
        data = body if body is not None else json.dumps(payload).encode()
        request_headers = {
            "Content-Type": "application/json",
            "X-GitHub-Event": event,
            "X-GitHub-Delivery": delivery_id,
            "User-Agent": "GitHub-Hookshot/test",
        }
        if secret is not None:
            request_headers["X-Hub-Signature-256"] = sign(data, secret)
        request_headers.update(headers or {})
        async with self.session.post(
            f"{self.url}/webhooks/github", data=data, headers=request_headers
        ) as response:
            try:
                answer = await response.json(content_type=None)
            except ValueError:
                answer = {"raw": await response.text()}
            return response.status, answer, delivery_id

    async def wait_finished(
        self, delivery_ids: list[str], within: float = 20.0
    ) -> dict[str, Delivery]:
        """Wait until every delivery is done or dead; returns them by id."""
        deadline = time.monotonic() + within
        pending = set(delivery_ids)
        finished: dict[str, Delivery] = {}
        while pending:
            for delivery_id in list(pending):
                delivery = await self.store.get(delivery_id)
                if delivery is not None and delivery.status in ("done", "dead"):
                    finished[delivery_id] = delivery
                    pending.discard(delivery_id)
            if not pending:
                break
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"{len(pending)} deliveries not finished: {sorted(pending)[:5]}"
                )
            await asyncio.sleep(0.05)
        return finished
