"""RSA key pairs for a test GitHub App (used by the ``app_keys`` fixture)."""

from __future__ import annotations

from dataclasses import dataclass

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa


@dataclass(frozen=True)
class AppKeys:
    """A GitHub App's identity for tests: its id and an RSA key pair (PEM strings)."""

    app_id: int
    private_pem: str
    public_pem: str


def generate_app_keys(app_id: int = 4242) -> AppKeys:
    """Generate a fresh 2048-bit RSA key pair (about 0.1 s: generate once, reuse)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    public_pem = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return AppKeys(app_id=app_id, private_pem=private_pem, public_pem=public_pem)
