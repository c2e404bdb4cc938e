"""Comment commands in end-to-end tests: post a comment as a person through the fake
GitHub and the real webhook endpoint, wait until Deckhand has processed it, and read the
bot's reply."""

from __future__ import annotations

from typing import Any

from tests.fakes.github import FakeGitHub

REPO = "octo-org/widgets"
INSTALLATION = 1001


async def comment(
    bot: Any,
    fake_github: FakeGitHub,
    number: int,
    body: str,
    user: str = "maintainer",
    *,
    repo: str = REPO,
    installation: int = INSTALLATION,
) -> Any:
    """Post `body` on issue or PR `number` as `user`; the seeded comment, once processed."""
    seeded = fake_github.add_issue_comment(repo, number, body, user=user)
    await deliver(bot, fake_github, seeded, installation=installation)
    return seeded


async def deliver(
    bot: Any,
    fake_github: FakeGitHub,
    seeded: Any,
    action: str = "created",
    *,
    installation: int = INSTALLATION,
) -> None:
    """Send the `issue_comment` event of a seeded comment and wait until it is done."""
    payload = fake_github.payloads.issue_comment_payload(seeded.id, installation, action)
    status, _, delivery_id = await bot.post("issue_comment", payload)
    assert status == 202
    delivery = (await bot.wait_finished([delivery_id]))[delivery_id]
    assert delivery.status == "done", delivery.last_error


def bot_replies(fake_github: FakeGitHub, number: int, repo: str = REPO) -> list[str]:
    """The bodies of Deckhand's comments on issue or PR `number`, oldest first."""
    return [c.body for c in fake_github.comments_on(repo, number) if c.user is fake_github.app.bot]


async def say(
    bot: Any, fake_github: FakeGitHub, number: int, body: str, user: str = "maintainer"
) -> str:
    """Post a comment, wait for Deckhand, return its latest reply."""
    await comment(bot, fake_github, number, body, user)
    return bot_replies(fake_github, number)[-1]
