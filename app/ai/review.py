"""AI review of a diff by an OpenAI-compatible chat model, within a token budget.

`ai_review(diffs, settings)` sends the changed lines of a pull request to the model and
turns its answer into `Finding`s. It never raises for model problems: a timeout, an HTTP
or connection error, an answer that is not JSON or does not match the schema, a refusal
or a budget too small for any file all come back as `AIReviewResult.skipped_reason` (a
short explanation without secrets), so the heuristic review always goes on.

Budget. Tokens are estimated as `len(text) / 4` (no tokenizer dependency). Hunks without
added lines (deletion-only) are dropped, then files go in largest first; each file is
clipped to `max_file_tokens` at a line boundary, and once a file no longer fits in what
is left of `max_input_tokens` (system prompt included) it is clipped to the remainder
and every later file is left out (`files_left_out`); so is a file whose share holds no
added line. Files without added lines at all are not sent and not listed.

What the model sees. Every diff line is shown as `<marker> <new line number> | <code>`
(`+` added, `-` removed without a number, a space for context), so the model can name
the new-side line of a change. It must answer with one JSON object,
`{"findings": [{"path", "line", "severity", "message", "suggestion"?}]}`.

What is kept. Only findings on a path that was sent and on an added line that was sent
(new side); messages are bounded to `MAX_MESSAGE_CHARS`; at most `max_findings`, most
severe first. Each becomes a `Finding` with rule `ai/review` and source `"ai"`.

Suggestions. A `suggestion` is the replacement text for the whole flagged line, without
its line break (it may contain `\\n` to become several lines; an empty string empties
the line). It becomes an unsafe `Fix("AI suggestion", (Edit(line, 1, line, len(text) + 1,
suggestion),))`, i.e. it replaces the line's characters and keeps its newline. It is never
applied automatically (`safe=False`); suggestions identical to the line or longer than
`MAX_SUGGESTION_CHARS` are dropped (the finding stays).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from app.ai.chat import Unanswered, ask_json
from app.config.model_endpoint import ModelEndpoint
from app.engine.findings import Edit, Finding, Fix, Severity
from app.logs import get_logger

if TYPE_CHECKING:
    pass

log = get_logger("deckhand.ai")

RULE = "ai/review"
SOURCE = "ai"
MAX_MESSAGE_CHARS = 1000
MAX_SUGGESTION_CHARS = 2000
CHARS_PER_TOKEN = 4
CLIP_NOTE_RESERVE = 48  # characters kept for "... (N more diff lines clipped)"
MIN_FILE_TOKENS = 64  # below this a file's share is not worth sending

SYSTEM_PROMPT = """\
You are a careful senior code reviewer. You review a unified diff of a pull request and \
report real problems in the added or changed lines only: bugs, security issues, \
incorrect error handling, race conditions, resource leaks, clear performance problems. \
Do not comment on style, formatting or naming, and do not praise.

Each diff line is shown as `<marker> <line> | <code>`: marker `+` for an added line, `-` \
for a removed line (no line number), a space for context. <line> is the line number in \
the new version of the file.

Answer with a single JSON object and nothing else:
{"findings": [{"path": "<file path exactly as given>", "line": <line number of a + line>, \
"severity": "error" | "warning" | "notice", "message": "<one or two sentences>", \
"suggestion": "<optional: the full replacement text for that line>"}]}
Use "error" only for definite bugs or vulnerabilities. Report at most {max_findings} \
findings. If there is nothing worth reporting, answer {"findings": []}."""

USER_PREAMBLE = "Review this diff.\n\n"


@dataclass(frozen=True)
class FileDiff:
    """One file's unified diff as `git diff` prints it (headers optional)."""

    path: str
    patch: str


@dataclass(frozen=True)
class AIReviewSettings(ModelEndpoint):
    """How to reach the model and how much to send. The key is never shown in `repr`."""

    timeout: float = 30.0  # seconds, for the whole call (retry included)
    max_input_tokens: int = 12000
    max_findings: int = 30
    max_file_tokens: int = 4000
    max_output_tokens: int = 4000


@dataclass(frozen=True)
class AIUsage:
    """Tokens: our estimate of the prompt, and what the API reported (when it answered)."""

    estimated_input_tokens: int
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    total_tokens: int | None = None


