"""`/propose-fix` in an alert's issue: a model's fix, checked, as a draft pull request.

The files of the alert's stack trace that are in the repository are read at the default
branch's head (from git, through the mirror), the model answers with complete new
contents for at most a few of them, and the validation engine checks those contents.
Only a proposal without error findings becomes a commit on
`deckhand/propose-fix/issue-<n>` and a draft pull request; otherwise the reply says why.
Idempotent: an open pull request from that branch is found and answered with, never a
second one, and a branch left by an earlier run is built on (pushes are never forced).
What it must not do: import or run the repository's code (the engine and ruff only
read it), write outside the files sent to the model, or log the token.
"""

from __future__ import annotations

import asyncio
import json
import re
from dataclasses import dataclass
from typing import Any

from gidgethub import BadRequest

from app.ai.chat import Unanswered, ask_json
from app.alerts import triage
from app.alerts.sources import Alert
from app.alerts.store import AlertStore
from app.alerts.suspect import frame_path
from app.config.model_endpoint import ModelEndpoint
from app.engine.findings import Finding, Severity
from app.git.mirror import GitError, Identity, RepositoryMirror, mirror_for
from app.review.analysis import SUPPORT_FILES, Analysis, analyse

ALERT_MARKER = re.compile(r"<!-- deckhand:alert:([0-9a-f]{8,64}) -->")
MAX_FILES_SENT = 5  # stack trace files given to the model
MAX_FILE_BYTES = 100_000  # per file, both ways
MAX_FILES_CHANGED = 3
MAX_FINDINGS_SHOWN = 20
MAX_EXPLANATION = 2000
TIMEOUT = 120.0
SYSTEM_PROMPT = """\
You fix production errors. You are given an alert (title, message, stack trace with the \
innermost frame first) and the current contents of the repository's files named in the \
stack trace. Propose the smallest change that fixes the cause. Answer with one JSON \
object and nothing else:
{"files": [{"path": "<one of the given paths>", "content": "<the complete new contents \
of that file>"}], "explanation": "<one paragraph: the cause and what the change does>"}
Change at most 3 files, only among the given ones, and give each one's complete \
contents (never a diff, never an excerpt). When you cannot propose a fix with \
reasonable confidence, answer {"files": [], "explanation": "<why not>"}."""


def branch_name(issue_number: int) -> str:
    return f"deckhand/propose-fix/issue-{issue_number}"


def pull_marker(issue_number: int) -> str:
    return f"<!-- deckhand:propose-fix:issue-{issue_number} -->"


class Declined(Exception):
    """The command stops here; the message is the reply (one or more sentences)."""


@dataclass(frozen=True)
class Proposal:
    files: dict[str, str]  # path -> complete new contents
    explanation: str


