"""Deckhand in this process against the test suite's fakes, for the benchmarks.

`Bench` starts the fake GitHub, the real smart-HTTP git server and Deckhand (web and
embedded workers) on loopback, and offers `deliver` (a signed webhook) and waits on what
the fakes saw. Not part of the test suite.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import aiohttp
import orjson
from aiohttp import web

from app.setup.manifest import PERMISSIONS
from app.web import create_app
from tests.fakes.git import GitServer
from tests.fakes.github import FakeGitHub
from tests.fakes.keys import generate_app_keys
from tests.support.deckhand import WEBHOOK_SECRET, make_settings, sign

INSTALLATION = 1001


class Bench:
    # set by scenario setups that need them (benchmarks/alerts.py)
    alerts_url: str
    service: Any

    def __init__(self, root: Path, **settings: Any) -> None:
        self.root = root
        self.keys = generate_app_keys(4242)
        self.overrides = settings

    async def __aenter__(self) -> Bench:
        self.gh = await FakeGitHub(
            app_id=self.keys.app_id, public_key_pem=self.keys.public_pem
        ).__aenter__()
        self.git = await GitServer(self.gh, self.root / "server").__aenter__()
        self.gh.add_installation(INSTALLATION, account="octo-org", permissions=PERMISSIONS)
        settings = make_settings(
            self.root,
            github_api_url=self.gh.url,
            github_app_id=self.keys.app_id,
            github_private_key=self.keys.private_pem,
            log_level="warning",
            **self.overrides,
        )
        self.runner = web.AppRunner(create_app(settings), access_log=None)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        host, port = self.runner.addresses[0][:2]
        self.url = f"http://{host}:{port}/webhooks/github"
        self.session = aiohttp.ClientSession()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.session.close()
        await self.runner.cleanup()
        await self.git.close()
        await self.gh.__aexit__(None, None, None)

    async def deliver(self, event: str, payload: dict[str, Any]) -> None:
        body = orjson.dumps(payload)
        headers = {
            "X-GitHub-Event": event,
            "X-GitHub-Delivery": f"bench-{time.monotonic_ns()}",
            "X-Hub-Signature-256": sign(body, WEBHOOK_SECRET),
            "Content-Type": "application/json",
        }
        async with self.session.post(self.url, data=body, headers=headers) as response:
            assert response.status == 202, await response.text()

    async def completed_run(self, head: str, within: float = 120) -> Any:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            for run in self.gh.check_runs.values():
                if run.head_sha == head and run.status == "completed":
                    return run
            await asyncio.sleep(0.005)
        raise TimeoutError(f"no completed check run for {head[:12]}")

    async def settled(self, quiet: float = 0.5) -> None:
        """Wait until the fake GitHub has seen no request for `quiet` seconds."""
        seen = -1
        while seen != len(self.gh.requests):
            seen = len(self.gh.requests)
            await asyncio.sleep(quiet)

    async def pushed(self, repo: str, old: str, within: float = 120) -> None:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            if any(p.old == old and p.repo.lower() == repo.lower() for p in self.git.pushes):
                return
            await asyncio.sleep(0.005)
        raise TimeoutError("no push")
