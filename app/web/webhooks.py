"""`POST /webhooks/github`: verify, persist, answer 202, all well inside GitHub's 10 s.

Answers: 202 once the delivery is on disk (or was already: a redelivery is acknowledged
and not queued again; an event no handler wants is stored as done and answered
`ignored`); 401 bad or missing signature; 400 missing headers or a body that is not a
JSON object; 413 over 25 MB; 503 if the database cannot take the write (GitHub shows
the failure and the delivery can be redelivered).
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs

import orjson
from aiohttp import web
from gidgethub import sansio

from app import metrics
from app.config.settings import MAX_WEBHOOK_BYTES
from app.logs import get_logger
from app.signatures import github_signature_error
from app.store.deliveries import NewDelivery
from app.web.errors import reject
from app.web.keys import SERVICE

log = get_logger("deckhand.web")
routes = web.RouteTableDef()

DELIVERY_ID = re.compile(r"^[A-Za-z0-9._:-]{1,100}$")
EVENT_NAME = re.compile(r"^[a-z0-9_]{1,64}$")


def parse_payload(body: bytes, content_type: str) -> dict[str, Any]:
    """The delivery's JSON object, from a JSON body or GitHub's form encoding (`payload=`)."""
    if content_type == "application/x-www-form-urlencoded":
        fields = parse_qs(body.decode("utf-8", "strict"), strict_parsing=True)
        if "payload" not in fields:
            raise ValueError("form body without a payload field")
        body = fields["payload"][0].encode()
    data = orjson.loads(body)
    if not isinstance(data, dict):
        raise ValueError("payload is not a JSON object")
    return data


async def _read_body(request: web.Request) -> bytes | None:
    if request.content_length is not None and request.content_length > MAX_WEBHOOK_BYTES:
        return None
    try:
        body = await request.read()
    except web.HTTPRequestEntityTooLarge:
        return None
    return body if len(body) <= MAX_WEBHOOK_BYTES else None


@routes.post("/webhooks/github")
async def github_webhook(request: web.Request) -> web.Response:
    service = request.app[SERVICE]
    settings = service.settings
    body = await _read_body(request)
    if body is None:
        return reject(413, "too_large", f"payload larger than {MAX_WEBHOOK_BYTES} bytes")

    secret = settings.github_webhook_secret
    if secret is not None:
        problem = github_signature_error(
            secret.get_secret_value(), body, request.headers.get("X-Hub-Signature-256")
        )
        if problem:
            return reject(401, "signature", problem)
    elif not settings.insecure_no_secret:
        return reject(
            401, "no_secret", "GITHUB_WEBHOOK_SECRET is not set; unsigned deliveries are refused"
        )

    event = request.headers.get("X-GitHub-Event", "")
    delivery_id = request.headers.get("X-GitHub-Delivery", "")
    if not EVENT_NAME.match(event):
        return reject(400, "headers", "missing or invalid X-GitHub-Event header")
    if not DELIVERY_ID.match(delivery_id):
        return reject(400, "headers", "missing or invalid X-GitHub-Delivery header")
    try:
        data = parse_payload(body, request.content_type)
    except (ValueError, UnicodeDecodeError) as exc:
        return reject(400, "malformed", f"malformed payload: {exc}")

    # An event no handler wants is kept (deduplication, audit) but never queued.
    handled = bool(service.router.fetch(sansio.Event(data, event=event, delivery_id=delivery_id)))
    stored_body = body if request.content_type == "application/json" else orjson.dumps(data)
    delivery = new_delivery(delivery_id, event, data, stored_body, handled)
    assert service.batcher is not None
    try:
        is_new = await service.batcher.submit(delivery)
    except Exception:
        return reject(503, "store", "could not persist the delivery; please redeliver")
    if not is_new:
        metrics.DELIVERIES_DUPLICATE.labels("github").inc()
        return _accepted(delivery_id, "duplicate")
    metrics.DELIVERIES_RECEIVED.labels("github", event).inc()
    if not handled:
        metrics.DELIVERIES_PROCESSED.labels(event, "ignored").inc()
        return _accepted(delivery_id, "ignored")
    return _accepted(delivery_id, "queued")


def new_delivery(
    delivery_id: str, event: str, data: dict[str, Any], body: bytes, handled: bool
) -> NewDelivery:
    """The row to store, with the fields the queue and the admin commands look up."""
    installation = data.get("installation")
    repository = data.get("repository")
    installation_id = installation.get("id") if isinstance(installation, dict) else None
    full_name = repository.get("full_name") if isinstance(repository, dict) else None
    action = data.get("action")
    return NewDelivery(
        id=delivery_id,
        event=event,
        action=action[:64] if isinstance(action, str) else None,
        installation_id=installation_id if type(installation_id) is int else None,
        repository=full_name[:200] if isinstance(full_name, str) else None,
        payload=body,
        handled=handled,
    )


def _accepted(delivery_id: str, status: str) -> web.Response:
    body = orjson.dumps({"delivery": delivery_id, "status": status})
    return web.Response(status=202, body=body, content_type="application/json")
