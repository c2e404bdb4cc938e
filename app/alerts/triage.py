"""AI triage of an alert: the likely cause, in a few sentences, from its stack trace and
the code around its frames.

The code is what the issue's permalinks show: up to `MAX_EXCERPTS` frames that point
into the repository (innermost first), `EXCERPT_RADIUS` lines either side of each, at the
suspect deployment's commit (the tracker reads them; see `code_frames` and `excerpts`).
On only with `OPENAI_API_KEY`. Never raises: a timeout, an HTTP error, a refusal or an
answer that is not the expected JSON all come back as None with a logged reason, so the
alert's issue never waits on the model.
"""

from __future__ import annotations

import json

from app.ai.chat import Unanswered, ask_json
from app.alerts.sources import Alert
from app.alerts.suspect import frame_path
from app.config.model_endpoint import ModelEndpoint
from app.config.settings import Settings
from app.logs import get_logger

log = get_logger("deckhand.alerts.triage")

TIMEOUT = 30.0
MAX_CAUSE_CHARS = 1500
MAX_EXCERPTS = 3
EXCERPT_RADIUS = 15
MAX_LINE_CHARS = 300
SYSTEM_PROMPT = """\
You triage production errors. From an alert's title, message, stack trace (innermost \
frame first) and, when given, the code around its frames (the frame's own line marked \
with >), say in two to four sentences what most likely caused it and where to look. \
Say so when the evidence is thin. Answer with one JSON object and nothing else: \
{"cause": "<your explanation>", "confidence": "low" | "medium" | "high"}"""


def prompt(alert: Alert, code: str = "") -> str:
    frames = "\n".join(
        f"  {f.path}:{f.line or '?'} in {f.function or '?'}" for f in alert.frames[:30]
    )
    text = (
        f"Title: {alert.title}\nSeverity: {alert.severity}\nSource: {alert.source}\n"
        f"Message:\n{alert.message[:3000]}\nStack trace:\n{frames or '  (none)'}\n"
    )
    return f"{text}Code around the frames:\n{code}\n" if code else text


def code_frames(alert: Alert, files: frozenset[str] | None = None) -> list[tuple[str, int]]:
    """(repository path, line) of the innermost in-repository frames that name a line
    (with `files`, every file at the commit, only those that exist)."""
    found: list[tuple[str, int]] = []
    for frame in alert.frames:
        path = frame_path(frame, files)
        if path is not None and frame.line and (path, frame.line) not in found:
            found.append((path, frame.line))
    return found[:MAX_EXCERPTS]


def excerpts(frames: list[tuple[str, int]], files: dict[str, str], where: str) -> str:
    """The numbered lines around each frame in `files` (path -> text), `where` naming
    the commit they were read at; frames whose file or line is missing are left out."""
    parts = []
    for path, line in frames:
        lines = files.get(path, "").splitlines()
        if not 1 <= line <= len(lines):
            continue
        first, last = max(1, line - EXCERPT_RADIUS), min(len(lines), line + EXCERPT_RADIUS)
        shown = "\n".join(
            f"{'>' if n == line else ' '} {n:>5} | {lines[n - 1][:MAX_LINE_CHARS]}"
            for n in range(first, last + 1)
        )
        parts.append(f"===== {path}, lines {first}-{last}, at {where} =====\n{shown}")
    return "\n\n".join(parts)


async def triage(alert: Alert, settings: Settings, code: str = "") -> str | None:
    """The model's explanation (markdown), or None when there is none to give; `code` is
    what `excerpts` made of the frames' files."""
    endpoint = ModelEndpoint.from_settings(settings)
    if endpoint is None:
        return None
    try:
        answer = await ask_json(
            endpoint,
            system=SYSTEM_PROMPT,
            user=prompt(alert, code),
            time_limit=TIMEOUT,
            max_output_tokens=600,
        )
        return _cause(answer.content)
    except Unanswered as exc:
        log.warning("alert_triage_failed", error=str(exc))
    except Exception as exc:  # every failure means "no triage", never a failed job
        log.warning("alert_triage_failed", error=type(exc).__name__)
    return None


def _cause(content: str) -> str:
    try:
        data = json.loads(content)
    except ValueError:
        raise Unanswered("the answer is not JSON") from None
    cause = data.get("cause") if isinstance(data, dict) else None
    if not isinstance(cause, str) or not cause.strip():
        raise Unanswered("the answer has no cause")
    confidence = data.get("confidence")
    suffix = f"\n\nConfidence: {confidence}." if confidence in ("low", "medium", "high") else ""
    return cause.strip()[:MAX_CAUSE_CHARS] + suffix
