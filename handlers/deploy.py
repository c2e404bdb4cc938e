"""Deployments after the command: statuses reported by the backend, and health probes.

- `deployment_status` (from the repository's workflow, `on: deployment`): followed by
  `app.deploy.follow.follow_status`, as the other backends' statuses are.
- `deckhand_health_probe`: Deckhand's own scheduled job, one probe of a health watch.
- `deckhand_deploy_callback`: a signed status callback from the `webhook` backend's
  receiver; the deployment, repository and installation come from Deckhand's records.
- `deckhand_railway_poll`: Deckhand's own scheduled job, one read of a Railway
  deployment's status; a change is posted to GitHub and followed like `deployment_status`.
"""

import dataclasses
import time
from typing import Any

from gidgethub import BadRequest, sansio
from gidgethub.routing import Router

from app.deploy import backends, watch
from app.deploy.deployer import set_status
from app.deploy.follow import follow_status
from app.deploy.store import FINAL, DeployStore
from app.installations import InstallationStore

router = Router()


@router.register("deployment_status")
async def on_deployment_status(
    event: sansio.Event, gh: Any, *args: Any, context: Any, **kw: Any
) -> None:
    data = event.data
    await follow_status(
        gh,
        context,
        int(data["deployment"]["id"]),
        data["deployment_status"]["state"],
        data["deployment_status"].get("log_url"),
        data["repository"].get("default_branch") or "main",
    )


@router.register(watch.PROBE_EVENT)
async def on_health_probe(
    event: sansio.Event, gh: Any, *args: Any, context: Any, **kw: Any
) -> None:
    await watch.run_probe(
        gh,
        context.db,
        event.data,
        context.log,
        context.settings,
        backend=lambda: backends.backend_context(context),
    )


@router.register(backends.CALLBACK_EVENT)
async def on_deploy_callback(
    event: sansio.Event, gh: Any, *args: Any, context: Any, **kw: Any
) -> None:
    """A verified callback; `gh` is the App's own client (the caller names no installation)."""
    data = event.data
    deployment_id, state = int(data["deployment_id"]), data["state"]
    record = await DeployStore(context.db).get(deployment_id)
    if record is None:
        context.log.warning("deploy_callback_unknown_deployment", deployment=deployment_id)
        return
    if record.status in FINAL:
        context.log.info(
            "deploy_callback_late", deployment=deployment_id, state=state, status=record.status
        )
        return
    installation_id = await _installation_of(gh, context, record.repository)
    if installation_id is None:
        context.log.warning("deploy_callback_not_installed", repository=record.repository)
        return
    client = context.github_app.installation_client(installation_id)
    owner, repo = record.repository.split("/", 1)
    repository = await client.getitem(
        "/repos/{owner}/{repo}", url_vars={"owner": owner, "repo": repo}
    )
    inner = _context_for(context, client, installation_id, repository)
    if (await inner.config()).config.deploy.backend != "webhook":
        context.log.warning("deploy_callback_not_webhook", deployment=deployment_id)
        return
    description = data.get("description") or f"{state.replace('_', ' ')} (webhook backend)"
    log_url = data.get("log_url")
    await set_status(client, record.repository, record.id, state, description, log_url)
    default_branch = repository.get("default_branch") or "main"
    await follow_status(client, inner, record.id, state, log_url, default_branch)


async def _installation_of(gh: Any, context: Any, repository: str) -> int | None:
    """The installation covering `repository`: Deckhand's records, else GitHub (as the App)."""
    found = await InstallationStore(context.db).installation_for(repository)
    if found is not None:
        return int(found)
    owner, repo = repository.split("/", 1)
    try:
        installation = await context.github_app.app_client().getitem(
            "/repos/{owner}/{repo}/installation", url_vars={"owner": owner, "repo": repo}
        )
    except BadRequest as exc:
        if int(exc.status_code) == 404:
            return None
        raise
    return int(installation["id"])


def _context_for(
    context: Any, client: Any, installation_id: int, repository: dict[str, Any]
) -> Any:
    """The job's context as if the event had named the installation and repository."""
    data = {**context.event.data, "installation": {"id": installation_id}}
    data["repository"] = repository
    event = sansio.Event(data, event=context.event.event, delivery_id=context.event.delivery_id)
    return dataclasses.replace(context, event=event, gh=client, _config=None)


@router.register(backends.RAILWAY_POLL_EVENT)
async def on_railway_poll(
    event: sansio.Event, gh: Any, *args: Any, context: Any, **kw: Any
) -> None:
    data = event.data
    store = DeployStore(context.db)
    record = await store.get(int(data["deployment_id"]))
    if record is None or record.status in FINAL:
        return
    railway_id, number = str(data["railway_deployment_id"]), int(data["poll"])
    default_branch = (data.get("repository") or {}).get("default_branch") or "main"
    try:
        state, status, url = await backends.railway_state(context.settings, railway_id)
    except backends.RailwayError as exc:
        context.log.warning("railway_poll_failed", deployment=record.id, error=str(exc))
        state, status, url = None, "unknown", None
    if state is None and number >= backends.RAILWAY_MAX_POLLS:
        state, status = "error", f"still {status} after {number} reads"
    if state is not None and state != record.status:
        config = (await context.config()).config.deploy
        log_url = backends.railway_log_url(config, railway_id)
        description = f"Railway: {status.lower()}" + (f" at {url}" if url else "")
        await set_status(gh, record.repository, record.id, state, description, log_url)
        await follow_status(gh, context, record.id, state, log_url, default_branch)
    if state not in FINAL:
        await backends.schedule_railway_poll(
            context.db,
            record,
            railway_id,
            number + 1,
            time.time() + context.settings.railway_poll_seconds,
            installation_id=context.installation_id,
            default_branch=default_branch,
        )
