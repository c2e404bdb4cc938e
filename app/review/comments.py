"""The pull request review: inline comments on changed lines and suggested changes.

- `fingerprint` identifies a finding across pushes (path, rule, message and the text of
  its line, not its line number, which shifts), so a finding is commented on once.
- `inline_comments` keeps findings on lines the pull request changed (GitHub refuses a
  review comment outside the diff).
- `suggestions` turns fixes into ```suggestion blocks, for branches the bot may not push
  to (a fork without maintainer edits): the author applies them with one click.
Pure: findings, texts and changed-line sets in, review comment bodies out.
"""

from __future__ import annotations

import difflib
import hashlib
from collections.abc import Mapping, Sequence
from typing import Any

from app.engine.findings import Finding

SUMMARY_MARKER = "<!-- deckhand:review-summary -->"
MAX_COMMENTS = 50


def fingerprint(finding: Finding, lines: Sequence[str]) -> str:
    text = lines[finding.line - 1].strip() if 0 < finding.line <= len(lines) else ""
    key = "\0".join((finding.path, finding.rule, finding.message, text))
    return hashlib.sha1(key.encode(), usedforsecurity=False).hexdigest()


def suggestion_print(comment: Mapping[str, Any]) -> str:
    """A suggested change's identity, so the same suggestion is not posted twice."""
    parts = (
        "suggestion",
        *(str(comment.get(k, "")) for k in ("path", "start_line", "line", "body")),
    )
    return hashlib.sha1("\0".join(parts).encode(), usedforsecurity=False).hexdigest()


def inline_comments(
    findings: Sequence[Finding], changed_lines: Mapping[str, set[int]]
) -> list[tuple[Finding, dict[str, Any]]]:
    """Review comments for the findings that sit on changed lines, most severe first
    (all of them: the caller leaves out those reported before, then keeps MAX_COMMENTS)."""
    chosen = [f for f in findings if f.line in changed_lines.get(f.path, set())]
    chosen.sort(key=lambda f: (-f.severity.rank, f.path, f.line))
    return [
        (f, {"path": f.path, "line": f.line, "side": "RIGHT", "body": _body(f)}) for f in chosen
    ]


def _body(finding: Finding) -> str:
    if finding.source != "ai":
        return f"**{finding.severity.value}** `{finding.rule}`: {finding.message}"
    body = f"**{finding.severity.value}** (AI review, may be wrong): {finding.message}"
    if finding.fix is not None and finding.fix.edits:
        body += "\n```suggestion\n" + finding.fix.edits[0].replacement + "\n```"
    return body


def suggestions(
    path: str, old: str, new: str, changed_lines: set[int]
) -> tuple[list[dict[str, Any]], int]:
    """Suggested-change comments turning `old` into `new`, and how many changes could
    not be suggested because they touch lines outside the diff."""
    old_lines = old.splitlines()
    new_lines = new.splitlines()
    comments: list[dict[str, Any]] = []
    missed = 0
    matcher = difflib.SequenceMatcher(a=old_lines, b=new_lines, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        replacement = new_lines[j1:j2]
        if i1 == i2:  # a pure insertion: suggest it on the line before (or the first line)
            if i1 > 0:
                i1, replacement = i1 - 1, [old_lines[i1 - 1], *replacement]
            elif old_lines:
                i2, replacement = 1, [*replacement, old_lines[0]]
            else:
                missed += 1
                continue
        first, last = i1 + 1, max(i2, i1 + 1)
        if not all(line in changed_lines for line in range(first, last + 1)):
            missed += 1
            continue
        comment: dict[str, Any] = {
            "path": path,
            "line": last,
            "side": "RIGHT",
            "body": "Deckhand can fix this:\n```suggestion\n" + "\n".join(replacement) + "\n```",
        }
        if last > first:
            comment |= {"start_line": first, "start_side": "RIGHT"}
        comments.append(comment)
    return comments, missed


def summary_comment(title: str, summary: str, check_run_url: str | None) -> str:
    link = f" ([details]({check_run_url}))" if check_run_url else ""
    return f"{SUMMARY_MARKER}\n### Deckhand: {title}{link}\n\n{summary}"
