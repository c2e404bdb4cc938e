"""ReviewStore: what the review bot remembers between runs.

- the newest head commit asked for per pull request or branch, so a run for an older
  commit notices it was superseded before it pushes or posts anything;
- each check run's target, so its "Apply fixes" button knows what to fix;
- each pull request's summary comment (edited in place) and the findings already
  commented on (an incremental review does not repeat them).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable

from sqlalchemy import Connection, select, update

from app.review.target import ReviewTarget
from app.store.database import Database
from app.store.schema import (
    review_check_runs,
    review_heads,
    review_pull_requests,
    review_reported,
)
from app.store.upsert import upsert


def _claim(conn: Connection, repository: str, key: str, head: str, requested_at: float) -> str:
    row = conn.execute(
        select(review_heads.c.head_sha, review_heads.c.requested_at).where(
            review_heads.c.repository == repository, review_heads.c.run_key == key
        )
    ).first()
    if row is None or row.requested_at <= requested_at:
        upsert(
            conn,
            review_heads,
            [
                {
                    "repository": repository,
                    "run_key": key,
                    "head_sha": head,
                    "requested_at": requested_at,
                }
            ],
            keys=["repository", "run_key"],
        )
        return head
    return str(row.head_sha)


def _latest(conn: Connection, repository: str, key: str) -> str | None:
    return conn.execute(
        select(review_heads.c.head_sha).where(
            review_heads.c.repository == repository, review_heads.c.run_key == key
        )
    ).scalar()


def _new_fingerprints(
    conn: Connection, repository: str, number: int, fingerprints: list[str]
) -> set[str]:
    known = set(
        conn.execute(
            select(review_reported.c.fingerprint).where(
                review_reported.c.repository == repository,
                review_reported.c.number == number,
                review_reported.c.fingerprint.in_(fingerprints),
            )
        ).scalars()
    )
    return set(fingerprints) - known


class ReviewStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def claim(self, target: ReviewTarget, requested_at: float) -> str:
        """Record `target.head_sha` as the newest unless a later request is already
        recorded; returns the newest head (ours when we are the newest)."""
        return await self.db.transaction(
            _claim, target.repository.lower(), target.run_key, target.head_sha, requested_at
        )

    async def latest_head(self, target: ReviewTarget) -> str | None:
        return await self.db.read(_latest, target.repository.lower(), target.run_key)

    async def check_run_for(self, delivery_id: str) -> int | None:
        """The check run an earlier attempt at this delivery created, if any."""
        return await self.db.read(
            lambda conn: conn.execute(
                select(review_check_runs.c.check_run_id).where(
                    review_check_runs.c.delivery_id == delivery_id
                )
            ).scalar()
        )

    async def remember_check_run(
        self, check_run_id: int, delivery_id: str, target: ReviewTarget
    ) -> None:
        row = {
            "check_run_id": check_run_id,
            "delivery_id": delivery_id,
            "repository": target.repository.lower(),
            "head_sha": target.head_sha,
            "target": json.dumps(target.to_dict()),
            "created_at": time.time(),
        }
        await self.db.transaction(
            lambda conn: upsert(conn, review_check_runs, [row], ["check_run_id"])
        )

    async def target_of(self, check_run_id: int) -> ReviewTarget | None:
        raw = await self.db.read(
            lambda conn: conn.execute(
                select(review_check_runs.c.target).where(
                    review_check_runs.c.check_run_id == check_run_id
                )
            ).scalar()
        )
        return ReviewTarget.from_dict(json.loads(raw)) if raw else None

    async def summary_comment(self, repository: str, number: int) -> int | None:
        return await self.db.read(
            lambda conn: conn.execute(
                select(review_pull_requests.c.summary_comment_id).where(
                    review_pull_requests.c.repository == repository.lower(),
                    review_pull_requests.c.number == number,
                )
            ).scalar()
        )

    async def set_summary_comment(self, repository: str, number: int, comment_id: int) -> None:
        row = {"repository": repository.lower(), "number": number, "summary_comment_id": comment_id}
        await self.db.transaction(
            lambda conn: upsert(conn, review_pull_requests, [row], ["repository", "number"])
        )

    async def forget_summary_comment(self, repository: str, number: int) -> None:
        await self.db.transaction(
            lambda conn: conn.execute(
                update(review_pull_requests)
                .where(
                    review_pull_requests.c.repository == repository.lower(),
                    review_pull_requests.c.number == number,
                )
                .values(summary_comment_id=None)
            )
        )

    async def unreported(
        self, repository: str, number: int, fingerprints: Iterable[str]
    ) -> set[str]:
        wanted = sorted(set(fingerprints))
        if not wanted:
            return set()
        return await self.db.read(_new_fingerprints, repository.lower(), number, wanted)

    async def mark_reported(
        self, repository: str, number: int, fingerprints: Iterable[str]
    ) -> None:
        rows = [
            {"repository": repository.lower(), "number": number, "fingerprint": fp}
            for fp in sorted(set(fingerprints))
        ]
        await self.db.transaction(
            lambda conn: upsert(
                conn, review_reported, rows, ["repository", "number", "fingerprint"]
            )
        )
