"""Answering a command comment: reactions on it and one reply comment per command line.

👀 when the comment is read, then 🚀 when every command in it went through or 😕 when
one did not. A command's reply is posted once and edited after that; the reply's id is
kept per (comment, line), so a job that runs twice edits its reply instead of posting
another.
"""

from __future__ import annotations

from typing import Any

from gidgethub import BadRequest
from sqlalchemy import select

from app.store.database import Database
from app.store.schema import command_replies
from app.store.upsert import upsert


class CommentReplies:
    def __init__(self, gh: Any, db: Database, repository: str, issue: int, comment: int) -> None:
        self.gh = gh
        self.db = db
        self.owner, self.repo = repository.split("/", 1)
        self.issue = issue
        self.comment = comment

    async def react(self, content: str) -> None:
        await self.gh.post(
            "/repos/{owner}/{repo}/issues/comments/{comment_id}/reactions",
            url_vars={"owner": self.owner, "repo": self.repo, "comment_id": str(self.comment)},
            data={"content": content},
        )

    async def say(self, line: int, body: str) -> None:
        """Post or edit the reply to the command on `line`."""
        reply_id = await self.db.read(
            lambda conn: conn.execute(
                select(command_replies.c.reply_id).where(
                    command_replies.c.comment_id == self.comment, command_replies.c.line == line
                )
            ).scalar()
        )
        if reply_id is not None:
            try:
                await self.gh.patch(
                    "/repos/{owner}/{repo}/issues/comments/{comment_id}",
                    url_vars={"owner": self.owner, "repo": self.repo, "comment_id": str(reply_id)},
                    data={"body": body},
                )
                return
            except BadRequest as exc:
                if int(exc.status_code) != 404:  # 404: the reply was deleted; post anew
                    raise
        created = await self.gh.post(
            "/repos/{owner}/{repo}/issues/{issue_number}/comments",
            url_vars={"owner": self.owner, "repo": self.repo, "issue_number": str(self.issue)},
            data={"body": body},
        )
        row = {"comment_id": self.comment, "line": line, "reply_id": created["id"]}
        await self.db.transaction(
            lambda conn: upsert(conn, command_replies, [row], ["comment_id", "line"])
        )
