"""CommentReplies against the fake GitHub and a real database: one reply per command line,
even when a job died between posting the reply and recording it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from app.chatops.replies import CommentReplies
from app.github.app import GitHubApp
from app.store.database import Database
from tests.support.deckhand import make_settings

INSTALLATION = 1001
REPO = "octo-org/widgets"


class DiesAfterPosting:
    """A client whose process 'dies' right after GitHub accepted a new comment."""

    def __init__(self, gh: Any) -> None:
        self.gh = gh

    def __getattr__(self, name: str) -> Any:
        return getattr(self.gh, name)

    async def post(self, url: str, **kwargs: Any) -> Any:
        answer = await self.gh.post(url, **kwargs)
        if url.endswith("/comments"):
            raise ConnectionResetError("the worker was killed here")
        return answer


@pytest.fixture
async def parts(fake_github: Any, app_keys: Any, tmp_path: Any) -> AsyncIterator[Any]:
    fake_github.add_installation(INSTALLATION, account="octo-org", repositories=[REPO])
    comment = fake_github.add_issue_comment(REPO, 7, "/help")
    settings = make_settings(
        tmp_path,
        github_api_url=fake_github.url,
        github_app_id=app_keys.app_id,
        github_private_key=app_keys.private_pem,
    )
    github_app = GitHubApp(settings)
    db = Database(f"sqlite:///{tmp_path}/replies.db")
    await db.migrate()
    yield github_app.installation_client(INSTALLATION), db, comment
    await github_app.close()
    await db.close()


def replies_on(fake_github: Any) -> list[Any]:
    return [c for c in fake_github.comments_on(REPO, 7) if c.body != "/help"]


async def test_a_second_say_edits_the_first_reply(parts: Any, fake_github: Any) -> None:
    gh, db, comment = parts
    replies = CommentReplies(gh, db, REPO, 7, comment.id)
    await replies.say(1, "working on it")
    await replies.say(1, "done")
    [reply] = replies_on(fake_github)
    assert reply.body.startswith("done")
    assert replies.marker(1) in reply.body


async def test_a_reply_posted_by_a_job_that_died_is_found_and_edited(
    parts: Any, fake_github: Any
) -> None:
    gh, db, comment = parts
    with pytest.raises(ConnectionResetError):
        await CommentReplies(DiesAfterPosting(gh), db, REPO, 7, comment.id).say(1, "first run")
    assert len(replies_on(fake_github)) == 1  # posted, but its id was never recorded

    await CommentReplies(gh, db, REPO, 7, comment.id).say(1, "second run")
    [reply] = replies_on(fake_github)
    assert reply.body.startswith("second run")


async def test_each_command_line_gets_its_own_reply(parts: Any, fake_github: Any) -> None:
    gh, db, comment = parts
    replies = CommentReplies(gh, db, REPO, 7, comment.id)
    await replies.say(1, "one")
    await replies.say(2, "two")
    await replies.say(2, "two again")
    bodies = sorted(r.body.split("\n")[0] for r in replies_on(fake_github))
    assert bodies == ["one", "two again"]


async def test_a_deleted_reply_is_posted_again(parts: Any, fake_github: Any) -> None:
    gh, db, comment = parts
    replies = CommentReplies(gh, db, REPO, 7, comment.id)
    await replies.say(1, "first")
    [reply] = replies_on(fake_github)
    del fake_github.comments[reply.id]
    await replies.say(1, "again")
    [posted] = replies_on(fake_github)
    assert posted.body.startswith("again") and posted.id != reply.id
