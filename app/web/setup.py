"""`GET /setup`: the GitHub App manifest flow's callback, which stores the new App's credentials.

GitHub sends the browser back here with a one-time `code` and the `state` the setup page
issued. The state is checked (400 on mismatch), the code is exchanged for the App's id,
private key, webhook secret and OAuth client, and they are written to the env file
(`DECKHAND_ENV_FILE`, mode 0600, other lines kept) or, with `DECKHAND_SETUP_PRINT=1`,
shown once on the page; then the browser goes on to the App's installation page. The
running process does not reload them: the service must be restarted.

This is the one request handler that calls GitHub (DESIGN.md: "Nothing in a request
handler calls GitHub"): like an OAuth sign-in, the code exchange has to happen while the
browser waits, and there is no installation or job to queue it under. It never logs the
credentials and never writes a partial file.
"""

from __future__ import annotations

import html

from aiohttp import web

from app.logs import get_logger
from app.setup.envfile import EnvFileError, check_writable, write_env
from app.setup.exchange import AppCredentials, ExchangeError, convert_code
from app.setup.states import ManifestStates, RegisteredApp
from app.web.keys import SERVICE

log = get_logger("deckhand.setup")

SETUP_STATES = web.AppKey("setup_states", ManifestStates)

routes = web.RouteTableDef()

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>body{{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem}}
code,pre{{background:#f3f3f3;padding:0 .2em}} pre{{padding:.5em;overflow-x:auto}}
.warning{{border-left:4px solid #d33;padding-left:.8em}}</style></head>
<body><h1>{title}</h1>{content}</body></html>"""

RESTART = (
    "<p>This running Deckhand cannot load new credentials: <strong>restart the service"
    "</strong> (or redeploy it) so it starts with them.</p>"
)


def render(content: str, *, status: int = 200, title: str = "Deckhand") -> web.Response:
    """A small server-rendered page; never cached (it may carry a state or credentials)."""
    return web.Response(
        text=PAGE.format(title=html.escape(title), content=content),
        status=status,
        content_type="text/html",
        headers={"Cache-Control": "no-store"},
    )


def problem(message: str, *, status: int) -> web.Response:
    content = (
        f'<p class="warning">{html.escape(message)}</p>'
        '<p><a href="/">Start the registration again</a></p>'
    )
    return render(content, status=status, title="Deckhand setup")


def registered_notice(registered: RegisteredApp) -> str:
    """What `/` says after this process registered an App (until the restart)."""
    where = (
        f"written to <code>{html.escape(registered.stored_in)}</code>"
        if registered.stored_in
        else "shown once on the setup page"
    )
    return (
        f"<p>GitHub App <code>{html.escape(registered.slug)}</code> (id "
        f"<code>{registered.app_id}</code>) is registered; its credentials were {where}.</p>"
        + RESTART
        + f'<p><a href="{html.escape(registered.html_url)}/installations/new">'
        "Install the App on your repositories</a></p>"
    )


@routes.get("/setup")
async def setup_callback(request: web.Request) -> web.Response:
    settings = request.app[SERVICE].settings
    states = request.app[SETUP_STATES]
    if settings.github_app_id is not None:
        return problem(
            f"Deckhand already runs as GitHub App {settings.github_app_id}; "
            "unset GITHUB_APP_ID to register another.",
            status=409,
        )
    code = request.query.get("code", "")
    state = request.query.get("state", "")
    if not code:
        return problem("GitHub did not send a code.", status=400)
    if not state or not states.is_pending(state):
        log.warning("setup_state_mismatch")
        return problem(
            "This registration was not started here, was already completed, or is older "
            "than an hour (the state does not match).",
            status=400,
        )
    env_file = settings.setup_env_file
    if not settings.setup_print:
        try:
            check_writable(env_file)
        except EnvFileError as exc:
            return problem(
                f"Deckhand cannot store the credentials: {exc}. Fix it (or set "
                "DECKHAND_ENV_FILE, or DECKHAND_SETUP_PRINT=1) and reload this page.",
                status=500,
            )
    states.consume(state)
    try:
        credentials = await convert_code(
            settings.github_api_url, code, time_limit=settings.github_timeout
        )
    except ExchangeError as exc:
        log.warning("setup_exchange_failed", reason=exc.message, rejected=exc.rejected)
        return problem(
            f"The App's credentials could not be fetched: {exc.message} Nothing was written.",
            status=400 if exc.rejected else 502,
        )
    if settings.setup_print:
        states.registered = _registered(credentials, None)
        log.info("setup_app_registered", app_id=credentials.app_id, slug=credentials.slug)
        return credentials_page(credentials)
    try:
        write_env(env_file, credentials.env_values())
    except EnvFileError as exc:  # checked above, but the disk may still fail
        log.error("setup_write_failed", app_id=credentials.app_id, reason=str(exc))
        states.registered = _registered(credentials, None)
        return credentials_page(credentials, error=str(exc))
    states.registered = _registered(credentials, str(env_file))
    log.info(
        "setup_app_registered",
        app_id=credentials.app_id,
        slug=credentials.slug,
        env_file=str(env_file),
    )
    raise web.HTTPFound(f"{credentials.html_url}/installations/new")


def _registered(credentials: AppCredentials, stored_in: str | None) -> RegisteredApp:
    return RegisteredApp(credentials.app_id, credentials.slug, credentials.html_url, stored_in)


def credentials_page(credentials: AppCredentials, *, error: str | None = None) -> web.Response:
    """The credentials, once, for platforms whose filesystem does not survive a deploy."""
    lines = "\n".join(f"{key}={value}" for key, value in credentials.env_values().items())
    why = (
        f"Writing the env file failed ({html.escape(error)}), so here they are instead."
        if error
        else "DECKHAND_SETUP_PRINT is set, so nothing was written to disk."
    )
    content = (
        f"<p>GitHub App <code>{html.escape(credentials.slug)}</code> (id "
        f"<code>{credentials.app_id}</code>) is registered.</p>"
        '<p class="warning"><strong>Copy these values now: they are shown only once.</strong> '
        f"{why} Set them as the service's environment variables (on Railway: the "
        "service's Variables tab), keep them secret, then restart or redeploy.</p>"
        f"<pre>{html.escape(lines)}</pre>"
        + RESTART
        + f'<p><a href="{html.escape(credentials.html_url)}/installations/new">'
        "Then install the App on your repositories</a></p>"
    )
    return render(content, status=500 if error else 200, title="Deckhand setup")
