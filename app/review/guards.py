"""The rules that keep the bot from looping or overriding people.

- `[skip ci]`, `[ci skip]` or `[skip deckhand]` in the head commit's message: no run.
- A head commit authored by a bot (ours or anyone's): reviewed, never fixed on its own
  initiative, so the bot's own fix commit cannot set off another.
- Three bot commits in a row at the tip of a branch: no more fixes there, not even when
  a person asks for them (the "Apply fixes" button, `/fix`).
- `.github/workflows/` is never modified (a token that may push there could change CI).
Pure functions over commit records.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from app.git.mirror import CommitInfo

SKIP_MARKERS = re.compile(r"\[(?:skip ci|ci skip|skip deckhand|deckhand skip)\]", re.IGNORECASE)
MAX_CONSECUTIVE_BOT_COMMITS = 3
PROTECTED_PREFIXES = (".github/workflows/",)


def skip_reason(message: str) -> str | None:
    match = SKIP_MARKERS.search(message or "")
    return f"the head commit says {match.group(0)}" if match else None


def is_bot(name: str, email: str) -> bool:
    return name.endswith("[bot]") or email.endswith("[bot]@users.noreply.github.com")


def fix_refusal(history: Sequence[CommitInfo], requested: bool) -> str | None:
    """Why fixes must not be committed on top of this history (newest first), or None.
    `requested`: a person asked for the fixes, rather than the bot deciding on its own."""
    if not history:
        return "the head commit is not available"
    head = history[0]
    if not requested and is_bot(head.author_name, head.author_email):
        return f"the head commit was authored by a bot ({head.author_name})"
    streak = 0
    for commit in history:
        if not is_bot(commit.author_name, commit.author_email):
            break
        streak += 1
    if streak >= MAX_CONSECUTIVE_BOT_COMMITS:
        return f"the last {streak} commits on the branch are bot commits"
    return None


def is_protected(path: str) -> bool:
    return path.startswith(PROTECTED_PREFIXES)
