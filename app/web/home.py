"""`GET /`: what this Deckhand is and, in setup mode, how to register its GitHub App.

Without an App id the page offers the manifest flow: a plain HTML form that posts
Deckhand's App manifest (`app.setup.manifest`) to GitHub with a one-time state, which
GitHub hands back to `GET /setup` (`app.web.setup`). Without `PUBLIC_URL` it says what to
set instead. Once the App is configured it redirects to the dashboard when the App's
OAuth client is set, and is a short status page otherwise. It never calls GitHub.
"""

from __future__ import annotations

import html
import json

from aiohttp import web

from app.config.settings import Settings
from app.dashboard.pages import enabled as dashboard_enabled
from app.setup.manifest import (
    build_manifest,
    default_name,
    registration_url,
    valid_name,
    valid_org,
)
from app.setup.states import ManifestStates
from app.web.keys import SERVICE
from app.web.setup import SETUP_STATES, problem, registered_notice, render

routes = web.RouteTableDef()


@routes.get("/")
async def home(request: web.Request) -> web.Response:
    settings = request.app[SERVICE].settings
    if settings.github_app_id is None:
        return setup_page(request, settings, request.app[SETUP_STATES])
    missing = settings.missing_app_credentials()
    if not missing and dashboard_enabled(settings):
        raise web.HTTPFound("/dashboard")  # the people who use the App start there
    if missing:
        content = _setup_mode(missing) + (
            "<p>See the README, section <em>Registering the GitHub App</em>.</p>"
        )
    else:
        content = (
            f"<p>Deckhand is running as GitHub App <code>{settings.github_app_id}</code>.</p>"
            '<p><a href="/healthz">Health</a> · <a href="/metrics">Metrics</a>'
            + (' · <a href="/dashboard">Dashboard</a>' if settings.github_client_id else "")
            + "</p>"
        )
    return render(content)


def _setup_mode(missing: list[str]) -> str:
    items = "".join(f"<li><code>{html.escape(name)}</code></li>" for name in missing)
    return (
        "<p>Deckhand is running in <strong>setup mode</strong>: it cannot act on "
        f"GitHub until these settings are provided:</p><ul>{items}</ul>"
    )


def setup_page(request: web.Request, settings: Settings, states: ManifestStates) -> web.Response:
    content = _setup_mode(settings.missing_app_credentials())
    if states.registered is not None:
        return render(content + registered_notice(states.registered))
    if not settings.public_url:
        return render(
            content + "<h2>Register the GitHub App</h2><p>Deckhand can register its GitHub App for "
            "you, but first it needs to know where GitHub reaches it: set "
            "<code>PUBLIC_URL</code> to this service's public address (for example "
            "<code>https://deckhand.example.com</code>), restart, and reload this page. "
            "Or register the App by hand: see the README, section <em>Registering the "
            "GitHub App</em>.</p>"
        )
    name = request.query.get("name", "").strip() or default_name()
    org = request.query.get("org", "").strip() or None
    if not valid_name(name):
        return problem("The App name must be 1 to 34 printable characters.", status=400)
    if org is not None and not valid_org(org):
        return problem(f"{org!r} is not a GitHub organization name.", status=400)
    state = states.issue()
    manifest = build_manifest(settings.public_url, name)
    action = registration_url(settings.github_web_url, state, org)
    owner = f"the organization <code>{html.escape(org)}</code>" if org else "your account"
    storage = (
        "shown once on the page (<code>DECKHAND_SETUP_PRINT</code> is set)"
        if settings.setup_print
        else f"written to <code>{html.escape(str(settings.setup_env_file))}</code>"
    )
    content += (
        "<h2>Register the GitHub App</h2>"
        f"<p>This creates the GitHub App <strong>{html.escape(name)}</strong> owned by "
        f"{owner}, with its webhook at <code>{html.escape(manifest['hook_attributes']['url'])}"
        "</code> and the permissions Deckhand needs. GitHub then sends you back here; the "
        f"App's credentials are {storage}, and you go on to install the App.</p>"
        f'<form method="post" action="{html.escape(action)}">'
        f'<input type="hidden" name="manifest" value="{html.escape(json.dumps(manifest))}">'
        '<button type="submit">Register GitHub App</button></form>'
        '<form method="get" action="/"><p>'
        f'<label>App name <input name="name" value="{html.escape(name)}" maxlength="34">'
        "</label> "
        f'<label>Organization (optional) <input name="org" value="{html.escape(org or "")}">'
        '</label> <button type="submit">Change</button></p></form>'
    )
    return render(content)
