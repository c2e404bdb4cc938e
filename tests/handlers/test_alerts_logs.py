"""The `logs` alert source end to end: a log drain posted to the real
`POST /webhooks/alerts/logs`, the real queue and worker, and the fake GitHub: one issue
per traceback group with its counts, repeats on the same issue, the spike issue, the
suspect deployment, and refused tokens."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from app.alerts.store import AlertStore
from app.installations import InstallationStore
from app.web.keys import SERVICE
from tests.fakes.git import GitServer
from tests.fakes.github import FakeGitHub
from tests.handlers.test_alerts import (
    INSTALLATION,
    PERMISSIONS,
    REPO,
    eventually,
    quiet,
    seed_deployments,
)
from tests.support.chatops import bot_replies

TOKEN = "drain-token-0123456789"
CONFIG = """
alerts:
  update_interval: 200ms
  logs:
    max_errors_per_minute: 5
deploy:
  environments:
    production:
      required_checks: []
"""
ZERO = """Traceback (most recent call last):
  File "/app/.venv/lib/python3.11/site-packages/aiohttp/web_app.py", line 569, in _handle
    return await handler(request)
  File "/app/app/views.py", line 12, in checkout
    return unit_price(total, n)
  File "/app/app/pricing.py", line 2, in unit_price
    return total / n
ZeroDivisionError: division by zero"""
CHAINED = """Traceback (most recent call last):
  File "/app/app/pricing.py", line 5, in lookup
    return PRICES[name]
KeyError: 'tea'

The above exception was the direct cause of the following exception:

Traceback (most recent call last):
  File "/app/app/views.py", line 20, in price
    return lookup(name)
