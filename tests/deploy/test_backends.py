"""The deploy backends against real loopback servers: the signed webhook (request body,
signature, retries, refusals) and Railway's GraphQL API (deploy at the sha, status reads,
the poll job on the queue)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from app.config.repo import DeployConfig
from app.deploy import backends
from app.deploy.backends import BackendContext, BackendError, RailwayError
from app.deploy.store import DeploymentRecord
from app.store.database import Database
from app.store.deliveries import DeliveryStore
from app.web.deploy_callbacks import parse_callback
from tests.fakes.deploy_receiver import DeployReceiver
from tests.fakes.railway import FakeRailway
from tests.support.deckhand import make_settings

SECRET = "deploy-webhook-secret-0123"
TOKEN = "railway-token-abcdef"
SHA = "a" * 40


def record(**changes: Any) -> DeploymentRecord:
    values: dict[str, Any] = {
        "id": 42,
        "repository": "octo-org/widgets",
        "environment": "production",
        "sha": SHA,
        "ref": "feature",
        "actor": "maintainer",
        "components": ("api",),
        "rollback_of": None,
        "forced": False,
        "status": "queued",
        "pull_number": 7,
        "reason": None,
        "created_at": time.time(),
    }
    values.update(changes)
    return DeploymentRecord(**values)


@pytest.fixture(autouse=True)
def fast_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(backends, "WEBHOOK_RETRY_DELAYS", (0.01, 0.01))


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database(f"sqlite:///{tmp_path}/deckhand.db")
    await database.migrate()
    yield database
    await database.close()


@pytest.fixture
async def receiver() -> AsyncIterator[DeployReceiver]:
    async with DeployReceiver(SECRET) as server:
        yield server


@pytest.fixture
async def railway() -> AsyncIterator[FakeRailway]:
    async with FakeRailway(TOKEN) as server:
        server.add_service("svc-1", "env-1")
        yield server


def context(tmp_path: Path, db: Any, config: DeployConfig, **settings: Any) -> BackendContext:
    values = {"deploy_webhook_secret": SECRET, "public_url": "https://deckhand.example/"}
    values.update(settings)
    return BackendContext(make_settings(tmp_path, **values), db, config, 1001, "main")


def webhook_config(url: str) -> DeployConfig:
    return DeployConfig.model_validate({"backend": "webhook", "webhook": {"url": url}})


def railway_config() -> DeployConfig:
    return DeployConfig.model_validate(
        {
            "backend": "railway",
            "railway": {"project": "proj-1", "service": "svc-1", "environment": "env-1"},
        }
    )


def test_signatures() -> None:
    body = b'{"state": "success"}'
    header = backends.sign(SECRET, body)
    assert header.startswith("sha256=") and len(header) == 7 + 64
    assert backends.signature_error(SECRET, body, header) is None
    assert backends.signature_error(SECRET, body + b" ", header) == (
        "signature does not match the body"
    )
    assert "missing" in (backends.signature_error(SECRET, body, None) or "")
    assert "sha256=" in (backends.signature_error(SECRET, body, "sha1=abc") or "")


def test_backend_choice() -> None:
    assert backends.backend_for(DeployConfig()).name == "github"
    assert backends.backend_for(webhook_config("https://x.example/")).name == "webhook"
    assert backends.backend_for(railway_config()).name == "railway"


async def test_github_backend_does_nothing(tmp_path: Path, db: Any) -> None:
    config = DeployConfig()
    assert (
        await backends.GitHubActions().trigger(record(), config, context(tmp_path, db, config))
        is None
    )


async def test_webhook_posts_a_signed_body(
    tmp_path: Path, db: Any, receiver: DeployReceiver
) -> None:
    receiver.log_url = "https://ci.example/runs/1"
    config = webhook_config(receiver.url)
    deployment = record(rollback_of=40)
    log_url = await backends.SignedWebhook().trigger(
        deployment, config, context(tmp_path, db, config)
    )
    assert log_url == "https://ci.example/runs/1"
    [request] = receiver.received
    assert request.body == {
        "deployment_id": 42,
        "repository": "octo-org/widgets",
        "environment": "production",
        "sha": SHA,
        "ref": "feature",
        "components": ["api"],
        "actor": "maintainer",
        "rollback_of": 40,
        "callback_url": "https://deckhand.example/webhooks/deploy/42",
    }
    assert request.headers["X-Deckhand-Signature"] == backends.sign(SECRET, request.raw)
    assert request.headers["X-Deckhand-Delivery"] == "deployment-42"


async def test_webhook_retries_5xx_then_succeeds(
    tmp_path: Path, db: Any, receiver: DeployReceiver
) -> None:
    receiver.fail_next(2, status=502)
    config = webhook_config(receiver.url)
    assert (
        await backends.SignedWebhook().trigger(record(), config, context(tmp_path, db, config))
        is None
    )
    assert receiver.attempts == 3 and len(receiver.received) == 1


async def test_webhook_gives_up_after_bounded_retries(
    tmp_path: Path, db: Any, receiver: DeployReceiver
) -> None:
    receiver.down(503)
    config = webhook_config(receiver.url)
    with pytest.raises(BackendError, match="after 3 attempts: HTTP 503"):
        await backends.SignedWebhook().trigger(record(), config, context(tmp_path, db, config))
    assert receiver.attempts == 3


async def test_webhook_does_not_retry_a_refusal(
    tmp_path: Path, db: Any, receiver: DeployReceiver
) -> None:
    config = webhook_config(receiver.url)
    with pytest.raises(BackendError, match="at once: HTTP 401"):
        await backends.SignedWebhook().trigger(
            record(), config, context(tmp_path, db, config, deploy_webhook_secret="other-secret")
        )
    assert receiver.attempts == 1 and receiver.rejected == 1


async def test_webhook_connection_errors_are_retried(tmp_path: Path, db: Any) -> None:
    config = webhook_config("http://127.0.0.1:9/deploy")  # nothing listens on the discard port
    with pytest.raises(BackendError, match="after 3 attempts: ClientConnector"):
        await backends.SignedWebhook().trigger(record(), config, context(tmp_path, db, config))


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        ({"deploy_webhook_secret": None}, "DECKHAND_DEPLOY_WEBHOOK_SECRET is not set"),
        ({"public_url": None}, "PUBLIC_URL is not set"),
    ],
)
async def test_webhook_refuses_without_its_settings(
    tmp_path: Path, db: Any, receiver: DeployReceiver, settings: dict[str, Any], expected: str
) -> None:
    config = webhook_config(receiver.url)
    with pytest.raises(BackendError, match=expected):
        await backends.SignedWebhook().trigger(
            record(), config, context(tmp_path, db, config, **settings)
        )
    assert receiver.attempts == 0


async def test_webhook_refuses_without_a_url(tmp_path: Path, db: Any) -> None:
    config = DeployConfig(backend="webhook")
    with pytest.raises(BackendError, match=r"deploy\.webhook\.url"):
        await backends.SignedWebhook().trigger(record(), config, context(tmp_path, db, config))


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (b"not json", "line 1 column 1"),
        (b"[1]", "not a JSON object"),
        (b'{"state": "success"}', "deployment_id must be 42"),
        (b'{"deployment_id": 41, "state": "success"}', "deployment_id must be 42"),  # replayed
        (b'{"deployment_id": "42", "state": "success"}', "deployment_id must be 42"),
        (b'{"deployment_id": 42, "state": "done"}', "state must be one of"),
        (b'{"deployment_id": 42, "state": "success", "log_url": "ftp://x"}', "log_url"),
        (b'{"deployment_id": 42, "state": "success", "description": 3}', "description"),
    ],
)
def test_malformed_callbacks(body: bytes, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        parse_callback(body, 42)


def test_a_callback_keeps_its_fields() -> None:
    body = b'{"deployment_id": 42, "state": "in_progress", "log_url": "https://ci.example/1"}'
    assert parse_callback(body, 42) == {
        "state": "in_progress",
        "log_url": "https://ci.example/1",
        "description": "",
    }


async def test_railway_deploys_the_exact_commit_and_schedules_a_poll(
    tmp_path: Path, db: Any, railway: FakeRailway
) -> None:
    config = railway_config()
    given = context(tmp_path, db, config, railway_token=TOKEN, railway_api_url=railway.url)
    log_url = await backends.Railway().trigger(record(), config, given)
    [deployment] = railway.deployments.values()
    assert (deployment.commit_sha, deployment.service_id, deployment.environment_id) == (
        SHA,
        "svc-1",
        "env-1",
    )
    assert log_url == (
        f"https://railway.com/project/proj-1/service/svc-1?environmentId=env-1&id={deployment.id}"
    )
    assert railway.requests[0].headers["Authorization"] == f"Bearer {TOKEN}"
    job = await DeliveryStore(db).get("railway:42:1")
    assert job is not None and job.event == backends.RAILWAY_POLL_EVENT
    assert job.installation_id == 1001 and job.status == "queued"
    payload = orjson.loads(job.payload)
    assert payload["railway_deployment_id"] == deployment.id and payload["poll"] == 1


async def test_railway_statuses_map_to_github_states(
    tmp_path: Path, db: Any, railway: FakeRailway
) -> None:
    railway.script("BUILDING", "DEPLOYING", "CRASHED")
    config = railway_config()
    given = context(tmp_path, db, config, railway_token=TOKEN, railway_api_url=railway.url)
    await backends.Railway().trigger(record(), config, given)
    [deployment] = railway.deployments.values()
    seen = [await backends.railway_state(given.settings, deployment.id) for _ in range(3)]
    assert [s[:2] for s in seen] == [
        ("in_progress", "BUILDING"),
        ("in_progress", "DEPLOYING"),
        ("failure", "CRASHED"),
    ]
    assert seen[0][2] == "https://svc-1-production.up.railway.app"


async def test_railway_refusals(tmp_path: Path, db: Any, railway: FakeRailway) -> None:
    config = railway_config()
    wrong = context(tmp_path, db, config, railway_token="wrong-token", railway_api_url=railway.url)
    with pytest.raises(BackendError, match="Not Authorized"):
        await backends.Railway().trigger(record(), config, wrong)
    with pytest.raises(BackendError, match="RAILWAY_TOKEN is not set"):
        await backends.Railway().trigger(record(), config, context(tmp_path, db, config))
    unconfigured = DeployConfig(backend="railway")
    with pytest.raises(BackendError, match=r"deploy\.railway"):
        await backends.Railway().trigger(record(), unconfigured, wrong)
    right = context(tmp_path, db, config, railway_token=TOKEN, railway_api_url=railway.url)
    with pytest.raises(RailwayError, match="Deployment not found"):
        await backends.railway_state(right.settings, "no-such-deployment")


async def test_railway_token_is_redacted(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, railway_token=TOKEN, deploy_webhook_secret=SECRET)
    assert TOKEN in settings.secret_values() and SECRET in settings.secret_values()
