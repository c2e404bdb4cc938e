"""github.com's OAuth web flow for the App's user sign-in, outside the validated REST API.

`GET /login/oauth/authorize` plays the person clicking "Authorize": when
``gh.oauth_login`` is set it answers a redirect to ``redirect_uri`` with a one-time code
and the caller's ``state``; otherwise 404 (nobody signed in to "github.com"). With
``gh.oauth_prompt`` set it first shows github.com's consent page instead (for browser
tests): a small HTML form whose "Authorize ..." button posts back to the same URL, which
then answers that redirect.
`POST /login/oauth/access_token` exchanges the code (once; the App's ``client_id`` and
``gh.oauth_client_secret``; the same ``redirect_uri`` when given) for a user token that
`GET /user` and `/user/installations` accept. Like GitHub, a bad code answers 200 with an
``error`` field, not an HTTP error.
"""

from __future__ import annotations

import secrets
from html import escape
from typing import TYPE_CHECKING
from urllib.parse import urlencode

from aiohttp import web

if TYPE_CHECKING:
    from .server import FakeGitHub


async def answer_oauth(gh: FakeGitHub, request: web.Request) -> web.StreamResponse:
    if request.path == "/login/oauth/authorize" and request.method in ("GET", "POST"):
        return await _authorize(gh, request)
    if request.path == "/login/oauth/access_token" and request.method == "POST":
        return await _access_token(gh, request)
    return web.Response(status=404, text="Not Found")


async def _authorize(gh: FakeGitHub, request: web.Request) -> web.StreamResponse:
    query = dict(request.query)
    if request.method == "POST":  # the consent page's "Authorize" button
        query = {key: str(value) for key, value in (await request.post()).items()}
    redirect_uri = query.get("redirect_uri", "")
    if query.get("client_id") != gh.app.client_id or not redirect_uri:
        return web.Response(status=404, text="unknown client_id or no redirect_uri")
    if gh.oauth_login is None:
        return web.Response(status=404, text="nobody is signed in (set gh.oauth_login)")
    if gh.oauth_prompt and request.method == "GET":
        return _consent_page(gh, gh.oauth_login, query)
    code = secrets.token_hex(10)
    gh.oauth_codes[code] = (gh.oauth_login, redirect_uri)
    back = {"code": code, "state": query.get("state", "")}
    separator = "&" if "?" in redirect_uri else "?"
    raise web.HTTPFound(redirect_uri + separator + urlencode(back))


async def _access_token(gh: FakeGitHub, request: web.Request) -> web.Response:
    form = dict(await request.post())
    if not form and request.can_read_body:
        form = dict(await request.json())
    form.update(request.query)
    if form.get("client_id") != gh.app.client_id or (
        form.get("client_secret") != gh.oauth_client_secret
    ):
        return _error("incorrect_client_credentials")
    granted = gh.oauth_codes.pop(str(form.get("code", "")), None)
    if granted is None:
        return _error("bad_verification_code")
    login, redirect_uri = granted
    if form.get("redirect_uri") and form["redirect_uri"] != redirect_uri:
        return _error("redirect_uri_mismatch")
    token = gh.add_user_token(login)
    body = {"access_token": token, "token_type": "bearer", "scope": ""}
    if "application/json" in request.headers.get("Accept", ""):
        return web.json_response(body)
    return web.Response(text=urlencode(body), content_type="application/x-www-form-urlencoded")


def _error(code: str) -> web.Response:
    return web.json_response({"error": code, "error_description": code.replace("_", " ")})


def _consent_page(gh: FakeGitHub, login: str, query: dict[str, str]) -> web.Response:
    """github.com's "Authorize <App>" page, reduced to what a person reads and presses."""
    fields = "".join(
        f'<input type="hidden" name="{escape(key)}" value="{escape(query.get(key, ""))}">'
        for key in ("client_id", "redirect_uri", "state")
    )
    name = escape(gh.app.name)
    page = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>Authorize {name}</title></head>"
        '<body style="font:16px/1.5 system-ui,sans-serif;max-width:30rem;margin:2rem auto">'
        f"<h1>Authorize {name}</h1><p>Signed in to GitHub as <strong>{escape(login)}</strong>."
        f" {name} by {escape(gh.app.owner.login)} wants to verify your GitHub identity and "
        "know which resources you can access.</p>"
        f'<form method="post" action="/login/oauth/authorize">{fields}'
        f'<button type="submit">Authorize {name}</button></form></body></html>'
    )
    return web.Response(text=page, content_type="text/html")