@dataclass
class ProposeFix:
    """One `/propose-fix` run for one issue. `repository` is the webhook's repository."""

    gh: Any
    context: Any
    repository: dict[str, Any]
    issue_number: int
    actor: str

    def __post_init__(self) -> None:
        self.full_name = str(self.repository["full_name"])
        self.owner, self.name = self.full_name.split("/", 1)
        self.branch = branch_name(self.issue_number)
        self.log = self.context.log.bind(issue=self.issue_number, command="propose-fix")

    async def run(self) -> tuple[str, bool]:
        """The reply, and whether the command went through."""
        try:
            return await self._run(), True
        except Declined as declined:
            self.log.info("propose_fix_declined", reason=str(declined)[:200])
            return str(declined), False

    async def _run(self) -> str:
        alert = await self._alert()
        endpoint = ModelEndpoint.from_settings(self.context.settings)
        if endpoint is None:
            raise Declined(
                "`/propose-fix` needs a model, but no model is configured (`OPENAI_API_KEY`)."
            )
        existing = await self._open_pull()
        if existing is not None:
            return (
                f"A proposed fix is already open: #{existing['number']} ({existing['html_url']})."
                " Close it to ask for another one."
            )
        assert self.context.installation_id is not None  # the handler checked
        token = await self.context.github_app.installation_token(self.context.installation_id)
        mirror = mirror_for(self.context.settings.git_cache_dir, self.full_name)
        url = str(self.repository.get("clone_url") or "")
        base_branch = await self._default_branch()
        base, files, support, known = await asyncio.to_thread(
            self._read, mirror, url, token, base_branch, alert
        )
        proposal = await ask_model(endpoint, alert, files)
        changed = checked_changes(proposal, files)
        config = (await self.context.config()).config.review
        encoded = {path: text.encode("utf-8") for path, text in changed.items()}
        analysis = await asyncio.to_thread(analyse, encoded, support, known, config, fixes=False)
        refuse_errors(analysis)
        name, email = await self.context.github_app.bot_identity(self.gh)
        message = f"Proposed fix for #{self.issue_number}\n\n{proposal.explanation}\n"
        head = await asyncio.to_thread(
            publish, mirror, url, token, base, self.branch, encoded, message, Identity(name, email)
        )
        pull = await self._create_pull(base_branch, alert, proposal, analysis)
        self.log.info("propose_fix_opened", pull=pull["number"], head=head, files=len(changed))
        return (
            f"Opened draft pull request #{pull['number']} with a proposed fix "
            f"({', '.join(f'`{p}`' for p in sorted(changed))}): {pull['html_url']}"
        )

    # ------------------------------------------------------------------ the alert
    async def _alert(self) -> Alert:
        """The alert behind this issue; Declined when the issue is not an alert's."""
        not_alert = Declined("`/propose-fix` only works in an alert issue opened by Deckhand.")
        issue = await self.gh.getitem(
            "/repos/{owner}/{repo}/issues/{issue_number}", url_vars=self._vars(issue=True)
        )
        match = ALERT_MARKER.search(issue.get("body") or "")
        by_bot = (issue.get("user") or {}).get("type") == "Bot"
        if "pull_request" in issue or match is None or not by_bot:
            raise not_alert
        row = await AlertStore(self.context.db).get(self.full_name, match.group(1))
        if row is None:
            raise not_alert
        return row.latest

    async def _default_branch(self) -> str:
        branch = self.repository.get("default_branch")
        if isinstance(branch, str) and branch:
            return branch
        found = await self.gh.getitem("/repos/{owner}/{repo}", url_vars=self._vars())
        return str(found.get("default_branch") or "main")

    def _read(
        self, mirror: RepositoryMirror, url: str, token: str, branch: str, alert: Alert
    ) -> tuple[str, dict[str, str], dict[str, bytes], list[str]]:
        """The branch's head, path -> text of the stack trace's files in the repository,
        the repository's ruff and dependency files, and every path (for the imports)."""
        no_frame = Declined("The alert's stack trace has no frame in this repository's files.")
        if all(frame.in_app is False for frame in alert.frames):
            raise no_frame
        head = mirror.fetch_branch(url, token, branch)
        every_path = mirror.paths(head)
        paths = trace_paths(alert, frozenset(every_path))
        if not paths:
            raise no_frame
        contents = mirror.read(url, token, head, [*paths, *SUPPORT_FILES])
        support = {p: contents[p] for p in SUPPORT_FILES if p in contents}
        files: dict[str, str] = {}
        for path, data in ((p, contents[p]) for p in paths if p in contents):
            if len(data) > MAX_FILE_BYTES or b"\0" in data:
                continue
            try:
                files[path] = data.decode("utf-8")
            except UnicodeDecodeError:
                continue
        if not files:
            shown = ", ".join(f"`{p}`" for p in paths)
            raise Declined(
                f"None of the stack trace's files ({shown}) is a text file of at most "
                f"{MAX_FILE_BYTES} bytes on `{branch}` at {head[:7]}."
            )
        return head, files, support, every_path

    # --------------------------------------------------------------- the pull request
    async def _open_pull(self) -> dict[str, Any] | None:
        found = await self.gh.getitem(
            "/repos/{owner}/{repo}/pulls{?head,state}",
            url_vars={**self._vars(), "head": f"{self.owner}:{self.branch}", "state": "open"},
        )
        return found[0] if found else None

    async def _create_pull(
        self, base_branch: str, alert: Alert, proposal: Proposal, analysis: Analysis
    ) -> dict[str, Any]:
        body = pull_body(self.issue_number, self.actor, proposal, analysis)
        title = f"Proposed fix: {alert.title}"[:250]
        try:
            created: dict[str, Any] = await self.gh.post(
                "/repos/{owner}/{repo}/pulls",
                url_vars=self._vars(),
                data={
                    "title": title,
                    "head": self.branch,
                    "base": base_branch,
                    "body": body,
                    "draft": True,
                },
            )
            return created
        except BadRequest as exc:
            if int(exc.status_code) != 422:
                raise
            existing = await self._open_pull()  # another run opened it meanwhile
            if existing is None:
                raise Declined(
                    f"The branch `{self.branch}` was pushed, but GitHub refused the pull "
                    f"request: {exc}."
                ) from None
            return existing

    def _vars(self, issue: bool = False) -> dict[str, str]:
        out = {"owner": self.owner, "repo": self.name}
        if issue:
            out["issue_number"] = str(self.issue_number)
        return out


