"""Authentication the way GitHub does it, for the fake GitHub server.

* App endpoints (``/app``, ``/app/...``, ``.../installation``) need
  ``Authorization: Bearer <JWT>``: RS256-signed with the App's private key, ``iss`` the
  App id (or client id), ``iat`` not in the future (60 s of clock drift tolerated),
  ``exp`` in the future but at most 10 minutes after ``iat``.
* Everything else needs ``Authorization: token <installation token>`` (or ``Bearer``)
  with a token the fake issued that is neither expired nor revoked.

Failures raise :class:`AuthError` carrying GitHub's own wording. :func:`encode_app_jwt`
mints a JWT the way GitHub's docs recommend, for tests that call the fake directly.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Final

import jwt

from .state import App, GitHubState, IssuedToken

MAX_JWT_LIFETIME: Final = 600  # seconds
CLOCK_DRIFT: Final = 60  # seconds of tolerated skew

JWT_UNDECODABLE: Final = "A JSON web token could not be decoded"
JWT_EXPIRED: Final = (
    "'Expiration time' claim ('exp') must be a numeric value representing the future "
    "time at which the assertion expires"
)
JWT_TOO_LONG: Final = "'Expiration time' claim ('exp') is too far in the future"
JWT_IAT_FUTURE: Final = (
    "'Issued at' claim ('iat') must be an Integer representing the time that the "
    "assertion was issued"
)
JWT_BAD_ISS: Final = "'Issuer' claim ('iss') must be an Integer"
JWT_UNKNOWN_APP: Final = "Integration not found"
BAD_CREDENTIALS: Final = "Bad credentials"
REQUIRES_AUTH: Final = "Requires authentication"

_JWT_INSTALLATION_PATHS: Final = frozenset(
    {
        "/repos/{owner}/{repo}/installation",
        "/orgs/{org}/installation",
        "/users/{username}/installation",
    }
)


class AuthError(Exception):
    """Authentication failed; ``message`` is what GitHub says (always a 401)."""

    def __init__(self, message: str, *, reason: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.reason = reason or message


@dataclass(frozen=True, slots=True)
class AppIdentity:
    """The caller authenticated as the App with a JWT."""

    claims: dict[str, Any]

    @property
    def rate_limit_key(self) -> int | None:
        return None


@dataclass(frozen=True, slots=True)
class InstallationIdentity:
    """The caller authenticated with an installation access token."""

    token: IssuedToken

    @property
    def installation_id(self) -> int:
        return self.token.installation_id

    @property
    def rate_limit_key(self) -> int | None:
        return self.token.installation_id


@dataclass(frozen=True, slots=True)
class UserIdentity:
    """The caller authenticated with a user's token (a `gh auth token`), for `GET /user`."""

    login: str

    @property
    def rate_limit_key(self) -> int | None:
        return None


@dataclass(frozen=True, slots=True)
class AnonymousIdentity:
    """No credentials: the few operations GitHub serves without any (the manifest flow)."""

    @property
    def rate_limit_key(self) -> int | None:
        return None


Identity = AppIdentity | InstallationIdentity | UserIdentity | AnonymousIdentity

# Operations that take no Authorization at all (a temporary code is the credential).
NO_AUTH_PATHS: Final = frozenset({"/app-manifests/{code}/conversions"})


def verify_user_token(header: str | None, *, user_tokens: dict[str, str]) -> UserIdentity:
    """Check an ``Authorization`` header carrying a user token seeded with add_user_token."""
    parts = split_authorization(header)
    if parts is None:
        raise AuthError(REQUIRES_AUTH, reason="no Authorization header")
    login = user_tokens.get(parts[1])
    if parts[0] not in ("token", "bearer") or login is None:
        raise AuthError(BAD_CREDENTIALS, reason="not a user token this fake issued")
    return UserIdentity(login)


def requires_jwt(path_template: str) -> bool:
    """Whether GitHub wants an App JWT (rather than a token) for this operation."""
    return (
        path_template == "/app"
        or path_template.startswith("/app/")
        or path_template in _JWT_INSTALLATION_PATHS
    )


def split_authorization(header: str | None) -> tuple[str, str] | None:
    """``"Bearer abc"`` -> ``("bearer", "abc")``; ``None`` if absent or malformed."""
    if not header:
        return None
    scheme, _, credentials = header.strip().partition(" ")
    credentials = credentials.strip()
    if not credentials:
        return None
    return scheme.lower(), credentials


