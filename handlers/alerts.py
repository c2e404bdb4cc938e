"""Production alerts: Deckhand's own jobs, queued by `POST /webhooks/alerts/{source}`.

- `deckhand_alert`: a batch of normalised alerts for one repository.
- `deckhand_alert_flush`: bring one fingerprint's issue up to date (scheduled, coalesced).
- `deckhand_alert_triage`: the optional AI triage comment.

The work is `app.alerts.tracker.AlertTracker`'s; this module builds it from the job.
"""

import dataclasses
import time
from typing import Any

from gidgethub import sansio
from gidgethub.routing import Router

from app.alerts.lograte import spike
from app.alerts.sources import Alert
from app.alerts.tracker import ALERT_EVENT, FLUSH_EVENT, TRIAGE_EVENT, AlertTracker

router = Router()

BRANCH_TTL = 600.0
_default_branches: dict[str, tuple[str, float]] = {}


async def _tracker(event: sansio.Event, gh: Any, context: Any) -> AlertTracker:
    repository = event.data["repository"]["full_name"]
    context = await _with_default_branch(context, gh, repository)
    config = (await context.config()).config.alerts
    return AlertTracker(
        gh=gh,
        db=context.db,
        settings=context.settings,
        config=config,
        repository=repository,
        installation_id=int(event.data["installation"]["id"]),
        log=context.log,
    )


async def _with_default_branch(context: Any, gh: Any, repository: str) -> Any:
    """The job names the repository only; its config lives on the default branch."""
    now = time.monotonic()
    cached = _default_branches.get(repository.lower())
    if cached is None or cached[1] < now:
        owner, name = repository.split("/", 1)
        found = await gh.getitem("/repos/{owner}/{repo}", url_vars={"owner": owner, "repo": name})
        cached = (found.get("default_branch") or "main", now + BRANCH_TTL)
        _default_branches[repository.lower()] = cached
    data = {
        **context.event.data,
        "repository": {"full_name": repository, "default_branch": cached[0]},
    }
    event = sansio.Event(data, event=context.event.event, delivery_id=context.event.delivery_id)
    return dataclasses.replace(context, event=event, _config=None)


@router.register(ALERT_EVENT)
async def on_alert(event: sansio.Event, gh: Any, *args: Any, context: Any, **kw: Any) -> None:
    tracker = await _tracker(event, gh, context)
    alerts = [Alert.from_dict(item) for item in event.data["alerts"]]
    limit = tracker.config.logs.max_errors_per_minute
    if event.data.get("source") == "logs" and limit is not None:
        alerts += await spike(tracker.store, tracker.repository, event.delivery_id, alerts, limit)
    await tracker.process(event.delivery_id, alerts)


@router.register(FLUSH_EVENT)
async def on_flush(event: sansio.Event, gh: Any, *args: Any, context: Any, **kw: Any) -> None:
    tracker = await _tracker(event, gh, context)
    await tracker.flush(event.data["key"])


@router.register(TRIAGE_EVENT)
async def on_triage(event: sansio.Event, gh: Any, *args: Any, context: Any, **kw: Any) -> None:
    tracker = await _tracker(event, gh, context)
    await tracker.triage(event.data["key"], int(event.data["issue"]), event.data.get("sha"))
