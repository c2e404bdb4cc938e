"""One review run, end to end: claim the head, open the check run, read the changed
files from git, run the engine, push the fixes or suggest them, then report.

The order keeps every side effect safe to repeat: the check run is found again by the
delivery that created it; fixes are pushed only onto the exact commit that was checked
(a branch that moved makes the push fail, nothing is forced); a run that learns of a
newer head before pushing or posting stands down and marks its check run cancelled.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import dataclass, replace
from typing import Any

from app.ai import AIReviewSettings, FileDiff, ai_review
from app.context import Context
from app.engine.findings import Severity
from app.git.mirror import BranchMoved, GitError, Identity, mirror_for
from app.github.comments import edit_comment, find_comment, post_comment
from app.review import checkrun, comments
from app.review.analysis import Analysis, analyse
from app.review.checkrun import CHECK_NAME, Outcome
from app.review.guards import fix_refusal, skip_reason
from app.review.snapshot import Snapshot, take_snapshot
from app.review.store import ReviewStore, RunOutcome
from app.review.target import ReviewTarget


@dataclass
class _Run:
    target: ReviewTarget
    context: Context
    store: ReviewStore
    owner: str
    repo: str

    @property
    def gh(self) -> Any:
        return self.context.gh

    def url_vars(self, **extra: Any) -> dict[str, str]:
        return {"owner": self.owner, "repo": self.repo, **{k: str(v) for k, v in extra.items()}}


async def review(target: ReviewTarget, context: Context) -> str:
    """Review `target`; see the module docstring for the order of things. Returns one
    line saying what happened (for the logs and for a command's reply)."""
    loaded = await context.config()
    config = loaded.config.review
    log = context.log.bind(head_sha=target.head_sha, run_key=target.run_key)
    if not config.enabled and not target.apply_fixes:
        log.info("review_disabled")
        return "reviews are switched off for this repository (`review.enabled: false`)"
    owner, repo = target.repository.split("/", 1)
    run = _Run(target, context, ReviewStore(context.db), owner, repo)
    newest = await run.store.claim(target, context.delivery.received_at)
    if newest != target.head_sha:
        log.info("review_superseded_before_start", newest=newest)
        return f"a newer commit ({newest[:7]}) is being reviewed instead"
    assert context.installation_id is not None  # the handler checked
    token = await context.github_app.installation_token(context.installation_id)
    mirror = mirror_for(context.settings.git_cache_dir, target.repository)
    snapshot = await asyncio.to_thread(take_snapshot, mirror, target, token)
    reason = skip_reason(snapshot.head_message)
    if reason and not target.apply_fixes:
        log.info("review_skipped", reason=reason)
        return f"not reviewed: {reason}"
    check_run_id = await _open_check_run(run)
    completed = False
    try:
        # Fixes are worked out even when they will not be pushed: for the button or suggestions.
        want_fixes = bool(target.head_branch)
        analysis = await asyncio.to_thread(
            analyse,
            snapshot.changed,
            snapshot.support,
            snapshot.known_paths,
            config,
            fixes=want_fixes,
        )
        ai_notes = await _ai_review(run, snapshot, analysis) if config.ai or target.run_ai else []
        outcome = Outcome(
            reports=analysis.reports,
            fail_on=config.fail_on,
            fix_notes=analysis.notes if analysis.fixed else (),
            config_errors=loaded.errors,
            warnings=[*analysis.warnings, *_left_out(snapshot), *ai_notes],
        )
        newer = await _superseded(run)
        if not newer:
            outcome, offer_button = await _handle_fixes(
                run, snapshot, analysis, outcome, mirror, token
            )
            newer = outcome.superseded_by
        if newer:
            await _cancel(run, check_run_id, newer)
            completed = True
            await _record(run, check_run_id, replace(outcome, superseded_by=newer))
            return f"a newer commit ({newer[:7]}) is being reviewed instead"
        check_run = await _complete_check_run(
            run, check_run_id, outcome, config.max_annotations, offer_button
        )
        completed = True
        await _record(run, check_run_id, outcome)
        if target.pull_number is not None:
            await _review_pull_request(run, snapshot, analysis, outcome, check_run)
        log.info(
            "review_done",
            conclusion=outcome.conclusion,
            findings=len(outcome.findings),
            fixed_in=outcome.fixed_in,
        )
        link = f" ([details]({check_run['html_url']}))" if check_run.get("html_url") else ""
        held = f" Fixes not committed: {outcome.fixes_held}." if outcome.fixes_held else ""
        return f"Reviewed {target.head_sha[:7]}: {checkrun.title(outcome)}{link}.{held}"
    except Exception as exc:
        if not completed:  # a required check must never hang "in progress"
            await _give_up(run, check_run_id, exc)
        raise


def _left_out(snapshot: Snapshot) -> list[str]:
    return [f"{snapshot.left_out} more changed files were not checked"] if snapshot.left_out else []


async def _ai_review(run: _Run, snapshot: Snapshot, analysis: Analysis) -> list[str]:
    """Add the model's findings to the reports; problems become notes, never failures."""
    if run.target.pull_number is None:
        return []
    settings = AIReviewSettings.from_settings(run.context.settings)
    if settings is None:
        return ["AI review is off: the service has no OPENAI_API_KEY"]
    checked = {r.path: r for r in analysis.reports if r.skipped is None}
    diffs = [FileDiff(path, patch) for path, patch in snapshot.patches.items() if path in checked]
    result = await ai_review(diffs, settings)
    if result.skipped_reason:
        return [f"AI review skipped: {result.skipped_reason}"]
    for finding in result.findings:
        checked[finding.path].findings.append(finding)
    notes = [f"AI review: {len(result.findings)} findings on {len(result.files_reviewed)} files"]
    if result.files_left_out:
        notes.append(f"AI review left out (token budget): {', '.join(result.files_left_out[:20])}")
    return notes


async def _open_check_run(run: _Run) -> int:
    delivery_id = run.context.delivery.id
    existing = await run.store.check_run_for(delivery_id)
    if existing is None and run.context.delivery.attempts > 1:
        existing = await _posted_check_run(run, delivery_id)
    if existing is not None:
        return existing
    created = await run.gh.post(
        "/repos/{owner}/{repo}/check-runs",
        url_vars=run.url_vars(),
        data={
            "name": CHECK_NAME,
            "head_sha": run.target.head_sha,
            "status": "in_progress",
            "external_id": delivery_id,
            "started_at": _now(),
        },
    )
    await run.store.remember_check_run(created["id"], delivery_id, run.target)
    return int(created["id"])


async def _posted_check_run(run: _Run, delivery_id: str) -> int | None:
    """The check run an earlier attempt created but did not record (its worker died
    between the two), found on GitHub by its `external_id`; it is recorded now."""
    async for check_run in run.gh.getiter(
        "/repos/{owner}/{repo}/commits/{ref}/check-runs{?check_name,filter}",
        url_vars=run.url_vars(ref=run.target.head_sha, check_name=CHECK_NAME, filter="all"),
        iterable_key="check_runs",
    ):
        if check_run.get("external_id") == delivery_id:
            await run.store.remember_check_run(check_run["id"], delivery_id, run.target)
            return int(check_run["id"])
    return None


async def _superseded(run: _Run) -> str | None:
    latest = await run.store.latest_head(run.target)
    return latest if latest and latest != run.target.head_sha else None


async def _cancel(run: _Run, check_run_id: int, newer: str) -> None:
    outcome = Outcome(reports=(), superseded_by=newer)
    [body] = checkrun.completion_requests(outcome, 0, offer_fixes=False)
    await run.gh.patch(
        "/repos/{owner}/{repo}/check-runs/{check_run_id}",
        url_vars=run.url_vars(check_run_id=check_run_id),
        data=body,
    )
    run.context.log.info("review_superseded", newest=newer)


async def _give_up(run: _Run, check_run_id: int, exc: Exception) -> None:
    """Complete the check run saying the review stopped (`checkrun.stopped_request`). The
    job's retry completes it again if it gets further. Best effort."""
    data = checkrun.stopped_request(run.context.delivery.attempts, type(exc).__name__)
    data["completed_at"] = _now()
    try:
        await run.gh.patch(
            "/repos/{owner}/{repo}/check-runs/{check_run_id}",
            url_vars=run.url_vars(check_run_id=check_run_id),
            data=data,
        )
    except Exception as failed:
        run.context.log.warning("review_check_run_not_closed", error=type(failed).__name__)


async def _handle_fixes(
    run: _Run,
    snapshot: Snapshot,
    analysis: Analysis,
    outcome: Outcome,
    mirror: Any,
    token: str,
) -> tuple[Outcome, bool]:
    """Push the fixes when allowed; otherwise say why and whether to offer the button."""
    target = run.target
    if not analysis.fixed:
        return outcome, False
    config = (await run.context.config()).config.review
    if not target.can_push:
        held = "the pull request comes from a fork that does not allow maintainer edits"
        return _held(outcome, held), False
    if not (config.autofix or target.apply_fixes):
        return _held(outcome, "autofix is off: use the Apply fixes button"), True
    if target.pull_number is None and target.head_branch == target.default_branch:
        if not target.apply_fixes:  # a merge lands here: commit only when someone asks
            return _held(outcome, "the default branch is fixed only on request"), True
    refusal = fix_refusal(snapshot.history, requested=target.apply_fixes)
    if refusal:
        return _held(outcome, refusal), False
    newer = await _superseded(run)
    if newer:
        return replace(outcome, superseded_by=newer), False
    name, email = await run.context.github_app.bot_identity(run.gh)
    message = _commit_message(analysis.notes)
    try:
        sha = await asyncio.to_thread(
            _commit_and_push, mirror, target, token, analysis.fixed, message, Identity(name, email)
        )
    except BranchMoved:
        held = "the branch moved on since the checked commit; the newer commit gets its own run"
        return _held(outcome, held), False
    except GitError:  # a protected branch, a required signature, no access to a fork
        held = "GitHub refused the push (is the branch protected?)"
        return _held(outcome, held), False
    run.context.log.info("review_fixes_pushed", commit=sha, files=len(analysis.fixed))
    return replace(outcome, fixed_in=sha), False


def _commit_and_push(
    mirror: Any,
    target: ReviewTarget,
    token: str,
    files: dict[str, bytes],
    message: str,
    identity: Identity,
) -> str:
    sha: str = mirror.commit(target.head_sha, files, message, identity)
    assert target.head_branch is not None
    mirror.push(target.head_clone_url, token, sha, target.head_branch, target.head_sha)
    return sha


def _commit_message(notes: list[str]) -> str:
    lines = [f"- {note}" for note in notes[:100]]
    if len(notes) > 100:
        lines.append(f"- and {len(notes) - 100} more")
    return "Deckhand: fix syntax and lint problems\n\n" + "\n".join(lines) + "\n"


def _held(outcome: Outcome, reason: str) -> Outcome:
    return replace(outcome, fixes_held=reason)


async def _complete_check_run(
    run: _Run, check_run_id: int, outcome: Outcome, limit: int, offer_button: bool
) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for body in checkrun.completion_requests(outcome, limit, offer_fixes=offer_button):
        result = await run.gh.patch(
            "/repos/{owner}/{repo}/check-runs/{check_run_id}",
            url_vars=run.url_vars(check_run_id=check_run_id),
            data={**body, **({"completed_at": _now()} if "conclusion" in body else {})},
        )
    return result


async def _record(run: _Run, check_run_id: int, outcome: Outcome) -> None:
    """Store what the completed run found and pushed, for the dashboard."""
    counts = Counter(f.severity for f in outcome.findings)
    recorded = RunOutcome(
        conclusion=outcome.conclusion,
        errors=counts[Severity.ERROR],
        warnings=counts[Severity.WARNING],
        notices=counts[Severity.NOTICE],
        fix_sha=outcome.fixed_in,
        fixes=len(outcome.fix_notes) if outcome.fixed_in else None,
    )
    await run.store.record_run(check_run_id, run.target, recorded)


async def _review_pull_request(
    run: _Run, snapshot: Snapshot, analysis: Analysis, outcome: Outcome, check_run: dict[str, Any]
) -> None:
    """New findings on changed lines as one review, suggestions for a fork, and the
    summary comment edited in place."""
    target = run.target
    assert target.pull_number is not None
    texts = {path: data.decode("utf-8", "replace") for path, data in snapshot.changed.items()}
    candidates = comments.inline_comments(analysis.findings, snapshot.changed_lines)
    prints = {
        id(f): comments.fingerprint(f, texts.get(f.path, "").splitlines()) for f, _ in candidates
    }
    fresh = await run.store.unreported(target.repository, target.pull_number, prints.values())
    # New findings first, then the cap: what did not fit is offered again next push.
    chosen = [(f, body) for f, body in candidates if prints[id(f)] in fresh]
    chosen = chosen[: comments.MAX_COMMENTS]
    posted = {prints[id(f)] for f, _ in chosen}
    review_comments = [body for _, body in chosen]
    if outcome.fixes_held and not target.can_push:
        suggested: list[dict[str, Any]] = []
        for path, new in analysis.fixed.items():
            suggested += comments.suggestions(
                path,
                texts[path],
                new.decode("utf-8", "replace"),
                snapshot.changed_lines.get(path, set()),
            )[0]
        marks = {id(c): comments.suggestion_print(c) for c in suggested}
        unseen = await run.store.unreported(target.repository, target.pull_number, marks.values())
        room = comments.MAX_COMMENTS - len(review_comments)
        kept = [c for c in suggested if marks[id(c)] in unseen][: max(0, room)]
        review_comments += kept
        posted |= {marks[id(c)] for c in kept}
    if review_comments:
        await run.gh.post(
            "/repos/{owner}/{repo}/pulls/{pull_number}/reviews",
            url_vars=run.url_vars(pull_number=target.pull_number),
            data={
                "commit_id": target.head_sha,
                "event": "COMMENT",
                "body": f"Deckhand found {len(review_comments)} things to look at on this push.",
                "comments": review_comments,  # already within MAX_COMMENTS
            },
        )
        await run.store.mark_reported(target.repository, target.pull_number, posted)
    await _update_summary(run, outcome, check_run.get("html_url"))


async def _update_summary(run: _Run, outcome: Outcome, check_run_url: str | None) -> None:
    target = run.target
    assert target.pull_number is not None
    body = comments.summary_comment(
        checkrun.title(outcome), checkrun.summary(outcome), check_run_url
    )
    repository, number = target.repository, target.pull_number
    comment_id = await run.store.summary_comment(repository, number)
    if comment_id is None:  # a run that died between posting it and recording it
        comment_id = await find_comment(run.gh, repository, number, comments.SUMMARY_MARKER)
    if comment_id is None or not await edit_comment(run.gh, repository, comment_id, body):
        comment_id = await post_comment(run.gh, repository, number, body)
    await run.store.set_summary_comment(repository, number, comment_id)


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
