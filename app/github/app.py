"""GitHubApp: the one object that hands out authenticated clients, shared by all workers.

It owns the HTTP session, the App's credentials, the installation-token cache and the
per-installation state (concurrency, rate limit, ETag cache) that every client of that
installation shares.
"""

from __future__ import annotations

import contextlib
from typing import Any

import aiohttp
from cachetools import LRUCache

from app import metrics
from app.config.settings import Settings
from app.github.auth import AppCredentials, InstallationTokens
from app.github.client import GitHubClient, InstallationState
from app.github.etags import InstallationEtags, shared_etag_cache

APP_STATE_KEY = 0  # the App's own (JWT) requests are rate-limited apart from installations


class _AppJwt:
    def __init__(self, credentials: AppCredentials) -> None:
        self._credentials = credentials

    async def authorization(self) -> str:
        return f"Bearer {self._credentials.jwt()}"

    def refused(self, authorization: str) -> None:
        """A refused JWT is not cached state to drop: the clock or key is wrong."""


class _InstallationToken:
    def __init__(self, tokens: InstallationTokens, installation_id: int) -> None:
        self._tokens = tokens
        self._installation_id = installation_id

    async def authorization(self) -> str:
        return f"token {await self._tokens.get(self._installation_id)}"

    def refused(self, authorization: str) -> None:
        self._tokens.invalidate(self._installation_id, authorization.removeprefix("token "))


class _StateCache(LRUCache[int, InstallationState]):
    """Forgets an evicted installation's rate-limit series too, so /metrics stays bounded."""

    def popitem(self) -> tuple[int, InstallationState]:
        key, state = super().popitem()
        with contextlib.suppress(KeyError):
            metrics.GITHUB_RATE_LIMIT_REMAINING.remove(state.label)
        return key, state


class GitHubApp:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.credentials = AppCredentials(settings.github_app_id, settings.private_key_pem())
        self.tokens = InstallationTokens(self._fetch_installation_token)
        self._states: LRUCache[int, InstallationState] = _StateCache(maxsize=10_000)
        self._etags = shared_etag_cache()
        self._session: aiohttp.ClientSession | None = None
        self._bot_identity: tuple[str, str] | None = None

    @property
    def configured(self) -> bool:
        return self.credentials.configured

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession()
        return self._session

    def _state(self, key: int) -> InstallationState:
        state = self._states.get(key)
        if state is None:
            label = "app" if key == APP_STATE_KEY else str(key)
            state = InstallationState(
                label=label,
                concurrency=self.settings.github_concurrency,
                etags=InstallationEtags(self._etags, key),
            )
            self._states[key] = state
        return state

    def _client(self, authorizer: Any, key: int, retry_unsafe: bool = False) -> GitHubClient:
        return GitHubClient(
            self.session,
            authorizer=authorizer,
            state=self._state(key),
            base_url=self.settings.github_api_url,
            timeout=self.settings.github_timeout,
            max_inline_wait=self.settings.github_max_inline_wait,
            retry_unsafe=retry_unsafe,
        )

    def app_client(self) -> GitHubClient:
        """A client authenticated as the App itself (JWT): for `/app/...` endpoints."""
        return self._client(_AppJwt(self.credentials), APP_STATE_KEY)

    def installation_client(self, installation_id: int) -> GitHubClient:
        """A client acting as one installation; the token is fetched on first use."""
        return self._client(_InstallationToken(self.tokens, installation_id), installation_id)

    async def installation_token(self, installation_id: int) -> str:
        """The raw token, for git over HTTPS (`x-access-token`)."""
        return await self.tokens.get(installation_id)

    async def _fetch_installation_token(self, installation_id: int) -> dict[str, Any]:
        # Asking for a token twice is harmless, so this POST may be sent again on a 5xx.
        client = self._client(_AppJwt(self.credentials), APP_STATE_KEY, retry_unsafe=True)
        data: dict[str, Any] = await client.post(
            "/app/installations/{installation_id}/access_tokens",
            url_vars={"installation_id": str(installation_id)},
            data={},
        )
        return data

    async def bot_identity(self, gh: GitHubClient) -> tuple[str, str]:
        """The App's bot user as git needs it: (`<slug>[bot]`, its noreply email). Asked
        of GitHub once (`GET /app` as the App, `GET /users/<slug>[bot]` with `gh`, an
        installation's client: a JWT is only good for `/app` endpoints), then kept."""
        if self._bot_identity is None:
            app = await self.app_client().getitem("/app")
            login = f"{app['slug']}[bot]"
            user = await gh.getitem("/users/{username}", url_vars={"username": login})
            self._bot_identity = (login, f"{user['id']}+{login}@users.noreply.github.com")
        return self._bot_identity

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
