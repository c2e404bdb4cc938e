"""A Deckhand with the dashboard on, against the fake GitHub, and a browser-like client."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from app.deploy.store import DeploymentRecord
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
        sha=f"{number:040x}",
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
