"""What every dashboard handler shares: rendering, the "dashboard off" guard and sign-in.

`signed_in_page` wraps a handler that needs a signed-in person: it reads the session
cookie, loads the session from the database (`SessionStore`) and the repositories the
person may see (`RepoAccess`), and sends everyone else to `/login`. Pages are rendered
with `no-store`, so a shared computer's back button shows nothing after sign-out.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp_jinja2
from aiohttp import web

from app.config.settings import Settings
from app.dashboard.access import ACCESS, Visible
from app.dashboard.github import GitHubUserError, TokenRefused
from app.dashboard.session_store import SessionStore
from app.dashboard.sessions import SESSION_COOKIE, Session, clear, session_id
from app.web.keys import SERVICE

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
PageHandler = Callable[[web.Request, Session, Visible], Awaitable[web.StreamResponse]]


def page(
    request: web.Request, template: str, context: dict[str, Any], *, status: int = 200
) -> web.Response:
    response = aiohttp_jinja2.render_template(template, request, context, status=status)
    response.headers["Cache-Control"] = "no-store"
    return response


def message(
    request: web.Request,
    title: str,
    text: str,
    *,
    status: int,
    session: Session | None = None,
) -> web.Response:
    context = {"title": title, "message": text, "session": session}
    return page(request, "message.html", context, status=status)


def not_found(request: web.Request, session: Session) -> web.Response:
    """The one 404 page for a repository or deployment that is unknown or not visible."""
    return page(request, "not_found.html", {"session": session}, status=404)


def settings_of(request: web.Request) -> Settings:
    return request.app[SERVICE].settings


def sessions_of(request: web.Request) -> SessionStore:
    return SessionStore(request.app[SERVICE].db, settings_of(request))


def enabled(settings: Settings) -> bool:
    return bool(settings.github_client_id and settings.github_client_secret)


def needs_client(handler: Handler) -> Handler:
    """Answer the "dashboard off" page while the App's OAuth client is not configured."""

    @functools.wraps(handler)
    async def guarded(request: web.Request) -> web.StreamResponse:
        if not enabled(settings_of(request)):
            return message(
                request,
                "Dashboard off",
                "Set GITHUB_CLIENT_ID and GITHUB_CLIENT_SECRET (the App's OAuth client) "
                "to sign in.",
                status=503,
            )
        return await handler(request)

    return guarded


async def current_session(request: web.Request) -> Session | None:
    sid = session_id(request, settings_of(request))
    return None if sid is None else await sessions_of(request).get(sid)


def to_login() -> web.HTTPFound:
    redirect = web.HTTPFound("/login")
    clear(redirect, SESSION_COOKIE)
    return redirect


def signed_in_page(handler: PageHandler) -> Handler:
    """A page for signed-in people: the others go to /login."""

    @needs_client
    @functools.wraps(handler)
    async def wrapped(request: web.Request) -> web.StreamResponse:
        session = await current_session(request)
        if session is None:
            raise to_login()
        access = request.app[ACCESS]
        try:
            visible = await access.visible(settings_of(request), session)
        except TokenRefused:
            access.forget(session.id)
            await sessions_of(request).close(session.id)
            raise to_login() from None
        except GitHubUserError as exc:
            return message(request, "GitHub unavailable", str(exc), status=502, session=session)
        return await handler(request, session, visible)

    return wrapped
