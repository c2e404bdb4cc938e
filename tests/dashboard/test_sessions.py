"""Sessions: kept in the database (a restart or another replica keeps people signed in),
with the GitHub token encrypted; forged, unknown, expired or signed-out cookies send the
visitor to /login."""

from __future__ import annotations

import time
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from pydantic import SecretStr
from sqlalchemy import select, update
from yarl import URL

from app.dashboard import sessions, tokens
from app.dashboard.session_store import SessionStore, id_hash
from app.dashboard.sessions import SESSION_COOKIE, SESSION_SECONDS
from app.store.schema import dashboard_sessions
from app.web.keys import SERVICE
from tests.dashboard.conftest import csrf_of, sign_in
from tests.fakes.github import FakeGitHub
from tests.support.deckhand import make_settings


def _session_cookie(browser: aiohttp.ClientSession) -> str:
    [value] = [m.value for m in browser.cookie_jar if m.key == SESSION_COOKIE]
    return value


async def _dashboard_with(base: str, cookie: str) -> tuple[int, str | None]:
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as client:
        client.cookie_jar.update_cookies({SESSION_COOKIE: cookie}, URL(base))
        async with client.get(f"{base}/dashboard", allow_redirects=False) as response:
            return response.status, response.headers.get("Location")


async def _rows(harness: Any) -> list[Any]:
    db = harness.app[SERVICE].db
    return await db.read(lambda conn: conn.execute(select(dashboard_sessions)).all())


async def test_the_real_cookie_works_elsewhere(
    dashboard: Any, browser: aiohttp.ClientSession
) -> None:
    await sign_in(browser, dashboard.url)
    assert await _dashboard_with(dashboard.url, _session_cookie(browser)) == (200, None)


async def test_a_second_replica_accepts_the_session_and_sign_out_ends_it_on_both(
    dashboard: Any, start_deckhand: Any, browser: aiohttp.ClientSession
) -> None:
    other = await start_deckhand(**_same_settings(dashboard))  # the same SQLite file
    assert other.app[SERVICE].settings.database_url == dashboard.app[SERVICE].settings.database_url
    await sign_in(browser, dashboard.url)
    cookie = _session_cookie(browser)
    assert await _dashboard_with(other.url, cookie) == (200, None)
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as client:
        client.cookie_jar.update_cookies({SESSION_COOKIE: cookie}, URL(other.url))
        async with client.get(f"{other.url}/dashboard") as response:
            csrf = csrf_of(await response.text())
        async with client.post(
            f"{other.url}/logout", data={"csrf": csrf}, allow_redirects=False
        ) as response:
            assert response.headers["Location"] == "/login"
    assert await _rows(dashboard) == []
    assert await _dashboard_with(dashboard.url, cookie) == (302, "/login")


async def test_a_restart_keeps_people_signed_in(
    dashboard: Any, start_deckhand: Any, browser: aiohttp.ClientSession
) -> None:
    await sign_in(browser, dashboard.url)
    cookie = _session_cookie(browser)
    overrides = _same_settings(dashboard)
    await dashboard.server.close()  # the process ends: its memory is gone
    restarted = await start_deckhand(**overrides)
    assert await _dashboard_with(restarted.url, cookie) == (200, None)


async def test_the_token_is_encrypted_at_rest_and_never_logged(
    dashboard: Any, browser: aiohttp.ClientSession, fake_github: FakeGitHub, caplog: Any
) -> None:
    await sign_in(browser, dashboard.url)
    [token] = list(fake_github.user_tokens)
    [row] = await _rows(dashboard)
    settings = dashboard.app[SERVICE].settings
    assert token not in row.token and tokens.decrypt(settings, row.token) == token
    sid = sessions.session_id_value(settings, _session_cookie(browser))
    assert sid is not None and row.id_hash == id_hash(sid) and sid not in row.id_hash
    alice = fake_github.account("alice")
    assert alice is not None and (row.login, row.user_id) == ("alice", alice.id)
    assert token not in caplog.text and row.token not in caplog.text
    other = settings.model_copy(update={"github_client_secret": SecretStr("rotated-secret-1")})
    assert tokens.decrypt(other, row.token) is None


@pytest.mark.parametrize("forge", ["tamper", "other_key", "garbage", "unknown_id"])
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
        cookie = sessions._serializer(other, "session").dumps(
            sessions.session_id_value(settings, real)
        )
    elif forge == "unknown_id":  # rightly signed, but no such session in the database
        cookie = sessions._serializer(settings, "session").dumps("no-such-session")
    else:
        cookie = "not-a-session"
    assert await _dashboard_with(dashboard.url, cookie) == (302, "/login")


async def test_an_old_cookie_is_refused(
    dashboard: Any, browser: aiohttp.ClientSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    await sign_in(browser, dashboard.url)
    settings = dashboard.app[SERVICE].settings
    sid = sessions.session_id_value(settings, _session_cookie(browser))
    past = time.time() - SESSION_SECONDS - 60
    with monkeypatch.context() as patch:
        patch.setattr("itsdangerous.timed.time.time", lambda: past)
        old = sessions._serializer(settings, "session").dumps(sid)
    assert await _dashboard_with(dashboard.url, old) == (302, "/login")


async def test_an_expired_session_is_refused_and_pruned(
    dashboard: Any, browser: aiohttp.ClientSession
) -> None:
    await sign_in(browser, dashboard.url)
    cookie = _session_cookie(browser)
    db = dashboard.app[SERVICE].db
    await db.transaction(
        lambda conn: conn.execute(update(dashboard_sessions).values(expires_at=time.time() - 1))
    )
    assert await _dashboard_with(dashboard.url, cookie) == (302, "/login")
    assert await _rows(dashboard) == []  # deleted when it was refused


async def test_signing_in_prunes_expired_sessions(dashboard: Any) -> None:
    service = dashboard.app[SERVICE]
    store = SessionStore(service.db, service.settings)
    stale = await store.open("bob", 2, "gho_stale")
    await service.db.transaction(
        lambda conn: conn.execute(
            update(dashboard_sessions)
            .where(dashboard_sessions.c.id_hash == id_hash(stale.id))
            .values(expires_at=time.time() - 1)
        )
    )
    fresh = await store.open("carol", 3, "gho_fresh")
    assert [r.login for r in await _rows(dashboard)] == ["carol"]
    assert await store.get(stale.id) is None
    found = await store.get(fresh.id)
    assert found is not None and found.token == "gho_fresh" and "gho_fresh" not in repr(found)
    assert await store.prune() == 0


def test_cookies_are_secure_behind_https(tmp_path: Any) -> None:
    for public_url, secure in (("https://deckhand.example", True), (None, False)):
        settings = make_settings(
            tmp_path, github_client_secret="client-secret-123", public_url=public_url
        )
        response = web.Response()
        sessions.set_session(response, settings, sessions.new_session_id())
        morsel = response.cookies[SESSION_COOKIE]
        assert bool(morsel["secure"]) is secure
        assert morsel["httponly"] and morsel["samesite"] == "Lax"
        assert int(morsel["max-age"]) == SESSION_SECONDS


def _same_settings(harness: Any) -> dict[str, Any]:
    """The overrides that start another Deckhand like `harness` (same database)."""
    settings = harness.app[SERVICE].settings
    return {
        "github_api_url": settings.github_api_url,
        "github_web_url": settings.github_web_url,
        "github_app_id": settings.github_app_id,
        "github_private_key": settings.github_private_key,
        "github_client_id": settings.github_client_id,
        "github_client_secret": settings.github_client_secret,
    }