def verify_app_jwt(header: str | None, *, app: App, public_key_pem: str, now: float) -> AppIdentity:
    """Check an ``Authorization`` header carrying an App JWT; return the identity."""
    parts = split_authorization(header)
    if parts is None or parts[0] != "bearer":
        raise AuthError(JWT_UNDECODABLE, reason="missing 'Authorization: Bearer <JWT>'")
    try:
        claims: dict[str, Any] = jwt.decode(
            parts[1],
            public_key_pem,
            algorithms=["RS256"],
            options={
                "verify_exp": False,  # checked below, against the fake's clock
                "verify_iat": False,
                "verify_nbf": False,
                "verify_aud": False,
                "require": ["iat", "exp", "iss"],
            },
        )
    except jwt.MissingRequiredClaimError as exc:
        raise AuthError(JWT_UNDECODABLE, reason=f"JWT lacks a claim: {exc}") from exc
    except jwt.PyJWTError as exc:
        raise AuthError(JWT_UNDECODABLE, reason=f"JWT rejected: {exc}") from exc

    iss, iat, exp = claims["iss"], claims["iat"], claims["exp"]
    if not isinstance(iat, int | float) or isinstance(iat, bool):
        raise AuthError(JWT_IAT_FUTURE, reason=f"iat is not a number: {iat!r}")
    if not isinstance(exp, int | float) or isinstance(exp, bool):
        raise AuthError(JWT_EXPIRED, reason=f"exp is not a number: {exp!r}")
    if str(iss) != str(app.id) and iss != app.client_id:
        if not str(iss).isdigit():
            raise AuthError(JWT_BAD_ISS, reason=f"iss {iss!r} is not the app id")
        raise AuthError(JWT_UNKNOWN_APP, reason=f"iss {iss!r} is not app {app.id}")
    if iat > now + CLOCK_DRIFT:
        raise AuthError(JWT_IAT_FUTURE, reason=f"iat is {iat - now:.0f}s in the future")
    if exp <= now:
        raise AuthError(JWT_EXPIRED, reason=f"JWT expired {now - exp:.0f}s ago")
    if exp - iat > MAX_JWT_LIFETIME or exp > now + MAX_JWT_LIFETIME + CLOCK_DRIFT:
        raise AuthError(
            JWT_TOO_LONG, reason=f"exp - iat = {exp - iat:.0f}s (max {MAX_JWT_LIFETIME}s)"
        )
    return AppIdentity(claims)


def verify_token(header: str | None, *, state: GitHubState, now: float) -> InstallationIdentity:
    """Check an ``Authorization`` header carrying an installation token."""
    parts = split_authorization(header)
    if parts is None:
        raise AuthError(REQUIRES_AUTH, reason="no Authorization header")
    scheme, credentials = parts
    if scheme not in ("token", "bearer"):
        raise AuthError(BAD_CREDENTIALS, reason=f"unsupported scheme {scheme!r}")
    token = state.tokens.get(credentials)
    if token is None:
        looks_like_jwt = credentials.count(".") == 2
        reason = (
            "a JWT was sent where an installation token is needed"
            if looks_like_jwt
            else "token was never issued by this fake"
        )
        raise AuthError(BAD_CREDENTIALS, reason=reason)
    if token.revoked:
        raise AuthError(BAD_CREDENTIALS, reason="token was revoked")
    if token.expires_at <= now:
        raise AuthError(BAD_CREDENTIALS, reason="token expired")
    return InstallationIdentity(token)


def encode_app_jwt(
    private_key_pem: str,
    app_id: int | str,
    *,
    now: float | None = None,
    iat_offset: float = -60,
    lifetime: float = 600,
    **extra_claims: Any,
) -> str:
    """Mint an App JWT as GitHub's docs recommend.

    ``iat = now + iat_offset`` (default: 60 s in the past, against clock drift) and
    ``exp = iat + lifetime`` (default: 600 s, the maximum GitHub accepts).
    """
    now = time.time() if now is None else now
    iat = int(now + iat_offset)
    payload = {"iat": iat, "exp": int(iat + lifetime), "iss": str(app_id), **extra_claims}
    return jwt.encode(payload, private_key_pem, algorithm="RS256")
