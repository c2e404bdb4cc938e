"""`GET /healthz` (database and queue state) and `GET /metrics` (Prometheus text)."""

from __future__ import annotations

import asyncio
import time

from aiohttp import web

from app import metrics
from app.web.keys import SERVICE

routes = web.RouteTableDef()
HEALTH_TIMEOUT_SECONDS = 5.0


@routes.get("/healthz")
async def healthz(request: web.Request) -> web.Response:
    service = request.app[SERVICE]
    body: dict[str, object] = {"status": "ok"}
    healthy = True
    try:
        async with asyncio.timeout(HEALTH_TIMEOUT_SECONDS):
            await service.db.ping()
            counts = await service.deliveries.counts()
            oldest = await service.deliveries.oldest_queued_age()
        body["database"] = "ok"
        body["queue"] = {**counts, "oldest_queued_seconds": round(oldest, 3)}
    except Exception as exc:
        healthy = False
        body["database"] = f"error: {type(exc).__name__}"
    body["queue_backend"] = "procrastinate" if service.queue is not None else "embedded"
    if service.queue is not None:
        try:
            async with asyncio.timeout(HEALTH_TIMEOUT_SECONDS):
                await service.queue.ping()
        except Exception as exc:
            healthy = False
            body["queue_backend"] = f"procrastinate error: {type(exc).__name__}"
    if service.queue is not None and service.runs_jobs:
        body["workers"] = "running" if service.queue.worker_running else "stopped"
        healthy = healthy and service.queue.worker_running
    elif service.pool is not None:
        workers_ok = service.pool.running and time.time() - service.pool.last_poll < max(
            60.0, service.settings.poll_seconds * 10
        )
        body["workers"] = "running" if workers_ok else "stopped"
        healthy = healthy and workers_ok
    else:
        body["workers"] = "external"
    missing = service.settings.missing_app_credentials()
    body["github_app"] = "configured" if not missing else {"setup_mode": True, "missing": missing}
    if not healthy:
        body["status"] = "unavailable"
    return web.json_response(body, status=200 if healthy else 503)


@routes.get("/metrics")
async def prometheus_metrics(request: web.Request) -> web.Response:
    service = request.app[SERVICE]
    try:
        counts = await service.deliveries.counts()
        for status, count in counts.items():
            metrics.QUEUE_DEPTH.labels(status).set(count)
        metrics.QUEUE_OLDEST_SECONDS.set(await service.deliveries.oldest_queued_age())
    except Exception:  # still serve the process metrics when the database is down
        metrics.QUEUE_DEPTH.labels("unknown").set(-1)
    body, content_type = metrics.render()
    response = web.Response(body=body)
    response.headers["Content-Type"] = content_type
    return response
