"""Answering a command comment: reactions on it and one reply comment per command line.

👀 when the comment is read, then 🚀 when every command in it went through or 😕 when
one did not. A command's reply is posted once and edited after that: its row in
`command_replies` is reserved before the post and gets the reply's id after it, and the
reply carries a hidden marker. A job that runs again (a retry, a redelivery, a worker
killed between the post and the record) edits the reply it finds, by id or by marker,
instead of posting another. Reactions are idempotent on GitHub's side.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from app.github.comments import edit_comment, find_comment, post_comment
from app.store.database import Database
from app.store.schema import command_replies
from app.store.upsert import upsert


class CommentReplies:
    def __init__(self, gh: Any, db: Database, repository: str, issue: int, comment: int) -> None:
        self.gh = gh
        self.db = db
        self.repository = repository
        self.owner, self.repo = repository.split("/", 1)
        self.issue = issue
        self.comment = comment

    async def react(self, content: str) -> None:
        await self.gh.post(
            "/repos/{owner}/{repo}/issues/comments/{comment_id}/reactions",
            url_vars={"owner": self.owner, "repo": self.repo, "comment_id": str(self.comment)},
            data={"content": content},
        )

    def marker(self, line: int) -> str:
        return f"<!-- deckhand:reply {self.comment}:{line} -->"

    async def say(self, line: int, body: str) -> None:
        """Post or edit the reply to the command on `line`."""
        body = f"{body}\n\n{self.marker(line)}"
        key = (command_replies.c.comment_id == self.comment) & (command_replies.c.line == line)
        row = await self.db.read(
            lambda conn: conn.execute(select(command_replies.c.reply_id).where(key)).first()
        )
        reply_id = row.reply_id if row is not None else None
        if row is not None and reply_id is None:  # reserved: a run before this one may have posted
            reply_id = await find_comment(self.gh, self.repository, self.issue, self.marker(line))
        if reply_id is not None and await edit_comment(self.gh, self.repository, reply_id, body):
            await self._record(line, reply_id)
            return
        if row is None:
            await self._record(line, None)
        await self._record(line, await post_comment(self.gh, self.repository, self.issue, body))

    async def _record(self, line: int, reply_id: int | None) -> None:
        row = {"comment_id": self.comment, "line": line, "reply_id": reply_id}
        await self.db.transaction(
            lambda conn: upsert(conn, command_replies, [row], ["comment_id", "line"])
        )