ValueError: no price for tea"""


def records(traceback: str, instance: str, at: float | None = None) -> list[str]:
    """A traceback as a drain sends stderr: one JSON record per line."""
    stamp = at if at is not None else time.time()
    return [
        json.dumps(
            {
                "message": line,
                "severity": "error",
                "timestamp": stamp,
                "deploymentInstanceId": instance,
            }
        )
        for line in traceback.splitlines()
    ]


def interleaved(*streams: list[str]) -> bytes:
    out: list[str] = []
    longest = max(len(s) for s in streams)
    for n in range(longest):
        out += [s[n] for s in streams if n < len(s)]
    return "\n".join(out).encode()


class Drain:
    def __init__(self, bot: Any) -> None:
        self.bot = bot

    @property
    def db(self) -> Any:
        return self.bot.app[SERVICE].db

    async def send(self, body: bytes, token: str | None = TOKEN) -> tuple[int, dict[str, Any]]:
        headers = {"Content-Type": "application/x-ndjson"}
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        url = f"{self.bot.url}/webhooks/alerts/logs?repo={REPO}"
        async with self.bot.session.post(url, data=body, headers=headers) as response:
            return response.status, await response.json(content_type=None)

    async def deliver(self, body: bytes) -> dict[str, Any]:
        status, answer = await self.send(body)
        assert status == 202, answer
        if answer["status"] == "queued":
            finished = await self.bot.wait_finished([answer["delivery"]])
            job = finished[answer["delivery"]]
            assert job.status == "done", job.last_error
        return answer

    async def rows(self) -> dict[str, Any]:
        found = await AlertStore(self.db).rows(REPO)
        return {r.fingerprint: r for r in found if r.source == "logs"}


@pytest.fixture
async def repo(fake_github: FakeGitHub, git_server: GitServer) -> dict[str, str]:
    fake_github.add_installation(INSTALLATION, account="octo-org", permissions=PERMISSIONS)
    base = git_server.create_repo(
        REPO,
        {
            "app/pricing.py": "def unit_price(total, n):\n    return total / n\n",
            ".github/deckhand.yml": CONFIG,
        },
        installation_id=INSTALLATION,
    )
    fake_github.set_collaborator(REPO, "maintainer", "write")
    head = git_server.commit(REPO, "main", {"app/pricing.py": "x = 2\n"}, message="Change")
    return {"base": base, "head": head}


@pytest.fixture
async def drain(start_deckhand: Any, fake_github: FakeGitHub, app_keys: Any, repo: Any) -> Drain:
    bot = await start_deckhand(
        github_api_url=fake_github.url,
        github_app_id=app_keys.app_id,
        github_private_key=app_keys.private_pem,
        max_attempts=3,
        log_drain_token=TOKEN,
    )
    installed = {"id": INSTALLATION, "account": {"login": "octo-org", "type": "Organization"}}
    await InstallationStore(bot.app[SERVICE].db).record(
        installed, "active", [{"full_name": REPO, "id": 1}]
    )
    return Drain(bot)


async def test_one_issue_per_group_with_counts_and_repeats_on_the_same_issue(
    drain: Drain, fake_github: FakeGitHub
) -> None:
    body = interleaved(records(ZERO, "web-1"), records(CHAINED, "web-2"), records(ZERO, "web-3"))
    answer = await drain.deliver(body + b"\n" + json.dumps({"message": "ok"}).encode())
    assert answer["alerts"] == 3
    opened = {i.title: i for i in fake_github.issues_in(REPO)}
    assert len(opened) == 2, list(opened)
    zero = next(i for t, i in opened.items() if "ZeroDivisionError" in t)
    assert zero.title.startswith("logs: ZeroDivisionError: division by zero")
    assert "| Occurrences when opened | 2 |" in (zero.body or "")
    assert any("ValueError: no price for tea" in t for t in opened)
    rows = await drain.rows()
    assert {k: r.count for k, r in rows.items()} == {
        "traceback:ZeroDivisionError:app/pricing.py:unit_price": 2,
        "traceback:ValueError:app/views.py:price": 1,
    }

    await drain.deliver(interleaved(records(ZERO, "web-1", time.time() + 0.5)))
    await eventually(
        lambda: any("Fired 3 times" in c for c in bot_replies(fake_github, zero.number))
    )
    assert len(fake_github.issues_in(REPO)) == 2


async def test_plain_text_with_process_tags(drain: Drain, fake_github: FakeGitHub) -> None:
    one = [f"2026-11-21T16:00:00Z [101] {line}" for line in ZERO.splitlines()]
    two = [f"2026-11-21T16:00:00Z [202] {line}" for line in CHAINED.splitlines()]
    body = "\n".join(x for pair in zip(one, two, strict=False) for x in pair)
    body += "\n" + "\n".join(two[len(one) :])
    await drain.deliver(body.encode())
    assert len(fake_github.issues_in(REPO)) == 2


@pytest.mark.parametrize(
    ("token", "reason"),
    [("nope", "the bearer token is not LOG_DRAIN_TOKEN"), (None, "missing Authorization")],
)
async def test_a_bad_token_is_refused(
    drain: Drain, fake_github: FakeGitHub, token: str | None, reason: str
) -> None:
    status, answer = await drain.send(interleaved(records(ZERO, "a")), token=token)
    assert status == 401 and reason in answer["error"]
    assert await drain.bot.store.list() == []


async def test_a_batch_over_1_mb_is_refused(drain: Drain) -> None:
    status, answer = await drain.send(b"ERROR boom\n" * (1024 * 1024 // 11 + 1))
    assert status == 413 and "larger than 1048576 bytes" in answer["error"]
    assert await drain.bot.store.list() == []


async def test_refused_when_the_token_is_unset(
    start_deckhand: Any, fake_github: FakeGitHub
) -> None:
    bot = await start_deckhand(github_api_url=fake_github.url)
    status, answer = await Drain(bot).send(b"ERROR boom")
    assert status == 401 and "LOG_DRAIN_TOKEN is not set" in answer["error"]


async def test_a_spike_opens_one_issue(drain: Drain, fake_github: FakeGitHub) -> None:
    minute = (time.time() // 60) * 60 + 1  # all in one minute
    lines = [
        json.dumps({"message": f"payment {n} failed", "level": "error", "timestamp": minute})
        for n in range(4)
    ]
    await drain.deliver("\n".join(lines).encode())  # 4: under the limit of 5
    assert [i.title for i in fake_github.issues_in(REPO)] == ["logs: payment 3 failed"]
    await drain.deliver(interleaved(records(ZERO, "w", minute), records(ZERO, "v", minute)))
    titles = [i.title for i in fake_github.issues_in(REPO)]
    spikes = [t for t in titles if "Error spike" in t]
    assert spikes == ["logs: Error spike: more than 5 errors per minute in the logs"]
    spike = next(i for i in fake_github.issues_in(REPO) if "Error spike" in i.title)
    assert "6 errors in the minute" in (spike.body or "")
    assert "severity:critical" in spike.labels

    await drain.deliver(interleaved(records(ZERO, "x", minute)))  # the same minute again
    await eventually(lambda: quiet(drain.db))
    assert len([i for i in fake_github.issues_in(REPO) if "Error spike" in i.title]) == 1
    rows = await drain.rows()
    assert rows[f"logs-spike:{REPO}"].count == 1


async def test_the_suspect_deployment_and_permalinks(
    drain: Drain, fake_github: FakeGitHub, git_server: GitServer, repo: Any
) -> None:
    good, suspect = await seed_deployments(drain, fake_github, git_server, repo)
    await drain.deliver(interleaved(records(ZERO, "web-1")))
    [issue] = fake_github.issues_in(REPO)
    body = issue.body or ""
    assert f"Deployment **{suspect.id}** of `{repo['head'][:7]}` from #1 by @bob" in body
    assert f"/rollback production {good.id}" in body
    assert f"https://github.com/{REPO}/blob/{repo['head']}/app/pricing.py#L2" in body
    assert "site-packages/aiohttp/web_app.py:569`" in body  # a library frame: no link
