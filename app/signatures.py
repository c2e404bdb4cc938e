"""HMAC signatures on inbound webhooks, compared in constant time."""

from __future__ import annotations

import hashlib
import hmac


def hmac_sha256(secret: str, body: bytes) -> str:
    return hmac.digest(secret.encode(), body, hashlib.sha256).hex()


def matches(expected_hex: str, given: str) -> bool:
    """Constant-time comparison of a hex digest with what the sender claims."""
    return hmac.compare_digest(expected_hex.encode(), given.strip().lower().encode())


def github_signature_error(secret: str, body: bytes, header: str | None) -> str | None:
    """Why `X-Hub-Signature-256` does not authenticate `body`, or None when it does."""
    if not header:
        return "missing X-Hub-Signature-256 header"
    algorithm, _, digest = header.partition("=")
    if algorithm != "sha256" or not digest:
        return "X-Hub-Signature-256 must be sha256=<hex digest>"
    if not matches(hmac_sha256(secret, body), digest):
        return "signature does not match the payload"
    return None