@dataclass
class AIReviewResult:
    findings: list[Finding] = field(default_factory=list)
    skipped_reason: str | None = None
    files_left_out: list[str] = field(default_factory=list)
    usage: AIUsage | None = None
    files_reviewed: list[str] = field(default_factory=list)
    files_clipped: list[str] = field(default_factory=list)
    dropped_findings: int = 0  # answers not kept: invalid, off the diff, duplicates, over max

    @property
    def skipped(self) -> bool:
        return self.skipped_reason is not None


# --- diff parsing and the budget ---------------------------------------------------------

_HUNK_HEADER = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")


@dataclass
class _Hunk:
    header: str
    lines: list[tuple[str, int | None, str]] = field(default_factory=list)  # marker, new no, text

    @property
    def has_additions(self) -> bool:
        return any(marker == "+" for marker, _, _ in self.lines)


def parse_hunks(patch: str) -> list[_Hunk]:
    """The hunks of one file's unified diff; lines outside hunks (headers) are ignored."""
    hunks: list[_Hunk] = []
    current: _Hunk | None = None
    old_left = new_left = 0
    new_line = 0
    for raw in patch.split("\n"):
        raw = raw.removesuffix("\r")
        if current is None or (old_left <= 0 and new_left <= 0):
            match = _HUNK_HEADER.match(raw)
            if match is None:
                current = None
                continue
            current = _Hunk(raw)
            hunks.append(current)
            old_left = int(match.group(2)) if match.group(2) is not None else 1
            new_left = int(match.group(4)) if match.group(4) is not None else 1
            new_line = int(match.group(3))
            continue
        if raw.startswith("\\"):  # "\ No newline at end of file"
            continue
        marker, text = (raw[0], raw[1:]) if raw else (" ", "")
        if marker == "+":
            current.lines.append(("+", new_line, text))
            new_line += 1
            new_left -= 1
        elif marker == "-":
            current.lines.append(("-", None, text))
            old_left -= 1
        else:  # context (an empty line is context whose space was stripped)
            current.lines.append((" ", new_line, raw[1:] if marker == " " else raw))
            new_line += 1
            new_left -= 1
            old_left -= 1
    return hunks


def estimate_tokens(text: str) -> int:
    return math.ceil(len(text) / CHARS_PER_TOKEN)


def _render_line(marker: str, number: int | None, text: str) -> str:
    return f"{marker} {number if number is not None else '':>5} | {text}\n"


@dataclass
class _Prepared:
    path: str
    hunks: list[_Hunk]
    size: int  # characters of the full rendering


@dataclass
class _Rendered:
    path: str
    text: str
    added: dict[int, str]  # new line number -> text, for the added lines that were sent
    clipped: bool


def _prepare(diff: FileDiff) -> _Prepared | None:
    hunks = [h for h in parse_hunks(diff.patch) if h.has_additions]
    if not hunks:
        return None
    size = len(_file_header(diff.path)) + sum(
        len(h.header) + 1 + sum(len(_render_line(*line)) for line in h.lines) for h in hunks
    )
    return _Prepared(diff.path, hunks, size)


def _file_header(path: str) -> str:
    return f"=== {path} ===\n"


def _render(prepared: _Prepared, max_chars: int) -> _Rendered:
    """The file's hunks in at most `max_chars` (clip note included), cut at a line boundary."""
    if prepared.size > max_chars:
        max_chars -= CLIP_NOTE_RESERVE
    parts = [_file_header(prepared.path)]
    used = len(parts[0])
    added: dict[int, str] = {}
    total = sum(1 + len(h.lines) for h in prepared.hunks)
    emitted = 0
    clipped = False
    for hunk in prepared.hunks:
        pieces: list[tuple[str, tuple[str, int | None, str] | None]] = [(hunk.header + "\n", None)]
        pieces += [(_render_line(*line), line) for line in hunk.lines]
        for text, line in pieces:
            if used + len(text) > max_chars:
                clipped = True
                break
            parts.append(text)
            used += len(text)
            emitted += 1
            if line is not None and line[0] == "+" and line[1] is not None:
                added[line[1]] = line[2]
        if clipped:
            break
    if clipped:
        parts.append(f"... ({total - emitted} more diff lines clipped)\n")
    return _Rendered(prepared.path, "".join(parts), added, clipped)


