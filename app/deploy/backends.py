"""Deploy backends: what happens after Deckhand has created and queued a GitHub Deployment.

- `github`: nothing; the repository's Actions workflow (`on: deployment`) is the trigger
  and reports `deployment_status` events.
- `webhook`: a JSON body signed with HMAC-SHA256 (`X-Deckhand-Signature: sha256=<hex>`,
  secret `DECKHAND_DEPLOY_WEBHOOK_SECRET`) is POSTed to `deploy.webhook.url`; the
  receiver reports progress to `POST /webhooks/deploy/{deployment_id}`, signed the same way.
- `railway`: Railway's public GraphQL API deploys the service instance at the exact
  commit (`serviceInstanceDeployV2`); Deckhand follows its status with poll jobs on the
  durable queue (`deckhand_railway_poll`, deterministic ids `railway:<deployment>:<n>`).

A backend only starts a deployment; it does not write to GitHub or the history. It raises
`BackendError` with a reason fit for the deployment's `error` status when it cannot.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from dataclasses import dataclass
from typing import Any, Protocol

import aiohttp
import orjson

from app.config.repo import DeployConfig
from app.config.settings import Settings
from app.deploy.store import DeploymentRecord
from app.signatures import hmac_sha256, matches
from app.store.deliveries import DeliveryStore

CALLBACK_EVENT = "deckhand_deploy_callback"
RAILWAY_POLL_EVENT = "deckhand_railway_poll"
CALLBACK_STATES = frozenset({"queued", "in_progress", "success", "failure", "error"})
SIGNATURE_HEADER = "X-Deckhand-Signature"
DELIVERY_HEADER = "X-Deckhand-Delivery"

WEBHOOK_TIMEOUT = 10.0
WEBHOOK_RETRY_DELAYS: tuple[float, ...] = (0.5, 2.0)  # three attempts in all
RAILWAY_TIMEOUT = 10.0
RAILWAY_MAX_POLLS = 720  # an hour at the default 5 s

# Railway's DeploymentStatus -> GitHub's deployment state (None: unknown, keep polling).
RAILWAY_STATES = {
    "QUEUED": "queued",
    "WAITING": "queued",
    "INITIALIZING": "queued",
    "NEEDS_APPROVAL": "queued",
    "BUILDING": "in_progress",
    "DEPLOYING": "in_progress",
    "SUCCESS": "success",
    "SLEEPING": "success",
    "FAILED": "failure",
    "CRASHED": "failure",
    "REMOVED": "error",
    "REMOVING": "error",
    "SKIPPED": "error",
}

RAILWAY_DEPLOY = """
mutation DeckhandDeploy($serviceId: String!, $environmentId: String!, $commitSha: String!) {
  serviceInstanceDeployV2(
    serviceId: $serviceId, environmentId: $environmentId, commitSha: $commitSha
  )
}
"""
RAILWAY_STATUS = """
query DeckhandDeployment($id: String!) {
  deployment(id: $id) { id status url staticUrl }
}
"""


class BackendError(Exception):
    """The backend could not start the deployment; the message says why."""


@dataclass(frozen=True)
class BackendContext:
    """What a backend needs besides the deployment: the process settings, the database
    (for follow-up jobs), the repository's deploy config and where the job came from."""

    settings: Settings
    db: Any
    config: DeployConfig
    installation_id: int | None
    default_branch: str = "main"


async def backend_context(context: Any) -> BackendContext:
    """The backend context of a handler's job (`app.context.Context`)."""
    repository = context.repository or {}
    return BackendContext(
        settings=context.settings,
        db=context.db,
        config=(await context.config()).config.deploy,
        installation_id=context.installation_id,
        default_branch=repository.get("default_branch") or "main",
    )


class Backend(Protocol):
    name: str

    async def trigger(
        self, deployment: DeploymentRecord, config: DeployConfig, context: BackendContext
    ) -> str | None:
        """Start deploying; the log URL if there is one. BackendError when it cannot."""


class GitHubActions:
    name = "github"

    async def trigger(
        self, deployment: DeploymentRecord, config: DeployConfig, context: BackendContext
    ) -> str | None:
        return None  # the `deployment` event GitHub sends is the workflow's trigger


