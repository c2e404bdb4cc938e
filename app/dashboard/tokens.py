"""Encryption at rest of the people's GitHub tokens kept with their dashboard sessions.

A Fernet key (AES-128-CBC with HMAC-SHA256) is derived with HKDF-SHA256 from the same
secret that signs the dashboard's cookies (the App's OAuth client secret), so every web
replica configured alike can read what another stored, and a stolen database alone does
not give the tokens away. A token that no longer decrypts (the secret changed) reads as
None: that person signs in again. Nothing here logs or returns a token in an error.
"""

from __future__ import annotations

import base64

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from app.config.settings import Settings

_INFO = b"deckhand-dashboard-token-encryption-v1"


def _fernet(settings: Settings) -> Fernet:
    secret = settings.github_client_secret
    assert secret is not None, "the dashboard is off without GITHUB_CLIENT_SECRET"
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO).derive(
        secret.get_secret_value().encode()
    )
    return Fernet(base64.urlsafe_b64encode(key))


def encrypt(settings: Settings, token: str) -> str:
    return _fernet(settings).encrypt(token.encode()).decode("ascii")


def decrypt(settings: Settings, stored: str) -> str | None:
    try:
        return _fernet(settings).decrypt(stored.encode("ascii")).decode()
    except (InvalidToken, ValueError):
        return None
