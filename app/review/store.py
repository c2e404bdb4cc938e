"""ReviewStore: what the review bot remembers between runs.

- the newest head commit asked for per pull request or branch, so a run for an older
  commit notices it was superseded before it pushes or posts anything;
- each check run's target, so its "Apply fixes" button knows what to fix;
- each pull request's summary comment (edited in place) and the findings already
  commented on (an incremental review does not repeat them);
- each completed run's outcome (conclusion, findings by severity, the fix commit it
  pushed), keyed by its check run, for the dashboard's recent reviews.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import Connection, select, update

from app.review.target import ReviewTarget
from app.store.database import Database
from app.store.schema import (
    review_check_runs,
    review_heads,
    review_pull_requests,
    review_reported,
    review_runs,
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

    async def record_run(
        self,
        check_run_id: int,
        target: ReviewTarget,
        outcome: RunOutcome,
        finished_at: float | None = None,
    ) -> None:
        """Store (or, for the same check run, replace) a completed run's outcome. A fix
        commit once recorded stays: a retried job finds the branch moved by that very
        commit and pushes nothing, yet the run did push it."""
        row = {
            "check_run_id": check_run_id,
            "repository": target.repository.lower(),
            "pull_number": target.pull_number,
            "branch": target.head_branch,
            "head_sha": target.head_sha,
            "conclusion": outcome.conclusion,
            "errors": outcome.errors,
            "warnings": outcome.warnings,
            "notices": outcome.notices,
            "fix_sha": outcome.fix_sha,
            "fixes": outcome.fixes if outcome.fix_sha else None,
            "finished_at": time.time() if finished_at is None else finished_at,
        }

        def work(conn: Connection) -> None:
            if row["fix_sha"] is None:
                pushed = conn.execute(
                    select(review_runs.c.fix_sha, review_runs.c.fixes).where(
                        review_runs.c.check_run_id == check_run_id
                    )
                ).first()
                if pushed is not None and pushed.fix_sha is not None:
                    row["fix_sha"], row["fixes"] = pushed.fix_sha, pushed.fixes
            upsert(conn, review_runs, [row], ["check_run_id"])

        await self.db.transaction(work)


@dataclass(frozen=True)
class RunOutcome:
    """What one completed run found and did, as `ReviewStore.record_run` stores it."""

    conclusion: str
    errors: int = 0
    warnings: int = 0
    notices: int = 0
    fix_sha: str | None = None  # the fix commit pushed, if one was
    fixes: int | None = None  # the fixes in it


@dataclass(frozen=True)
class ReviewRun:
    """One stored review (a check run Deckhand created), for the dashboard.

    `outcome` and `finished_at` are None while the run has not completed (or for a run
    that completed before outcomes were stored).
    """

    check_run_id: int
    head_sha: str
    pull_number: int | None
    branch: str | None
    created_at: float
    outcome: RunOutcome | None = None
    finished_at: float | None = None

    @property
    def findings(self) -> int | None:
        if self.outcome is None:
            return None
        return self.outcome.errors + self.outcome.warnings + self.outcome.notices


async def recent_reviews(db: Database, repository: str, limit: int = 20) -> list[ReviewRun]:
    """The repository's newest check runs, newest first, each with its outcome once
    the run has completed."""

    def read(conn: Connection) -> list[ReviewRun]:
        rows = conn.execute(
            select(
                review_check_runs,
                review_runs.c.conclusion,
                review_runs.c.errors,
                review_runs.c.warnings,
                review_runs.c.notices,
                review_runs.c.fix_sha,
                review_runs.c.fixes,
                review_runs.c.finished_at,
            )
            .select_from(
                review_check_runs.outerjoin(
                    review_runs, review_runs.c.check_run_id == review_check_runs.c.check_run_id
                )
            )
            .where(review_check_runs.c.repository == repository.lower())
            .order_by(
                review_check_runs.c.created_at.desc(), review_check_runs.c.check_run_id.desc()
            )
            .limit(limit)
        ).all()
        runs = []
        for row in rows:
            target = ReviewTarget.from_dict(json.loads(row.target))
            outcome = None
            if row.conclusion is not None:
                outcome = RunOutcome(
                    conclusion=row.conclusion,
                    errors=int(row.errors),
                    warnings=int(row.warnings),
                    notices=int(row.notices),
                    fix_sha=row.fix_sha,
                    fixes=None if row.fixes is None else int(row.fixes),
                )
            runs.append(
                ReviewRun(
                    check_run_id=int(row.check_run_id),
                    head_sha=row.head_sha,
                    pull_number=target.pull_number,
                    branch=target.head_branch,
                    created_at=float(row.created_at),
                    outcome=outcome,
                    finished_at=None if row.finished_at is None else float(row.finished_at),
                )
            )
        return runs

    return await db.read(read)
