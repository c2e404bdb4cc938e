"""The `webhook` and `railway` deploy backends end to end: `/deploy` in a PR comment, the
signed request to a real receiver (or Railway's GraphQL API on loopback), status callbacks
through `POST /webhooks/deploy/{id}` (or status polls on the queue), the GitHub
deployment statuses, the freed environment and the health watch."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest

from app.deploy import backends
from app.setup.manifest import PERMISSIONS
from app.store.deliveries import DeliveryStore
from tests.fakes.deploy_receiver import DeployReceiver
from tests.fakes.git import GitServer
from tests.fakes.github import FakeGitHub
from tests.fakes.health_target import HealthTarget
from tests.fakes.railway import FakeRailway
from tests.support.chatops import say
from tests.support.waiting import eventually

INSTALLATION = 1001
REPO = "octo-org/widgets"
SECRET = "deploy-webhook-secret-0123"
TOKEN = "railway-token-abcdef"
PUBLIC_URL = "https://deckhand.example"


def health(target_url: str) -> str:
    return f"""
      health:
        url: "{target_url}"
        interval: 100ms
        window: 30s
        failures: 3
        timeout: 500ms
"""


@pytest.fixture
async def target() -> AsyncIterator[HealthTarget]:
    async with HealthTarget() as server:
        yield server


@pytest.fixture
async def receiver() -> AsyncIterator[DeployReceiver]:
    async with DeployReceiver(SECRET) as server:
        yield server


@pytest.fixture
async def railway() -> AsyncIterator[FakeRailway]:
    async with FakeRailway(TOKEN) as server:
        server.add_service("svc-1", "env-1")
        yield server


@pytest.fixture(autouse=True)
def fast_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(backends, "WEBHOOK_RETRY_DELAYS", (0.01, 0.01))


async def start(
    start_deckhand: Any,
    fake_github: FakeGitHub,
    git_server: GitServer,
    app_keys: Any,
    deploy_yaml: str,
    **settings: Any,
) -> tuple[Any, dict[str, Any]]:
    fake_github.add_installation(INSTALLATION, account="octo-org", permissions=PERMISSIONS)
    git_server.create_repo(
        REPO,
        {"app.py": "x = 1\n", ".github/deckhand.yml": deploy_yaml},
        installation_id=INSTALLATION,
    )
    fake_github.set_collaborator(REPO, "maintainer", "write")
    head = git_server.commit(REPO, "feature", {"app.py": "x = 2\n"}, message="Change")
    fake_github.add_check_run(REPO, "ci/test", head, status="completed", conclusion="success")
    number = fake_github.open_pull_request(REPO, head="feature", base="main", user="alice")
    bot = await start_deckhand(
        github_api_url=fake_github.url,
        github_app_id=app_keys.app_id,
        github_private_key=app_keys.private_pem,
        max_attempts=2,
        config_cache=False,
        **settings,
    )
    return bot, {"number": number, "head": head}


@pytest.fixture
async def webhook_bot(
    start_deckhand: Any,
    fake_github: FakeGitHub,
    git_server: GitServer,
    app_keys: Any,
    receiver: DeployReceiver,
    target: HealthTarget,
) -> tuple[Any, dict[str, Any]]:
    deploy_yaml = f"""
deploy:
  backend: webhook
  webhook: {{url: "{receiver.url}"}}
  environments:
    production:
{health(target.url)}"""
    return await start(
        start_deckhand,
        fake_github,
        git_server,
        app_keys,
        deploy_yaml,
        deploy_webhook_secret=SECRET,
        public_url=PUBLIC_URL,
    )


@pytest.fixture
async def railway_bot(
    start_deckhand: Any,
    fake_github: FakeGitHub,
    git_server: GitServer,
    app_keys: Any,
    railway: FakeRailway,
    target: HealthTarget,
) -> tuple[Any, dict[str, Any]]:
    deploy_yaml = f"""
