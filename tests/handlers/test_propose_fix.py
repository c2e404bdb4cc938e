"""`/propose-fix` end to end: an alert delivered to the real `POST /webhooks/alerts/...`
opens its issue, a comment through the real webhook endpoint asks for a fix, the fake
OpenAI server answers as scripted, the engine checks the answer, and the branch and
the draft pull request land in the real git server and the fake GitHub."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from app.installations import InstallationStore
from app.setup.manifest import PERMISSIONS
from app.web.keys import SERVICE
from tests.fakes.git import GitServer
from tests.fakes.github import FakeGitHub
from tests.fakes.openai_server import FakeOpenAI
from tests.handlers.test_alerts import SECRETS, AlertClient, generic, quiet
from tests.support.chatops import bot_replies, comment
from tests.support.waiting import eventually

INSTALLATION = 1001
REPO = "octo-org/widgets"
BRANCH = "deckhand/propose-fix/issue-{}"
CHECKOUT = """\
def find(cart, sku):
    for line in cart:
        if line["sku"] == sku:
            return line
    return None


def total(cart, sku):
    line = find(cart, sku)
    quantity = 1
    # the alert's frame: line 12
    return line["price"] * quantity
"""
FIXED = CHECKOUT.replace(
    '    return line["price"] * quantity\n',
    '    if line is None:\n        return 0\n    return line["price"] * quantity\n',
)
BROKEN = CHECKOUT.replace("def total(cart, sku):", "def total(cart, sku)")
CONFIG = "alerts:\n  labels: [production-error]\n  update_interval: 200ms\n"


def answer(files: list[dict[str, str]], explanation: str = "`find` returns None.") -> str:
    return json.dumps({"files": files, "explanation": explanation})


@pytest.fixture
async def repo(fake_github: FakeGitHub, git_server: GitServer) -> str:
    fake_github.add_installation(INSTALLATION, account="octo-org", permissions=PERMISSIONS)
    base = git_server.create_repo(
        REPO,
        {
            "app/checkout.py": CHECKOUT,
            "app/other.py": "VALUE = 1\n",
            ".github/deckhand.yml": CONFIG,
        },
        installation_id=INSTALLATION,
    )
    fake_github.set_collaborator(REPO, "maintainer", "write")
    return base


async def start(start_deckhand: Any, fake_github: FakeGitHub, app_keys: Any, **extra: Any) -> Any:
    bot = await start_deckhand(
        github_api_url=fake_github.url,
        github_app_id=app_keys.app_id,
        github_private_key=app_keys.private_pem,
        max_attempts=2,
        **SECRETS,
        **extra,
    )
    installed = {"id": INSTALLATION, "account": {"login": "octo-org", "type": "Organization"}}
    await InstallationStore(bot.app[SERVICE].db).record(
        installed, "active", [{"full_name": REPO, "id": 1}]
    )
    return bot


@pytest.fixture
async def ai() -> AsyncIterator[FakeOpenAI]:
    async with FakeOpenAI() as server:
        yield server


@pytest.fixture
async def bot(
    start_deckhand: Any, fake_github: FakeGitHub, app_keys: Any, repo: str, ai: FakeOpenAI
) -> Any:
    """Deckhand with a model (the fake OpenAI server), on the repository above."""
    return await start(
        start_deckhand, fake_github, app_keys, openai_api_key=ai.api_key, openai_base_url=ai.url
    )


async def alert_issue(
    bot: Any, fake_github: FakeGitHub, ai: FakeOpenAI | None = None, **alert: Any
) -> int:
    """Deliver an alert whose stack trace names app/checkout.py; its issue's number once
    every job (the issue, the triage) is done, with the fake model's script cleared."""
    await AlertClient(bot).deliver("generic", generic("checkout", **alert))
    await eventually(lambda: quiet(bot.app[SERVICE].db))
    if ai is not None:
        ai.reset()
        ai.requests.clear()
    [issue] = fake_github.issues_in(REPO)
    return issue.number


