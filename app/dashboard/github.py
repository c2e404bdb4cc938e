"""The dashboard's calls to GitHub, all made with the signed-in person's own token.

`authorize_url` builds the OAuth web flow's first step; `exchange_code` turns GitHub's
code into a user token (`POST {web}/login/oauth/access_token`); `user_login` reads
`GET /user` (login and id); `accessible_repositories` lists the repositories the person
can reach on installations of this App (`GET /user/installations`, then each
installation's repositories, whose `permissions` say whether the person is an admin
there). Tokens are never logged. Any refusal or failure is a `GitHubUserError`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import aiohttp

from app.config.settings import Settings

PER_PAGE = 100
MAX_PAGES = 10


@dataclass(frozen=True)
class Repo:
    """A repository the person can see; `admin`: they have admin permission on it."""

    full_name: str
    admin: bool = False


class GitHubUserError(Exception):
    pass


class TokenRefused(GitHubUserError):
    """GitHub no longer accepts the person's token (revoked, or the App uninstalled)."""


def authorize_url(settings: Settings, state: str, redirect_uri: str) -> str:
    query = urlencode(
        {"client_id": settings.github_client_id, "state": state, "redirect_uri": redirect_uri}
    )
    return f"{settings.github_web_url.rstrip('/')}/login/oauth/authorize?{query}"


def _session(settings: Settings) -> aiohttp.ClientSession:
    return aiohttp.ClientSession(
        timeout=aiohttp.ClientTimeout(total=settings.github_timeout),
        headers={"User-Agent": "Deckhand"},
    )


async def exchange_code(settings: Settings, code: str, redirect_uri: str) -> str:
    """The user token for GitHub's one-time ``code``."""
    secret = settings.github_client_secret
    assert secret is not None
    form = {
        "client_id": settings.github_client_id or "",
        "client_secret": secret.get_secret_value(),
        "code": code,
        "redirect_uri": redirect_uri,
    }
    url = f"{settings.github_web_url.rstrip('/')}/login/oauth/access_token"
    try:
        async with (
            _session(settings) as http,
            http.post(url, data=form, headers={"Accept": "application/json"}) as response,
        ):
            body = await response.json(content_type=None)
    except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
        raise GitHubUserError(f"GitHub could not be reached ({type(exc).__name__})") from None
    if response.status != 200 or not isinstance(body, dict) or "access_token" not in body:
        reason = body.get("error") if isinstance(body, dict) else None
        raise GitHubUserError(f"GitHub refused the sign-in ({reason or response.status})")
    return str(body["access_token"])


async def _get(http: aiohttp.ClientSession, url: str, token: str) -> Any:
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/vnd.github+json"}
    try:
        async with http.get(url, headers=headers) as response:
            if response.status == 401:
                raise TokenRefused("GitHub no longer accepts your sign-in")
            if response.status != 200:
                raise GitHubUserError(f"GitHub answered {response.status} for {url}")
            return await response.json()
    except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
        raise GitHubUserError(f"GitHub could not be reached ({type(exc).__name__})") from None


async def user_identity(settings: Settings, token: str) -> tuple[str, int]:
    """The person's login and GitHub user id."""
    async with _session(settings) as http:
        body = await _get(http, f"{settings.github_api_url.rstrip('/')}/user", token)
    return str(body["login"]), int(body.get("id") or 0)


async def _pages(http: aiohttp.ClientSession, url: str, token: str, key: str) -> list[Any]:
    items: list[Any] = []
    for page in range(1, MAX_PAGES + 1):
        body = await _get(http, f"{url}?per_page={PER_PAGE}&page={page}", token)
        chunk = body.get(key, [])
        items.extend(chunk)
        if len(chunk) < PER_PAGE:
            break
    return items


async def accessible_repositories(settings: Settings, token: str) -> list[Repo]:
    """The repositories (sorted by name) the person can see on this App's installations."""
    api = settings.github_api_url.rstrip("/")
    found: dict[str, Repo] = {}
    async with _session(settings) as http:
        installations = await _pages(http, f"{api}/user/installations", token, "installations")
        for installation in installations:
            if settings.github_app_id is not None and installation.get("app_id") not in (
                None,
                settings.github_app_id,
            ):
                continue
            url = f"{api}/user/installations/{int(installation['id'])}/repositories"
            repos = await _pages(http, url, token, "repositories")
            for repo in repos:
                permissions = repo.get("permissions") or {}
                name = str(repo["full_name"])
                found[name] = Repo(name, admin=permissions.get("admin") is True)
    return sorted(found.values(), key=lambda r: r.full_name.lower())
