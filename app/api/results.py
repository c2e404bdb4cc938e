"""ApiResults: the answer to each command sent through the HTTP API, for its caller."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import select

from app.store.database import Database
from app.store.schema import api_results
from app.store.upsert import upsert


class ApiResults:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def put(self, job_id: str, login: str, ok: bool, reply: str) -> None:
        row = {
            "job_id": job_id,
            "login": login,
            "ok": int(ok),
            "reply": reply,
            "finished_at": time.time(),
        }
        await self.db.transaction(lambda conn: upsert(conn, api_results, [row], ["job_id"]))

    async def get(self, job_id: str) -> dict[str, Any] | None:
        def read(conn: Any) -> dict[str, Any] | None:
            row = conn.execute(select(api_results).where(api_results.c.job_id == job_id)).first()
            return dict(row._mapping) if row else None

        return await self.db.read(read)