@dataclass
class _Plan:
    files: list[_Rendered]
    left_out: list[str]
    prompt_tokens: int


def plan(diffs: Sequence[FileDiff], settings: AIReviewSettings) -> _Plan:
    """Choose what to send: deletion-only hunks dropped, largest files first, clipped."""
    system = system_prompt(settings)
    overhead = estimate_tokens(system) + estimate_tokens(USER_PREAMBLE)
    remaining = (settings.max_input_tokens - overhead) * CHARS_PER_TOKEN
    per_file = max(settings.max_file_tokens, 0) * CHARS_PER_TOKEN
    min_chars = MIN_FILE_TOKENS * CHARS_PER_TOKEN
    prepared = [p for p in (_prepare(d) for d in diffs) if p is not None]
    prepared.sort(key=lambda p: (-p.size, p.path))
    files: list[_Rendered] = []
    left_out: list[str] = []
    exhausted = False
    for item in prepared:
        if exhausted or remaining < min_chars:
            exhausted = True
            left_out.append(item.path)
            continue
        cap = min(per_file, remaining)
        rendered = _render(item, cap)
        if rendered.clipped and cap == remaining:
            exhausted = True  # the budget is used up: later files are left out
        if not rendered.added:
            left_out.append(item.path)
            continue
        files.append(rendered)
        remaining -= len(rendered.text) + 1
    body = "\n".join(f.text for f in files)
    return _Plan(files, left_out, overhead + estimate_tokens(body))


def system_prompt(settings: AIReviewSettings) -> str:
    return SYSTEM_PROMPT.replace("{max_findings}", str(settings.max_findings))


# --- the model's answer ------------------------------------------------------------------

_SEVERITY_ALIASES = {
    "error": Severity.ERROR,
    "critical": Severity.ERROR,
    "high": Severity.ERROR,
    "warning": Severity.WARNING,
    "warn": Severity.WARNING,
    "medium": Severity.WARNING,
    "notice": Severity.NOTICE,
    "note": Severity.NOTICE,
    "info": Severity.NOTICE,
    "low": Severity.NOTICE,
}


class _Answer(BaseModel):
    findings: list[Any]


class _RawFinding(BaseModel):
    model_config = ConfigDict(extra="ignore")

    path: str = Field(min_length=1)
    line: int = Field(ge=1)
    severity: Severity = Severity.WARNING
    message: str
    suggestion: str | None = None

    @field_validator("severity", mode="before")
    @classmethod
    def _severity(cls, value: object) -> object:
        if isinstance(value, str):
            key = value.strip().lower()
            if key in _SEVERITY_ALIASES:
                return _SEVERITY_ALIASES[key]
        return value

    @field_validator("message")
    @classmethod
    def _message(cls, value: str) -> str:
        value = " ".join(value.split())
        if not value:
            raise ValueError("empty message")
        if len(value) > MAX_MESSAGE_CHARS:
            value = value[: MAX_MESSAGE_CHARS - 1].rstrip() + "…"
        return value


_FENCE = re.compile(r"^\s*```[a-zA-Z]*\s*\n(.*)\n\s*```\s*$", re.DOTALL)


def _decode(content: str) -> list[Any]:
    fenced = _FENCE.match(content)
    if fenced:  # some compatible servers wrap JSON mode answers in a code fence
        content = fenced.group(1)
    try:
        data = json.loads(content)
    except ValueError:
        raise Unanswered("the model's answer was not valid JSON") from None
    try:
        return _Answer.model_validate(data).findings
    except ValidationError:
        raise Unanswered("the model's answer did not match the findings schema") from None


def _normalise_path(path: str, reviewed: dict[str, dict[int, str]]) -> str:
    path = path.strip()
    if path in reviewed:
        return path
    for prefix in ("b/", "./", "/"):
        if path.startswith(prefix) and path[len(prefix) :] in reviewed:
            return path[len(prefix) :]
    return path


