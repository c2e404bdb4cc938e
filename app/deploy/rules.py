"""The deploy rules that need no I/O: required checks, a head newer than the comment,
the hourly rate limit and who is named in `allowed`.

Each returns the reason to refuse, or None. Kept pure so every refusal is tested
directly and worded once.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

GREEN = frozenset({"success", "neutral", "skipped"})


def checks_refusal(
    check_runs: Sequence[Mapping[str, Any]],
    statuses: Sequence[Mapping[str, Any]],
    required: list[str] | None,
) -> str | None:
    """`required` names must each be green, as a check run or a commit status (GitHub's
    required contexts are either; of a check run and a status with the same name, the
    check run counts); None: every check and status on the commit must be green (and
    there must be one, so an unchecked commit is not taken for a green one)."""
    latest: dict[str, tuple[bool, str | None]] = {}  # name -> (finished, conclusion)
    for run in check_runs:  # GitHub lists the newest first; keep the newest per name
        latest.setdefault(
            str(run.get("name")), (run.get("status") == "completed", run.get("conclusion"))
        )
    for status in statuses:  # the combined status holds the newest per context
        state = status.get("state")
        latest.setdefault(str(status.get("context")), (state != "pending", state))
    names = list(latest) if required is None else list(required)
    if required is None and not names:
        return "no checks have run on this commit yet"
    missing = [n for n in names if n not in latest]
    pending = [n for n in names if n in latest and not latest[n][0]]
    red = [
        f"{n} ({latest[n][1]})"
        for n in names
        if n in latest and latest[n][0] and latest[n][1] not in GREEN
    ]
    problems = []
    if red:
        problems.append("failed: " + ", ".join(red))
    if pending:
        problems.append("still running: " + ", ".join(pending))
    if missing:
        problems.append("not reported: " + ", ".join(missing))
    return "required checks are not green (" + "; ".join(problems) + ")" if problems else None


def stale_head_refusal(comment_created_at: str | None, *head_times: str | None) -> str | None:
    """Refuse when the head commit was made or pushed after the comment (`head_times`:
    its commit date, when its branch moved to it; unknown ones are None): the commenter
    did not see it."""
    said = _time(comment_created_at)
    if said is None or not any(t is not None and t > said for t in map(_time, head_times)):
        return None
    return "the pull request's head commit is newer than your comment; look at it and ask again"


def rate_refusal(deployed_last_hour: int, max_per_hour: int | None) -> str | None:
    if max_per_hour is not None and deployed_last_hour >= max_per_hour:
        return f"the environment allows {max_per_hour} deployments an hour and has had them"
    return None


def named_in(login: str, allowed: Iterable[str]) -> tuple[bool, list[tuple[str, str]]]:
    """(listed by name, the `org/team` entries still to ask GitHub about)."""
    teams = []
    for entry in allowed:
        if "/" in entry:
            org, _, team = entry.partition("/")
            teams.append((org, team))
        elif entry.lower() == login.lower():
            return True, []
    return False, teams


def _time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
