"""Slack-compatible notifications: sent when configured, never raising."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from app.deploy.notify import notify
from app.logs import get_logger
from tests.support.deckhand import make_settings

LOG = get_logger("test")


async def test_notify_posts_the_text_and_survives_failures(
    aiohttp_server: Any, tmp_path: Any
) -> None:
    received: list[dict[str, Any]] = []
    status = {"code": 200}

    async def hook(request: web.Request) -> web.Response:
        received.append(await request.json())
        return web.Response(status=status["code"], text="ok")

    app = web.Application()
    app.router.add_post("/hook", hook)
    server = await aiohttp_server(app)
    settings = make_settings(tmp_path, slack_webhook_url=str(server.make_url("/hook")))
    assert await notify(settings, "rolled back production", LOG) is True
    assert received == [{"text": "rolled back production"}]
    status["code"] = 500
    assert await notify(settings, "again", LOG) is False
    unreachable = make_settings(tmp_path, slack_webhook_url="http://127.0.0.1:9/hook")
    assert await notify(unreachable, "nobody home", LOG) is False
    assert await notify(make_settings(tmp_path), "off", LOG) is False
