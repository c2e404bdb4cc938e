"""The deploy commands: `/deploy`, `/rollback`, `/lock`, `/unlock`, `/status`, `/history`.

Each takes a parsed command and the comment it came from and returns the reply text and
whether it went through. Every rule is checked before anything changes: the environment
is configured, the commenter may act there (write access, `allowed`, admin for
`--force`), the head is not newer than the comment, the checks are green, the order
(`after`) holds, no one else's lock, the hourly limit. Refusals are polite and precise.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from gidgethub import BadRequest

from app.chatops.permissions import WRITE_LEVELS, permission_of
from app.commands import Deploy, History, Lock, Rollback, Status, Unlock
from app.config.repo import DeployConfig, EnvironmentConfig
from app.deploy import rules
from app.deploy.backends import BackendContext, backend_context
from app.deploy.deployer import DeployRefused, DeployRequest, start
from app.deploy.detect import detect_components
from app.deploy.store import DeploymentRecord, DeployStore, locked_against
from app.logs import get_logger

log = get_logger("deckhand.deploy")


@dataclass(frozen=True)
class CommandInput:
    """A deploy command's circumstances: who asked, where, and what the job provides. From
    a comment (issue number, comment id and time) or through the API (`ref`, `request_key`)."""

    gh: Any
    store: DeployStore
    config: DeployConfig
    repository: str
    issue_number: int
    is_pull_request: bool
    actor: str
    comment_id: int
    comment_created_at: str | None
    comment_url: str | None
    clone_url: str = ""
    git_cache_dir: Path = Path("./data/git")
    token: Callable[[], Awaitable[str]] | None = None  # the installation token, for git
    progress: Callable[[str], Awaitable[None]] | None = None  # edits the command's reply
    confirm_seconds: float = 60.0
    ref: str | None = None  # through the API: deploy this ref instead of a PR's head
    request_key: str | None = None  # through the API: the idempotency key of the request
    backend: BackendContext | None = None  # None: the `github` backend (Actions)


async def command_input(
    context: Any, gh: Any, *, repository: str, actor: str, **request: Any
) -> CommandInput:
    """The input of a deploy command run in a worker job, from a comment or from the API:
    what the job's context provides (client, store, config, backend, git cache, token)
    plus the request's own fields."""
    return CommandInput(
        gh=gh,
        store=DeployStore(context.db),
        config=(await context.config()).config.deploy,
        repository=repository,
        actor=actor,
        git_cache_dir=context.settings.git_cache_dir,
        token=lambda: context.github_app.installation_token(context.installation_id),
        confirm_seconds=context.settings.confirm_seconds,
        backend=await backend_context(context),
        **request,
    )


class Refusal(Exception):
    pass


async def run(command: Any, given: CommandInput) -> tuple[str, bool]:
    try:
        if isinstance(command, Deploy):
            return await _deploy(command, given), True
        if isinstance(command, Rollback):
            return await _rollback(command, given), True
        if isinstance(command, Lock):
            return await _lock(command, given), True
        if isinstance(command, Unlock):
            return await _unlock(command, given), True
        if isinstance(command, Status):
            return await _status(command, given), True
        if isinstance(command, History):
            return await _history(command, given), True
    except (Refusal, DeployRefused) as refusal:
        return f"Not done: {refusal}", False
    return f"`/{command.name}` is not a deploy command.", False


def _environment(name: str | None, given: CommandInput) -> tuple[str, EnvironmentConfig]:
    configured = given.config.environments
    if not configured:
        raise Refusal(
            "no environments are configured (`deploy.environments` in `.github/deckhand.yml`)"
        )
    if name is None:
        if len(configured) == 1:
            only = next(iter(configured))
            return only, configured[only]
        raise Refusal("say which environment: " + ", ".join(f"`{e}`" for e in configured))
    if name not in configured:
        known = ", ".join(f"`{e}`" for e in configured)
        raise Refusal(f"`{name}` is not a configured environment (configured: {known})")
    return name, configured[name]


async def _may_act(given: CommandInput, env: EnvironmentConfig, *, admin: bool = False) -> None:
    permission = await permission_of(given.gh, given.repository, given.actor)
    if permission not in WRITE_LEVELS:
        raise Refusal(f"sorry @{given.actor}, this needs write access to the repository")
    if admin and permission != "admin":
        raise Refusal("`--force` is for repository admins")
    if env.allowed:
        listed, teams = rules.named_in(given.actor, env.allowed)
        if not listed and not await _in_any_team(given, teams):
            raise Refusal(
                f"sorry @{given.actor}, this environment is limited to {', '.join(env.allowed)}"
            )


