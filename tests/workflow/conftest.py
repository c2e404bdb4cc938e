"""Fixtures for the workflow: an isolated git repository, a fake OpenAI in a thread."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fakes.openai_server import FakeOpenAI
from tests.workflow.gitrepo import isolate_git, make_repo


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A repository on a `feature` branch, and the working directory set to it."""
    isolate_git(monkeypatch, tmp_path)
    folder = make_repo(tmp_path / "repo")
    monkeypatch.chdir(folder)
    return folder


@pytest.fixture
def fake_openai() -> Iterator[FakeOpenAI]:
    """FakeOpenAI on its own event loop in a thread, for code that calls it synchronously."""
    loop = asyncio.new_event_loop()
    started = threading.Event()
    fakes: list[FakeOpenAI] = []

    def serve() -> None:
        asyncio.set_event_loop(loop)
        fake = FakeOpenAI()
        loop.run_until_complete(fake.__aenter__())
        fakes.append(fake)
        started.set()
        loop.run_forever()
        loop.run_until_complete(fake.__aexit__(None, None, None))
        loop.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    assert started.wait(10)
    yield fakes[0]
    loop.call_soon_threadsafe(loop.stop)
    thread.join(10)