def replies(fake_github: FakeGitHub, number: int) -> list[str]:
    return [r for r in bot_replies(fake_github, number) if "/propose-fix" in r]


async def test_a_valid_fix_opens_one_draft_pull_request(
    bot: Any, ai: FakeOpenAI, fake_github: FakeGitHub, git_server: GitServer, repo: str
) -> None:
    number = await alert_issue(bot, fake_github, ai)
    ai.reply(answer([{"path": "app/checkout.py", "content": FIXED}]))
    seeded = await comment(bot, fake_github, number, "/propose-fix", "maintainer")

    [request] = ai.requests
    asked = request.json["messages"][1]["content"]
    assert "app/checkout.py:12" in asked and CHECKOUT in asked
    [pull] = fake_github.repo(REPO).pulls.values()  # type: ignore[union-attr]
    assert pull.draft and pull.head_ref == BRANCH.format(number) and pull.base_ref == "main"
    assert pull.user is fake_github.app.bot
    assert f"Proposed fix for #{number}" in (pull.body or "")
    assert "`find` returns None." in (pull.body or "")
    assert "no errors" in (pull.body or "")
    assert f"deckhand:propose-fix:issue-{number}" in (pull.body or "")
    [push] = git_server.pushes
    assert push.ref == f"refs/heads/{BRANCH.format(number)}" and push.old == "0" * 40
    assert git_server.show(REPO, push.new, "app/checkout.py").decode() == FIXED
    assert git_server.log(REPO, push.new, n=1)[0].parents == [repo]
    [reply] = replies(fake_github, number)
    assert f"Opened draft pull request #{pull.number}" in reply
    assert f"/pull/{pull.number}" in reply
    assert [r.content for r in seeded.reactions] == ["eyes", "rocket"]

    # Asked again: the open pull request is the answer, the model is not asked.
    ai.reply(answer([{"path": "app/checkout.py", "content": FIXED + "# again\n"}]))
    await comment(bot, fake_github, number, "/propose-fix", "maintainer")
    assert len(fake_github.repo(REPO).pulls) == 1  # type: ignore[union-attr]
    assert len(git_server.pushes) == 1 and len(ai.requests) == 1
    assert f"already open: #{pull.number}" in replies(fake_github, number)[-1]


async def test_a_frame_with_the_servers_absolute_path_finds_its_file(
    bot: Any, ai: FakeOpenAI, fake_github: FakeGitHub, git_server: GitServer
) -> None:
    stack = [{"path": "/srv/app/app/checkout.py", "line": 12, "function": "total"}]
    number = await alert_issue(bot, fake_github, ai, stacktrace=stack)
    ai.reply(answer([{"path": "app/checkout.py", "content": FIXED}]))
    await comment(bot, fake_github, number, "/propose-fix", "maintainer")
    [request] = ai.requests
    assert "===== BEGIN app/checkout.py =====" in request.json["messages"][1]["content"]
    [pull] = fake_github.repo(REPO).pulls.values()  # type: ignore[union-attr]
    assert pull.draft


async def test_a_retried_job_reuses_the_pushed_branch(
    bot: Any, ai: FakeOpenAI, fake_github: FakeGitHub, git_server: GitServer
) -> None:
    number = await alert_issue(bot, fake_github, ai)
    for _ in range(2):
        ai.reply(answer([{"path": "app/checkout.py", "content": FIXED}]))
    fake_github.fail_next("POST", "/repos/{owner}/{repo}/pulls", 502)
    await comment(bot, fake_github, number, "/propose-fix", "maintainer")
    [pull] = fake_github.repo(REPO).pulls.values()  # type: ignore[union-attr]
    assert len(ai.requests) == 2  # the first attempt died before the pull request
    [push] = git_server.pushes  # the second attempt found the branch as it wanted it
    assert pull.head_sha == push.new
    [reply] = replies(fake_github, number)
    assert f"Opened draft pull request #{pull.number}" in reply


