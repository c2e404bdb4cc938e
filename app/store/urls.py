"""The contract's database URLs (`sqlite:///PATH`, `postgresql://...`, `postgres://...`)
as SQLAlchemy names them; no connection is made here."""

from __future__ import annotations

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError


def engine_url(database_url: str) -> str:
    """Map the contract's URL forms onto SQLAlchemy's drivers (Postgres through psycopg 3)."""
    url = make_url(database_url)
    if url.drivername in ("postgres", "postgresql"):
        return str(url.set(drivername="postgresql+psycopg"))
    return database_url


def backend_of(database_url: str) -> str | None:
    """`sqlite`, `postgresql` or another backend's name; None when it is not a URL."""
    try:
        return make_url(engine_url(database_url)).get_backend_name()
    except ArgumentError:
        return None
