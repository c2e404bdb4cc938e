"""Context: what a handler receives besides the event and the GitHub client.

Modelled on Probot's context: the delivery, a logger bound to it, the repository's
configuration (read lazily, once per delivery, from the default branch) and the shared
services. Handlers take it as a keyword argument: `async def on_x(event, gh, *, context)`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from gidgethub import sansio

from app.config.loader import LoadedConfig, cached_repo_config
from app.config.repo import RepoConfig
from app.config.settings import Settings
from app.github.app import GitHubApp
from app.github.client import GitHubClient
from app.store.database import Database
from app.store.deliveries import Delivery


@dataclass
class Context:
    event: sansio.Event
    delivery: Delivery
    gh: GitHubClient
    github_app: GitHubApp
    db: Database
    settings: Settings
    log: Any
    _config: LoadedConfig | None = field(default=None, repr=False)

    @property
    def installation_id(self) -> int | None:
        installation = self.event.data.get("installation") or {}
        return installation.get("id")

    @property
    def repository(self) -> dict[str, Any] | None:
        repository = self.event.data.get("repository")
        return repository if isinstance(repository, dict) else None

    async def config(self) -> LoadedConfig:
        """The repository's `.github/deckhand.yml` (defaults when there is no repository)."""
        if self._config is None:
            if self.repository is None or self.installation_id is None:
                self._config = LoadedConfig(RepoConfig())
            else:
                self._config = await cached_repo_config(
                    self.gh,
                    self.repository,
                    self.settings.github_api_url,
                    remember=self.settings.config_cache,
                )
                for error in self._config.errors:
                    self.log.warning("repo_config_invalid", error=error)
        return self._config
