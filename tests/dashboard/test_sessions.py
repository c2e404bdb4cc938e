"""Session cookies: a forged, tampered or expired cookie sends the visitor to /login."""

from __future__ import annotations

import time
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from pydantic import SecretStr
from yarl import URL

from app.dashboard import sessions
from app.dashboard.sessions import SESSION_COOKIE, SESSION_SECONDS
from app.web.keys import SERVICE
from tests.dashboard.conftest import sign_in
from tests.support.deckhand import make_settings


def _session_cookie(browser: aiohttp.ClientSession) -> str:
    [value] = [m.value for m in browser.cookie_jar if m.key == SESSION_COOKIE]
    return value


async def _dashboard_with(base: str, cookie: str) -> tuple[int, str | None]:
    async with (
        aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as client,
    ):
        client.cookie_jar.update_cookies({SESSION_COOKIE: cookie}, URL(base))
        async with client.get(f"{base}/dashboard", allow_redirects=False) as response:
            return response.status, response.headers.get("Location")


async def test_the_real_cookie_works_elsewhere(
    dashboard: Any, browser: aiohttp.ClientSession
) -> None:
    await sign_in(browser, dashboard.url)
    assert await _dashboard_with(dashboard.url, _session_cookie(browser)) == (200, None)


@pytest.mark.parametrize("forge", ["tamper", "other_key", "garbage"])
async def test_forged_cookies_are_refused(
    dashboard: Any, browser: aiohttp.ClientSession, forge: str
) -> None:
    await sign_in(browser, dashboard.url)
    real = _session_cookie(browser)
    settings = dashboard.app[SERVICE].settings
    if forge == "tamper":
        payload, rest = real.split(".", 1)
        cookie = payload[:-2] + ("AA" if payload[-2:] != "AA" else "BB") + "." + rest
    elif forge == "other_key":
        other = settings.model_copy(
            update={"github_client_secret": SecretStr("another-secret-123")}
        )
        cookie = sessions._serializer(other, "session").dumps(["sid", "alice", "csrf"])
    else:
        cookie = "not-a-session"
    assert await _dashboard_with(dashboard.url, cookie) == (302, "/login")


async def test_expired_cookie_is_refused(
    dashboard: Any, browser: aiohttp.ClientSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    await sign_in(browser, dashboard.url)
    settings = dashboard.app[SERVICE].settings
    session = sessions.read_session_value(settings, _session_cookie(browser))
    assert session is not None
    past = time.time() - SESSION_SECONDS - 60
    with monkeypatch.context() as patch:
        patch.setattr("itsdangerous.timed.time.time", lambda: past)
        old = sessions._serializer(settings, "session").dumps(
            [session.id, session.login, session.csrf]
        )
    assert await _dashboard_with(dashboard.url, old) == (302, "/login")


def test_cookies_are_secure_behind_https(tmp_path: Any) -> None:
    for public_url, secure in (("https://deckhand.example", True), (None, False)):
        settings = make_settings(
            tmp_path, github_client_secret="client-secret-123", public_url=public_url
        )
        response = web.Response()
        sessions.set_session(response, settings, sessions.new_session("alice"))
        morsel = response.cookies[SESSION_COOKIE]
        assert bool(morsel["secure"]) is secure
        assert morsel["httponly"] and morsel["samesite"] == "Lax"
        assert int(morsel["max-age"]) == SESSION_SECONDS