def to_findings(
    items: list[Any], files: list[_Rendered], max_findings: int
) -> tuple[list[Finding], int]:
    """Keep the valid findings on lines that were sent; return them and the count dropped."""
    reviewed = {f.path: f.added for f in files}
    kept: list[Finding] = []
    seen: set[tuple[str, int, str]] = set()
    invalid = 0
    for item in items:
        try:
            raw = _RawFinding.model_validate(item)
        except ValidationError:
            invalid += 1
            continue
        path = _normalise_path(raw.path, reviewed)
        text = reviewed.get(path, {}).get(raw.line)
        if text is None or (path, raw.line, raw.message) in seen:
            invalid += 1
            continue
        seen.add((path, raw.line, raw.message))
        kept.append(_finding(path, raw, text))
    if items and not kept and invalid == len(items) and not any(_looks_like(i) for i in items):
        raise Unanswered("the model's answer did not match the findings schema")
    kept.sort(key=lambda f: -f.severity.rank)  # stable: the model's order within a severity
    return kept[:max_findings], invalid + max(len(kept) - max_findings, 0)


def _looks_like(item: Any) -> bool:
    """An item with the schema's shape (kept apart from one that is not a finding at all)."""
    return isinstance(item, dict) and {"path", "line", "message"} <= item.keys()


def _finding(path: str, raw: _RawFinding, text: str) -> Finding:
    fix = None
    if raw.suggestion is not None:
        suggestion = raw.suggestion.removesuffix("\n")
        if suggestion != text and len(suggestion) <= MAX_SUGGESTION_CHARS:
            edit = Edit(raw.line, 1, raw.line, len(text) + 1, suggestion)
            fix = Fix(description="AI suggestion", edits=(edit,), safe=False)
    return Finding(
        path=path,
        line=raw.line,
        column=1,
        rule=RULE,
        severity=raw.severity,
        message=raw.message,
        end_line=raw.line,
        end_column=len(text) + 1 if text else None,
        fix=fix,
        source=SOURCE,
    )


# --- the call ----------------------------------------------------------------------------


def _usage(usage: Any, estimate: int) -> AIUsage:
    if usage is None:
        return AIUsage(estimate)
    return AIUsage(
        estimate,
        getattr(usage, "prompt_tokens", None),
        getattr(usage, "completion_tokens", None),
        getattr(usage, "total_tokens", None),
    )


async def _review(diffs: Sequence[FileDiff], settings: AIReviewSettings) -> AIReviewResult:
    if not settings.api_key:
        return AIReviewResult(skipped_reason="no API key is configured")
    chosen = plan(diffs, settings)
    result = AIReviewResult(
        files_left_out=chosen.left_out,
        usage=AIUsage(chosen.prompt_tokens),
        files_reviewed=[f.path for f in chosen.files],
        files_clipped=[f.path for f in chosen.files if f.clipped],
    )
    if not chosen.files:
        result.usage = None
        result.skipped_reason = (
            "the diff does not fit the AI review's token budget"
            if chosen.left_out
            else "no added or changed lines to review"
        )
        return result
    body = USER_PREAMBLE + "\n".join(f.text for f in chosen.files)
    try:
        answer = await ask_json(
            settings,
            system=system_prompt(settings),
            user=body,
            time_limit=settings.timeout,
            max_output_tokens=settings.max_output_tokens,
        )
        result.usage = _usage(answer.usage, chosen.prompt_tokens)
        items = _decode(answer.content)
        result.findings, result.dropped_findings = to_findings(
            items, chosen.files, settings.max_findings
        )
    except Unanswered as skip:
        result.skipped_reason = str(skip)
    return result


async def ai_review(diffs: Sequence[FileDiff], settings: AIReviewSettings) -> AIReviewResult:
    """Review `diffs` with the model; never raises for model or API problems."""
    try:
        result = await _review(diffs, settings)
    except Exception as exc:  # a bug here must not block the heuristic review either
        result = AIReviewResult(skipped_reason=f"the AI review failed ({type(exc).__name__})")
        log.exception("ai review failed", error_type=type(exc).__name__)
        return result
    if result.skipped_reason is not None:
        log.warning(
            "ai review skipped",
            reason=result.skipped_reason,
            model=settings.model,
            files_left_out=len(result.files_left_out),
        )
    else:
        log.info(
            "ai review finished",
            model=settings.model,
            findings=len(result.findings),
            dropped=result.dropped_findings,
            files=len(result.files_reviewed),
            files_clipped=len(result.files_clipped),
            files_left_out=len(result.files_left_out),
            prompt_tokens=result.usage.prompt_tokens if result.usage else None,
            completion_tokens=result.usage.completion_tokens if result.usage else None,
        )
    return result
