"""Fresh Postgres databases for tests, created through the `postgres` maintenance database.

`DECKHAND_TEST_DATABASE=postgres` makes `make_settings` (so every Deckhand the tests
start) use a database of its own per test instead of a SQLite file; the server is
`DECKHAND_TEST_POSTGRES_URL` (default: `postgres` on 127.0.0.1:5432, trust auth).
tests/store/test_postgres.py always runs on Postgres, and skips only when it is
unreachable. The databases `make_settings` created are dropped when each test ends (an
autouse fixture in tests/conftest.py), and any left over when pytest exits.
"""

from __future__ import annotations

import atexit
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from functools import cache
from typing import Any

import psycopg
import pytest
from psycopg import sql
from sqlalchemy.engine import make_url

from app.store.database import Database

ADMIN_URL = os.environ.get(
    "DECKHAND_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
_created: dict[str, str] = {}  # make_settings' databases: key (the test's tmp_path) -> URL


def selected() -> bool:
    """True when the suite was asked to run on Postgres."""
    return os.environ.get("DECKHAND_TEST_DATABASE", "").lower() in ("postgres", "postgresql")


def _admin() -> psycopg.Connection:
    return psycopg.connect(ADMIN_URL, autocommit=True, connect_timeout=3)


@cache
def unreachable() -> str | None:
    """Why Postgres cannot be used, or None when it answers."""
    try:
        with _admin() as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        return f"Postgres at {make_url(ADMIN_URL).render_as_string()} is unreachable: {exc}"
    return None


def create_database() -> str:
    """A new, empty database with a unique name; returns its URL."""
    name = f"deckhand_test_{uuid.uuid4().hex[:16]}"
    with _admin() as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)


def drop_database(url: str) -> None:
    name = str(make_url(url).database)
    statement = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")  # a test may leave it open
    with _admin() as conn:
        conn.execute(statement.format(sql.Identifier(name)))


def database_for(key: str) -> str:
    """One database per key (the test's tmp_path), so a restarted Deckhand finds its state."""
    if key not in _created:
        reason = unreachable()
        if reason:
            pytest.fail(f"DECKHAND_TEST_DATABASE=postgres, but {reason}")
        _created[key] = create_database()
    return _created[key]


def fresh_database() -> Iterator[str]:
    """A pytest fixture body: a new database for one test, dropped after it; the test is
    skipped when Postgres does not answer."""
    reason = unreachable()
    if reason:
        pytest.skip(reason)
    url = create_database()
    yield url
    drop_database(url)


async def migrated_database(kind: str, tmp_path: Any) -> AsyncIterator[Database]:
    """A migrated database of `kind` ("sqlite" or "postgres") for one test, closed (and
    a Postgres one dropped) after it; Postgres skips when it does not answer."""
    urls: Iterator[str] = (
        iter([f"sqlite:///{tmp_path}/deckhand.db"]) if kind == "sqlite" else fresh_database()
    )
    database = Database(next(urls))
    await database.migrate()
    yield database
    await database.close()
    next(urls, None)  # drops the Postgres database


def drop_created() -> None:
    while _created:
        _, url = _created.popitem()
        drop_database(url)


atexit.register(drop_created)
