"""Dispatcher: turns one stored delivery into a handler call.

Per job: decode the event, pick a GitHub client (the installation's, or the App's own for
events without one), bind a logger to the delivery, and dispatch to the composed routers.
GitHub answers that retrying cannot change (401/403/404/410/422) dead-letter the job.
"""

from __future__ import annotations

import importlib

import orjson
import structlog
from gidgethub import BadRequest, sansio
from gidgethub.routing import Router

from app.config.settings import Settings
from app.context import Context
from app.github.app import GitHubApp
from app.logs import get_logger
from app.queue.errors import PermanentError, RetryLater
from app.store.database import Database
from app.store.deliveries import Delivery

log = get_logger("deckhand.worker")

PERMANENT_STATUSES = {401, 403, 404, 410, 422}


def load_router(plugins: list[str]) -> Router:
    """The built-in handlers plus any extra routers named `module:attribute`."""
    import handlers

    extra = []
    for spec in plugins:
        module_name, _, attribute = spec.partition(":")
        router = getattr(importlib.import_module(module_name), attribute or "router")
        if not isinstance(router, Router):
            raise TypeError(f"plugin {spec!r} is not a gidgethub Router")
        extra.append(router)
    return Router(handlers.router, *extra)


class Dispatcher:
    def __init__(
        self, router: Router, github_app: GitHubApp, db: Database, settings: Settings
    ) -> None:
        self.router = router
        self.github_app = github_app
        self.db = db
        self.settings = settings

    async def __call__(self, delivery: Delivery) -> None:
        try:
            data = orjson.loads(delivery.payload)
        except orjson.JSONDecodeError as exc:
            raise PermanentError(f"stored payload is not JSON: {exc}") from exc
        event = sansio.Event(data, event=delivery.event, delivery_id=delivery.id)
        gh = (
            self.github_app.installation_client(delivery.installation_id)
            if delivery.installation_id is not None
            else self.github_app.app_client()
        )
        with structlog.contextvars.bound_contextvars(
            delivery_id=delivery.id,
            github_event=delivery.event,
            action=delivery.action,
            installation=delivery.installation_id,
            repository=delivery.repository,
            attempt=delivery.attempts,
        ):
            context = Context(
                event=event,
                delivery=delivery,
                gh=gh,
                github_app=self.github_app,
                db=self.db,
                settings=self.settings,
                log=log,
            )
            try:
                await self.router.dispatch(event, gh, context=context)
            except RetryLater:
                raise
            except BadRequest as exc:
                if int(exc.status_code) in PERMANENT_STATUSES:
                    raise PermanentError(f"GitHub answered {int(exc.status_code)}: {exc}") from exc
                raise
            log.debug("delivery_handled")
