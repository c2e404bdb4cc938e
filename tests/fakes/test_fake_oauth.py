"""The fake github.com OAuth web flow and the user-installation REST operations."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import aiohttp

from tests.fakes.github import FakeGitHub

CALLBACK = "http://deckhand.test/login/callback"


async def _authorize(
    http: aiohttp.ClientSession, gh: FakeGitHub
) -> tuple[int, dict[str, list[str]]]:
    params = {"client_id": gh.app.client_id, "state": "s1", "redirect_uri": CALLBACK}
    async with http.get(
        f"{gh.url}/login/oauth/authorize", params=params, allow_redirects=False
    ) as response:
        location = response.headers.get("Location", "")
        return response.status, parse_qs(urlsplit(location).query)


async def _exchange(http: aiohttp.ClientSession, gh: FakeGitHub, code: str) -> dict[str, str]:
    form = {
        "client_id": gh.app.client_id,
        "client_secret": gh.oauth_client_secret,
        "code": code,
        "redirect_uri": CALLBACK,
    }
    async with http.post(
        f"{gh.url}/login/oauth/access_token", data=form, headers={"Accept": "application/json"}
    ) as response:
        assert response.status == 200
        return dict(await response.json())


async def test_web_flow_and_user_installations(fake_github: FakeGitHub) -> None:
    gh = fake_github
    gh.add_installation(7, account="octo-org", repositories=["octo-org/a", "octo-org/b"])
    gh.add_installation(8, account="other", repositories=["other/c"])
    gh.set_collaborator("octo-org/b", "alice", "read")
    async with aiohttp.ClientSession(headers={"User-Agent": "test"}) as http:
        assert (await _authorize(http, gh))[0] == 404  # nobody signed in yet
        gh.oauth_login = "alice"
        status, query = await _authorize(http, gh)
        assert status == 302 and query["state"] == ["s1"]
        token = (await _exchange(http, gh, query["code"][0]))["access_token"]
        again = await _exchange(http, gh, query["code"][0])
        assert again["error"] == "bad_verification_code"  # a code works once
        auth = {"Authorization": f"Bearer {token}"}
        async with http.get(f"{gh.url}/user/installations", headers=auth) as response:
            body = await response.json()
        assert [i["id"] for i in body["installations"]] == [7]
        url = f"{gh.url}/user/installations/7/repositories"
        async with http.get(url, headers=auth) as response:
            names = [r["full_name"] for r in (await response.json())["repositories"]]
        assert names == ["octo-org/b"]
        url = f"{gh.url}/user/installations/8/repositories"
        async with http.get(url, headers=auth) as response:
            assert response.status == 404