# ---------------------------------------------------------------------- pure parts
def trace_paths(alert: Alert, files: frozenset[str] | None = None) -> list[str]:
    """The repository paths of the alert's in-app frames, innermost first, deduplicated
    (with `files`, every file at the commit, only those that exist)."""
    paths: list[str] = []
    for frame in alert.frames:
        path = frame_path(frame, files)
        if path is not None and path not in paths:
            paths.append(path)
    return paths[:MAX_FILES_SENT]


def prompt(alert: Alert, files: dict[str, str]) -> str:
    parts = [triage.prompt(alert), "Files (complete contents at the default branch's head):"]
    for path, text in files.items():
        parts.append(f"===== BEGIN {path} =====\n{text}\n===== END {path} =====")
    return "\n\n".join(parts)


async def ask_model(endpoint: ModelEndpoint, alert: Alert, files: dict[str, str]) -> Proposal:
    """The model's proposal; Declined (with the reason) when there is no usable answer."""
    try:
        answer = await ask_json(
            endpoint,
            system=SYSTEM_PROMPT,
            user=prompt(alert, files),
            time_limit=TIMEOUT,
            max_output_tokens=16000,
        )
    except Unanswered as exc:  # the reply says why, and the job is done
        raise Declined(f"No fix was proposed: {exc}.") from None
    return parse_answer(answer.content)


def parse_answer(content: str) -> Proposal:
    try:
        data = json.loads(content)
    except ValueError:
        raise Declined("The model's answer is not the JSON asked for.") from None
    items = data.get("files") if isinstance(data, dict) else None
    explanation = data.get("explanation") if isinstance(data, dict) else None
    if not isinstance(items, list) or not isinstance(explanation, str):
        raise Declined("The model's answer is not the JSON asked for (`files`, `explanation`).")
    # One paragraph, and no one is @mentioned by the model's words.
    explanation = " ".join(explanation.split())[:MAX_EXPLANATION].replace("@", "@\u200b")
    files: dict[str, str] = {}
    for item in items:
        path = item.get("path") if isinstance(item, dict) else None
        text = item.get("content") if isinstance(item, dict) else None
        if not isinstance(path, str) or not isinstance(text, str):
            raise Declined("The model's answer has a file without a `path` or `content`.")
        if path in files:
            raise Declined(f"The model's answer gives `{path[:200]}` twice.")
        files[path] = text
    if not files:
        why = f" It says: {explanation}" if explanation else ""
        raise Declined(f"The model proposed no change.{why}")
    return Proposal(files, explanation)


