"""Sign-in, access control and sign-out, through the real service over HTTP."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

import aiohttp

from app.dashboard.access import ACCESS
from app.dashboard.sessions import SESSION_COOKIE, STATE_COOKIE
from app.deploy.store import DeployStore
from app.web.keys import SERVICE
from tests.dashboard.conftest import (
    ELSEWHERE,
    SECRET,
    WIDGETS,
    csrf_of,
    deployment,
    get,
    sign_in,
)
from tests.fakes.github import FakeGitHub


def _cookie(browser: aiohttp.ClientSession, name: str) -> str | None:
    for morsel in browser.cookie_jar:
        if morsel.key == name:
            return morsel.value
    return None


async def test_login_redirects_to_github_with_a_state_cookie(
    dashboard: Any, browser: aiohttp.ClientSession, fake_github: FakeGitHub
) -> None:
    async with browser.get(f"{dashboard.url}/login", allow_redirects=False) as response:
        assert response.status == 302
        location = urlsplit(response.headers["Location"])
        cookie = response.cookies[STATE_COOKIE]
    assert f"{location.scheme}://{location.netloc}" == fake_github.url
    assert location.path == "/login/oauth/authorize"
    query = parse_qs(location.query)
    assert query["client_id"] == [fake_github.app.client_id]
    assert query["redirect_uri"] == [f"{dashboard.url}/login/callback"]
    assert query["state"][0] and query["state"][0] not in cookie.value  # signed, not plain
    assert cookie["httponly"] and cookie["samesite"] == "Lax" and not cookie["secure"]


async def test_sign_in_shows_only_permitted_repositories(
    dashboard: Any, browser: aiohttp.ClientSession
) -> None:
    await sign_in(browser, dashboard.url)
    status, page, _ = await get(browser, f"{dashboard.url}/dashboard")
    assert status == 200
    assert WIDGETS in page and SECRET not in page and ELSEWHERE not in page
    assert "alice" in page and 'name="viewport"' in page


async def test_repository_page_shows_history_and_404_without_access(
    dashboard: Any, browser: aiohttp.ClientSession
) -> None:
    store = DeployStore(dashboard.app[SERVICE].db)
    now = time.time()
    for number, (environment, outcome) in enumerate(
        [("production", "success"), ("production", "failure"), ("staging", "success")], 1
    ):
        await store.record(deployment(number, outcome, environment, created_at=now + number), None)
    await store.lock(WIDGETS, "production", "bob", "incident <42>")
    await sign_in(browser, dashboard.url)
    status, page, _ = await get(browser, f"{dashboard.url}/dashboard/Octo-Org/Widgets")
    assert status == 200
    assert "production" in page and "staging" in page
    assert "50%" in page and "100%" in page
    assert "Locked by bob" in page and "incident &lt;42&gt;" in page  # escaped
    forbidden = await get(browser, f"{dashboard.url}/dashboard/octo-org/secret")
    unknown = await get(browser, f"{dashboard.url}/dashboard/nobody/nothing")
    elsewhere = await get(browser, f"{dashboard.url}/dashboard/other-org/tools")
    assert forbidden[0] == unknown[0] == elsewhere[0] == 404
    assert forbidden[1] == unknown[1] == elsewhere[1]


async def test_wrong_state_is_refused(
    dashboard: Any, browser: aiohttp.ClientSession, fake_github: FakeGitHub
) -> None:
    async with browser.get(f"{dashboard.url}/login", allow_redirects=False) as response:
        to_github = response.headers["Location"]
    async with browser.get(to_github, allow_redirects=False) as response:
        back = urlsplit(response.headers["Location"])
    code = parse_qs(back.query)["code"][0]
    status, _, _ = await get(
        browser, f"{dashboard.url}/login/callback?code={code}&state=not-the-state"
    )
    assert status == 400
    assert _cookie(browser, SESSION_COOKIE) is None
    async with aiohttp.ClientSession() as stranger:  # the right state, but no state cookie
        status, _, _ = await get(stranger, f"{dashboard.url}/{back.path.lstrip('/')}?{back.query}")
    assert status == 400
    assert fake_github.requests_for("users/get-authenticated") == []


async def test_signed_out_visitors_go_to_login(dashboard: Any) -> None:
    async with aiohttp.ClientSession() as stranger:
        for path in ("/dashboard", f"/dashboard/{WIDGETS}"):
            status, _, location = await get(stranger, f"{dashboard.url}{path}")
            assert (status, location) == (302, "/login")


async def test_logout_needs_the_csrf_token(dashboard: Any, browser: aiohttp.ClientSession) -> None:
    await sign_in(browser, dashboard.url)
    _, page, _ = await get(browser, f"{dashboard.url}/dashboard")
    csrf = csrf_of(page)
    async with browser.post(
        f"{dashboard.url}/logout", data={"csrf": "forged"}, allow_redirects=False
    ) as response:
        assert response.status == 403
    assert (await get(browser, f"{dashboard.url}/dashboard"))[0] == 200
    async with browser.post(
        f"{dashboard.url}/logout", data={"csrf": csrf}, allow_redirects=False
    ) as response:
        assert (response.status, response.headers["Location"]) == (302, "/login")
    status, _, location = await get(browser, f"{dashboard.url}/dashboard")
    assert (status, location) == (302, "/login")


async def test_dashboard_off_without_oauth_client(start_deckhand: Any) -> None:
    harness = await start_deckhand()
    async with aiohttp.ClientSession() as stranger:
        status, page, _ = await get(stranger, f"{harness.url}/login")
    assert status == 503 and "GITHUB_CLIENT_ID" in page


async def test_a_revoked_token_means_signing_in_again(
    dashboard: Any, browser: aiohttp.ClientSession, fake_github: FakeGitHub
) -> None:
    await sign_in(browser, dashboard.url)
    fake_github.user_tokens.clear()  # the person revoked Deckhand's access on GitHub
    dashboard.app[ACCESS]._cache.clear()  # and the minute of caching is over
    status, _, location = await get(browser, f"{dashboard.url}/dashboard")
    assert (status, location) == (302, "/login")