async def _in_any_team(given: CommandInput, teams: list[tuple[str, str]]) -> bool:
    for org, team in teams:
        try:
            membership = await given.gh.getitem(
                "/orgs/{org}/teams/{team_slug}/memberships/{username}",
                url_vars={"org": org, "team_slug": team, "username": given.actor},
            )
        except BadRequest as exc:
            if int(exc.status_code) == 404:
                continue
            raise
        if membership.get("state") == "active":
            return True
    return False


def _url_vars(given: CommandInput, **extra: Any) -> dict[str, str]:
    owner, repo = given.repository.split("/", 1)
    return {"owner": owner, "repo": repo, **{k: str(v) for k, v in extra.items()}}


async def _head(given: CommandInput) -> tuple[str, str | None]:
    """The commit to deploy: the pull request's head (not newer than the comment), or
    for a request through the API, the ref it names."""
    if given.ref is not None:
        commit = await given.gh.getitem(
            "/repos/{owner}/{repo}/commits/{ref}", url_vars=_url_vars(given, ref=given.ref)
        )
        sha = str(commit["sha"])
        return sha, None if given.ref == sha else given.ref
    if not given.is_pull_request:
        raise Refusal("`/deploy` works on pull requests: it ships the pull request's head commit")
    pull = await given.gh.getitem(
        "/repos/{owner}/{repo}/pulls/{pull_number}",
        url_vars=_url_vars(given, pull_number=given.issue_number),
    )
    if pull.get("state") != "open":
        raise Refusal("the pull request is closed")
    sha = pull["head"]["sha"]
    commit = await given.gh.getitem(
        "/repos/{owner}/{repo}/commits/{ref}", url_vars=_url_vars(given, ref=sha)
    )
    committed = ((commit.get("commit") or {}).get("committer") or {}).get("date")
    pushed = await _pushed_at(given, pull["head"], sha)
    _refuse_if(rules.stale_head_refusal(given.comment_created_at, committed, pushed))
    return sha, pull["head"]["ref"]


async def _pushed_at(given: CommandInput, head: dict[str, Any], sha: str) -> str | None:
    """When the head branch moved to `sha`, from the repository's activity: a commit made
    before the comment can still be pushed after it. Now, when the branch's newest move
    is not to `sha` (it moved on, or the push is too fresh to be listed yet). None when
    GitHub cannot tell: no activity on the branch, or a fork the App cannot read (then
    only the commit date is checked)."""
    full_name = (head.get("repo") or {}).get("full_name")
    if not isinstance(full_name, str) or "/" not in full_name:
        return None
    owner, repo = full_name.split("/", 1)
    try:
        activities = await given.gh.getitem(
            "/repos/{owner}/{repo}/activity{?ref,per_page}",
            url_vars={
                "owner": owner,
                "repo": repo,
                "ref": f"refs/heads/{head['ref']}",
                "per_page": "1",
            },
        )
    except BadRequest as exc:
        if int(exc.status_code) in (403, 404):
            return None
        raise
    if not activities:
        return None
    newest = activities[0]  # GitHub lists the newest first
    if newest.get("after") != sha:
        return datetime.now(UTC).isoformat()
    return str(newest.get("timestamp"))


