"""Signed cookies for the dashboard: the sign-in session and the OAuth state.

A session cookie carries a random session id, the login and a CSRF token, signed with
itsdangerous (a key derived from the App's client secret) and stamped with its issue time:
a changed or older-than-`SESSION_SECONDS` cookie is refused. The user's GitHub token is
never put in a cookie: it stays in this process's memory (`TokenVault`), so a restart
signs everyone out. Cookies are HttpOnly, SameSite=Lax, and Secure when `PUBLIC_URL` is
https. Nothing here calls GitHub.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from aiohttp import web
from cachetools import TTLCache
from itsdangerous import BadSignature, URLSafeTimedSerializer

from app.config.settings import Settings

SESSION_COOKIE = "deckhand_session"
STATE_COOKIE = "deckhand_oauth_state"
SESSION_SECONDS = 8 * 3600
STATE_SECONDS = 600


@dataclass(frozen=True)
class Session:
    id: str
    login: str
    csrf: str


def _serializer(settings: Settings, salt: str) -> URLSafeTimedSerializer:
    secret = settings.github_client_secret
    assert secret is not None, "the dashboard is off without GITHUB_CLIENT_SECRET"
    key = hmac.new(
        secret.get_secret_value().encode(), b"deckhand-dashboard-cookies", hashlib.sha256
    ).hexdigest()
    return URLSafeTimedSerializer(key, salt=salt)


def secure_cookies(settings: Settings) -> bool:
    return bool(settings.public_url and settings.public_url.startswith("https://"))


def _set(response: web.StreamResponse, settings: Settings, name: str, value: str, age: int) -> None:
    response.set_cookie(
        name,
        value,
        max_age=age,
        path="/",
        httponly=True,
        samesite="Lax",
        secure=secure_cookies(settings),
    )


def new_session(login: str) -> Session:
    return Session(secrets.token_urlsafe(24), login, secrets.token_urlsafe(24))


def set_session(response: web.StreamResponse, settings: Settings, session: Session) -> None:
    value = _serializer(settings, "session").dumps([session.id, session.login, session.csrf])
    _set(response, settings, SESSION_COOKIE, value, SESSION_SECONDS)


def read_session(request: web.Request, settings: Settings) -> Session | None:
    """The request's session, or None when the cookie is missing, forged or expired."""
    return read_session_value(settings, request.cookies.get(SESSION_COOKIE, ""))


def read_session_value(settings: Settings, value: str) -> Session | None:
    if not value:
        return None
    try:
        sid, login, csrf = _serializer(settings, "session").loads(value, max_age=SESSION_SECONDS)
    except (BadSignature, ValueError, TypeError):
        return None
    return Session(str(sid), str(login), str(csrf))


def new_state() -> str:
    return secrets.token_urlsafe(24)


def set_state(response: web.StreamResponse, settings: Settings, state: str) -> None:
    """Remember a one-time OAuth state in a short-lived signed cookie."""
    value = _serializer(settings, "state").dumps(state)
    _set(response, settings, STATE_COOKIE, value, STATE_SECONDS)


def state_matches(request: web.Request, settings: Settings, state: str) -> bool:
    value = request.cookies.get(STATE_COOKIE)
    if not value or not state:
        return False
    try:
        expected = _serializer(settings, "state").loads(value, max_age=STATE_SECONDS)
    except BadSignature:
        return False
    return isinstance(expected, str) and hmac.compare_digest(expected, state)


def clear(response: web.StreamResponse, *names: str) -> None:
    for name in names:
        response.del_cookie(name, path="/")


class TokenVault:
    """Session id -> the user's GitHub token, in memory, for as long as a session lives."""

    def __init__(self) -> None:
        self._tokens: TTLCache[str, str] = TTLCache(maxsize=10_000, ttl=SESSION_SECONDS)

    def put(self, session_id: str, token: str) -> None:
        self._tokens[session_id] = token

    def get(self, session_id: str) -> str | None:
        return self._tokens.get(session_id)

    def drop(self, session_id: str) -> None:
        self._tokens.pop(session_id, None)
