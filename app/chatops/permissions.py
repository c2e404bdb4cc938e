"""Who may act: the commenter's permission on the repository, from GitHub.

Asked of the collaborator permission API for every command that changes something
(never taken from the payload's `author_association`, which says nothing of write access).
"""

from __future__ import annotations

from typing import Any

from gidgethub import BadRequest

WRITE_LEVELS = frozenset({"admin", "maintain", "write"})


async def permission_of(gh: Any, repository: str, login: str) -> str:
    """`admin`, `write`, `read` or `none` (GitHub's levels; maintain counts as write)."""
    owner, repo = repository.split("/", 1)
    try:
        answer = await gh.getitem(
            "/repos/{owner}/{repo}/collaborators/{username}/permission",
            url_vars={"owner": owner, "repo": repo, "username": login},
        )
    except BadRequest as exc:
        if int(exc.status_code) == 404:  # not a user GitHub knows
            return "none"
        raise
    return str(answer.get("permission") or "none")


async def can_write(gh: Any, repository: str, login: str) -> bool:
    return await permission_of(gh, repository, login) in WRITE_LEVELS
