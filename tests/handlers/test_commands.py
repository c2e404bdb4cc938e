"""Comment commands end to end: permissions, replies, reactions, /fix, /review, /help."""

from __future__ import annotations

from typing import Any

import pytest

from app.setup.manifest import PERMISSIONS
from tests.fakes.git import GitServer
from tests.fakes.github import FakeGitHub
from tests.fakes.openai_server import FakeOpenAI
from tests.support.chatops import comment

INSTALLATION = 1001
REPO = "octo-org/widgets"
GOOD = "def main():\n    return 1\n"
BROKEN = "def main()\n    return 1\n"
NO_AUTOFIX = "review:\n  autofix: false\n"


@pytest.fixture
async def setup(fake_github: FakeGitHub, git_server: GitServer) -> int:
    fake_github.add_installation(INSTALLATION, account="octo-org", permissions=PERMISSIONS)
    git_server.create_repo(
        REPO, {"app.py": GOOD, ".github/deckhand.yml": NO_AUTOFIX}, installation_id=INSTALLATION
    )
    fake_github.set_collaborator(REPO, "maintainer", "write")
    git_server.commit(REPO, "feature", {"app.py": BROKEN}, message="Break it")
    return fake_github.open_pull_request(REPO, head="feature", base="main", user="alice")


@pytest.fixture
async def bot(start_deckhand: Any, fake_github: FakeGitHub, app_keys: Any, setup: int) -> Any:
    return await start_deckhand(
        github_api_url=fake_github.url,
        github_app_id=app_keys.app_id,
        github_private_key=app_keys.private_pem,
        max_attempts=2,
    )


def replies(fake_github: FakeGitHub, number: int, seeded: Any) -> list[str]:
    """The bot's answers to the commands (not the review's summary comment)."""
    return [
        c.body
        for c in fake_github.comments_on(REPO, number)
        if c.user is fake_github.app.bot and "deckhand:review-summary" not in c.body
    ]


async def test_fix_by_a_writer_commits_the_fixes(
    bot: Any, fake_github: FakeGitHub, git_server: GitServer, setup: int
) -> None:
    head = git_server.head(REPO, "feature")
    seeded = await comment(bot, fake_github, setup, "Thanks!\n/fix", "maintainer")
    [push] = git_server.pushes
    assert push.old == head and git_server.show(REPO, push.new, "app.py").decode() == GOOD
    [reply] = replies(fake_github, setup, seeded)
    assert reply.startswith("> /fix") and f"Reviewed {head[:7]}" in reply
    assert [r.content for r in seeded.reactions] == ["eyes", "rocket"]


async def test_fix_by_a_reader_is_refused_and_changes_nothing(
    bot: Any, fake_github: FakeGitHub, git_server: GitServer, setup: int
) -> None:
    seeded = await comment(bot, fake_github, setup, "/fix", "mallory")
    assert git_server.pushes == [] and fake_github.check_runs == {}
    [reply] = replies(fake_github, setup, seeded)
    assert "needs write access" in reply
    assert [r.content for r in seeded.reactions] == ["eyes", "confused"]


async def test_a_typo_gets_a_suggestion_and_help_lists_commands(
    bot: Any, fake_github: FakeGitHub, setup: int
) -> None:
    seeded = await comment(bot, fake_github, setup, "/valdiate\n/help", "maintainer")
    typo, help_text = replies(fake_github, setup, seeded)
    assert "/validate" in typo and "Did you mean" in typo
    assert "/deploy" in help_text and "/fix" in help_text
    assert fake_github.check_runs == {}


async def test_quoted_and_fenced_commands_and_bots_are_ignored(
    bot: Any, fake_github: FakeGitHub, setup: int
) -> None:
    seeded = await comment(bot, fake_github, setup, "> /fix\n```\n/fix\n```\n", "maintainer")
    assert replies(fake_github, setup, seeded) == [] and seeded.reactions == []
    fake_github.add_account("other-bot[bot]", type="Bot")
    by_bot = await comment(bot, fake_github, setup, "/fix", "other-bot[bot]")
    assert replies(fake_github, setup, by_bot) == [] and by_bot.reactions == []


async def test_deploy_without_environments_says_how_to_configure_them(
    bot: Any, fake_github: FakeGitHub, setup: int
) -> None:
    seeded = await comment(bot, fake_github, setup, "/deploy production", "maintainer")
    [reply] = replies(fake_github, setup, seeded)
    assert "no environments are configured (`deploy.environments`" in reply
    assert fake_github.deployments == {}


async def test_review_runs_the_ai_review_and_posts_its_findings(
    start_deckhand: Any, fake_github: FakeGitHub, git_server: GitServer, app_keys: Any, setup: int
) -> None:
    async with FakeOpenAI() as ai:
        ai.reply_findings(
            [{"path": "app.py", "line": 1, "severity": "warning", "message": "Name it run"}]
        )
        bot = await start_deckhand(
            github_api_url=fake_github.url,
            github_app_id=app_keys.app_id,
            github_private_key=app_keys.private_pem,
            openai_api_key=ai.api_key,
            openai_base_url=ai.url,
        )
        await comment(bot, fake_github, setup, "/review", "maintainer")
        [request] = ai.requests
        assert "def main()" in str(request.json)
    pull = fake_github.pull_request(REPO, setup)
    bodies = [c.body for c in pull.review_comments]
    assert any("AI review" in body and "Name it run" in body for body in bodies)
    [run] = fake_github.check_runs.values()
    assert run.conclusion == "failure"  # from the syntax error, not from the AI's warning
    assert any(a["title"] == "AI: ai/review" for a in run.annotations)


async def test_a_model_failure_never_blocks_the_review(
    start_deckhand: Any, fake_github: FakeGitHub, app_keys: Any, setup: int
) -> None:
    async with FakeOpenAI() as ai:
        ai.status(500)
        bot = await start_deckhand(
            github_api_url=fake_github.url,
            github_app_id=app_keys.app_id,
            github_private_key=app_keys.private_pem,
            openai_api_key=ai.api_key,
            openai_base_url=ai.url,
        )
        await comment(bot, fake_github, setup, "/review", "maintainer")
    [run] = fake_github.check_runs.values()
    assert run.status == "completed" and "AI review skipped" in run.output["summary"]