async def test_a_fix_with_a_syntax_error_opens_nothing(
    bot: Any, ai: FakeOpenAI, fake_github: FakeGitHub, git_server: GitServer
) -> None:
    number = await alert_issue(bot, fake_github, ai)
    ai.reply(answer([{"path": "app/checkout.py", "content": BROKEN}]))
    seeded = await comment(bot, fake_github, number, "/propose-fix", "maintainer")
    assert git_server.pushes == [] and fake_github.repo(REPO).pulls == {}  # type: ignore[union-attr]
    [reply] = replies(fake_github, number)
    assert "does not pass validation" in reply and "no pull request was opened" in reply
    assert "`app/checkout.py:8`" in reply and "(syntax" in reply
    assert [r.content for r in seeded.reactions] == ["eyes", "confused"]


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        ([{"path": "app/other.py", "content": "VALUE = 2\n"}], "`app/other.py`, which is not"),
        ([{"path": "../etc/passwd", "content": "x"}], "`../etc/passwd`, which is not"),
        ([{"path": "app/checkout.py", "content": "a\0b"}], "is binary"),
        ([{"path": "app/checkout.py", "content": "x" * 200_000}], "larger than"),
        ([{"path": "app/checkout.py", "content": CHECKOUT}], "the same as the current ones"),
        ([], "proposed no change"),
    ],
)
async def test_what_the_model_may_not_change_is_refused(
    bot: Any,
    ai: FakeOpenAI,
    fake_github: FakeGitHub,
    git_server: GitServer,
    files: list[dict[str, str]],
    expected: str,
) -> None:
    number = await alert_issue(bot, fake_github, ai)
    ai.reply(answer(files))
    await comment(bot, fake_github, number, "/propose-fix", "maintainer")
    assert git_server.pushes == [] and fake_github.repo(REPO).pulls == {}  # type: ignore[union-attr]
    [reply] = replies(fake_github, number)
    assert expected in reply


async def test_a_model_failure_is_answered(
    bot: Any, ai: FakeOpenAI, fake_github: FakeGitHub, git_server: GitServer
) -> None:
    number = await alert_issue(bot, fake_github, ai)
    ai.malformed()
    await comment(bot, fake_github, number, "/propose-fix", "maintainer")
    ai.status(500)
    await comment(bot, fake_github, number, "/propose-fix", "maintainer")
    ai.reset()
    ai.truncated()
    await comment(bot, fake_github, number, "/propose-fix", "maintainer")
    first, second, third = replies(fake_github, number)
    assert "not the JSON asked for" in first
    assert "No fix was proposed: the model API answered HTTP 500." in second
    assert "No fix was proposed: the model's answer was cut off at the output token limit." in third
    assert git_server.pushes == []


async def test_only_writers_in_alert_issues_with_a_model(
    start_deckhand: Any, fake_github: FakeGitHub, git_server: GitServer, app_keys: Any, repo: str
) -> None:
    bot = await start(start_deckhand, fake_github, app_keys)  # no OPENAI_API_KEY
    number = await alert_issue(bot, fake_github)
    await comment(bot, fake_github, number, "/propose-fix", "maintainer")
    assert "no model is configured" in replies(fake_github, number)[-1]

    await comment(bot, fake_github, number, "/propose-fix", "mallory")
    assert "needs write access" in replies(fake_github, number)[-1]

    # A person's issue, even one that copies the marker, is not an alert's issue.
    marker = fake_github.issues_in(REPO)[0].body or ""
    human = fake_github.add_issue(REPO, number + 1, title="Checkout is broken", user="maintainer")
    human.body = marker
    await comment(bot, fake_github, human.number, "/propose-fix", "maintainer")
    assert "only works in an alert issue" in replies(fake_github, human.number)[-1]

    git_server.commit(REPO, "feature", {"app/other.py": "VALUE = 3\n"}, message="Other")
    pull = fake_github.open_pull_request(REPO, head="feature", base="main", user="maintainer")
    await comment(bot, fake_github, pull, "/propose-fix", "maintainer")
    assert "only works in an alert issue" in replies(fake_github, pull)[-1]
    assert git_server.pushes == [] and len(fake_github.repo(REPO).pulls) == 1  # type: ignore[union-attr]