# --------------------------------------------------------------------------- webhook
def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac_sha256(secret, body)


def signature_error(secret: str, body: bytes, header: str | None) -> str | None:
    """Why `X-Deckhand-Signature` does not authenticate `body`, or None when it does."""
    if not header:
        return f"missing {SIGNATURE_HEADER} header"
    algorithm, _, digest = header.partition("=")
    if algorithm != "sha256" or not digest:
        return f"{SIGNATURE_HEADER} must be sha256=<hex digest>"
    if not matches(hmac_sha256(secret, body), digest):
        return "signature does not match the body"
    return None


def callback_url(settings: Settings, deployment_id: int) -> str:
    if not settings.public_url:
        raise BackendError("PUBLIC_URL is not set, so the deploy webhook could not call back")
    return f"{settings.public_url.rstrip('/')}/webhooks/deploy/{deployment_id}"


def webhook_body(deployment: DeploymentRecord, callback: str) -> dict[str, Any]:
    return {
        "deployment_id": deployment.id,
        "repository": deployment.repository,
        "environment": deployment.environment,
        "sha": deployment.sha,
        "ref": deployment.ref,
        "components": list(deployment.components),
        "actor": deployment.actor,
        "rollback_of": deployment.rollback_of,
        "callback_url": callback,
    }


class SignedWebhook:
    name = "webhook"

    async def trigger(
        self, deployment: DeploymentRecord, config: DeployConfig, context: BackendContext
    ) -> str | None:
        secret = context.settings.deploy_webhook_secret
        if secret is None:
            raise BackendError("DECKHAND_DEPLOY_WEBHOOK_SECRET is not set; the webhook is unused")
        if config.webhook is None:
            raise BackendError("`deploy.webhook.url` is not configured")
        body = orjson.dumps(webhook_body(deployment, callback_url(context.settings, deployment.id)))
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "Deckhand",
            "X-Deckhand-Event": "deployment",
            DELIVERY_HEADER: f"deployment-{deployment.id}",
            SIGNATURE_HEADER: sign(secret.get_secret_value(), body),
        }
        return await _post_with_retries(str(config.webhook.url), body, headers)


async def _post_with_retries(url: str, body: bytes, headers: dict[str, str]) -> str | None:
    problem, attempts = "", 0
    timeout = aiohttp.ClientTimeout(total=WEBHOOK_TIMEOUT)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        for delay in (*WEBHOOK_RETRY_DELAYS, None):
            attempts += 1
            try:
                async with session.post(url, data=body, headers=headers) as response:
                    if 200 <= response.status < 300:
                        return _log_url(await response.read())
                    problem = f"HTTP {response.status}"
                    if response.status < 500:
                        break  # the receiver refused it; asking again will not help
            except (aiohttp.ClientError, TimeoutError) as exc:
                problem = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            if delay is not None:
                await asyncio.sleep(delay)
    tries = f"after {attempts} attempts" if attempts > 1 else "at once"
    raise BackendError(f"the deploy webhook failed {tries}: {problem}"[:300])


def _log_url(body: bytes) -> str | None:
    try:
        data = orjson.loads(body) if body else None
    except orjson.JSONDecodeError:
        return None
    url = data.get("log_url") if isinstance(data, dict) else None
    return url if isinstance(url, str) and url.startswith(("https://", "http://")) else None


# --------------------------------------------------------------------------- railway
class RailwayError(Exception):
    """Railway's API refused or failed a request."""


