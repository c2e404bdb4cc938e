"""Deckhand scaled out as real processes: web replicas and workers sharing one Postgres
database and the procrastinate queue in it, pointed at the test's fake GitHub.

Used by tests/scale. Each process logs to its own file in the
given folder, so a failing test can show what each replica and worker did.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import aiohttp

from tests.support.deckhand import WEBHOOK_SECRET, sign
from tests.support.process import DeckhandProcess


def cluster_env(database_url: str, fake_github: Any, app_keys: Any, **extra: str) -> dict[str, str]:
    return {
        "DATABASE_URL": database_url,
        "QUEUE_URL": database_url,
        "GITHUB_APP_ID": str(app_keys.app_id),
        "GITHUB_PRIVATE_KEY": app_keys.private_pem.replace("\n", "\\n"),
        "GITHUB_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "GITHUB_API_URL": fake_github.url,
        "DECKHAND_QUEUE_HEARTBEAT_SECONDS": "1",
        "DECKHAND_QUEUE_STALLED_SECONDS": "4",
        "DECKHAND_QUEUE_RECOVER_SECONDS": "1",
        "DECKHAND_RETRY_BASE_SECONDS": "0.2",
        **extra,
    }


class Cluster:
    def __init__(self, env: dict[str, str], folder: Path) -> None:
        self.env = env
        self.folder = folder
        self.webs: list[DeckhandProcess] = []
        self.workers: list[DeckhandProcess] = []

    async def start(self, webs: int, workers: int) -> None:
        for n in range(webs):
            web = DeckhandProcess(self.env, self.folder / f"web{n}.log", "serve")
            self.webs.append(web)
        for n in range(workers):
            env = {**self.env, "GIT_CACHE_DIR": str(self.folder / f"git{n}")}
            self.workers.append(DeckhandProcess(env, self.folder / f"worker{n}.log", "worker"))
        # The first process applies the migrations and the queue schema; the rest race it.
        await asyncio.gather(
            *(w.start() for w in self.webs), *(w.start_without_http() for w in self.workers)
        )

    async def stop(self) -> None:
        await asyncio.gather(*(p.stop() for p in self.webs + self.workers if p.running))


async def deliver(
    session: aiohttp.ClientSession,
    web: DeckhandProcess,
    event: str,
    payload: dict[str, Any],
    delivery_id: str,
) -> int:
    """POST one signed delivery to a web replica, as GitHub does; returns the status."""
    body = json.dumps(payload).encode()
    headers = {
        "Content-Type": "application/json",
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": delivery_id,
        "X-Hub-Signature-256": sign(body),
    }
    async with session.post(f"{web.url}/webhooks/github", data=body, headers=headers) as answer:
        await answer.read()
        return answer.status
