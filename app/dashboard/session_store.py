"""SessionStore: dashboard sign-ins in the database, shared by every web replica.

A row is keyed by the sha256 of the session id (a leaked table does not give away live
cookies) and holds the login, the GitHub user id, the CSRF token and the person's GitHub
token encrypted (`tokens`). A row past its `expires_at` is refused and deleted; signing
in prunes every expired row. Signing out deletes the row, so the cookie is worthless on
every replica at once. Tokens are never logged.
"""

from __future__ import annotations

import hashlib
import secrets
import time

from sqlalchemy import Connection, delete, insert, select

from app.config.settings import Settings
from app.dashboard import tokens
from app.dashboard.sessions import SESSION_SECONDS, Session, new_session_id
from app.store.database import Database
from app.store.schema import dashboard_sessions


def id_hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


def _prune(conn: Connection, now: float) -> int:
    result = conn.execute(delete(dashboard_sessions).where(dashboard_sessions.c.expires_at <= now))
    return int(result.rowcount or 0)


class SessionStore:
    def __init__(self, db: Database, settings: Settings) -> None:
        self.db = db
        self.settings = settings

    async def open(self, login: str, user_id: int, token: str) -> Session:
        """A new session for a person who just signed in (expired rows are pruned)."""
        now = time.time()
        session = Session(
            id=new_session_id(),
            login=login,
            user_id=user_id,
            csrf=secrets.token_urlsafe(24),
            token=token,
            expires_at=now + SESSION_SECONDS,
        )
        row = {
            "id_hash": id_hash(session.id),
            "login": login,
            "user_id": user_id,
            "token": tokens.encrypt(self.settings, token),
            "csrf": session.csrf,
            "created_at": now,
            "expires_at": session.expires_at,
        }

        def work(conn: Connection) -> None:
            _prune(conn, now)
            conn.execute(insert(dashboard_sessions), [row])

        await self.db.transaction(work)
        return session

    async def get(self, session_id: str) -> Session | None:
        """The live session with this id; None if unknown, expired (then deleted) or
        its token no longer decrypts."""
        key = id_hash(session_id)
        row = await self.db.read(
            lambda conn: conn.execute(
                select(dashboard_sessions).where(dashboard_sessions.c.id_hash == key)
            ).first()
        )
        if row is None:
            return None
        if row.expires_at <= time.time():
            await self.close(session_id)
            return None
        token = tokens.decrypt(self.settings, row.token)
        if token is None:
            return None
        return Session(session_id, row.login, int(row.user_id), row.csrf, token, row.expires_at)

    async def close(self, session_id: str) -> None:
        key = id_hash(session_id)
        await self.db.transaction(
            lambda conn: conn.execute(
                delete(dashboard_sessions).where(dashboard_sessions.c.id_hash == key)
            )
        )

    async def prune(self) -> int:
        """Delete every expired session; returns how many."""
        return await self.db.transaction(_prune, time.time())
