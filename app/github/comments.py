"""Issues and comments Deckhand owns, found again by a hidden marker.

A job that may run twice (a retry, a redelivery, a worker killed between posting a
comment and recording its id) finds the comment it posted with `find_comment` and
edits it with `edit_comment`, which says when someone deleted it, so the job posts
anew (`post_comment`) instead of adding a second one. `find_issue` does the same for
an issue it opened, among the repository's most recent ones.
"""

from __future__ import annotations

from typing import Any

from gidgethub import BadRequest

RECENT_ISSUES = 100  # an issue opened by a job that died is among the newest


async def find_comment(gh: Any, repository: str, issue_number: int, marker: str) -> int | None:
    """The id of the issue's first comment whose body holds `marker`, if any."""
    owner, repo = repository.split("/", 1)
    async for comment in gh.getiter(
        "/repos/{owner}/{repo}/issues/{issue_number}/comments{?per_page}",
        url_vars={
            "owner": owner,
            "repo": repo,
            "issue_number": str(issue_number),
            "per_page": "100",
        },
    ):
        if marker in (comment.get("body") or ""):
            return int(comment["id"])
    return None


async def edit_comment(gh: Any, repository: str, comment_id: int, body: str) -> bool:
    """Replace the comment's body; False when the comment no longer exists (deleted)."""
    owner, repo = repository.split("/", 1)
    try:
        await gh.patch(
            "/repos/{owner}/{repo}/issues/comments/{comment_id}",
            url_vars={"owner": owner, "repo": repo, "comment_id": str(comment_id)},
            data={"body": body},
        )
    except BadRequest as exc:
        if int(exc.status_code) != 404:
            raise
        return False
    return True


async def post_comment(gh: Any, repository: str, issue_number: int, body: str) -> int:
    """A new comment on the issue or pull request; returns its id."""
    owner, repo = repository.split("/", 1)
    created = await gh.post(
        "/repos/{owner}/{repo}/issues/{issue_number}/comments",
        url_vars={"owner": owner, "repo": repo, "issue_number": str(issue_number)},
        data={"body": body},
    )
    return int(created["id"])


async def find_issue(gh: Any, repository: str, marker: str) -> int | None:
    """The number of the newest issue (not pull request) whose body holds `marker`."""
    owner, repo = repository.split("/", 1)
    found = await gh.getitem(
        "/repos/{owner}/{repo}/issues{?state,sort,direction,per_page}",
        url_vars={
            "owner": owner,
            "repo": repo,
            "state": "all",
            "sort": "created",
            "direction": "desc",
            "per_page": str(RECENT_ISSUES),
        },
    )
    for issue in found:
        if marker in (issue.get("body") or "") and "pull_request" not in issue:
            return int(issue["number"])
    return None
