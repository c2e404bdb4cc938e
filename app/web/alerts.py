"""`POST /webhooks/alerts/{source}?repo=OWNER/NAME`: production alerts, persisted, then 202.

Sources: `sentry`, `alertmanager`, `grafana`, `generic` and `logs`, a log drain (see
`app.alerts.sources` and `app.alerts.logparse`). The alerts are normalised here and
stored as one `deckhand_alert` job on the same durable queue as GitHub's deliveries,
well within Sentry's one-second deadline; everything else happens in the worker.
Answers: 202 queued, duplicate (the same request again) or ignored (nothing to act on,
e.g. a Sentry issue being assigned); 401 when the source's secret is not configured or
the request is not signed with it; 400 malformed (with the reason); 404 unknown source,
or a repository the App is not installed on; 413 over 25 MB, as for GitHub's deliveries
(over 1 MB for a log drain's batch); 503 when the write fails.
Nothing here calls GitHub, and nothing is stored unless the request is accepted.
"""

from __future__ import annotations

import asyncio
import re
import time
from typing import Any

import orjson
from aiohttp import web

from app import metrics
from app.alerts.sources import SOURCES, delivery_key, parse, request_problem
from app.alerts.tracker import ALERT_EVENT
from app.config.settings import MAX_WEBHOOK_BYTES
from app.installations import InstallationStore
from app.logs import get_logger
from app.store.deliveries import NewDelivery
from app.web.bodies import read_limited
from app.web.errors import reject
from app.web.keys import SERVICE

log = get_logger("deckhand.web")
routes = web.RouteTableDef()

MAX_ALERT_BYTES = MAX_WEBHOOK_BYTES  # the contract's limit for every webhook
MAX_LOG_BYTES = 1024 * 1024  # a log drain's batch is parsed line by line before the 202
REPOSITORY = re.compile(r"^[A-Za-z0-9_.-]{1,100}/[A-Za-z0-9_.-]{1,100}$")
INSTALLED_TTL = 10.0  # seconds an "installed" answer is reused; "not installed" never is
REFRESH_AHEAD = 2.0  # an answer this close to its end is looked up again in the background
_installed: dict[tuple[int, str], tuple[int, float]] = {}  # (service, repository) -> id
_lookups: dict[tuple[int, str], asyncio.Task[int | None]] = {}  # the lookups under way


async def _installation(request: web.Request, repository: str) -> int | None:
    """The repository's installation, from a cache kept fresh off the request path: a
    steady stream of alerts never waits for the database, and requests that find no
    fresh answer share one lookup."""
    service = request.app[SERVICE]
    now, key = time.monotonic(), (id(service), repository.lower())
    cached = _installed.get(key)
    if cached is not None and cached[1] > now:
        if cached[1] - now < REFRESH_AHEAD and key not in _lookups:
            _lookup(service, key, repository)
        return cached[0]
    return await asyncio.shield(_lookups.get(key) or _lookup(service, key, repository))


def _lookup(service: Any, key: tuple[int, str], repository: str) -> asyncio.Task[int | None]:
    async def look() -> int | None:
        asked = time.monotonic()
        try:
            found = await InstallationStore(service.db).installation_for(repository)
        finally:
            _lookups.pop(key, None)
        if found is None:
            _installed.pop(key, None)
            return None
        if len(_installed) > 10000:
            _installed.clear()
        _installed[key] = (int(found), asked + INSTALLED_TTL)
        return int(found)

    task = _lookups[key] = asyncio.create_task(look())
    # a background refresh has no awaiter: take its exception, or asyncio logs it as lost
    task.add_done_callback(lambda t: t.cancelled() or t.exception())
    return task


@routes.post("/webhooks/alerts/{source}")
async def alert_webhook(request: web.Request) -> web.Response:
    service = request.app[SERVICE]
    source = request.match_info["source"]
    if source not in SOURCES:
        return reject(
            404, "unknown_source", f"unknown alert source; use one of {', '.join(SOURCES)}"
        )
    limit = MAX_LOG_BYTES if source == "logs" else MAX_ALERT_BYTES
    body = await read_limited(request, limit)
    if body is None:
        return reject(413, "too_large", f"alert larger than {limit} bytes")
    refused = request_problem(source, service.settings, request.headers, body)
    if refused:
        return reject(401, *refused)
    repository = request.query.get("repo", "")
    if not REPOSITORY.match(repository):
        return reject(400, "malformed", "the query must name the repository: ?repo=OWNER/NAME")
    try:
        alerts = parse(source, body, request.headers)
    except ValueError as exc:
        return reject(400, "malformed", f"malformed {source} alert: {exc}")
    installation_id = await _installation(request, repository)
    if installation_id is None:
        return reject(404, "not_installed", f"Deckhand is not installed on {repository}")
    delivery_id = delivery_key(source, repository, body, request.headers)
    if not alerts:
        return _accepted(delivery_id, "ignored", 0)
    payload = {
        "source": source,
        "alerts": [alert.to_dict() for alert in alerts],
        "installation": {"id": installation_id},
        "repository": {"full_name": repository},
        "received_at": time.time(),
    }
    delivery = NewDelivery(
        id=delivery_id,
        event=ALERT_EVENT,
        payload=orjson.dumps(payload),
        installation_id=installation_id,
        repository=repository,
        source=source,
        action=alerts[0].status,
    )
    assert service.batcher is not None
    try:
        is_new = await service.batcher.submit(delivery)
    except Exception:
        return reject(503, "store", "could not persist the alert; please send it again")
    if not is_new:
        metrics.DELIVERIES_DUPLICATE.labels(source).inc()
        return _accepted(delivery_id, "duplicate", len(alerts))
    metrics.DELIVERIES_RECEIVED.labels(source, ALERT_EVENT).inc()
    return _accepted(delivery_id, "queued", len(alerts))


def _accepted(delivery_id: str, status: str, count: int) -> web.Response:
    body = orjson.dumps({"delivery": delivery_id, "status": status, "alerts": count})
    return web.Response(status=202, body=body, content_type="application/json")
