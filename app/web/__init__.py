"""The HTTP surface: webhook intake, health, metrics and the front page.

Nothing here calls GitHub: requests are verified, persisted and answered; the work
happens in the queue's workers. The one exception is the App registration callback
(`setup.py`), which must exchange GitHub's code while the browser waits, and the
dashboard's sign-in (`app.dashboard`), for the same reason.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from app.config.settings import MAX_WEBHOOK_BYTES, Settings
from app.dashboard.setup import setup_dashboard
from app.service import Service
from app.setup.states import ManifestStates
from app.web import alerts, api, deploy_callbacks, health, home, setup, webhooks
from app.web.errors import error_middleware
from app.web.keys import SERVICE


def create_app(settings: Settings, *, worker: bool = True) -> web.Application:
    app = web.Application(
        client_max_size=MAX_WEBHOOK_BYTES + 1024 * 1024, middlewares=[error_middleware]
    )
    service = Service(settings, web=True, worker=worker)
    app[SERVICE] = service
    app[setup.SETUP_STATES] = ManifestStates()

    async def lifecycle(_app: web.Application) -> AsyncIterator[None]:
        await service.start()
        yield
        await service.stop()

    app.cleanup_ctx.append(lifecycle)
    app.add_routes(webhooks.routes)
    app.add_routes(deploy_callbacks.routes)
    app.add_routes(alerts.routes)
    app.add_routes(api.routes)
    app.add_routes(health.routes)
    app.add_routes(home.routes)
    app.add_routes(setup.routes)
    setup_dashboard(app)
    return app
