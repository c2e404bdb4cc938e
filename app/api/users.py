"""Who holds a GitHub token: `GET /user` with it, remembered for a few minutes.

The one call to GitHub made while a request is open: it authenticates the caller (as a
sign-in would); the work itself goes through the queue. Tokens are kept only as SHA-256
digests, never stored or logged.
"""

from __future__ import annotations

import hashlib

import aiohttp
from cachetools import TTLCache

_KNOWN: TTLCache[str, str] = TTLCache(maxsize=10_000, ttl=300)
TIMEOUT = aiohttp.ClientTimeout(total=10)


class NotAuthenticated(Exception):
    pass


async def login_for(api_url: str, token: str) -> str:
    """The login of the token's user; NotAuthenticated when GitHub refuses it."""
    key = hashlib.sha256(f"{api_url}\0{token}".encode()).hexdigest()
    login = _KNOWN.get(key)
    if login is not None:
        return login
    headers = {
        "Authorization": f"Bearer {token}",
        "Accept": "application/vnd.github+json",
        "User-Agent": "Deckhand",
    }
    try:
        async with (
            aiohttp.ClientSession(timeout=TIMEOUT) as session,
            session.get(f"{api_url.rstrip('/')}/user", headers=headers) as response,
        ):
            if response.status in (401, 403):
                raise NotAuthenticated("GitHub does not accept this token")
            if response.status != 200:
                raise NotAuthenticated(f"GitHub answered {response.status} for the token")
            login = str((await response.json())["login"])
    except (aiohttp.ClientError, TimeoutError, KeyError, ValueError) as exc:
        raise NotAuthenticated(
            f"could not check the token with GitHub ({type(exc).__name__})"
        ) from None
    _KNOWN[key] = login
    return login
