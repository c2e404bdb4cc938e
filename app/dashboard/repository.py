"""The repository pages: `/dashboard/{owner}/{repo}` and one deployment's detail page.

The repository page shows, per environment, the lock, the deployment in flight, the
success rate, the mean time to recover, health probe latency over the last 7 days across
deployments (an inline SVG, failed probes in red) and the deployment history; then the
open alert issues with their occurrence counts and the recent reviews (each run's
conclusion, findings and the fix commit it pushed). A deployment's page lists its
probes. A repository the person may not see answers the same 404 page as one that does
not exist, and so does a deployment of another repository. Everything is read from the
database; nothing here calls GitHub.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from app.alerts.store import open_issues
from app.dashboard import chart, history
from app.dashboard.access import Visible
from app.dashboard.pages import not_found, page, settings_of, signed_in_page
from app.dashboard.sessions import Session
from app.deploy.health import HealthTally
from app.deploy.store import DeployStore, probes_of, probes_since
from app.review.store import recent_reviews
from app.web.keys import SERVICE

routes = web.RouteTableDef()

CHART_DAYS = 7


def _common(request: web.Request, session: Session, name: str) -> dict[str, Any]:
    web_url = settings_of(request).github_web_url.rstrip("/")
    return {
        "session": session,
        "repo": name,
        "github": f"{web_url}/{name}",
        "when": history.when,
        "span": history.span,
    }


def _repository(request: web.Request, visible: Visible) -> str | None:
    repo = visible.find(f"{request.match_info['owner']}/{request.match_info['repo']}")
    return repo.full_name if repo else None


@routes.get("/dashboard/{owner}/{repo}")
@signed_in_page
async def repository(request: web.Request, session: Session, visible: Visible) -> web.Response:
    name = _repository(request, visible)
    if name is None:
        return not_found(request, session)
    db = request.app[SERVICE].db
    views = await history.environments(db, name)
    now = time.time()
    since = now - CHART_DAYS * 86400
    probes = await probes_since(db, name, since)
    start, end = datetime.fromtimestamp(since, UTC), datetime.fromtimestamp(now, UTC)
    charts = {v.name: chart.latency_chart(probes.get(v.name, []), start, end) for v in views}
    context = _common(request, session, name) | {
        "environments": views,
        "charts": charts,
        "alerts": await open_issues(db, name),
        "reviews": await recent_reviews(db, name),
    }
    return page(request, "repository.html", context)


@routes.get("/dashboard/{owner}/{repo}/deployments/{id}")
@signed_in_page
async def deployment(request: web.Request, session: Session, visible: Visible) -> web.Response:
    name = _repository(request, visible)
    raw_id = request.match_info["id"]
    if name is None or not raw_id.isdigit() or len(raw_id) > 18:  # a BIGINT at most
        return not_found(request, session)
    db = request.app[SERVICE].db
    store = DeployStore(db)
    record = await store.get(int(raw_id))
    if record is None or record.repository.lower() != name.lower():
        return not_found(request, session)
    row = history.DeploymentRow(record, await store.rolled_back_by(record.id))
    watch = await store.watch(record.id)
    tally = HealthTally.from_dict((watch or {}).get("tally", {}).get("tally"))
    # A watch from before probes were stored one by one has only its tally's last few.
    probes: list[Any] = await probes_of(db, record.id) or list(tally.recent)
    context = _common(request, session, name) | {
        "row": row,
        "d": record,
        "watch": watch,
        "tally": tally,
        "probes": probes,
        "chart": chart.latency_chart(probes),
    }
    return page(request, "deployment.html", context)
