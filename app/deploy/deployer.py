"""Starting and finishing deployments: the GitHub Deployment, the history row and the
environment's in-flight slot, in an order that is safe to repeat.

`start` takes the slot first (one deployment in flight per environment), creates the
GitHub Deployment for the exact commit, records it, marks it queued and hands it to the
configured backend (app/deploy/backends.py): the `github` backend's workflow
(`on: deployment`) deploys and reports statuses; `webhook` and `railway` are started
here, and a backend that cannot start marks the deployment `error` and frees the slot.
`settle` follows a status: the history row, the slot, and on success the health watch.

A job killed midway is run again with the same `command_key`, and resumes its own work
exactly once: the slot remembers the command that took it, so the retry gets it back
(instead of being refused by itself), and the deployment's payload carries the key, so a
retry whose earlier run died after GitHub created the deployment finds and adopts it
instead of creating a second one. An error that leaves it unknown whether GitHub created
the deployment keeps the slot for the retry (or until it is stale).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from gidgethub import BadRequest

from app.deploy.backends import BackendContext, BackendError, backend_for
from app.deploy.store import FINAL, DeploymentRecord, DeployStore, Reservation
from app.logs import get_logger

log = get_logger("deckhand.deploy")


class DeployRefused(Exception):
    """The deployment was not started; the message says why, for the reply."""


@dataclass(frozen=True)
class DeployRequest:
    repository: str
    environment: str
    sha: str
    ref: str | None
    actor: str
    components: tuple[str, ...] = ()
    forced: bool = False
    rollback_of: int | None = None
    pull_number: int | None = None
    command_key: str | None = None  # "<comment id>:<line>"
    reason: str | None = None
    comment_url: str | None = None
    # What GitHub checks again when it creates the deployment; None: every context.
    required_contexts: tuple[str, ...] | None = ()
    automatic: bool = False  # Deckhand's own rollback: no person's lock can stop it


async def start(
    gh: Any, store: DeployStore, request: DeployRequest, *, backend: BackendContext | None = None
) -> DeploymentRecord:
    """Create and record the deployment, then trigger the backend (`backend`: None is the
    `github` backend); DeployRefused when the environment is busy or the backend failed."""
    key = request.command_key or None
    if key:
        earlier = await store.by_command(key)
        if earlier is not None:  # this command already started it (a retried job)
            await _resume_recorded(gh, store, earlier, key, backend)
            return earlier
    actor = None if request.automatic else request.actor
    reservation = await store.reserve(request.repository, request.environment, key, actor)
    if reservation is Reservation.REFUSED and await _settled_on_github(gh, store, request):
        reservation = await store.reserve(request.repository, request.environment, key, actor)
    if reservation is Reservation.LOCKED:
        state = await store.state(request.repository, request.environment)
        raise DeployRefused(f"`{request.environment}` is locked by {state.locked_by}")
    if not reservation:
        state = await store.state(request.repository, request.environment)
        busy = f" (deployment {state.in_flight})" if state.in_flight else ""
        raise DeployRefused(f"a deployment to `{request.environment}` is in progress{busy}")
    created, reported = None, None
    if reservation is Reservation.RESUMED:  # an earlier run of this command died midway
        created = await _created_earlier(gh, request)
        if created is not None:
            reported = await latest_state(gh, request.repository, int(created["id"]))
            log.info("deploy_adopted", deployment=created["id"], command=key, state=reported)
    if created is None:
        try:
            created = await _create(gh, request)
        except BadRequest as exc:  # GitHub answered: nothing was created
            await store.release(request.repository, request.environment, None, key)
            raise DeployRefused(f"GitHub refused the deployment: {exc}") from exc
        except BaseException:
            if not key:  # nothing could find what GitHub may have created: free the slot
                await store.release(request.repository, request.environment, None)
            raise
    record = DeploymentRecord(
        id=int(created["id"]),
        repository=request.repository.lower(),
        environment=request.environment,
        sha=request.sha,
        ref=request.ref,
        actor=request.actor,
        components=request.components,
        rollback_of=request.rollback_of,
        forced=request.forced,
        status=reported or "queued",
        pull_number=request.pull_number,
        reason=request.reason,
        created_at=time.time(),
    )
    await store.record(record, key)
    if reported in FINAL:  # it already ended while no run of the command was around
        await store.release(request.repository, request.environment, None, key)
        return record
    await store.attach(request.repository, request.environment, record.id)
    if reported is None:  # else its backend has it already (statuses were reported)
        await set_status(gh, request.repository, record.id, "queued", "Queued by Deckhand")
        if backend is not None:
            await trigger(gh, store, record, backend)
    return record


async def _resume_recorded(
    gh: Any, store: DeployStore, record: DeploymentRecord, key: str, backend: BackendContext | None
) -> None:
    """The command's deployment is recorded; if the run that recorded it died before
    attaching it (its reservation is still there), finish what that run did not."""
    state = await store.state(record.repository, record.environment)
    if state.in_flight != 0 or state.in_flight_key != key:
        return  # attached (or since released): the earlier run got past this point
    if record.status in FINAL:
        await store.release(record.repository, record.environment, None, key)
        return
    await store.attach(record.repository, record.environment, record.id)
    if record.status == "queued":  # nothing reported yet: it was not handed over
        await set_status(gh, record.repository, record.id, "queued", "Queued by Deckhand")
        if backend is not None:
            await trigger(gh, store, record, backend)


async def _created_earlier(gh: Any, request: DeployRequest) -> dict[str, Any] | None:
    """The deployment an earlier run of the command created, by the key in its payload."""
    owner, repo = request.repository.split("/", 1)
    async for deployment in gh.getiter(
        "/repos/{owner}/{repo}/deployments{?sha,environment,per_page}",
        url_vars={
            "owner": owner,
            "repo": repo,
            "sha": request.sha,
            "environment": request.environment,
            "per_page": "100",
        },
    ):
        payload = deployment.get("payload")
        if isinstance(payload, str):  # GitHub may give the payload as a JSON string
            try:
                payload = json.loads(payload)
            except ValueError:
                continue
        if isinstance(payload, dict) and payload.get("command") == request.command_key:
            found: dict[str, Any] = deployment
            return found
    return None


async def _settled_on_github(gh: Any, store: DeployStore, request: DeployRequest) -> bool:
    """When the environment's slot is held by a deployment that GitHub shows finished
    (its final status was reported but its webhook never reached Deckhand), settle it
    now and free the slot; True when that happened."""
    state = await store.state(request.repository, request.environment)
    if not state.in_flight:  # free, or reserved by a command not yet at GitHub
        return False
    reported = await latest_state(gh, request.repository, state.in_flight)
    if reported not in FINAL:
        return False
    log.info("deploy_settled_from_github", deployment=state.in_flight, state=reported)
    await settle(store, state.in_flight, reported)
    return True


async def latest_state(gh: Any, repository: str, deployment_id: int) -> str | None:
    """The state of the deployment's newest status; None when it has none."""
    owner, repo = repository.split("/", 1)
    statuses = await gh.getitem(
        "/repos/{owner}/{repo}/deployments/{deployment_id}/statuses{?per_page}",
        url_vars={
            "owner": owner,
            "repo": repo,
            "deployment_id": str(deployment_id),
            "per_page": "1",
        },
    )
    return str(statuses[0]["state"]) if statuses else None


