"""InstallationStore: which accounts installed the App and which repositories it may act on.

Kept current from `installation` and `installation_repositories` events, so the dashboard,
the alert endpoints and the admin commands can tell an installed repository from others.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, delete, func, select

from app.store.database import Database
from app.store.schema import installation_repositories, installations
from app.store.upsert import upsert

ACTIVE, SUSPENDED, DELETED = "active", "suspended", "deleted"


def _add(conn: Connection, installation_id: int, repositories: list[dict[str, Any]]) -> None:
    rows = [
        {
            "installation_id": installation_id,
            "repository": r["full_name"],
            "repository_id": r.get("id"),
        }
        for r in repositories
    ]
    upsert(conn, installation_repositories, rows, keys=["installation_id", "repository"])


def _record(
    conn: Connection, installation: dict[str, Any], status: str, repositories: list[dict[str, Any]]
) -> None:
    account = installation.get("account") or {}
    row = {
        "id": installation["id"],
        "account": account.get("login") or account.get("slug") or "",
        "account_type": account.get("type"),
        "status": status,
        "updated_at": time.time(),
    }
    upsert(conn, installations, [row], keys=["id"])
    if status == DELETED:
        conn.execute(
            delete(installation_repositories).where(
                installation_repositories.c.installation_id == installation["id"]
            )
        )
        return
    _add(conn, installation["id"], repositories)


def _get(conn: Connection, installation_id: int) -> dict[str, Any] | None:
    row = conn.execute(select(installations).where(installations.c.id == installation_id)).first()
    if row is None:
        return None
    repos = conn.execute(
        select(installation_repositories.c.repository)
        .where(installation_repositories.c.installation_id == installation_id)
        .order_by(installation_repositories.c.repository)
    ).scalars()
    return {**row._mapping, "repositories": list(repos)}


def _add_repositories(
    conn: Connection, installation: dict[str, Any], repositories: list[dict[str, Any]]
) -> None:
    existing = conn.execute(
        select(installations.c.status).where(installations.c.id == installation["id"])
    ).scalar()
    if existing == DELETED:
        return  # a late `installation_repositories` must not bring an uninstall back
    if existing is None:
        _record(conn, installation, ACTIVE, repositories)
        return
    _add(conn, installation["id"], repositories)


class InstallationStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def record(
        self, installation: dict[str, Any], status: str, repositories: Iterable[dict[str, Any]] = ()
    ) -> None:
        """Store the installation's status and add the given repositories to it."""
        await self.db.transaction(_record, installation, status, list(repositories))

    async def add_repositories(
        self, installation: dict[str, Any], repositories: Iterable[dict[str, Any]]
    ) -> None:
        """Add repositories to an installation, leaving its status as it is."""
        await self.db.transaction(_add_repositories, installation, list(repositories))

    async def remove_repositories(
        self, installation_id: int, repositories: Iterable[dict[str, Any]]
    ) -> None:
        names = [repo["full_name"] for repo in repositories]
        if not names:
            return
        statement = delete(installation_repositories).where(
            installation_repositories.c.installation_id == installation_id,
            installation_repositories.c.repository.in_(names),
        )
        await self.db.transaction(lambda conn: conn.execute(statement))

    async def installation_for(self, repository: str) -> int | None:
        """The active installation that covers `owner/name`, if any."""
        query = (
            select(installations.c.id)
            .join(
                installation_repositories,
                installation_repositories.c.installation_id == installations.c.id,
            )
            .where(
                # GitHub's names are case-insensitive: ?repo=Octo-Org/Widgets is the same
                func.lower(installation_repositories.c.repository) == repository.lower(),
                installations.c.status == ACTIVE,
            )
        )
        return await self.db.read(lambda conn: conn.execute(query).scalar())

    async def get(self, installation_id: int) -> dict[str, Any] | None:
        return await self.db.read(_get, installation_id)
