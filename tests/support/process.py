"""Run `python -m app` as a real subprocess on a free loopback port, for crash tests."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class DeckhandProcess:
    def __init__(self, env: dict[str, str], log_path: Path, *args: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "HOST": "127.0.0.1",
            "PORT": str(self.port),
            **env,
        }
        self.args = args
        self.log_path = log_path
        self.process: asyncio.subprocess.Process | None = None

    async def _spawn(self) -> asyncio.subprocess.Process:
        with self.log_path.open("ab") as log:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "app", *self.args, env=self.env, stdout=log, stderr=log
            )
        return self.process

    async def start_without_http(self, within: float = 30.0) -> None:
        """Start a process that serves no HTTP (a worker); ready when it logs so."""
        process = await self._spawn()
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            if process.returncode is not None:
                raise RuntimeError(f"deckhand exited: {self.log_path.read_text()[-2000:]}")
            if "service_started" in self.log_path.read_text():
                return
            await asyncio.sleep(0.1)
        raise RuntimeError("deckhand did not start")

    async def start(self, within: float = 30.0) -> None:
        """Start `python -m app` and wait until /healthz answers 200."""
        await self._spawn()
        assert self.process is not None
        deadline = time.monotonic() + within
        async with aiohttp.ClientSession() as session:
            while time.monotonic() < deadline:
                if self.process.returncode is not None:
                    raise RuntimeError(f"deckhand exited: {self.log_path.read_text()[-2000:]}")
                try:
                    async with session.get(f"{self.url}/healthz") as response:
                        if response.status == 200:
                            return
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.1)
        raise RuntimeError("deckhand did not become healthy")

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.returncode is None

    def kill(self) -> None:
        """SIGKILL: no cleanup, no flush, as in a crash or an OOM kill."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)

    async def stop(self, within: float = 20.0) -> int:
        assert self.process is not None
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
        return await asyncio.wait_for(self.process.wait(), within)

    async def wait(self) -> Any:
        assert self.process is not None
        return await self.process.wait()
