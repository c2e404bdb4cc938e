"""LoopbackServer: the start and stop shared by the small fake servers (health target,
deploy receiver, fake OpenAI, fake Railway): a real aiohttp server on 127.0.0.1 with an
ephemeral port, used as an async context manager. A subclass builds its application in
`routes(app)` and may extend `__aexit__` to wake its slow handlers first."""

from __future__ import annotations

from typing import Self

from aiohttp import web


class LoopbackServer:
    shutdown_timeout = 0.5
    client_max_size = 1024**2  # aiohttp's default

    def __init__(self) -> None:
        self._runner: web.AppRunner | None = None
        self._port = 0

    def routes(self, app: web.Application) -> None:
        raise NotImplementedError

    async def __aenter__(self) -> Self:
        app = web.Application(client_max_size=self.client_max_size)
        self.routes(app)
        self._runner = web.AppRunner(app, shutdown_timeout=self.shutdown_timeout, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self._port = self._runner.addresses[0][1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def port(self) -> int:
        return self._port

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._port}"