deploy:
  backend: railway
  railway: {{project: "proj-1", service: "svc-1", environment: "env-1"}}
  environments:
    production:
{health(target.url)}"""
    return await start(
        start_deckhand,
        fake_github,
        git_server,
        app_keys,
        deploy_yaml,
        railway_token=TOKEN,
        railway_api_url=railway.url,
        railway_poll_seconds=0.05,
    )


async def callback(
    bot: Any, receiver: DeployReceiver, deployment_id: int, state: str, **kw: Any
) -> Any:
    """A signed callback to Deckhand; waits until its job has run and returns the job."""
    url = f"{bot.url}/webhooks/deploy/{deployment_id}"
    status, answer = await receiver.callback(url, state, **kw)
    assert status == 202, answer
    delivery = (await bot.wait_finished([answer["delivery"]]))[answer["delivery"]]
    assert delivery.status == "done", delivery.last_error
    return delivery


def first_reply(fake_github: FakeGitHub) -> str:
    """The newest comment Deckhand posted, as first posted (status polls edit it later)."""
    [*_, posted] = fake_github.requests_for("issues/create-comment")
    return str(json.loads(posted.body)["body"])


def deployments(fake_github: FakeGitHub) -> list[Any]:
    return sorted(fake_github.deployments.values(), key=lambda d: d.id)


async def test_webhook_happy_path(
    webhook_bot: Any, fake_github: FakeGitHub, receiver: DeployReceiver, target: HealthTarget
) -> None:
    bot, setup = webhook_bot
    reply = await say(bot, fake_github, setup["number"], "/deploy production")
    assert "Deploying" in reply
    [deployment] = deployments(fake_github)
    [request] = receiver.received
    assert request.body["deployment_id"] == deployment.id
    assert (request.body["sha"], request.body["environment"]) == (setup["head"], "production")
    assert request.body["callback_url"] == f"{PUBLIC_URL}/webhooks/deploy/{deployment.id}"
    assert request.body["actor"] == "maintainer" and request.body["repository"] == REPO

    await callback(bot, receiver, deployment.id, "in_progress", description="building")
    await callback(bot, receiver, deployment.id, "success", log_url="https://ci.example/log/1")
    assert [s.state for s in deployment.statuses] == ["queued", "in_progress", "success"]
    assert deployment.statuses[1].description == "building"
    assert deployment.statuses[-1].log_url == "https://ci.example/log/1"
    replies = [
        c.body
        for c in fake_github.comments_on(REPO, setup["number"])
        if c.user is fake_github.app.bot
    ]
    assert len(replies) == 1 and "success" in replies[0]  # the command's reply, edited
    await eventually(lambda: target.hits >= 2)  # the health watch is probing
    status = await say(bot, fake_github, setup["number"], "/status production")
    assert "in progress" not in status and setup["head"][:7] in status


async def test_a_repeated_callback_is_stored_once(
    webhook_bot: Any, fake_github: FakeGitHub, receiver: DeployReceiver
) -> None:
    bot, setup = webhook_bot
    await say(bot, fake_github, setup["number"], "/deploy production")
    [deployment] = deployments(fake_github)
    url = f"{bot.url}/webhooks/deploy/{deployment.id}"
    first = await receiver.callback(url, "in_progress", delivery_id="cb-1")
    again = await receiver.callback(url, "in_progress", delivery_id="cb-1")
    assert (first[0], again[0]) == (202, 202)
    assert (first[1]["status"], again[1]["status"]) == ("queued", "duplicate")
    await bot.wait_finished([first[1]["delivery"]])
    assert [s.state for s in deployment.statuses] == ["queued", "in_progress"]


async def test_a_badly_signed_callback_is_refused_and_not_stored(
    webhook_bot: Any, fake_github: FakeGitHub, receiver: DeployReceiver
) -> None:
    bot, setup = webhook_bot
    await say(bot, fake_github, setup["number"], "/deploy production")
    [deployment] = deployments(fake_github)
    store: DeliveryStore = bot.store
    before = await store.counts()
    url = f"{bot.url}/webhooks/deploy/{deployment.id}"
    status, answer = await receiver.callback(url, "success", secret="not-the-secret")
    assert status == 401 and "signature" in answer["error"]
    done = json.dumps({"deployment_id": deployment.id, "state": "done"}).encode()
    status, answer = await receiver.callback(url, "success", body=done)
    assert status == 400 and "state must be one of" in answer["error"]
    # a callback signed for another deployment is not taken for this one
    other = json.dumps({"deployment_id": deployment.id + 1, "state": "success"}).encode()
    status, answer = await receiver.callback(url, "success", body=other)
    assert status == 400 and "deployment_id must be" in answer["error"]
    status, answer = await receiver.callback(url, "success", body=b"x" * (1024 * 1024 + 1))
    assert status == 413
    assert await store.counts() == before
    assert [s.state for s in deployment.statuses] == ["queued"]


async def test_a_callback_for_an_unknown_deployment_is_ignored(
    webhook_bot: Any,
    fake_github: FakeGitHub,
    receiver: DeployReceiver,
    caplog: pytest.LogCaptureFixture,
) -> None:
    bot, _ = webhook_bot
    caplog.set_level(logging.INFO)
    await callback(bot, receiver, 987654, "success")
    assert any("deploy_callback_unknown_deployment" in str(r.msg) for r in caplog.records)
    assert deployments(fake_github) == []


async def test_webhook_target_down_errors_the_deployment_and_frees_the_environment(
    webhook_bot: Any, fake_github: FakeGitHub, receiver: DeployReceiver
) -> None:
    bot, setup = webhook_bot
    receiver.down(503)
    reply = await say(bot, fake_github, setup["number"], "/deploy production")
    assert "Not done" in reply and "could not start" in reply and "HTTP 503" in reply
    [deployment] = deployments(fake_github)
    assert [s.state for s in deployment.statuses] == ["queued", "error"]
    assert "after 3 attempts" in deployment.statuses[-1].description
    assert receiver.attempts == 3
    receiver.up()  # the environment is free again: the next deploy goes through
    reply = await say(bot, fake_github, setup["number"], "/deploy production")
    assert "Deploying" in reply and len(receiver.received) == 1


async def test_railway_happy_path(
    railway_bot: Any, fake_github: FakeGitHub, railway: FakeRailway, target: HealthTarget
) -> None:
    bot, setup = railway_bot
    await say(bot, fake_github, setup["number"], "/deploy production")
    assert "Deploying" in first_reply(fake_github)  # later edited by the status polls
    [deployment] = deployments(fake_github)
    [started] = railway.deployments.values()
    assert (started.commit_sha, started.service_id, started.environment_id) == (
        setup["head"],
        "svc-1",
        "env-1",
    )
    await eventually(lambda: [s.state for s in deployment.statuses][-1:] == ["success"])
    assert [s.state for s in deployment.statuses] == ["queued", "in_progress", "success"]
    assert started.id in deployment.statuses[-1].log_url
    assert started.reads == 3  # BUILDING, DEPLOYING (no new status), SUCCESS; then it stops
    await eventually(lambda: target.hits >= 2)  # the health watch started
    status = await say(bot, fake_github, setup["number"], "/status production")
    assert "in progress" not in status


async def test_railway_failure(
    railway_bot: Any, fake_github: FakeGitHub, railway: FakeRailway
) -> None:
    bot, setup = railway_bot
    railway.script("BUILDING", "FAILED")
    await say(bot, fake_github, setup["number"], "/deploy production")
    [deployment] = deployments(fake_github)
    await eventually(lambda: [s.state for s in deployment.statuses][-1:] == ["failure"])
    assert [s.state for s in deployment.statuses] == ["queued", "in_progress", "failure"]
    assert "failed" in deployment.statuses[-1].description
    await asyncio.sleep(0.3)
    [started] = railway.deployments.values()
    assert started.reads == 2  # no more polls after a final state
    await say(bot, fake_github, setup["number"], "/deploy production")
    assert "Deploying" in first_reply(fake_github)  # the environment was freed


async def test_an_automatic_rollback_goes_through_the_webhook(
    webhook_bot: Any,
    fake_github: FakeGitHub,
    git_server: GitServer,
    receiver: DeployReceiver,
    target: HealthTarget,
) -> None:
    bot, setup = webhook_bot
    await say(bot, fake_github, setup["number"], "/deploy production")
    good = deployments(fake_github)[-1]
    await callback(bot, receiver, good.id, "success")
    head = git_server.commit(REPO, "feature", {"app.py": "x = 3\n"}, message="Newer")
    fake_github.add_check_run(REPO, "ci/test", head, status="completed", conclusion="success")
    await say(bot, fake_github, setup["number"], "/deploy production")
    bad = deployments(fake_github)[-1]
    target.failing(503)
    await callback(bot, receiver, bad.id, "success")
    await eventually(lambda: len(receiver.received) == 3)
    rollback = receiver.received[-1].body
    assert rollback["rollback_of"] == bad.id and rollback["sha"] == good.sha
    assert rollback["actor"] == "deckhand"
    assert deployments(fake_github)[-1].id == rollback["deployment_id"]


async def test_callbacks_are_refused_without_a_secret(
    start_deckhand: Any, receiver: DeployReceiver
) -> None:
    bot = await start_deckhand()  # no DECKHAND_DEPLOY_WEBHOOK_SECRET
    status, answer = await receiver.callback(f"{bot.url}/webhooks/deploy/1", "success")
    assert status == 401 and "DECKHAND_DEPLOY_WEBHOOK_SECRET" in answer["error"]
    status, answer = await receiver.callback(
        f"{bot.url}/webhooks/deploy/abc", "success", body=b'{"state": "success"}'
    )
    assert status == 400
    assert not await bot.store.list()  # nothing stored
