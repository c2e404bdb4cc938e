"""Which repositories a dashboard session may see, and administer, asked of GitHub and
cached briefly.

The list comes from the person's own token (`github.accessible_repositories`, with each
repository's `permissions`) and is kept for `ACCESS_SECONDS` per session in this
process, so paging through the dashboard does not call GitHub on every request while a
revoked access (or admin right) still disappears within a minute. Comparisons are
case-insensitive, as GitHub's names are.
"""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web
from cachetools import TTLCache

from app.config.settings import Settings
from app.dashboard.github import Repo, accessible_repositories
from app.dashboard.sessions import Session

ACCESS_SECONDS = 60


@dataclass(frozen=True)
class Visible:
    """The repositories one person can see, as GitHub spells them."""

    repos: tuple[Repo, ...]

    @property
    def names(self) -> list[str]:
        return [r.full_name for r in self.repos]

    def find(self, name: str | None) -> Repo | None:
        wanted = (name or "").lower()
        return next((r for r in self.repos if r.full_name.lower() == wanted), None)

    def is_admin(self, name: str | None) -> bool:
        repo = self.find(name)
        return repo is not None and repo.admin


class RepoAccess:
    def __init__(self) -> None:
        self._cache: TTLCache[str, Visible] = TTLCache(maxsize=10_000, ttl=ACCESS_SECONDS)

    async def visible(self, settings: Settings, session: Session) -> Visible:
        """The session's repositories (raises `TokenRefused` when GitHub refuses its token)."""
        cached = self._cache.get(session.id)
        if cached is not None:
            return cached
        visible = Visible(tuple(await accessible_repositories(settings, session.token)))
        self._cache[session.id] = visible
        return visible

    def forget(self, session_id: str) -> None:
        self._cache.pop(session_id, None)


ACCESS = web.AppKey("dashboard_access", RepoAccess)
