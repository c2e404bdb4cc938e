"""The dashboard's HTTP handlers: sign-in, sign-out and the repository pages.

`GET /login` sends the browser to GitHub with a one-time state (in a signed cookie);
`GET /login/callback` checks that state (400 otherwise), exchanges GitHub's code for the
person's token and opens a session; `POST /logout` needs the session's CSRF token.
`GET /dashboard` lists the repositories the person can reach on this App's
installations; `GET /dashboard/{owner}/{repo}` shows that repository's deployments, and
answers the same 404 page for a repository that does not exist as for one the person
may not see. Like the App registration callback, sign-in must call GitHub while the
browser waits; nothing else here does besides the (cached) repository list.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp_jinja2
from aiohttp import web

from app.config.settings import Settings
from app.dashboard import history
from app.dashboard.access import ACCESS
from app.dashboard.github import (
    GitHubUserError,
    TokenRefused,
    authorize_url,
    exchange_code,
    user_login,
)
from app.dashboard.sessions import (
    SESSION_COOKIE,
    STATE_COOKIE,
    Session,
    clear,
    new_session,
    new_state,
    read_session,
    set_session,
    set_state,
    state_matches,
)
from app.deploy.store import DeployStore
from app.logs import get_logger
from app.web.keys import SERVICE

log = get_logger("deckhand.dashboard")

routes = web.RouteTableDef()

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
PageHandler = Callable[[web.Request, Session, list[str]], Awaitable[web.StreamResponse]]


def _page(
    request: web.Request, template: str, context: dict[str, Any], *, status: int = 200
) -> web.Response:
    response = aiohttp_jinja2.render_template(template, request, context, status=status)
    response.headers["Cache-Control"] = "no-store"
    return response


def _message(request: web.Request, title: str, message: str, *, status: int) -> web.Response:
    return _page(request, "message.html", {"title": title, "message": message}, status=status)


def _settings(request: web.Request) -> Settings:
    return request.app[SERVICE].settings


def _enabled(settings: Settings) -> bool:
    return bool(settings.github_client_id and settings.github_client_secret)


def _off(request: web.Request) -> web.Response:
    return _message(
        request,
        "Dashboard off",
        "Set GITHUB_CLIENT_ID and GITHUB_CLIENT_SECRET (the App's OAuth client) to sign in.",
        status=503,
    )


def _redirect_uri(request: web.Request, settings: Settings) -> str:
    base = settings.public_url or str(request.url.origin())
    return f"{base.rstrip('/')}/login/callback"


async def _signed_in(request: web.Request) -> tuple[Session, list[str]] | None:
    """The session and its repositories, or None when the visitor must sign in (again)."""
    settings = _settings(request)
    session = read_session(request, settings)
    if session is None:
        return None
    access = request.app[ACCESS]
    try:
        repos = await access.repositories(settings, session.id)
    except TokenRefused:
        access.forget(session.id)
        return None
    if repos is None:
        return None
    return session, repos


def _to_login() -> web.HTTPFound:
    redirect = web.HTTPFound("/login")
    clear(redirect, SESSION_COOKIE)
    return redirect


def _needs_client(handler: Handler) -> Handler:
    """Answer the "dashboard off" page while the App's OAuth client is not configured."""

    @functools.wraps(handler)
    async def guarded(request: web.Request) -> web.StreamResponse:
        if not _enabled(_settings(request)):
            return _off(request)
        return await handler(request)

    return guarded


def _signed_in_page(handler: PageHandler) -> Handler:
    """A page for signed-in people: the others go to /login."""

    @_needs_client
    @functools.wraps(handler)
    async def page(request: web.Request) -> web.StreamResponse:
        try:
            signed_in = await _signed_in(request)
        except GitHubUserError as exc:
            return _message(request, "GitHub unavailable", str(exc), status=502)
        if signed_in is None:
            raise _to_login()
        return await handler(request, *signed_in)

    return page


@routes.get("/login")
@_needs_client
async def login(request: web.Request) -> web.StreamResponse:
    settings = _settings(request)
    state = new_state()
    redirect = web.HTTPFound(authorize_url(settings, state, _redirect_uri(request, settings)))
    set_state(redirect, settings, state)
    raise redirect


@routes.get("/login/callback")
@_needs_client
async def login_callback(request: web.Request) -> web.StreamResponse:
    settings = _settings(request)
    code = request.query.get("code", "")
    if not state_matches(request, settings, request.query.get("state", "")):
        log.warning("dashboard_state_mismatch")
        return _message(
            request,
            "Sign-in refused",
            "This sign-in was not started here or is too old. Sign in again.",
            status=400,
        )
    if not code:
        return _message(request, "Sign-in refused", "GitHub did not send a code.", status=400)
    try:
        token = await exchange_code(settings, code, _redirect_uri(request, settings))
        login_name = await user_login(settings, token)
    except GitHubUserError as exc:
        log.warning("dashboard_sign_in_failed", reason=str(exc))
        return _message(request, "Sign-in failed", str(exc), status=502)
    session = new_session(login_name)
    request.app[ACCESS].tokens.put(session.id, token)
    redirect = web.HTTPFound("/dashboard")
    set_session(redirect, settings, session)
    clear(redirect, STATE_COOKIE)
    log.info("dashboard_signed_in", login=login_name)
    raise redirect


@routes.post("/logout")
@_needs_client
async def logout(request: web.Request) -> web.StreamResponse:
    settings = _settings(request)
    session = read_session(request, settings)
    form = await request.post()
    if session is None or form.get("csrf") != session.csrf:
        return _message(request, "Refused", "The sign-out form is stale: reload.", status=403)
    request.app[ACCESS].forget(session.id)
    raise _to_login()


@routes.get("/dashboard")
@_signed_in_page
async def dashboard(request: web.Request, session: Session, repos: list[str]) -> web.Response:
    return _page(request, "dashboard.html", {"session": session, "repos": repos})


@routes.get("/dashboard/{owner}/{repo}")
@_signed_in_page
async def repository(request: web.Request, session: Session, repos: list[str]) -> web.Response:
    wanted = f"{request.match_info['owner']}/{request.match_info['repo']}".lower()
    name = next((r for r in repos if r.lower() == wanted), None)
    if name is None:
        return _page(request, "not_found.html", {"session": session}, status=404)
    store = DeployStore(request.app[SERVICE].db)
    views = await history.environments(store, name)
    return _page(
        request,
        "repository.html",
        {"session": session, "repo": name, "environments": views, "when": history.when},
    )
