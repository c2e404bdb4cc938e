"""The event handlers, one module per feature, each with its own gidgethub Router.

This is the one place they are composed.
"""

from gidgethub.routing import Router

from handlers import alerts, api, commands, deploy, installation, meta, review

router = Router(
    meta.router,
    installation.router,
    review.router,
    commands.router,
    deploy.router,
    alerts.router,
    api.router,
)

__all__ = ["router"]
