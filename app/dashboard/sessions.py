"""Signed cookies for the dashboard: the session id, the OAuth state and a one-shot flash.

The session cookie carries only a random session id, signed with itsdangerous (a key
derived from the App's client secret) and stamped with its issue time: a changed or
older-than-`SESSION_SECONDS` cookie is refused before the database is asked. What the
session is (login, CSRF token, the person's encrypted GitHub token) lives in the
database (`session_store`), so every web replica and a restarted process read the same.
Cookies are HttpOnly, SameSite=Lax, and Secure when `PUBLIC_URL` is https. Nothing here
calls GitHub or the database.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass, field

from aiohttp import web
from itsdangerous import BadSignature, URLSafeTimedSerializer

from app.config.settings import Settings

SESSION_COOKIE = "deckhand_session"
STATE_COOKIE = "deckhand_oauth_state"
FLASH_COOKIE = "deckhand_flash"
SESSION_SECONDS = 8 * 3600
STATE_SECONDS = 600
FLASH_SECONDS = 60


@dataclass(frozen=True)
class Session:
    """A signed-in person. `token` is their GitHub token: never logged nor rendered."""

    id: str
    login: str
    user_id: int
    csrf: str
    token: str = field(repr=False)
    expires_at: float = 0.0

    def csrf_matches(self, sent: object) -> bool:
        return isinstance(sent, str) and hmac.compare_digest(sent, self.csrf)


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


def new_session_id() -> str:
    return secrets.token_urlsafe(32)


def set_session(response: web.StreamResponse, settings: Settings, session_id: str) -> None:
    value = _serializer(settings, "session").dumps(session_id)
    _set(response, settings, SESSION_COOKIE, value, SESSION_SECONDS)


def session_id(request: web.Request, settings: Settings) -> str | None:
    """The request's session id, or None when the cookie is missing, forged or expired."""
    return session_id_value(settings, request.cookies.get(SESSION_COOKIE, ""))


def session_id_value(settings: Settings, value: str) -> str | None:
    if not value:
        return None
    try:
        sid = _serializer(settings, "session").loads(value, max_age=SESSION_SECONDS)
    except (BadSignature, ValueError, TypeError):
        return None
    return sid if isinstance(sid, str) and sid else None


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


def set_flash(response: web.StreamResponse, settings: Settings, message: str) -> None:
    """A message for the next page the browser opens (after a redirect)."""
    _set(
        response,
        settings,
        FLASH_COOKIE,
        _serializer(settings, "flash").dumps(message),
        FLASH_SECONDS,
    )


def read_flash(request: web.Request, settings: Settings) -> str | None:
    value = request.cookies.get(FLASH_COOKIE)
    if not value:
        return None
    try:
        message = _serializer(settings, "flash").loads(value, max_age=FLASH_SECONDS)
    except BadSignature:
        return None
    return message if isinstance(message, str) else None


def clear(response: web.StreamResponse, *names: str) -> None:
    for name in names:
        response.del_cookie(name, path="/")
