"""AI triage of an alert: the likely cause, in a few sentences, from its stack trace.

On only with `OPENAI_API_KEY`. Never raises: a timeout, an HTTP error, a refusal or an
answer that is not the expected JSON all come back as None with a logged reason, so the
alert's issue never waits on the model.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import openai

from app.alerts.sources import Alert
from app.config.settings import Settings
from app.logs import get_logger

log = get_logger("deckhand.alerts.triage")

TIMEOUT = 30.0
MAX_CAUSE_CHARS = 1500
SYSTEM_PROMPT = """\
You triage production errors. From an alert's title, message and stack trace (innermost \
frame first), say in two to four sentences what most likely caused it and where to look. \
Say so when the evidence is thin. Answer with one JSON object and nothing else: \
{"cause": "<your explanation>", "confidence": "low" | "medium" | "high"}"""


def prompt(alert: Alert) -> str:
    frames = "\n".join(
        f"  {f.path}:{f.line or '?'} in {f.function or '?'}" for f in alert.frames[:30]
    )
    return (
        f"Title: {alert.title}\nSeverity: {alert.severity}\nSource: {alert.source}\n"
        f"Message:\n{alert.message[:3000]}\nStack trace:\n{frames or '  (none)'}\n"
    )


async def triage(alert: Alert, settings: Settings) -> str | None:
    """The model's explanation (markdown), or None when there is none to give."""
    if settings.openai_api_key is None:
        return None
    client = openai.AsyncOpenAI(
        api_key=settings.openai_api_key.get_secret_value(),
        base_url=settings.openai_base_url,
        timeout=TIMEOUT,
        max_retries=1,
    )
    try:
        async with client, asyncio.timeout(TIMEOUT):
            completion = await client.chat.completions.create(
                model=settings.openai_model,
                messages=[
                    {"role": "system", "content": SYSTEM_PROMPT},
                    {"role": "user", "content": prompt(alert)},
                ],
                response_format={"type": "json_object"},
                max_completion_tokens=600,
            )
        return _cause(completion)
    except Exception as exc:  # every failure means "no triage", never a failed job
        log.warning("alert_triage_failed", error=type(exc).__name__)
        return None


def _cause(completion: Any) -> str | None:
    choices = getattr(completion, "choices", None) or []
    message = getattr(choices[0], "message", None) if choices else None
    content = getattr(message, "content", None)
    if not isinstance(content, str):
        log.warning("alert_triage_failed", error="no answer")
        return None
    try:
        data = json.loads(content)
    except ValueError:
        log.warning("alert_triage_failed", error="the answer is not JSON")
        return None
    cause = data.get("cause") if isinstance(data, dict) else None
    if not isinstance(cause, str) or not cause.strip():
        log.warning("alert_triage_failed", error="the answer has no cause")
        return None
    confidence = data.get("confidence")
    suffix = f"\n\nConfidence: {confidence}." if confidence in ("low", "medium", "high") else ""
    return cause.strip()[:MAX_CAUSE_CHARS] + suffix
