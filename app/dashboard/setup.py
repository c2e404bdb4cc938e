"""`setup_dashboard`: the dashboard's routes, templates and caches, added to the web app.

Called once by `app.web.create_app`; it calls nothing else.
"""

from __future__ import annotations

from pathlib import Path

import aiohttp_jinja2
import jinja2
from aiohttp import web

from app.dashboard import queue, repository, routes
from app.dashboard.access import ACCESS, RepoAccess
from app.deploy.health import format_seconds

TEMPLATES = Path(__file__).parent / "templates"


def setup_dashboard(app: web.Application) -> None:
    """Add the dashboard's routes, templates and per-process caches to ``app``."""
    env = aiohttp_jinja2.setup(
        app,
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=jinja2.select_autoescape(default=True),
    )
    env.filters["seconds"] = format_seconds
    app[ACCESS] = RepoAccess()
    app.add_routes(routes.routes)
    app.add_routes(queue.routes)
    app.add_routes(repository.routes)
