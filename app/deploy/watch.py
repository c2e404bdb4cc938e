"""The health watch after a successful deployment, and the automatic rollback.

Each probe is a job on the durable queue (`deckhand_health_probe`, scheduled with
`run_after`), so a watch survives a restart: the next probe is already stored. A probe
job probes once, keeps the result as a row of its own (the dashboard's history), adds it
to the tally kept in the database and either schedules the next probe, ends the watch as
healthy when the window is over, or, after `failures` consecutive failed checks, rolls
back at once: a new deployment of the last good commit, the environment locked with the
reason, a comment on the pull request and an issue with the evidence.

Probe jobs have deterministic ids (`health:<deployment>:<n>`), so scheduling is
idempotent, and the tally remembers the last probe number it counted, so a job that
runs twice counts once (and its probe row, keyed by deployment and number, is rewritten).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import aiohttp

from app.config.repo import HealthConfig
from app.deploy.backends import BackendContext
from app.deploy.deployer import DeployRefused, DeployRequest, start
from app.deploy.health import HealthTally, ProbeResult, evidence_markdown, probe
from app.deploy.notify import notify
from app.deploy.store import AUTOMATIC, DeploymentRecord, DeployStore
from app.github.comments import find_comment, find_issue, post_comment
from app.store.deliveries import DeliveryStore

PROBE_EVENT = "deckhand_health_probe"
BackendLoader = Callable[[], Awaitable[BackendContext]]


async def begin(
    db: Any,
    deployment: DeploymentRecord,
    installation_id: int,
    health: HealthConfig,
    default_branch: str,
) -> None:
    """Start watching `deployment`; earlier watches of the environment stop."""
    store = DeployStore(db)
    latency = health.max_latency
    interval, window = health.interval.total_seconds(), health.window.total_seconds()
    urls = [str(health.url)]
    urls += [str(url) for name, url in health.components.items() if name in deployment.components]
    settings: dict[str, Any] = {
        "url": str(health.url),
        "urls": urls,
        "interval": interval,
        "failures": health.failures,
        "timeout": health.timeout.total_seconds(),
        "max_latency": latency.total_seconds() if latency is not None else None,
        "expect": dict(health.expect),
        "default_branch": default_branch,
    }
    await store.stop_watches(deployment.repository, deployment.environment, "superseded")
    now = time.time()
    state = {"probe": 0, "tally": HealthTally().to_dict()}
    await store.start_watch(deployment, installation_id, settings, state, now + window)
    await schedule(db, deployment, installation_id, settings, 1, now + interval)


async def schedule(
    db: Any,
    deployment: DeploymentRecord,
    installation_id: int,
    settings: dict[str, Any],
    number: int,
    at: float,
) -> None:
    await DeliveryStore(db).schedule(
        f"health:{deployment.id}:{number}",
        PROBE_EVENT,
        {
            "deployment_id": deployment.id,
            "probe": number,
            "repository": {"default_branch": settings.get("default_branch") or "main"},
        },
        repository=deployment.repository,
        installation_id=installation_id,
        at=at,
    )


async def run_probe(
    gh: Any,
    db: Any,
    data: dict[str, Any],
    log: Any,
    settings: Any = None,
    backend: BackendLoader | None = None,
) -> None:
    """One probe job; see the module docstring. `backend` gives the repository's deploy
    backend for a rollback (None: the `github` backend)."""
    store = DeployStore(db)
    deployment_id, number = int(data["deployment_id"]), int(data["probe"])
    watch = await store.watch(deployment_id)
    if watch is None or watch["status"] != "watching":
        return
    state = watch["tally"]
    counted = int(state.get("probe", 0))
    service_settings, settings = settings, watch["settings"]
    tally = HealthTally.from_dict(state["tally"])
    # An earlier attempt of this probe saw the failures that roll back and failed on the
    # way (GitHub away): repeat the rollback, not the probe. Any other counted probe is done.
    unfinished_rollback = counted == number and tally.verdict(settings["failures"], False) == (
        "rollback"
    )
    if counted >= number and not unfinished_rollback:
        return
    if unfinished_rollback:
        verdict, saved = "rollback", state
    else:
        result = await _probe_all(settings)
        at = datetime.now(UTC)
        await store.record_probe(
            deployment_id, watch["repository"], watch["environment"], number, result, at.timestamp()
        )
        tally = tally.record(result, at)
        verdict = tally.verdict(settings["failures"], time.time() >= watch["ends_at"])
        saved = {"probe": number, "tally": tally.to_dict()}
        log.info(
            "health_probe",
            deployment=deployment_id,
            ok=result.ok,
            reason=result.reason,
            verdict=verdict,
        )
    deployment = await store.get(deployment_id)
    if deployment is None:
        await store.save_watch(deployment_id, saved, "stopped")
        return
    if verdict == "watch":  # the next probe first: a crash in between leaves it stored
        next_at = time.time() + settings["interval"]
        await schedule(db, deployment, watch["installation_id"], settings, number + 1, next_at)
        await store.save_watch(deployment_id, saved, "watching")
        return
    if not await store.save_watch(deployment_id, saved, "watching"):
        return  # a newer deployment took over the environment while this probe ran
    if verdict == "rollback":  # its tally is saved first: a failed attempt's retry repeats it
        started = time.perf_counter()
        await roll_back(
            gh, store, deployment, tally, settings["url"], log, service_settings, backend
        )
        log.info("health_rollback", deployment=deployment_id, seconds=time.perf_counter() - started)
    await store.save_watch(
        deployment_id, saved, "healthy" if verdict == "healthy" else "rolled_back"
    )


async def _probe_all(settings: dict[str, Any]) -> ProbeResult:
    """Probe the environment's URL and its deployed components' at once: one failure of
    the environment's fails the check; otherwise an error on our side counts as ours."""
    urls = settings.get("urls") or [settings["url"]]
    async with aiohttp.ClientSession() as session:
        results = await asyncio.gather(
            *(
                probe(
                    session,
                    url,
                    timeout=settings["timeout"],
                    max_latency=settings["max_latency"],
                    expect=settings["expect"] if url == settings["url"] else {},
                )
                for url in urls
            )
        )
    if len(results) == 1:
        return results[0]
    failed = [(url, r) for url, r in zip(urls, results, strict=True) if not r.ok and not r.ours]
    ours = [(url, r) for url, r in zip(urls, results, strict=True) if not r.ok and r.ours]
    worst = failed or ours
    if not worst:
        return max(results, key=lambda r: r.latency)
    first = worst[0][1]
    reason = "; ".join(f"{u}: {r.reason}" for u, r in worst)
    return replace(first, reason=reason, ours=not failed)


