"""Trading the manifest flow's temporary code for the new App's credentials.

`POST {GITHUB_API_URL}/app-manifests/{code}/conversions` needs no authentication; GitHub
answers once per code (within an hour) with the App's id, private key, webhook secret and
OAuth client. This module never logs or stores the credentials; the caller decides.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import aiohttp

API_VERSION = "2022-11-28"
USER_AGENT = "deckhand-setup"


class ExchangeError(Exception):
    """The code could not be exchanged; `message` is for the person doing the setup."""

    def __init__(self, message: str, *, rejected: bool) -> None:
        super().__init__(message)
        self.message = message
        self.rejected = rejected  # GitHub refused the code (as opposed to an outage)


@dataclass(frozen=True)
class AppCredentials:
    app_id: int
    slug: str
    html_url: str
    pem: str
    webhook_secret: str
    client_id: str
    client_secret: str

    def env_values(self) -> dict[str, str]:
        """The variables Deckhand reads on start (the PEM with literal `\\n`)."""
        return {
            "GITHUB_APP_ID": str(self.app_id),
            "GITHUB_PRIVATE_KEY": self.pem.strip().replace("\n", "\\n"),
            "GITHUB_WEBHOOK_SECRET": self.webhook_secret,
            "GITHUB_CLIENT_ID": self.client_id,
            "GITHUB_CLIENT_SECRET": self.client_secret,
        }


async def convert_code(api_url: str, code: str, *, time_limit: float) -> AppCredentials:
    """Exchange `code` for the App's credentials; raises `ExchangeError` on any failure."""
    url = f"{api_url.rstrip('/')}/app-manifests/{quote(code, safe='')}/conversions"
    headers = {
        "Accept": "application/vnd.github+json",
        "User-Agent": USER_AGENT,
        "X-GitHub-Api-Version": API_VERSION,
    }
    try:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=time_limit)) as session,
            session.post(url, headers=headers) as response,
        ):
            status = response.status
            try:
                body: Any = await response.json(content_type=None)
            except ValueError:
                body = None
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise ExchangeError(
            f"Could not reach GitHub at {api_url}: {exc.__class__.__name__} {exc}".strip(),
            rejected=False,
        ) from exc
    message = body.get("message") if isinstance(body, dict) else None
    if status == 404:
        raise ExchangeError(
            "GitHub does not know this code: it was already used, has expired (codes are "
            "valid for one hour) or belongs to another GitHub.",
            rejected=True,
        )
    if 400 <= status < 500:
        raise ExchangeError(f"GitHub refused the code ({status}): {message}", rejected=True)
    if status != 201 or not isinstance(body, dict):
        raise ExchangeError(f"GitHub answered {status}: {message or 'no details'}", rejected=False)
    return _credentials(body)


def _credentials(body: dict[str, Any]) -> AppCredentials:
    try:
        credentials = AppCredentials(
            app_id=int(body["id"]),
            slug=str(body["slug"]),
            html_url=str(body["html_url"]),
            pem=str(body["pem"]),
            webhook_secret=str(body.get("webhook_secret") or ""),
            client_id=str(body["client_id"]),
            client_secret=str(body["client_secret"]),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ExchangeError(
            f"GitHub's answer lacks the App's credentials ({exc})", rejected=False
        ) from exc
    if "PRIVATE KEY" not in credentials.pem:
        raise ExchangeError("GitHub's answer has no private key", rejected=False)
    return credentials