async def trigger(
    gh: Any, store: DeployStore, record: DeploymentRecord, backend: BackendContext
) -> str | None:
    """Hand the queued deployment to its backend; the log URL if the backend gives one.
    A failure marks the deployment `error`, frees the environment and is DeployRefused."""
    chosen = backend_for(backend.config)
    try:
        log_url = await chosen.trigger(record, backend.config, backend)
    except BackendError as exc:
        reason = f"{chosen.name} backend: {exc}"
        log.warning("deploy_backend_failed", deployment=record.id, reason=reason)
        await settle(store, record.id, "error")  # first: the environment is free either way
        await set_status(gh, record.repository, record.id, "error", reason)
        raise DeployRefused(f"deployment {record.id} could not start ({reason})") from exc
    log.info("deploy_backend_triggered", deployment=record.id, backend=chosen.name, log=log_url)
    return log_url


async def _create(gh: Any, request: DeployRequest) -> dict[str, Any]:
    owner, repo = request.repository.split("/", 1)
    what = "Rollback" if request.rollback_of else "Deploy"
    payload = {
        "deckhand": True,
        "actor": request.actor,
        "components": list(request.components),
        "forced": request.forced,
        "rollback_of": request.rollback_of,
        "comment": request.comment_url,
        "pull_request": request.pull_number,
        "command": request.command_key,  # a retried job finds the deployment by it
    }
    created: dict[str, Any] = await gh.post(
        "/repos/{owner}/{repo}/deployments",
        url_vars={"owner": owner, "repo": repo},
        data={
            "ref": request.sha,
            "environment": request.environment,
            "auto_merge": False,
            # The environment's required checks (Deckhand checked them already; GitHub checks
            # again at creation); none for --force, rollbacks and unlisted requirements.
            **(
                {}
                if request.required_contexts is None
                else {"required_contexts": list(request.required_contexts)}
            ),
            "payload": payload,
            "description": f"{what} by {request.actor} via Deckhand"[:140],
            "production_environment": is_production(request.environment),
        },
    )
    return created