async def _deploy(command: Deploy, given: CommandInput) -> str:
    name, env = _environment(command.environment, given)
    await _may_act(given, env, admin=command.force)
    sha, ref = await _head(given)
    required: tuple[str, ...] | None = ()  # what GitHub checks again at creation
    if not command.force:
        runs, statuses = await _check_runs(given, sha), await _commit_statuses(given, sha)
        refusal = rules.checks_refusal(runs, statuses or [], env.required_checks)
        if refusal and statuses is None:
            refusal += "; commit statuses could not be read (the App needs `statuses: read`)"
        _refuse_if(refusal)
        if env.required_checks is not None:
            required = tuple(env.required_checks)
        elif statuses is None:  # Deckhand saw only the check runs: GitHub checks them all
            required = None
    if env.after and not await given.store.succeeded(given.repository, env.after, sha):
        raise Refusal(f"`{name}` takes only commits already deployed successfully to `{env.after}`")
    await _refuse_if_locked(given, name)
    key = given.request_key or f"{given.comment_id}:{command.line}"
    if await given.store.by_command(key) is None:  # else a retry: its deployment is counted
        count = await given.store.count_since(given.repository, name, time.time() - 3600)
        _refuse_if(rules.rate_refusal(count, env.max_per_hour))
    if env.confirm:
        if given.ref is not None:
            raise Refusal(f"`{name}` needs a 👍 on a comment: deploy it from the pull request")
        await _confirmed(given, name, sha)
    unknown = sorted(set(command.components) - set(given.config.components))
    if unknown:
        known = ", ".join(f"`{n}`" for n in sorted(given.config.components)) or "none"
        names = ", ".join(f"`{n}`" for n in unknown)
        raise Refusal(f"no component named {names} in `deploy.components` (it has: {known})")
    components, why = tuple(command.components), ""
    if not components and given.config.components and given.token is not None:
        deployed = await given.store.last_good(given.repository, name)
        components, why = await detect_components(
            given.git_cache_dir,
            given.repository,
            given.clone_url,
            await given.token(),
            given.config.components,
            deployed.sha if deployed else None,
            sha,
        )
    record = await start(
        given.gh,
        given.store,
        DeployRequest(
            repository=given.repository,
            environment=name,
            sha=sha,
            ref=ref,
            actor=given.actor,
            components=components,
            forced=command.force,
            required_contexts=required,
            pull_number=given.issue_number if given.is_pull_request else None,
            command_key=key,
            comment_url=given.comment_url,
        ),
        backend=given.backend,
    )
    forced = " (**forced**: required checks skipped)" if command.force else ""
    listed = f", components: {', '.join(record.components)}" if record.components else ""
    why = f"\n\n{why}" if why and not command.components else ""
    return f"🚀 Deploying `{sha[:7]}` to **{name}**: deployment {record.id}{listed}{forced}.{why}"


async def _confirmed(given: CommandInput, environment: str, sha: str) -> None:
    """Wait for the commenter's 👍 on their own comment; refuse when it does not come."""
    seconds = given.confirm_seconds
    if given.progress is not None:
        await given.progress(
            f"⏳ React with 👍 to your comment within {seconds:g} s to deploy "
            f"`{sha[:7]}` to **{environment}**."
        )
    deadline = time.monotonic() + seconds
    while True:
        async for reaction in given.gh.getiter(
            "/repos/{owner}/{repo}/issues/comments/{comment_id}/reactions{?content,per_page}",
            url_vars=_url_vars(given, comment_id=given.comment_id, content="+1", per_page=100),
        ):
            if (reaction.get("user") or {}).get("login", "").lower() == given.actor.lower():
                return
        if time.monotonic() >= deadline:
            raise Refusal(f"not confirmed: no 👍 from @{given.actor} within {seconds:g} s")
        await asyncio.sleep(min(1.0, max(0.05, seconds / 20)))


async def _check_runs(given: CommandInput, sha: str) -> list[dict[str, Any]]:
    return await _every(given, "/commits/{ref}/check-runs", "check_runs", ref=sha)


async def _commit_statuses(given: CommandInput, sha: str) -> list[dict[str, Any]] | None:
    """The newest status per context; None when the installation has not granted
    `statuses: read` (GitHub then checks the statuses when it creates the deployment)."""
    try:
        return await _every(given, "/commits/{ref}/status", "statuses", ref=sha)
    except BadRequest as exc:  # a rate limit never gets here: the client makes it RetryLater
        if int(exc.status_code) != 403:
            raise
        log.warning("commit_statuses_not_readable", repository=given.repository)
        return None


async def _every(given: CommandInput, path: str, key: str, **url_vars: Any) -> list[dict[str, Any]]:
    """Every item of a paginated list under the repository (100 a page)."""
    return [
        item
        async for item in given.gh.getiter(
            "/repos/{owner}/{repo}" + path + "{?per_page}",
            url_vars=_url_vars(given, per_page=100, **url_vars),
            iterable_key=key,
        )
    ]


async def _refuse_if_locked(given: CommandInput, environment: str) -> None:
    state = await given.store.state(given.repository, environment)
    if locked_against(state.locked_by, given.actor):
        why = f": {state.lock_reason}" if state.lock_reason else ""
        raise Refusal(f"`{environment}` is locked by {state.locked_by}{why}")


