"""Shared fixtures: the Deckhand server under test (and, below, the fake GitHub)."""

from __future__ import annotations

import gzip
import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from app.logs import configure_logging
from app.web import create_app
from app.web.keys import SERVICE
from tests.support.deckhand import DeckhandHarness, make_settings

FIXTURES = Path(__file__).parent / "fixtures"

configure_logging("info", "json")


@pytest.fixture(scope="session")
def webhook_examples() -> list[dict[str, Any]]:
    """Real GitHub payloads: [{name, examples: [payload, ...]}] (octokit/webhooks, MIT)."""
    with gzip.open(FIXTURES / "webhook-examples.json.gz") as handle:
        return json.load(handle)


@pytest.fixture
async def start_deckhand(
    aiohttp_server: Any, tmp_path: Path
) -> AsyncIterator[Callable[..., Any]]:
    """Start Deckhand (web + embedded workers) on loopback with settings overrides."""
    sessions: list[aiohttp.ClientSession] = []

    async def start(**overrides: Any) -> DeckhandHarness:
        settings = make_settings(tmp_path, **overrides)
        app = create_app(settings)
        server = await aiohttp_server(app)
        session = aiohttp.ClientSession()
        sessions.append(session)
        harness = DeckhandHarness(str(server.make_url("/")), session, app[SERVICE].deliveries)
        harness.app = app  # type: ignore[attr-defined]
        return harness

    yield start
    for session in sessions:
        await session.close()


@pytest.fixture
async def deckhand(start_deckhand: Callable[..., Any]) -> DeckhandHarness:
    return await start_deckhand()