async def set_status(
    gh: Any,
    repository: str,
    deployment_id: int,
    state: str,
    description: str,
    log_url: str | None = None,
) -> None:
    owner, repo = repository.split("/", 1)
    data = {"state": state, "description": description[:140]}
    if log_url:
        data["log_url"] = log_url
    await gh.post(
        "/repos/{owner}/{repo}/deployments/{deployment_id}/statuses",
        url_vars={"owner": owner, "repo": repo, "deployment_id": str(deployment_id)},
        data=data,
    )


def is_production(environment: str) -> bool:
    """How Deckhand flags a deployment's environment to GitHub (`production_environment`)."""
    return environment == "production"


async def supersede(gh: Any, store: DeployStore, deployment_id: int, log: Any) -> None:
    """After a deployment succeeded, the environment's earlier successful ones are
    inactive. GitHub's `auto_inactive` marks them for non-production environments only,
    so for production Deckhand posts the `inactive` statuses itself. Idempotent: what is
    already inactive is left alone, so a retried job finishes what a failed one began
    (GitHub away raises, for that retry; GitHub refusing one, e.g. a deleted deployment,
    is logged and that one recorded inactive all the same)."""
    record = await store.get(deployment_id)
    if record is None or record.status != "success":
        return
    for earlier in await store.successful_before(record):
        if is_production(earlier.environment):
            try:
                await set_status(
                    gh,
                    earlier.repository,
                    earlier.id,
                    "inactive",
                    f"superseded by deployment {record.id}",
                )
            except BadRequest as exc:
                log.warning("deployment_not_marked_inactive", deployment=earlier.id, error=str(exc))
        await store.set_status(earlier.id, "inactive")


async def settle(store: DeployStore, deployment_id: int, state: str) -> DeploymentRecord | None:
    """Record a reported status; a final one frees the environment's slot. Returns the
    deployment when the report changed it; None when it is not ours, or a repeat, or
    late (see `DeployStore.set_status`): there is then nothing more to do."""
    stored = await store.set_status(deployment_id, state)
    if stored is None:
        return None
    record, changed = stored
    if record.status in FINAL:
        await store.release(record.repository, record.environment, record.id)
    return record if changed else None
