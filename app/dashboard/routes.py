"""The dashboard's sign-in, sign-out and front page.

`GET /login` sends the browser to GitHub with a one-time state (in a signed cookie);
`GET /login/callback` checks that state (400 otherwise), exchanges GitHub's code for the
person's token and opens a session in the database; `POST /logout` needs the session's
CSRF token and deletes the session. `GET /dashboard` lists the repositories the person
can reach on this App's installations. Like the App registration callback, sign-in must
call GitHub while the browser waits; nothing else here does besides the (cached)
repository list. The person's token is never logged.
"""

from __future__ import annotations

from aiohttp import web

from app.alerts.store import open_issue_counts
from app.config.settings import Settings
from app.dashboard.access import ACCESS, Visible
from app.dashboard.deliveries import dead_counts
from app.dashboard.github import GitHubUserError, authorize_url, exchange_code, user_identity
from app.dashboard.pages import (
    current_session,
    message,
    needs_client,
    page,
    sessions_of,
    settings_of,
    signed_in_page,
    to_login,
)
from app.dashboard.sessions import (
    STATE_COOKIE,
    Session,
    clear,
    new_state,
    set_session,
    set_state,
    state_matches,
)
from app.deploy.store import latest_by_environment
from app.logs import get_logger
from app.web.keys import SERVICE

log = get_logger("deckhand.dashboard")

routes = web.RouteTableDef()


def _redirect_uri(request: web.Request, settings: Settings) -> str:
    base = settings.public_url or str(request.url.origin())
    return f"{base.rstrip('/')}/login/callback"


@routes.get("/login")
@needs_client
async def login(request: web.Request) -> web.StreamResponse:
    settings = settings_of(request)
    state = new_state()
    redirect = web.HTTPFound(authorize_url(settings, state, _redirect_uri(request, settings)))
    set_state(redirect, settings, state)
    raise redirect


@routes.get("/login/callback")
@needs_client
async def login_callback(request: web.Request) -> web.StreamResponse:
    settings = settings_of(request)
    code = request.query.get("code", "")
    if not state_matches(request, settings, request.query.get("state", "")):
        log.warning("dashboard_state_mismatch")
        return message(
            request,
            "Sign-in refused",
            "This sign-in was not started here or is too old. Sign in again.",
            status=400,
        )
    if not code:
        return message(request, "Sign-in refused", "GitHub did not send a code.", status=400)
    try:
        token = await exchange_code(settings, code, _redirect_uri(request, settings))
        login_name, user_id = await user_identity(settings, token)
    except GitHubUserError as exc:
        log.warning("dashboard_sign_in_failed", reason=str(exc))
        return message(request, "Sign-in failed", str(exc), status=502)
    session = await sessions_of(request).open(login_name, user_id, token)
    redirect = web.HTTPFound("/dashboard")
    set_session(redirect, settings, session.id)
    clear(redirect, STATE_COOKIE)
    log.info("dashboard_signed_in", login=login_name)
    raise redirect


@routes.post("/logout")
@needs_client
async def logout(request: web.Request) -> web.StreamResponse:
    session = await current_session(request)
    form = await request.post()
    if session is None or not session.csrf_matches(form.get("csrf")):
        return message(request, "Refused", "The sign-out form is stale: reload.", status=403)
    request.app[ACCESS].forget(session.id)
    await sessions_of(request).close(session.id)
    log.info("dashboard_signed_out", login=session.login)
    raise to_login()


@routes.get("/dashboard")
@signed_in_page
async def dashboard(request: web.Request, session: Session, visible: Visible) -> web.Response:
    """The repositories, each with its newest deployment per environment, its open alert
    issues and its dead letters at a glance."""
    db = request.app[SERVICE].db
    names = visible.names
    context = {
        "session": session,
        "repos": visible.repos,
        "latest": await latest_by_environment(db, names),
        "alerts": await open_issue_counts(db, names),
        "dead": await dead_counts(db, names),
    }
    return page(request, "dashboard.html", context)