async def roll_back(
    gh: Any,
    store: DeployStore,
    failed: DeploymentRecord,
    tally: HealthTally,
    url: str,
    log: Any,
    service_settings: Any = None,
    backend: BackendLoader | None = None,
) -> DeploymentRecord | None:
    """Redeploy the last good commit, lock the environment, tell the PR and open an issue."""
    target = await store.last_good(failed.repository, failed.environment, before=failed.id)
    reason = f"health checks failed {tally.streak} times in a row after deployment {failed.id}"
    record = None
    outcome = "there is no earlier successful deployment to go back to"
    if target is not None:
        try:
            record = await start(
                gh,
                store,
                DeployRequest(
                    repository=failed.repository,
                    environment=failed.environment,
                    sha=target.sha,
                    ref=target.ref,
                    actor=AUTOMATIC,
                    automatic=True,
                    components=target.components,
                    rollback_of=failed.id,
                    pull_number=failed.pull_number,
                    command_key=f"auto-rollback:{failed.id}",
                    reason=reason,
                ),
                backend=await backend() if backend is not None else None,
            )
            back_to = f"`{target.sha[:7]}` (deployment {target.id})"
            outcome = f"rolled back to {back_to} as deployment {record.id}"
        except DeployRefused as refused:
            outcome = f"the rollback could not start: {refused}"
    await store.lock(failed.repository, failed.environment, AUTOMATIC, reason)
    evidence = evidence_markdown(tally, url)
    body = (
        f"⚠️ **{failed.environment}**: {reason}; {outcome}. `{failed.environment}` is locked "
        f"until someone runs `/unlock {failed.environment}`.\n\n{evidence}"
    )
    await _tell(gh, failed, body, log)
    if service_settings is not None:
        text = f"Deckhand: {failed.repository} {failed.environment}: {reason}; {outcome}."
        await notify(service_settings, text, log)
    return record


async def _tell(gh: Any, failed: DeploymentRecord, body: str, log: Any) -> None:
    """The PR comment and the issue, each once: a retried rollback finds them by marker."""
    owner, repo = failed.repository.split("/", 1)
    marker = f"<!-- deckhand:rollback {failed.id} -->"
    body = f"{body}\n\n{marker}"
    if failed.pull_number is not None:
        if await find_comment(gh, failed.repository, failed.pull_number, marker) is None:
            await post_comment(gh, failed.repository, failed.pull_number, body)
    title = (
        f"Deckhand rolled back {failed.environment} "
        f"after deployment {failed.id} (`{failed.sha[:7]}`)"
    )
    if await find_issue(gh, failed.repository, marker) is None:
        await gh.post(
            "/repos/{owner}/{repo}/issues",
            url_vars={"owner": owner, "repo": repo},
            data={"title": title[:250], "body": body},
        )
    log.warning("health_rolled_back", deployment=failed.id, environment=failed.environment)
