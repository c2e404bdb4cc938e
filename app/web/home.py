"""`GET /`: what this Deckhand is and, in setup mode, exactly what is still missing."""

from __future__ import annotations

import html

from aiohttp import web

from app.web.keys import SERVICE

routes = web.RouteTableDef()

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Deckhand</title>
<style>body{{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem}}
code{{background:#f3f3f3;padding:0 .2em}}</style></head>
<body><h1>Deckhand</h1>{content}</body></html>"""


@routes.get("/")
async def home(request: web.Request) -> web.Response:
    settings = request.app[SERVICE].settings
    missing = settings.missing_app_credentials()
    if missing:
        items = "".join(f"<li><code>{html.escape(name)}</code></li>" for name in missing)
        content = (
            "<p>Deckhand is running in <strong>setup mode</strong>: it cannot act on "
            "GitHub until these settings are provided:</p>"
            f"<ul>{items}</ul><p>See the README, section <em>Registering the GitHub App</em>.</p>"
        )
    else:
        content = (
            f"<p>Deckhand is running as GitHub App <code>{settings.github_app_id}</code>.</p>"
            '<p><a href="/healthz">Health</a> · <a href="/metrics">Metrics</a></p>'
        )
    return web.Response(text=PAGE.format(content=content), content_type="text/html")
