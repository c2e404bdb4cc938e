"""AlertTracker: what the alert jobs do on GitHub, idempotently, for one repository.

- `process` (job `deckhand_alert`): count the batch in the database, open the issue of a
  fingerprint seen for the first time, label (and with `auto_close`, close) the issue of
  a resolved one, and schedule the fingerprint's flush.
- `flush` (job `deckhand_alert_flush`, one per fingerprint and `update_interval` bucket,
  with a deterministic id): bring the issue up to date with the counts: edit the one
  occurrence comment, reopen a recently closed issue that fires again, or open a new
  issue linking the old one when it was closed longer than `reopen_window` ago.
- `triage` (job `deckhand_alert_triage`): the optional AI comment.

A storm therefore costs one database update per alert and at most one GitHub edit per
fingerprint and bucket. An issue is created only by the job that claimed the fingerprint
in the database; a claim that lapsed (its job died) means the issue may exist already,
so it is looked for by its marker before another is created.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from gidgethub import BadRequest

from app.alerts import issues
from app.alerts.sources import Alert
from app.alerts.store import (
    CLOSED,
    CREATING,
    FIRING,
    OPEN,
    RESOLVED_DONE,
    RESOLVED_PENDING,
    AlertRow,
    AlertStore,
)
from app.alerts.suspect import suspect_deployment
from app.alerts.triage import triage
from app.config.repo import AlertsConfig
from app.deploy.store import DeployStore
from app.queue.errors import RetryLater
from app.store.deliveries import DeliveryStore

ALERT_EVENT = "deckhand_alert"
FLUSH_EVENT = "deckhand_alert_flush"
TRIAGE_EVENT = "deckhand_alert_triage"
RESOLVED_LABEL = "resolved"
RECENT_ISSUES = 100  # how far back the marker search looks
WAITING = "another job is opening this alert's issue"


@dataclass
class AlertTracker:
    gh: Any
    db: Any
    settings: Any
    config: AlertsConfig
    repository: str
    installation_id: int
    log: Any

    def __post_init__(self) -> None:
        self.store = AlertStore(self.db)
        self.owner, self.name = self.repository.split("/", 1)

    # ------------------------------------------------------------------- the jobs
    async def process(self, batch_id: str, alerts: list[Alert]) -> None:
        interval = self.config.update_interval.total_seconds()
        recorded = await self.store.record(
            self.repository, batch_id, alerts, self.config.environment, interval
        )
        flushes = dict(recorded.flushes)
        if not recorded.counted:  # a retry: the first attempt may have died before scheduling
            now = time.time()
            flushes = {
                k: r.flush_at
                for k, r in recorded.rows.items()
                if r.flush_at is not None and r.flush_at > now
            }
        for key, due in flushes.items():
            await self._schedule(FLUSH_EVENT, f"alert-flush:{key}:{int(due * 1000)}", key, due)
        for key, row in recorded.rows.items():
            if row.issue_number is None and row.resolved == FIRING:
                if row.state == CREATING and (row.claimed_until or 0) > time.time():
                    continue  # another job is opening it; the flush catches up
                await self.ensure_issue(key)
            elif row.issue_number is not None and row.resolved == RESOLVED_PENDING:
                await self.resolve(row)

    async def flush(self, key: str) -> None:
        row = await self.store.get(self.repository, key)
        if row is None:
            return
        if row.issue_number is None:
            if row.resolved != FIRING:
                return
            # Another job is opening the issue: look again soon (its claim may last a
            # minute, but the issue usually exists within a second or two).
            soon = time.time() + max(1.0, self.config.update_interval.total_seconds())
            if row.state == CREATING and (row.claimed_until or 0) > time.time():
                raise RetryLater(WAITING, at=min(soon, row.claimed_until or soon))
            if await self.ensure_issue(key) is None:
                raise RetryLater(WAITING, at=soon)
            row = await self.store.get(self.repository, key)
            assert row is not None and row.issue_number is not None
        issue = await self.gh.getitem(
            "/repos/{owner}/{repo}/issues/{issue_number}", url_vars=self._vars(row.issue_number)
        )
        if issue.get("state") == "closed":
            closed_at = _epoch(issue.get("closed_at")) or time.time()
            if row.resolved != FIRING or row.last_seen <= closed_at:
                return  # closed, and nothing fired since
            if time.time() - closed_at <= self.config.reopen_window.total_seconds():
                await self._edit_issue(row, issue, state="open")
                await self.store.update(self.repository, key, state=OPEN)
                self.log.info("alert_issue_reopened", issue=row.issue_number, key=key)
            else:
                await self.store.supersede(self.repository, key, row)
                number = await self.ensure_issue(key)
                self.log.info("alert_issue_superseded", old=row.issue_number, new=number, key=key)
                return
        elif row.resolved == FIRING and _has_label(issue, RESOLVED_LABEL):
            await self._edit_issue(row, issue)
        if row.occurrences > 1 and row.count != row.shown_count:
            await self._occurrences(row)

    async def resolve(self, row: AlertRow) -> None:
        """The alert stopped: label its issue, and close it when `auto_close` says so."""
        assert row.issue_number is not None
        await self.gh.post(
            "/repos/{owner}/{repo}/issues/{issue_number}/labels",
            url_vars=self._vars(row.issue_number),
            data={"labels": [RESOLVED_LABEL]},
        )
        values: dict[str, Any] = {"resolved": RESOLVED_DONE}
        if self.config.auto_close:
            await self.gh.patch(
                "/repos/{owner}/{repo}/issues/{issue_number}",
                url_vars=self._vars(row.issue_number),
                data={"state": "closed", "state_reason": "completed"},
            )
            values["state"] = CLOSED
        await self.store.update(self.repository, row.key, **values)
        self.log.info("alert_resolved", issue=row.issue_number, closed=self.config.auto_close)

    async def triage(self, key: str, issue_number: int) -> None:
        row = await self.store.get(self.repository, key)
        if row is None or row.triaged_issue == issue_number:
            return
        cause = await triage(row.latest, self.settings)
        if cause is not None:
            await self.gh.post(
                "/repos/{owner}/{repo}/issues/{issue_number}/comments",
                url_vars=self._vars(issue_number),
                data={"body": issues.triage_comment(cause)},
            )
        await self.store.update(self.repository, key, triaged_issue=issue_number)

    # ------------------------------------------------------------------ the issue
    async def ensure_issue(self, key: str) -> int | None:
        """Open the fingerprint's issue if this job wins the claim; None if another holds it."""
        before = await self.store.claim(self.repository, key)
        if before is None:
            return None
        try:
            row = await self.store.get(self.repository, key)
            assert row is not None
            number = await self._find(key) if before == CREATING else None
            if number is None:
                number = await self._create(row)
            await self.store.update(
                self.repository,
                key,
                state=OPEN,
                issue_number=number,
                claimed_until=None,
                shown_count=row.count,
            )
        except BaseException:
            await self.store.release(self.repository, key)
            raise
        if self.settings.openai_api_key is not None:
            await self._schedule(TRIAGE_EVENT, f"alert-triage:{key}:{number}", key, None, number)
        return number

    async def _create(self, row: AlertRow) -> int:
        alert = row.latest
        suspect = await suspect_deployment(
            self.gh, DeployStore(self.db), self.repository, row.environment, row.first_seen
        )
        text = issues.body(
            row.key,
            alert,
            row.environment,
            row.occurrences,
            row.first_seen,
            suspect,
            self.settings.github_web_url,
            self.repository,
            row.previous_issue,
        )
        data: dict[str, Any] = {
            "title": issues.title(self.config, alert, row.environment),
            "body": text,
            "labels": issues.labels(self.config, alert),
        }
        if self.config.assignees:
            data["assignees"] = list(self.config.assignees)
        created = await self.gh.post(
            "/repos/{owner}/{repo}/issues", url_vars=self._vars(), data=data
        )
        self.log.info(
            "alert_issue_opened",
            issue=created["number"],
            key=row.key,
            suspect=suspect.deployment.id if suspect else None,
        )
        return int(created["number"])

    async def _find(self, key: str) -> int | None:
        """The issue a lapsed claim may have opened, by its marker among recent issues."""
        found = await self.gh.getitem(
            "/repos/{owner}/{repo}/issues{?state,sort,direction,per_page}",
            url_vars={
                **self._vars(),
                "state": "all",
                "sort": "created",
                "direction": "desc",
                "per_page": str(RECENT_ISSUES),
            },
        )
        wanted = issues.marker(key)
        for issue in found:
            if wanted in (issue.get("body") or "") and "pull_request" not in issue:
                return int(issue["number"])
        return None

    async def _edit_issue(self, row: AlertRow, issue: dict[str, Any], **values: Any) -> None:
        """Drop the `resolved` label (the alert fires again), plus any other change."""
        labels = [
            label["name"] if isinstance(label, dict) else str(label)
            for label in issue.get("labels") or []
        ]
        assert row.issue_number is not None
        await self.gh.patch(
            "/repos/{owner}/{repo}/issues/{issue_number}",
            url_vars=self._vars(row.issue_number),
            data={"labels": [name for name in labels if name != RESOLVED_LABEL], **values},
        )

    async def _occurrences(self, row: AlertRow) -> None:
        """Create or edit the occurrence comment; a lost id is found again by its marker."""
        assert row.issue_number is not None
        body = issues.occurrences_comment(row.key, row)
        comment_id = row.comment_id
        if comment_id is None:
            comment_id = await self._find_comment(row.issue_number, row.key)
        if comment_id is not None:
            try:
                await self.gh.patch(
                    "/repos/{owner}/{repo}/issues/comments/{comment_id}",
                    url_vars={**self._vars(), "comment_id": str(comment_id)},
                    data={"body": body},
                )
            except BadRequest as exc:
                if int(exc.status_code) != 404:
                    raise
                comment_id = None  # deleted by someone: write a new one
        if comment_id is None:
            created = await self.gh.post(
                "/repos/{owner}/{repo}/issues/{issue_number}/comments",
                url_vars=self._vars(row.issue_number),
                data={"body": body},
            )
            comment_id = int(created["id"])
        await self.store.update(
            self.repository, row.key, comment_id=comment_id, shown_count=row.count
        )

    async def _find_comment(self, issue_number: int, key: str) -> int | None:
        wanted = issues.occurrence_marker(key)
        async for comment in self.gh.getiter(
            "/repos/{owner}/{repo}/issues/{issue_number}/comments{?per_page}",
            url_vars={**self._vars(issue_number), "per_page": "100"},
        ):
            if wanted in (comment.get("body") or ""):
                return int(comment["id"])
        return None

    # -------------------------------------------------------------------- helpers
    def _vars(self, issue_number: int | None = None) -> dict[str, str]:
        out = {"owner": self.owner, "repo": self.name}
        if issue_number is not None:
            out["issue_number"] = str(issue_number)
        return out

    async def _schedule(
        self, event: str, job_id: str, key: str, at: float | None, issue: int | None = None
    ) -> None:
        await DeliveryStore(self.db).schedule(
            job_id,
            event,
            {"key": key, "issue": issue},
            repository=self.repository,
            installation_id=self.installation_id,
            at=at,
        )


def _has_label(issue: dict[str, Any], name: str) -> bool:
    return any(
        (label.get("name") if isinstance(label, dict) else label) == name
        for label in issue.get("labels") or []
    )


def _epoch(value: Any) -> float | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None
