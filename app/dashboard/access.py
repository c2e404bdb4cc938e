"""Which repositories a dashboard session may see, asked of GitHub and cached briefly.

The list comes from the person's own token (`github.accessible_repositories`) and is kept
for `ACCESS_SECONDS` per session, so paging through the dashboard does not call GitHub on
every request while a revoked access still disappears within a minute. Comparisons are
case-insensitive, as GitHub's names are.
"""

from __future__ import annotations

from aiohttp import web
from cachetools import TTLCache

from app.config.settings import Settings
from app.dashboard.github import accessible_repositories
from app.dashboard.sessions import TokenVault

ACCESS_SECONDS = 60


class RepoAccess:
    def __init__(self) -> None:
        self.tokens = TokenVault()
        self._repos: TTLCache[str, list[str]] = TTLCache(maxsize=10_000, ttl=ACCESS_SECONDS)

    async def repositories(self, settings: Settings, session_id: str) -> list[str] | None:
        """The session's repositories; None when its token is gone (sign in again)."""
        cached = self._repos.get(session_id)
        if cached is not None:
            return cached
        token = self.tokens.get(session_id)
        if token is None:
            return None
        repos = await accessible_repositories(settings, token)
        self._repos[session_id] = repos
        return repos

    def forget(self, session_id: str) -> None:
        self.tokens.drop(session_id)
        self._repos.pop(session_id, None)


ACCESS = web.AppKey("dashboard_access", RepoAccess)
