"""Fixtures for the AI review: a fake OpenAI-compatible server on loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.fakes.openai_server import FakeOpenAI


@pytest.fixture
async def fake_openai() -> AsyncIterator[FakeOpenAI]:
    """A running fake chat completions API at ``fake_openai.url`` (key ``fake_openai.api_key``)."""
    async with FakeOpenAI() as ai:
        yield ai
