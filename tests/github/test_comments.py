"""Comments found by their marker, edited, and posted anew when deleted, on the fake GitHub."""

from __future__ import annotations

from typing import Any

import pytest
from gidgethub import BadRequest

from app.github.comments import edit_comment, find_comment, post_comment
from tests.github.conftest import INSTALLATION, REPO

MARKER = "<!-- deckhand:test 7 -->"


async def test_a_comment_is_found_by_its_marker_across_pages(github_app: Any, seeded: Any) -> None:
    for n in range(120):  # more than one page of 100
        seeded.add_issue_comment(REPO, 1, f"chatter {n}")
    wanted = seeded.add_issue_comment(REPO, 1, f"the bot's words\n\n{MARKER}", user="deckhand")
    gh = github_app.installation_client(INSTALLATION)
    assert await find_comment(gh, REPO, 1, MARKER) == wanted.id
    assert await find_comment(gh, REPO, 1, "<!-- deckhand:test 8 -->") is None


async def test_a_comment_is_posted_and_edited(github_app: Any, seeded: Any) -> None:
    gh = github_app.installation_client(INSTALLATION)
    comment_id = await post_comment(gh, REPO, 1, f"first\n\n{MARKER}")
    assert await edit_comment(gh, REPO, comment_id, f"second\n\n{MARKER}") is True
    [comment] = seeded.comments_on(REPO, 1)
    assert comment.id == comment_id and comment.body.startswith("second")


async def test_editing_a_deleted_comment_says_so(github_app: Any, seeded: Any) -> None:
    gh = github_app.installation_client(INSTALLATION)
    comment_id = await post_comment(gh, REPO, 1, "soon gone")
    del seeded.comments[comment_id]  # someone deleted it
    assert await edit_comment(gh, REPO, comment_id, "again") is False


async def test_other_errors_are_not_taken_for_a_deletion(github_app: Any, seeded: Any) -> None:
    gh = github_app.installation_client(INSTALLATION)
    comment_id = await post_comment(gh, REPO, 1, "kept")
    seeded.fail_next("PATCH", "/repos/{owner}/{repo}/issues/comments/{comment_id}", 403)
    with pytest.raises(BadRequest):
        await edit_comment(gh, REPO, comment_id, "refused")
