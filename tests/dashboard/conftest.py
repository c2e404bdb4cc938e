"""A Deckhand with the dashboard on, against the fake GitHub, and a browser-like client."""

from __future__ import annotations

import hashlib
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import orjson
import pytest
from sqlalchemy import insert

from app.deploy.store import DeploymentRecord
from app.store.deliveries import DEAD
from app.store.schema import deliveries, delivery_payloads
from tests.fakes.github import FakeGitHub

WIDGETS = "octo-org/widgets"  # alice may see it
SECRET = "octo-org/secret"  # same installation, alice may not
ELSEWHERE = "other-org/tools"  # another installation, alice may not


@pytest.fixture
async def dashboard(start_deckhand: Any, fake_github: FakeGitHub, app_keys: Any) -> Any:
    gh = fake_github
    gh.add_installation(1001, account="octo-org", repositories=[WIDGETS, SECRET])
    gh.add_installation(1002, account="other-org", repositories=[ELSEWHERE])
    gh.set_collaborator(WIDGETS, "alice", "write")
    gh.set_collaborator(ELSEWHERE, "bob", "write")
    gh.oauth_login = "alice"
    return await start_deckhand(
        github_api_url=gh.url,
        github_web_url=gh.url,
        github_app_id=app_keys.app_id,
        github_private_key=app_keys.private_pem,
        github_client_id=gh.app.client_id,
        github_client_secret=gh.oauth_client_secret,
    )


@pytest.fixture
async def browser() -> AsyncIterator[aiohttp.ClientSession]:
    """Keeps cookies (also for 127.0.0.1) and never follows redirects by itself."""
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
        yield session


async def sign_in(browser: aiohttp.ClientSession, base: str) -> None:
    """Follow the whole OAuth dance by hand: Deckhand -> GitHub -> Deckhand."""
    async with browser.get(f"{base}/login", allow_redirects=False) as response:
        assert response.status == 302
        to_github = response.headers["Location"]
    async with browser.get(to_github, allow_redirects=False) as response:
        assert response.status == 302
        back = response.headers["Location"]
    async with browser.get(back, allow_redirects=False) as response:
        assert response.status == 302, await response.text()
        assert response.headers["Location"] == "/dashboard"


def deployment(
    number: int, status: str, environment: str = "production", *, created_at: float = 0.0
) -> DeploymentRecord:
    """A deployment of WIDGETS by alice, as the deploy code records it."""
    return DeploymentRecord(
        id=number,
        repository=WIDGETS,
        environment=environment,
        sha=hashlib.sha1(str(number).encode()).hexdigest(),  # a short form of its own
        ref="main",
        actor="alice",
        components=(),
        rollback_of=None,
        forced=False,
        status=status,
        pull_number=None,
        reason=None,
        created_at=created_at or float(number),
    )


def csrf_of(page: str) -> str:
    """The CSRF token of a dashboard page's forms."""
    return page.split('name="csrf" value="', 1)[1].split('"', 1)[0]


async def get(browser: aiohttp.ClientSession, url: str) -> tuple[int, str, str | None]:
    """(status, body, Location) of a GET that does not follow redirects."""
    async with browser.get(url, allow_redirects=False) as response:
        return response.status, await response.text(), response.headers.get("Location")


async def add_dead_letter(db: Any, delivery_id: str, repository: str | None) -> None:
    """A dead delivery of ``repository`` (a `ping`, which the worker finishes when retried),
    written straight to the tables so no worker takes it first."""
    now = time.time()
    row = {
        "id": delivery_id,
        "source": "github",
        "event": "ping",
        "action": None,
        "installation_id": None,
        "repository": repository,
        "status": DEAD,
        "attempts": 5,
        "run_after": now - 60,
        "last_error": "RuntimeError: <the handler broke>",
        "received_at": now - 60,
        "finished_at": now - 30,
    }
    payload = {"zen": "Keep it logically awesome.", "hook_id": 1}
    if repository:
        payload["repository"] = {"full_name": repository}

    def work(conn: Any) -> None:
        conn.execute(insert(deliveries), [row])
        conn.execute(
            insert(delivery_payloads), [{"id": delivery_id, "payload": orjson.dumps(payload)}]
        )

    await db.transaction(work)
