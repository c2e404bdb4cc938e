"""`setup_dashboard`: the dashboard's routes, templates and caches, added to the web app.

Called once by `app.web.create_app`; it calls nothing else.
"""

from __future__ import annotations

from pathlib import Path

import aiohttp_jinja2
import jinja2
from aiohttp import web

from app.dashboard import routes
from app.dashboard.access import ACCESS, RepoAccess

TEMPLATES = Path(__file__).parent / "templates"


def setup_dashboard(app: web.Application) -> None:
    """Add the dashboard's routes, templates and per-process caches to ``app``."""
    aiohttp_jinja2.setup(
        app,
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=jinja2.select_autoescape(default=True),
    )
    app[ACCESS] = RepoAccess()
    app.add_routes(routes.routes)
