"""The event handlers, one module per feature, each with its own gidgethub Router.

This is the one place they are composed.
"""

from gidgethub.routing import Router

from handlers import installation, meta

router = Router(meta.router, installation.router)

__all__ = ["router"]
