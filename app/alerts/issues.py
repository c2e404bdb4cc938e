"""What an alert's issue and its comments say: title, labels, body, the hidden markers.

The marker `<!-- deckhand:alert:<key> -->` in the body is how Deckhand finds its issue
again (with its own database row first); a title is never matched. Pure text: no
GitHub calls, no database.
"""

from __future__ import annotations

import string
from datetime import UTC, datetime
from typing import Any

from app.alerts.sources import Alert
from app.alerts.suspect import Suspect, permalinks
from app.config.repo import AlertsConfig

MAX_BODY = 60000
MAX_TITLE = 250


def marker(key: str) -> str:
    return f"<!-- deckhand:alert:{key} -->"


def occurrence_marker(key: str) -> str:
    return f"<!-- deckhand:alert-occurrences:{key} -->"


def when(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


class _Fields(dict[str, str]):
    def __missing__(self, name: str) -> str:
        return "{" + name + "}"


def title(config: AlertsConfig, alert: Alert, environment: str) -> str:
    """The configured template with the alert's fields; unknown fields are left as written."""
    fields = _Fields(
        source=alert.source,
        title=alert.title,
        severity=alert.severity,
        environment=environment,
        fingerprint=alert.fingerprint,
    )
    try:
        text = string.Formatter().vformat(config.title, (), fields)
    except (ValueError, IndexError, AttributeError):
        text = f"{alert.source}: {alert.title}"
    text = " ".join(text.split()) or alert.title
    return text[:MAX_TITLE]


def labels(config: AlertsConfig, alert: Alert) -> list[str]:
    out = list(config.labels)
    extra = config.severity_labels.get(alert.severity.lower())
    if extra and extra not in out:
        out.append(extra)
    return out


def _fence(text: str) -> str:
    return "```\n" + text.replace("```", "``\u200b`") + "\n```"


def body(
    key: str,
    alert: Alert,
    environment: str,
    occurrences: int,
    first_seen: float,
    suspect: Suspect | None,
    web_url: str,
    repository: str,
    previous_issue: int | None,
) -> str:
    lines = [
        marker(key),
        f"**{alert.source}** alert in **{environment}**: {alert.title}",
        "",
        "| | |",
        "|---|---|",
        f"| Severity | `{alert.severity}` |",
        f"| Started | {when(alert.started_at)} |",
        f"| First seen | {when(first_seen)} |",
        f"| Occurrences when opened | {occurrences} |",
        f"| Fingerprint | `{alert.fingerprint[:200]}` |",
    ]
    if previous_issue is not None:
        lines.append(f"| Previously | #{previous_issue} |")
    if alert.links:
        lines.append("| Links | " + " · ".join(f"[{a}]({u})" for a, u in alert.links) + " |")
    if alert.message:
        lines += ["", "### Message", "", _fence(alert.message[:4000])]
    lines += ["", "### Suspect deployment", ""]
    sha = None
    if suspect is None:
        lines.append(f"No deployment to `{environment}` before this alert started.")
    else:
        d = suspect.deployment
        sha = d.sha
        pull = f" from #{d.pull_number}" if d.pull_number else ""
        author = f" by @{suspect.pull_author}" if suspect.pull_author else ""
        lines.append(
            f"Deployment **{d.id}** of `{d.sha[:7]}`{pull}{author} to `{d.environment}`, "
            f"deployed by @{d.actor} at {when(d.created_at)} ({d.status})."
        )
        if suspect.rollback_line:
            target = suspect.rollback_to
            assert target is not None
            lines += [
                "",
                f"To roll back to deployment {target.id} (`{target.sha[:7]}`), comment:",
                "",
                "```",
                suspect.rollback_line,
                "```",
            ]
        else:
            lines.append("There is no earlier successful deployment to roll back to.")
    if alert.frames:
        lines += ["", "### Stack trace", "", "Innermost frame first."]
        files = suspect.files if suspect else None
        frames = permalinks(alert.frames, web_url, repository, sha, files) if sha else None
        for n, frame in enumerate(alert.frames[:10]):
            where = f"{frame.path}:{frame.line}" if frame.line else frame.path
            name = f" in `{frame.function}`" if frame.function else ""
            link = frames[n][1] if frames else None
            shown = f"[`{where}`]({link})" if link else f"`{where}`"
            lines.append(f"- {shown}{name}")
    lines += ["", "<sub>Opened by Deckhand from a production alert.</sub>"]
    return "\n".join(lines)[:MAX_BODY]


def occurrences_comment(key: str, row: Any) -> str:
    """The one comment that keeps count, edited in place."""
    return "\n".join(
        [
            occurrence_marker(key),
            f"🔁 **Fired {row.occurrences} times** since this issue was opened.",
            "",
            f"- First seen: {when(row.first_seen)}",
            f"- Last seen: {when(row.last_seen)}",
            f"- Total occurrences of this alert: {row.count}",
        ]
    )


def triage_comment(text: str) -> str:
    return f"🤖 **AI triage** (a guess from the stack trace; check it):\n\n{text}"
