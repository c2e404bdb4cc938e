"""The check run a review reports: its conclusion, markdown summary, annotations and
"Apply fixes" button, shaped as GitHub's Checks API takes them.

GitHub takes at most 50 annotations per request; `annotation_batches` splits them. Pure:
findings in, request bodies out.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from app.engine.findings import FileReport, Finding, Severity

CHECK_NAME = "Deckhand"
ANNOTATIONS_PER_REQUEST = 50
APPLY_FIXES_ACTION = {
    "label": "Apply fixes",
    "description": "Commit Deckhand's fixes to the branch",
    "identifier": "apply-fixes",
}
LEVELS = {Severity.ERROR: "failure", Severity.WARNING: "warning", Severity.NOTICE: "notice"}
_MESSAGE_LIMIT = 60_000


@dataclass(frozen=True)
class Outcome:
    """What a run found and did, for the check run and the PR summary comment."""

    reports: Sequence[FileReport]
    fail_on: str = "error"
    fixed_in: str | None = None  # the fix commit's sha, once pushed
    fix_notes: Sequence[str] = ()
    fixes_held: str | None = None  # why fixes exist but were not pushed
    config_errors: Sequence[str] = ()
    warnings: Sequence[str] = ()
    superseded_by: str | None = None

    @property
    def findings(self) -> list[Finding]:
        return [f for report in self.reports for f in report.findings]

    @property
    def conclusion(self) -> str:
        """AI findings are advice: they never fail the check run on their own."""
        if self.superseded_by:
            return "cancelled"
        threshold = Severity(self.fail_on).rank
        failing = [f for f in self.findings if f.source != "ai" and f.severity.rank >= threshold]
        return "failure" if failing else "success"


def title(outcome: Outcome) -> str:
    if outcome.superseded_by:
        return f"Superseded by {outcome.superseded_by[:7]}"
    counts = Counter(f.severity for f in outcome.findings)
    if not counts:
        return "No problems found"
    parts = [_plural(counts[s], s.value) for s in Severity if counts[s]]
    return ", ".join(parts) + (f"; fixed in {outcome.fixed_in[:7]}" if outcome.fixed_in else "")


def summary(outcome: Outcome) -> str:
    """Markdown: counts by severity and rule, what was fixed, what was skipped."""
    if outcome.superseded_by:
        return f"A newer commit ({outcome.superseded_by}) is being reviewed instead."
    lines: list[str] = []
    checked = [r for r in outcome.reports if r.skipped is None]
    findings = outcome.findings
    lines.append(
        f"Checked {_plural(len(checked), 'changed file')}: "
        + (f"**{title(outcome)}**." if findings else "no problems found.")
    )
    if findings:
        by_rule = Counter((f.severity, f.rule) for f in findings)
        lines += ["", "| severity | rule | count |", "| --- | --- | ---: |"]
        for (severity, rule), count in sorted(
            by_rule.items(), key=lambda i: (-i[0][0].rank, i[0][1])
        ):
            lines.append(f"| {severity.value} | `{rule}` | {count} |")
    if outcome.fix_notes:
        head = f"Fixed in {outcome.fixed_in}" if outcome.fixed_in else "Fixes available"
        lines += ["", f"### {head}"] + [f"- {_escape(note)}" for note in outcome.fix_notes]
        if outcome.fixes_held:
            lines += ["", f"Not committed: {outcome.fixes_held}."]
    skipped = [r for r in outcome.reports if r.skipped is not None]
    if skipped:
        lines += ["", "### Not checked"] + [f"- `{r.path}`: {r.skipped}" for r in skipped]
    notes = [*outcome.config_errors, *outcome.warnings]
    if notes:
        lines += ["", "### Notes"] + [f"- {_escape(n)}" for n in notes]
    return "\n".join(lines)[:_MESSAGE_LIMIT]


def to_annotations(findings: Sequence[Finding], limit: int) -> list[dict[str, Any]]:
    """The first `limit` findings, most severe first, as Checks API annotations."""
    ordered = sorted(findings, key=lambda f: (-f.severity.rank, f.path, f.line, f.column))
    return [_annotation(f) for f in ordered[:limit]]


def _annotation(finding: Finding) -> dict[str, Any]:
    end_line = max(finding.end_line or finding.line, finding.line)
    annotation: dict[str, Any] = {
        "path": finding.path,
        "start_line": finding.line,
        "end_line": end_line,
        "annotation_level": LEVELS[finding.severity],
        "message": finding.message[:_MESSAGE_LIMIT],
        "title": (f"AI: {finding.rule}" if finding.source == "ai" else finding.rule)[:255],
    }
    if end_line == finding.line and finding.end_column and finding.end_column > finding.column:
        annotation["start_column"] = finding.column
        annotation["end_column"] = finding.end_column
    return annotation


def annotation_batches(items: list[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    """At least one batch (possibly empty), each of at most 50 annotations."""
    yield items[:ANNOTATIONS_PER_REQUEST]
    for start in range(ANNOTATIONS_PER_REQUEST, len(items), ANNOTATIONS_PER_REQUEST):
        yield items[start : start + ANNOTATIONS_PER_REQUEST]


def completion_requests(outcome: Outcome, limit: int, offer_fixes: bool) -> list[dict[str, Any]]:
    """The PATCH bodies that complete a check run: extra annotation batches first, then
    the one that sets the conclusion (so the run is complete only with all of them)."""
    batches = list(annotation_batches(to_annotations(outcome.findings, limit)))
    output = {"title": title(outcome), "summary": summary(outcome)}
    requests = [{"output": {**output, "annotations": batch}} for batch in batches[1:]]
    final: dict[str, Any] = {
        "status": "completed",
        "conclusion": outcome.conclusion,
        "output": {**output, "annotations": batches[0]},
    }
    if offer_fixes:
        final["actions"] = [APPLY_FIXES_ACTION]
    return [*requests, final]


def stopped_request(attempt: int, error: str) -> dict[str, Any]:
    """The PATCH body that completes a check run whose review stopped on `error` (an
    exception's type, never its text): a failure, since a review that did not run must
    not pass a required check."""
    return {
        "status": "completed",
        "conclusion": "failure",
        "output": {
            "title": "The review could not finish",
            "summary": (
                f"Deckhand stopped on attempt {attempt} with `{error}`. "
                "It retries a failed job by itself; if this stays, re-run the check "
                "from the Checks tab."
            ),
        },
    }


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _escape(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")