async def railway_request(settings: Settings, query: str, variables: dict[str, Any]) -> Any:
    """One GraphQL request to Railway's public API; the `data` object."""
    if settings.railway_token is None:
        raise RailwayError("RAILWAY_TOKEN is not set")
    headers = {
        "Authorization": f"Bearer {settings.railway_token.get_secret_value()}",
        "Content-Type": "application/json",
        "User-Agent": "Deckhand",
    }
    timeout = aiohttp.ClientTimeout(total=RAILWAY_TIMEOUT)
    payload = orjson.dumps({"query": query, "variables": variables})
    try:
        async with (
            aiohttp.ClientSession(timeout=timeout) as session,
            session.post(settings.railway_api_url, data=payload, headers=headers) as response,
        ):
            raw = await response.read()
            status = response.status
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise RailwayError(f"Railway's API could not be reached: {type(exc).__name__}") from exc
    try:
        answer = orjson.loads(raw)
    except orjson.JSONDecodeError:
        answer = None
    errors = answer.get("errors") if isinstance(answer, dict) else None
    if errors:
        messages = "; ".join(str(e.get("message", e)) for e in errors if isinstance(e, dict))
        raise RailwayError(f"Railway refused the request: {messages or errors}"[:300])
    if status != 200 or not isinstance(answer, dict) or not isinstance(answer.get("data"), dict):
        raise RailwayError(f"Railway's API answered HTTP {status}")
    return answer["data"]


def railway_log_url(config: DeployConfig, railway_id: str) -> str | None:
    if config.railway is None:
        return None
    r = config.railway
    return (
        f"https://railway.com/project/{r.project}/service/{r.service}"
        f"?environmentId={r.environment}&id={railway_id}"
    )


class Railway:
    name = "railway"

    async def trigger(
        self, deployment: DeploymentRecord, config: DeployConfig, context: BackendContext
    ) -> str | None:
        if config.railway is None:
            raise BackendError("`deploy.railway` (project, service, environment) is not configured")
        if context.settings.railway_token is None:
            raise BackendError("RAILWAY_TOKEN is not set; the railway backend is unused")
        variables = {
            "serviceId": config.railway.service,
            "environmentId": config.railway.environment,
            "commitSha": deployment.sha,
        }
        try:
            data = await railway_request(context.settings, RAILWAY_DEPLOY, variables)
        except RailwayError as exc:
            raise BackendError(str(exc)) from exc
        railway_id = data.get("serviceInstanceDeployV2")
        if not isinstance(railway_id, str) or not railway_id:
            raise BackendError("Railway did not say which deployment it started")
        await schedule_railway_poll(
            context.db,
            deployment,
            railway_id,
            1,
            time.time() + context.settings.railway_poll_seconds,
            installation_id=context.installation_id,
            default_branch=context.default_branch,
        )
        return railway_log_url(config, railway_id)


async def schedule_railway_poll(
    db: Any,
    deployment: DeploymentRecord,
    railway_id: str,
    number: int,
    at: float,
    *,
    installation_id: int | None,
    default_branch: str,
) -> None:
    await DeliveryStore(db).schedule(
        f"railway:{deployment.id}:{number}",
        RAILWAY_POLL_EVENT,
        {
            "deployment_id": deployment.id,
            "railway_deployment_id": railway_id,
            "poll": number,
            "repository": {"default_branch": default_branch},
        },
        repository=deployment.repository,
        installation_id=installation_id,
        at=at,
    )


async def railway_state(settings: Settings, railway_id: str) -> tuple[str | None, str, str | None]:
    """(GitHub state or None when unknown, Railway's status, the deployed URL if any)."""
    data = await railway_request(settings, RAILWAY_STATUS, {"id": railway_id})
    deployment = data.get("deployment") or {}
    status = str(deployment.get("status") or "")
    url = deployment.get("staticUrl") or deployment.get("url")
    if isinstance(url, str) and url and not url.startswith("http"):
        url = f"https://{url}"
    return RAILWAY_STATES.get(status), status, url if isinstance(url, str) and url else None


# --------------------------------------------------------------------------- choice
BACKENDS: dict[str, Backend] = {
    "github": GitHubActions(),
    "webhook": SignedWebhook(),
    "railway": Railway(),
}


def backend_for(config: DeployConfig) -> Backend:
    return BACKENDS[config.backend]


def callback_delivery_id(deployment_id: int, given: str | None, body: bytes) -> str:
    """The callback's queue id: the sender's id when it gives one, else the body's hash."""
    key = given or hashlib.sha256(body).hexdigest()[:40]
    return f"deploy-callback:{deployment_id}:{key}"
