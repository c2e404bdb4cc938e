"""Review runs end to end into the dashboard: a pull request's review, against the fake
GitHub and a real git server, leaves its outcome (findings, the fix commit it pushed)
in the database, and the repository page shows it to a signed-in collaborator."""

from __future__ import annotations

import re
from typing import Any

import aiohttp
import pytest

from app.review.store import RunOutcome, recent_reviews
from app.setup.manifest import PERMISSIONS
from app.web.keys import SERVICE
from tests.dashboard.conftest import WIDGETS, get, sign_in
from tests.fakes.git import GitServer
from tests.fakes.github import FakeGitHub

INSTALLATION = 1001
GOOD = "def main():\n    return 1\n"
BROKEN = "import os\ndef main()\n    return 1\n"  # a syntax error (fixed) and an unused import


@pytest.fixture
async def bot(
    start_deckhand: Any, fake_github: FakeGitHub, git_server: GitServer, app_keys: Any
) -> Any:
    gh = fake_github
    gh.add_installation(INSTALLATION, account="octo-org", permissions=PERMISSIONS)
    git_server.create_repo(
        WIDGETS, {"app.py": GOOD, "README.md": "# widgets\n"}, installation_id=INSTALLATION
    )
    gh.set_collaborator(WIDGETS, "alice", "write")
    gh.oauth_login = "alice"
    return await start_deckhand(
        github_api_url=gh.url,
        github_web_url=gh.url,
        github_app_id=app_keys.app_id,
        github_private_key=app_keys.private_pem,
        github_client_id=gh.app.client_id,
        github_client_secret=gh.oauth_client_secret,
        max_attempts=2,
    )


async def deliver(bot: Any, event: str, payload: dict[str, Any]) -> None:
    status, _, delivery_id = await bot.post(event, payload)
    assert status == 202
    delivery = (await bot.wait_finished([delivery_id]))[delivery_id]
    assert delivery.status == "done", delivery.last_error


async def test_a_review_run_is_recorded_and_shown_with_its_findings_and_fix_commit(
    bot: Any, fake_github: FakeGitHub, git_server: GitServer, browser: aiohttp.ClientSession
) -> None:
    head = git_server.commit(WIDGETS, "feature", {"app.py": BROKEN}, message="Break it")
    number = fake_github.open_pull_request(WIDGETS, head="feature", base="main", user="alice")
    payload = fake_github.payloads.pull_request_payload(WIDGETS, number, "opened", INSTALLATION)
    await deliver(bot, "pull_request", payload)
    fixed = git_server.head(WIDGETS, "feature")
    assert fixed != head
    [check_run] = fake_github.check_runs.values()

    [run] = await recent_reviews(bot.app[SERVICE].db, WIDGETS)
    assert (run.check_run_id, run.head_sha, run.pull_number) == (check_run.id, head, number)
    [commit] = git_server.log(WIDGETS, fixed, 1)
    notes = [line for line in commit.message.splitlines() if line.startswith("- ")]
    assert len(notes) == 2  # the colon put back, the unused import removed
    assert check_run.conclusion == "failure" and "1 error" in check_run.output["title"]
    assert run.outcome == RunOutcome("failure", errors=1, fix_sha=fixed, fixes=2)
    assert run.finished_at is not None

    # The bot's own commit comes back as a synchronize: a clean run, nothing pushed.
    again = fake_github.payloads.pull_request_payload(
        WIDGETS, number, "synchronize", INSTALLATION, before=head
    )
    await deliver(bot, "pull_request", again)
    clean, first = await recent_reviews(bot.app[SERVICE].db, WIDGETS)
    assert clean.head_sha == fixed and clean.outcome == RunOutcome("success")
    assert first.check_run_id == check_run.id

    await sign_in(browser, bot.url)
    status, page, _ = await get(browser, f"{bot.url}/dashboard/{WIDGETS}")
    assert status == 200
    rows = re.findall(r'<tr data-testid="review".*?</tr>', page, re.S)
    assert len(rows) == 2
    web = f"{fake_github.url.rstrip('/')}/{WIDGETS}"
    newest, oldest = rows
    assert f'href="{web}/commit/{fixed}"><code>{fixed[:7]}</code>' in newest
    assert ">success<" in newest and '"review-findings">none<' in newest
    assert '"review-fixes">—<' in newest
    assert f'href="{web}/pull/{number}">#{number}</a>' in oldest
    assert f'href="{web}/commit/{head}"><code>{head[:7]}</code>' in oldest
    assert 'data-testid="review-conclusion">failure<' in oldest
    assert '"review-findings">1 error, 0 warnings<' in oldest
    assert f'href="{web}/commit/{fixed}"><code>{fixed[:7]}</code></a> (2 fixes)' in oldest
