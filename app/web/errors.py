"""Every error answer is JSON with a reason; an unexpected exception never shows a traceback."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from app import metrics
from app.logs import get_logger

log = get_logger("deckhand.web")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def json_error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


def reject(status: int, reason: str, message: str) -> web.Response:
    """A refused delivery, alert or callback: counted by `reason`, answered with `message`."""
    metrics.DELIVERIES_REJECTED.labels(reason).inc()
    return json_error(status, message)


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400 or exc.content_type == "application/json":
            raise
        return json_error(exc.status, exc.reason)
    except Exception:
        log.exception("request_failed", method=request.method, path=request.path)
        return json_error(500, "internal error")
