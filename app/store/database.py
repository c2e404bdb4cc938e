"""The database handle: one async engine from `DATABASE_URL`, migrated to the newest schema.

`sqlite:///path` (the embedded default) runs in WAL mode with full fsync on commit, so a
committed row survives a crash or `kill -9`; `postgresql://...` uses asyncpg.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import event, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

MIGRATIONS = Path(__file__).parent / "migrations"


def async_url(database_url: str) -> str:
    """Map the contract's URL forms onto SQLAlchemy's async drivers."""
    url = make_url(database_url)
    driver = {"sqlite": "sqlite+aiosqlite", "postgresql": "postgresql+asyncpg"}.get(url.drivername)
    if url.drivername == "postgres":
        driver = "postgresql+asyncpg"
    return str(url.set(drivername=driver)) if driver else database_url


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


class Database:
    """Owns the engine; `connect()` for reads, `begin()` for a transaction."""

    def __init__(self, database_url: str) -> None:
        url = make_url(async_url(database_url))
        self.is_sqlite = url.get_backend_name() == "sqlite"
        kwargs: dict[str, Any] = {}
        if self.is_sqlite and url.database and url.database != ":memory:":
            Path(url.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
            kwargs["connect_args"] = {"timeout": 30}
        else:
            kwargs["pool_pre_ping"] = True
        self.engine: AsyncEngine = create_async_engine(url, **kwargs)
        if self.is_sqlite:
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)

    def connect(self) -> Any:
        return self.engine.connect()

    def begin(self) -> Any:
        return self.engine.begin()

    async def migrate(self) -> None:
        """Bring the schema to the newest revision (safe to run on every start)."""

        def upgrade(connection: Connection) -> None:
            config = Config()
            config.set_main_option("script_location", str(MIGRATIONS))
            config.attributes["connection"] = connection
            command.upgrade(config, "head")

        async with self.engine.begin() as conn:
            await conn.run_sync(upgrade)

    async def ping(self) -> None:
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def close(self) -> None:
        await self.engine.dispose()