def _refuse_if(reason: str | None) -> None:
    if reason:
        raise Refusal(reason)


async def _rollback(command: Rollback, given: CommandInput) -> str:
    name, env = _environment(command.environment, given)
    await _may_act(given, env)
    await _refuse_if_locked(given, name)
    history = await given.store.history(given.repository, name, limit=1)
    current = history[0] if history else None
    if command.deployment_id is not None:
        target = await given.store.get(command.deployment_id)
        if (
            target is None
            or target.repository != given.repository.lower()
            or target.environment != name
        ):
            raise Refusal(f"deployment {command.deployment_id} is not one of `{name}`'s")
    else:
        target = await given.store.last_good(
            given.repository, name, before=current.id if current else None
        )
        if target is None:
            raise Refusal(f"`{name}` has no earlier successful deployment to go back to")
    record = await start(
        given.gh,
        given.store,
        _rollback_request(given, name, target, current, command.line),
        backend=given.backend,
    )
    back_to = f"`{target.sha[:7]}` (deployment {target.id})"
    return f"⏪ Rolling **{name}** back to {back_to}: deployment {record.id}."


def _rollback_request(
    given: CommandInput,
    name: str,
    target: DeploymentRecord,
    current: DeploymentRecord | None,
    line: int,
) -> DeployRequest:
    return DeployRequest(
        repository=given.repository,
        environment=name,
        sha=target.sha,
        ref=target.ref,
        actor=given.actor,
        components=target.components,
        rollback_of=current.id if current else None,
        pull_number=given.issue_number if given.is_pull_request else None,
        # as /deploy's: the reply to this line is edited as the rollback goes on
        command_key=given.request_key or f"{given.comment_id}:{line}",
        reason=f"rollback to deployment {target.id}",
        comment_url=given.comment_url,
    )


async def _lock(command: Lock, given: CommandInput) -> str:
    name, env = _environment(command.environment, given)
    await _may_act(given, env)
    await _refuse_if_locked(given, name)
    await given.store.lock(given.repository, name, given.actor, command.reason)
    why = f": {command.reason}" if command.reason else ""
    return f"🔒 `{name}` is locked by @{given.actor}{why}. Only `/unlock {name}` lifts it."


async def _unlock(command: Unlock, given: CommandInput) -> str:
    name, env = _environment(command.environment, given)
    await _may_act(given, env)
    state = await given.store.state(given.repository, name)
    if not state.locked_by:
        return f"`{name}` was not locked."
    await given.store.unlock(given.repository, name)
    return f"🔓 `{name}` is unlocked (it was locked by {state.locked_by})."


async def _status(command: Status, given: CommandInput) -> str:
    names = [command.environment] if command.environment else list(given.config.environments)
    if not names:
        raise Refusal("no environments are configured (`deploy.environments`)")
    lines = ["| environment | deployed | state | lock |", "| --- | --- | --- | --- |"]
    for name in names:
        state = await given.store.state(given.repository, name)
        recent = await given.store.history(given.repository, name, limit=1)
        last = recent[0] if recent else None
        deployed = f"`{last.sha[:7]}` by {last.actor} ({last.id})" if last else "never"
        flight = (
            f"deployment {state.in_flight} in progress"
            if state.in_flight
            else (last.status if last else "-")
        )
        lock = (
            f"🔒 {state.locked_by}" + (f": {state.lock_reason}" if state.lock_reason else "")
            if state.locked_by
            else ""
        )
        lines.append(f"| {name} | {deployed} | {flight} | {lock} |")
    return "\n".join(lines)


async def _history(command: History, given: CommandInput) -> str:
    records = await given.store.history(given.repository, command.environment, limit=10)
    if not records:
        return "No deployments yet."
    lines = [
        "| id | environment | commit | by | when (UTC) | result |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for r in records:
        when = time.strftime("%Y-%m-%d %H:%M", time.gmtime(r.created_at))
        note = f" (rollback of {r.rollback_of})" if r.rollback_of else ""
        note += " (forced)" if r.forced else ""
        lines.append(
            f"| {r.id} | {r.environment} | `{r.sha[:7]}` | {r.actor} | {when} | {r.status}{note} |"
        )
    return "\n".join(lines)