def checked_changes(proposal: Proposal, sent: dict[str, str]) -> dict[str, str]:
    """The files the proposal really changes; Declined for anything it may not touch."""
    outside = [p for p in proposal.files if p not in sent]
    if outside:
        shown = ", ".join(f"`{p[:200]}`" for p in outside[:5])
        allowed = ", ".join(f"`{p}`" for p in sent)
        raise Declined(
            f"Refused: the model wants to change {shown}, which is not one of the stack "
            f"trace's files it was given ({allowed}). Nothing was opened."
        )
    if len(proposal.files) > MAX_FILES_CHANGED:
        raise Declined(
            f"Refused: the model changes {len(proposal.files)} files, at most "
            f"{MAX_FILES_CHANGED} are accepted. Nothing was opened."
        )
    for path, text in proposal.files.items():
        try:
            size = len(text.encode("utf-8"))
        except UnicodeEncodeError:
            size = -1
        if "\0" in text or size < 0:
            raise Declined(f"Refused: the new `{path}` is binary. Nothing was opened.")
        if size > MAX_FILE_BYTES:
            raise Declined(
                f"Refused: the new `{path}` is larger than {MAX_FILE_BYTES} bytes. "
                "Nothing was opened."
            )
    changed = {p: t for p, t in proposal.files.items() if t != sent[p]}
    if not changed:
        raise Declined("The model's files are the same as the current ones: nothing to propose.")
    return changed


def _where(finding: Finding) -> str:
    return f"`{finding.path}:{finding.line}`: {finding.message} ({finding.rule})"


def refuse_errors(analysis: Analysis) -> None:
    """Declined, listing the findings, when the engine found an error or skipped a file."""
    skipped = [f"`{r.path}`: {r.skipped}" for r in analysis.reports if r.skipped]
    errors = [f for f in analysis.findings if f.severity == Severity.ERROR]
    if not skipped and not errors:
        return
    lines = [f"- {_where(f)}" for f in errors[:MAX_FINDINGS_SHOWN]]
    if len(errors) > MAX_FINDINGS_SHOWN:
        lines.append(f"- and {len(errors) - MAX_FINDINGS_SHOWN} more")
    lines += [f"- {each} (not checked)" for each in skipped]
    raise Declined(
        "The model's fix does not pass validation, so no pull request was opened:\n\n"
        + "\n".join(lines)
    )


def validation_summary(analysis: Analysis) -> str:
    checked = ", ".join(f"`{r.path}`" for r in analysis.reports)
    others = [f for f in analysis.findings if f.severity != Severity.ERROR]
    text = f"Checked {checked}: no errors (syntax, lint, imports, secrets)."
    if others:
        text += f" {len(others)} other finding(s):\n\n" + "\n".join(
            f"- {f.severity.value}: {_where(f)}" for f in others[:MAX_FINDINGS_SHOWN]
        )
    if analysis.warnings:
        text += "\n\n" + "\n".join(f"- note: {w}" for w in analysis.warnings)
    return text


def pull_body(issue_number: int, actor: str, proposal: Proposal, analysis: Analysis) -> str:
    return "\n".join(
        [
            pull_marker(issue_number),
            f"Proposed fix for #{issue_number}, written by a model from the alert's stack "
            "trace and checked by Deckhand's validation engine. Nothing has run it: review "
            "and test it like any other change.",
            "",
            "### The model's explanation",
            "",
            proposal.explanation or "(none given)",
            "",
            "### Validation",
            "",
            validation_summary(analysis),
            "",
            f"<sub>Requested by @{actor} with `/propose-fix`.</sub>",
        ]
    )[:60000]


def publish(
    mirror: RepositoryMirror,
    url: str,
    token: str,
    base: str,
    branch: str,
    files: dict[str, bytes],
    message: str,
    identity: Identity,
) -> str:
    """Commit `files` on the branch and push it; returns the branch's new head.

    A new branch starts at `base`. A branch an earlier run left (it died before the pull
    request, or that pull request was closed) gets the files as a commit on top of it,
    or is used as it is when it already holds them: pushes are never forced."""
    try:
        existing: str | None = mirror.fetch_branch(url, token, branch)
    except GitError:
        existing = None  # no such branch yet
    if existing is not None:
        current = mirror.read(url, token, existing, list(files))
        if all(current.get(path) == data for path, data in files.items()):
            return existing
    commit = mirror.commit(existing or base, files, message, identity)
    mirror.push(url, token, commit, branch, existing or "")
    return commit
