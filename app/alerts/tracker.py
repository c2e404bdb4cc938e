"""AlertTracker: what the alert jobs do on GitHub, idempotently, for one repository.

- `process` (job `deckhand_alert`): count the batch in the database, open the issue of a
  fingerprint seen for the first time, label (and with `auto_close`, close) the issue of
  a resolved one, and schedule the fingerprint's flush.
- `flush` (job `deckhand_alert_flush`, one per fingerprint and `update_interval` bucket,
  with a deterministic id; each fingerprint's buckets are shifted by a share of the
  interval taken from its key, so a storm's issues are not all edited at once): bring
  the issue up to date with the counts: edit the one
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
from typing import Any

from app.alerts import issues
from app.alerts.sources import Alert, epoch_seconds
from app.alerts.store import (
    CLAIM_SECONDS,
    CLOSED,
    CREATING,
    FIRING,
    OPEN,
    RESOLVED_DONE,
    RESOLVED_PENDING,
    AlertRow,
    AlertStore,
)
from app.alerts.suspect import Suspect, repository_files, suspect_deployment
from app.alerts.triage import code_frames, excerpts, triage
from app.config.repo import AlertsConfig
from app.deploy.store import DeployStore
from app.github.client import MAX_ATTEMPTS
from app.github.comments import edit_comment, find_comment, find_issue, post_comment
from app.github.contents import read_text
from app.queue.errors import RetryLater
from app.store.deliveries import DeliveryStore

ALERT_EVENT = "deckhand_alert"
FLUSH_EVENT = "deckhand_alert_flush"
TRIAGE_EVENT = "deckhand_alert_triage"
RESOLVED_LABEL = "resolved"
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
            if row.issue_number is None and _wants_issue(row):
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
            if not _wants_issue(row):
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
            closed_at = epoch_seconds(issue.get("closed_at")) or time.time()
            if row.resolved != FIRING or row.last_seen <= closed_at:
                return  # closed, and nothing fired since
            if time.time() - closed_at <= self.config.reopen_window.total_seconds():
                await self._edit_issue(row, issue, state="open")
                await self.store.update(self.repository, key, state=OPEN)
                self.log.info("alert_issue_reopened", issue=row.issue_number, key=key)
            else:
                # The new issue's alert started after the close: its suspect deployment
                # and "first seen" are this recurrence's, not the first sighting's.
                started = row.latest.started_at
                since = started if started > closed_at else row.last_seen
                await self.store.supersede(self.repository, key, row, since)
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

    async def triage(self, key: str, issue_number: int, sha: str | None) -> None:
        """The model's view of the alert, at `sha` (the suspect deployment's commit, the
        one the issue's permalinks show; None: the default branch)."""
        row = await self.store.get(self.repository, key)
        if row is None or row.triaged_issue == issue_number:
            return
        cause = await triage(row.latest, self.settings, await self._frame_code(row, sha))
        if cause is not None:
            await post_comment(self.gh, self.repository, issue_number, issues.triage_comment(cause))
        await self.store.update(self.repository, key, triaged_issue=issue_number)

    async def _frame_code(self, row: AlertRow, sha: str | None) -> str:
        """The code around the alert's frames at `sha` (else the default branch); "" when
        there is none to read or reading failed (the triage goes on without it)."""
        if not row.latest.frames:
            return ""
        try:
            files = await repository_files(self.gh, self.repository, sha) if sha else None
            frames = code_frames(row.latest, files)
            texts = {}
            for path in dict.fromkeys(path for path, _ in frames):
                text = await read_text(self.gh, self.repository, path, sha)
                if text is not None:
                    texts[path] = text
        except Exception as exc:  # GitHub away: a triage without code beats none
            self.log.warning("alert_triage_code_unread", error=type(exc).__name__)
            return ""
        return excerpts(frames, texts, f"commit {sha[:7]}" if sha else "the default branch")

    # ------------------------------------------------------------------ the issue
    async def ensure_issue(self, key: str) -> int | None:
        """Open the fingerprint's issue if this job wins the claim; None if another holds it."""
        before = await self.store.claim(self.repository, key, self._claim_seconds())
        if before is None:
            return None
        try:
            row = await self.store.get(self.repository, key)
            assert row is not None
            number = (
                await find_issue(self.gh, self.repository, issues.marker(key))
                if before == CREATING
                else None
            )
            sha = None
            if number is None:
                number, sha = await self._create(row)
            elif self.settings.openai_api_key is not None:  # created by a lost attempt
                sha = await self._suspect_sha(row)
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
        opened = await self.store.get(self.repository, key)
        if opened is not None and opened.resolved == RESOLVED_PENDING:
            await self.resolve(opened)  # it resolved while the issue was being opened
        if self.settings.openai_api_key is not None:
            data = {"issue": number, "sha": sha}
            await self._schedule(TRIAGE_EVENT, f"alert-triage:{key}:{number}", key, None, data)
        return number

    async def _suspect(self, row: AlertRow, read_files: bool = False) -> Suspect | None:
        return await suspect_deployment(
            self.gh,
            DeployStore(self.db),
            self.repository,
            row.environment,
            row.first_seen,
            read_files=read_files,
        )

    async def _suspect_sha(self, row: AlertRow) -> str | None:
        suspect = await self._suspect(row)
        return suspect.deployment.sha if suspect else None

    async def _create(self, row: AlertRow) -> tuple[int, str | None]:
        """The new issue's number, and the commit its permalinks show (if any)."""
        alert = row.latest
        suspect = await self._suspect(row, read_files=bool(alert.frames))
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
        return int(created["number"]), suspect.deployment.sha if suspect else None

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
            marker = issues.occurrence_marker(row.key)
            comment_id = await find_comment(self.gh, self.repository, row.issue_number, marker)
        if comment_id is not None and not await edit_comment(
            self.gh, self.repository, comment_id, body
        ):
            comment_id = None  # deleted by someone: write a new one
        if comment_id is None:
            comment_id = await post_comment(self.gh, self.repository, row.issue_number, body)
        await self.store.update(
            self.repository, row.key, comment_id=comment_id, shown_count=row.count
        )

    # -------------------------------------------------------------------- helpers
    def _claim_seconds(self) -> float:
        """How long creating an issue may take: the GitHub client's every attempt, each
        waiting out a rate limit and then timing out. A claim that lapsed sooner would
        let another job create a second issue while this one's request still waits."""
        per_attempt = self.settings.github_max_inline_wait + self.settings.github_timeout
        return max(CLAIM_SECONDS, MAX_ATTEMPTS * per_attempt + 30.0)

    def _vars(self, issue_number: int | None = None) -> dict[str, str]:
        out = {"owner": self.owner, "repo": self.name}
        if issue_number is not None:
            out["issue_number"] = str(issue_number)
        return out

    async def _schedule(
        self,
        event: str,
        job_id: str,
        key: str,
        at: float | None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        await DeliveryStore(self.db).schedule(
            job_id,
            event,
            {"key": key, **(extra or {})},
            repository=self.repository,
            installation_id=self.installation_id,
            at=at,
        )


def _wants_issue(row: AlertRow) -> bool:
    """Firing, or resolved after firing before its issue could be opened (the issue is
    then opened and labelled resolved at once)."""
    return row.resolved == FIRING or (row.resolved == RESOLVED_PENDING and row.count > 0)


def _has_label(issue: dict[str, Any], name: str) -> bool:
    return any(
        (label.get("name") if isinstance(label, dict) else label) == name
        for label in issue.get("labels") or []
    )
