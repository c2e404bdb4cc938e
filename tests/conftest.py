"""Shared fixtures: the Deckhand server under test, the fake GitHub and the test App's keys."""

from __future__ import annotations

import gzip
import json
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from app.logs import configure_logging
from app.web import create_app
from app.web.keys import SERVICE
from tests.fakes.git import GitServer
from tests.fakes.github import FakeGitHub
from tests.fakes.keys import AppKeys, generate_app_keys
from tests.support import postgres
from tests.support.deckhand import DeckhandHarness, make_settings

FIXTURES = Path(__file__).parent / "fixtures"


configure_logging("info", "json")


@pytest.fixture(autouse=True)
def _drop_test_databases() -> Iterator[None]:
    """With DECKHAND_TEST_DATABASE=postgres: drop the databases a test created once it ends."""
    yield
    postgres.drop_created()


@pytest.fixture(scope="session")
def webhook_examples() -> list[dict[str, Any]]:
    """Real GitHub payloads: [{name, examples: [payload, ...]}] (octokit/webhooks, MIT)."""
    with gzip.open(FIXTURES / "webhook-examples.json.gz") as handle:
        return json.load(handle)


@pytest.fixture
async def start_deckhand(aiohttp_server: Any, tmp_path: Path) -> AsyncIterator[Callable[..., Any]]:
    """Start Deckhand (web + embedded workers) on loopback with settings overrides."""
    sessions: list[aiohttp.ClientSession] = []

    async def start(worker: bool = True, **overrides: Any) -> DeckhandHarness:
        settings = make_settings(tmp_path, **overrides)
        app = create_app(settings, worker=worker)
        server = await aiohttp_server(app)
        session = aiohttp.ClientSession()
        sessions.append(session)
        harness = DeckhandHarness(str(server.make_url("/")), session, app[SERVICE].deliveries)
        harness.app = app  # type: ignore[attr-defined]
        harness.server = server  # type: ignore[attr-defined]
        return harness

    yield start
    for session in sessions:
        await session.close()


@pytest.fixture
async def deckhand(start_deckhand: Callable[..., Any]) -> DeckhandHarness:
    return await start_deckhand()


@pytest.fixture(scope="session")
def app_keys() -> AppKeys:
    """The test GitHub App: ``app_id`` 4242 and its RSA keys, generated once per session."""
    return generate_app_keys(4242)


@pytest.fixture
async def fake_github(app_keys: AppKeys) -> AsyncIterator[FakeGitHub]:
    """A running fake api.github.com for the ``app_keys`` App, at ``fake_github.url``.

    At teardown the test fails if the bot sent any request GitHub's OpenAPI description
    does not allow (``fake_github.violations``), or if the fake answered with JSON that
    does not match GitHub's schemas (``fake_github.response_errors``). Tests that
    provoke violations on purpose should call ``fake_github.take_violations()``.
    """
    async with FakeGitHub(app_id=app_keys.app_id, public_key_pem=app_keys.public_pem) as gh:
        yield gh
    problems = gh.problems()
    if problems:
        pytest.fail(
            "fake GitHub saw problems:\n" + "\n".join(f"  - {p}" for p in problems),
            pytrace=False,
        )


@pytest.fixture
async def git_server(fake_github: FakeGitHub, tmp_path: Path) -> AsyncIterator[GitServer]:
    """A real smart-HTTP git server (``git http-backend``) linked to ``fake_github``.

    ``git_server.create_repo("octo-org/widgets", {...}, installation_id=1001)`` makes a
    bare repository and registers it in the fake GitHub (``clone_url`` on this server,
    contents served from git). Clone with user ``x-access-token`` and a token the fake
    GitHub issued; see tests/fakes/README.md.
    """
    async with GitServer(fake_github, tmp_path / "git-server") as server:
        yield server
