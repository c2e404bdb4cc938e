"""`POST /webhooks/deploy/{deployment_id}`: status callbacks from the `webhook` deploy backend.

The receiver signs the raw body like Deckhand signs its requests (`X-Deckhand-Signature:
sha256=<hex>`, secret `DECKHAND_DEPLOY_WEBHOOK_SECRET`); the body names the deployment
(`deployment_id`, as in the URL), so a signed callback cannot be replayed against
another. A verified callback is stored as a job on the durable queue
(`deckhand_deploy_callback`) and answered 202; the worker looks
the deployment, its repository and installation up in Deckhand's own records, never in
what the caller says. Answers: 401 bad or missing signature (or no secret configured),
400 malformed body or unknown state, 413 over 1 MB, 503 when the write fails. Nothing
here calls GitHub.
"""

from __future__ import annotations

import re
from typing import Any

import orjson
from aiohttp import web

from app import metrics
from app.deploy.backends import (
    CALLBACK_EVENT,
    CALLBACK_STATES,
    DELIVERY_HEADER,
    SIGNATURE_HEADER,
    callback_delivery_id,
    signature_error,
)
from app.logs import get_logger
from app.store.deliveries import NewDelivery
from app.web.bodies import read_limited
from app.web.errors import reject
from app.web.keys import SERVICE

log = get_logger("deckhand.web")
routes = web.RouteTableDef()

MAX_CALLBACK_BYTES = 1024 * 1024
CALLBACK_ID = re.compile(r"^[A-Za-z0-9._:-]{1,100}$")
SOURCE = "deploy-webhook"


def parse_callback(body: bytes, deployment_id: int) -> dict[str, Any]:
    """The callback's fields, or ValueError saying what is wrong. The signed body names
    its deployment, so a callback signed for one cannot be replayed against another."""
    data = orjson.loads(body)
    if not isinstance(data, dict):
        raise ValueError("the body is not a JSON object")
    named = data.get("deployment_id")
    if type(named) is not int or named != deployment_id:
        raise ValueError(f"deployment_id must be {deployment_id}, the deployment in the URL")
    state = data.get("state")
    if state not in CALLBACK_STATES:
        raise ValueError("state must be one of " + ", ".join(sorted(CALLBACK_STATES)))
    log_url = data.get("log_url")
    if log_url is not None and not (
        isinstance(log_url, str) and log_url.startswith(("https://", "http://"))
    ):
        raise ValueError("log_url must be an http(s) URL")
    description = data.get("description")
    if description is not None and not isinstance(description, str):
        raise ValueError("description must be a string")
    return {"state": state, "log_url": log_url, "description": (description or "")[:140]}


@routes.post("/webhooks/deploy/{deployment_id}")
async def deploy_callback(request: web.Request) -> web.Response:
    service = request.app[SERVICE]
    raw_id = request.match_info["deployment_id"]
    if not raw_id.isdigit() or len(raw_id) > 19:
        return reject(400, "malformed", "the deployment id must be a number")
    body = await read_limited(request, MAX_CALLBACK_BYTES)
    if body is None:
        return reject(413, "too_large", f"callback larger than {MAX_CALLBACK_BYTES} bytes")
    secret = service.settings.deploy_webhook_secret
    if secret is None:
        return reject(
            401, "no_secret", "DECKHAND_DEPLOY_WEBHOOK_SECRET is not set; callbacks are refused"
        )
    problem = signature_error(
        secret.get_secret_value(), body, request.headers.get(SIGNATURE_HEADER)
    )
    if problem:
        return reject(401, "signature", problem)
    deployment_id = int(raw_id)
    try:
        fields = parse_callback(body, deployment_id)
    except ValueError as exc:  # orjson.JSONDecodeError is a ValueError
        return reject(400, "malformed", f"malformed callback: {exc}")
    given = request.headers.get(DELIVERY_HEADER)
    if given is not None and not CALLBACK_ID.match(given):
        return reject(400, "headers", f"invalid {DELIVERY_HEADER} header")
    delivery_id = callback_delivery_id(deployment_id, given, body)
    payload = {"deployment_id": deployment_id, **fields}
    delivery = NewDelivery(
        id=delivery_id, event=CALLBACK_EVENT, payload=orjson.dumps(payload), source=SOURCE
    )
    assert service.batcher is not None
    try:
        is_new = await service.batcher.submit(delivery)
    except Exception:
        return reject(503, "store", "could not persist the callback; please send it again")
    if not is_new:
        metrics.DELIVERIES_DUPLICATE.labels(SOURCE).inc()
        return _accepted(delivery_id, "duplicate")
    metrics.DELIVERIES_RECEIVED.labels(SOURCE, CALLBACK_EVENT).inc()
    log.info("deploy_callback_received", deployment=deployment_id, state=fields["state"])
    return _accepted(delivery_id, "queued")


def _accepted(delivery_id: str, status: str) -> web.Response:
    body = orjson.dumps({"delivery": delivery_id, "status": status})
    return web.Response(status=202, body=body, content_type="application/json")
