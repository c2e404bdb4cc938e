"""Admin commands on the configured database: `python -m app deployments ...` and
`python -m app health ...`.

`add_parsers` adds the subcommands to the CLI's parser and `run` runs them. Tables are
drawn with rich when stdout is a terminal and as plain aligned text otherwise (pipes and
tests get stable text); `--json` is always machine-readable. Exit codes (CONTRACT.md):
0 ok, 1 a failed operation, 2 usage or configuration error.

Only `deployments rollback` talks to GitHub (a GitHub Deployment needs the App's
installation token); everything else reads and writes the database alone. The heavy
imports stay inside the functions, so `python -m app validate` starts fast.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from app.config.settings import Settings
    from app.deploy.store import DeploymentRecord, DeployStore
    from app.store.database import Database

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
WATCH_STATES = ["watching", "healthy", "rolled_back", "superseded", "stopped"]
CLI_ACTOR = "cli"
_REPOSITORY = re.compile(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+")


class _Failed(Exception):
    """The operation failed (exit 1); the message says why."""


class _Usage(Exception):
    """The command cannot run as given or configured (exit 2); the message says why."""


# --------------------------------------------------------------------------- parsers
def add_parsers(commands: Any) -> None:
    """Add `deployments` and `health` to the CLI's subparsers."""
    deployments = commands.add_parser("deployments", help="deployment history, locks and rollbacks")
    actions = deployments.add_subparsers(dest="action", required=True)

    listing = actions.add_parser("list", help="deployment history, newest first")
    _target(listing, env_required=False)
    listing.add_argument("--limit", type=int, default=20)
    listing.add_argument("--json", action="store_true")

    show = actions.add_parser("show", help="one deployment with its health watch")
    show.add_argument("id", type=int)
    show.add_argument("--json", action="store_true")

    lock = actions.add_parser("lock", help="lock an environment until it is unlocked")
    _target(lock, env_required=True)
    lock.add_argument("--reason")
    lock.add_argument("--json", action="store_true")

    unlock = actions.add_parser("unlock", help="lift an environment's lock")
    _target(unlock, env_required=True)
    unlock.add_argument("--json", action="store_true")

    rollback = actions.add_parser(
        "rollback", help="redeploy the last good (or a given) deployment (needs the App)"
    )
    _target(rollback, env_required=True)
    rollback.add_argument(
        "--to", type=int, metavar="ID", help="the deployment to go back to (default: last good)"
    )
    rollback.add_argument(
        "--force", action="store_true", help="roll back even though the environment is locked"
    )
    rollback.add_argument("--json", action="store_true")

    health = commands.add_parser("health", help="health watches after deployments")
    health.add_argument("--repo", metavar="OWNER/NAME")
    health.add_argument("--env", metavar="ENV")
    health.add_argument("--status", choices=WATCH_STATES)
    health.add_argument("--limit", type=int, default=50)
    health.add_argument("--json", action="store_true")


def _target(parser: argparse.ArgumentParser, *, env_required: bool) -> None:
    parser.add_argument("--repo", required=True, metavar="OWNER/NAME")
    parser.add_argument("--env", required=env_required, metavar="ENV")


# ------------------------------------------------------------------------------- run
async def run(args: argparse.Namespace, settings: Settings) -> int:
    """Run a `deployments` or `health` command; the exit code."""
    from app.store.database import Database

    try:
        _check_usage(args)
    except _Usage as exc:
        print(exc, file=sys.stderr)
        return EXIT_USAGE
    db = Database(settings.database_url)
    try:
        await db.migrate()
        if args.command == "health":
            return await _health(args, db)
        handler = {
            "list": _list,
            "show": _show,
            "lock": _lock,
            "unlock": _unlock,
            "rollback": _rollback,
        }[args.action]
        return await handler(args, db, settings)
    except _Failed as exc:
        print(exc, file=sys.stderr)
        return EXIT_FAILED
    except _Usage as exc:
        print(exc, file=sys.stderr)
        return EXIT_USAGE
    finally:
        await db.close()


def _check_usage(args: argparse.Namespace) -> None:
    repo = getattr(args, "repo", None)
    if repo is not None and not _REPOSITORY.fullmatch(repo):
        raise _Usage(f"--repo must be OWNER/NAME, not {repo!r}")
    if getattr(args, "limit", 1) < 1:
        raise _Usage("--limit must be at least 1")


# ------------------------------------------------------------------------ formatting
def _iso(epoch: float | None) -> str | None:
    if not epoch:
        return None
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


def _when(epoch: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(epoch)) if epoch else "-"


def _print_json(data: Any) -> None:
    print(json.dumps(data, indent=2, ensure_ascii=False))


def _print_table(rows: list[dict[str, Any]], columns: Sequence[str], title: str | None) -> None:
    """rich on a terminal; plain aligned columns otherwise (stable for pipes and tests)."""
    cells = [[str(row.get(c, "")) for c in columns] for row in rows]
    if sys.stdout.isatty():
        from rich.console import Console
        from rich.table import Table

        table = Table(title=title, title_justify="left")
        for column in columns:
            table.add_column(column.upper(), overflow="fold")
        for line in cells:
            table.add_row(*line)
        Console().print(table)
        return
    widths = [max([len(c)] + [len(line[i]) for line in cells]) for i, c in enumerate(columns)]
    lines = ["  ".join(c.upper().ljust(w) for c, w in zip(columns, widths, strict=True))]
    lines += ["  ".join(v.ljust(w) for v, w in zip(line, widths, strict=True)) for line in cells]
    print("\n".join(line.rstrip() for line in lines))


def _print_fields(fields: dict[str, Any], width: int = len("pull request:")) -> None:
    width = max([width] + [len(k) + 1 for k in fields])
    for key, value in fields.items():
        print(f"{(key + ':').ljust(width)} {value}")


def _record(record: DeploymentRecord) -> dict[str, Any]:
    return {
        "id": record.id,
        "repository": record.repository,
        "environment": record.environment,
        "sha": record.sha,
        "ref": record.ref,
        "actor": record.actor,
        "status": record.status,
        "created_at": _iso(record.created_at),
        "rollback_of": record.rollback_of,
        "forced": record.forced,
        "components": list(record.components),
        "pull_number": record.pull_number,
        "reason": record.reason,
    }


def _row(record: DeploymentRecord) -> dict[str, Any]:
    return {
        "id": record.id,
        "environment": record.environment,
        "sha": record.sha[:7],
        "actor": record.actor,
        "status": record.status,
        "created": _when(record.created_at),
        "rollback-of": record.rollback_of or "-",
        "forced": "yes" if record.forced else "-",
    }


def _watch(watch: dict[str, Any], sha: str | None = None) -> dict[str, Any]:
    """A health watch as JSON: its settings, counts and the last samples (oldest first)."""
    settings, tally = watch["settings"], watch["tally"].get("tally") or {}
    recent = list(tally.get("recent") or [])
    return {
        "deployment_id": watch["deployment_id"],
        "repository": watch["repository"],
        "environment": watch["environment"],
        "sha": sha,
        "status": watch["status"],
        "url": settings.get("url"),
        "failures_needed": settings.get("failures"),
        "interval_seconds": settings.get("interval"),
        "probes": int(tally.get("probes", 0)),
        "failures": int(tally.get("failures", 0)),
        "streak": int(tally.get("streak", 0)),
        "ours": int(tally.get("ours", 0)),
        "started_at": _iso(watch["started_at"]),
        "ends_at": _iso(watch["ends_at"]),
        "last": recent[-1] if recent else None,
        "recent": recent,
    }


def _sample(sample: dict[str, Any] | None) -> str:
    if not sample:
        return "-"
    result = "ok" if sample.get("ok") else ("our error" if sample.get("ours") else "failed")
    return f"{result}: {sample.get('reason', '')}"


def _latency(seconds: Any) -> str:
    from app.deploy.health import format_seconds

    return format_seconds(float(seconds or 0))


# ------------------------------------------------------------------------ deployments
def _store(db: Database) -> DeployStore:
    from app.deploy.store import DeployStore

    return DeployStore(db)


async def _list(args: argparse.Namespace, db: Database, settings: Settings) -> int:
    records = await _store(db).history(args.repo, args.env, limit=args.limit)
    if args.json:
        _print_json([_record(r) for r in records])
    elif records:
        where = f"{args.repo.lower()}" + (f" {args.env}" if args.env else "")
        columns = ["id", "environment", "sha", "actor", "status", "created", "rollback-of"]
        _print_table([_row(r) for r in records], [*columns, "forced"], f"deployments: {where}")
    else:
        where = f" to {args.env}" if args.env else ""
        print(f"no deployments of {args.repo.lower()}{where}")
    return EXIT_OK


async def _show(args: argparse.Namespace, db: Database, settings: Settings) -> int:
    store = _store(db)
    record = await store.get(args.id)
    if record is None:
        raise _Failed(f"no deployment {args.id}")
    watch = await store.watch(record.id)
    health = _watch(watch, record.sha) if watch else None
    if args.json:
        _print_json({**_record(record), "health": health})
        return EXIT_OK
    data = _record(record)
    _print_fields(
        {
            "deployment": record.id,
            "repository": record.repository,
            "environment": record.environment,
            "sha": record.sha,
            "ref": record.ref or "-",
            "actor": record.actor,
            "status": record.status,
            "created": _when(record.created_at),
            "rollback of": record.rollback_of or "-",
            "forced": "yes" if record.forced else "no",
            "components": ", ".join(data["components"]) or "-",
            "pull request": f"#{record.pull_number}" if record.pull_number else "-",
            "reason": record.reason or "-",
        }
    )
    if health is None:
        print("health:       no health watch")
        return EXIT_OK
    print()
    _print_fields(
        {
            "health": health["status"],
            "url": health["url"],
            "probes": health["probes"],
            "failures": health["failures"],
            "streak": f"{health['streak']} (rollback at {health['failures_needed']})",
            "our errors": health["ours"],
            "started": _when(watch["started_at"]) if watch else "-",
            "ends": _when(watch["ends_at"]) if watch else "-",
        }
    )
    if health["recent"]:
        print()
        rows = [
            {
                "time": str(s.get("at", ""))[:19].replace("T", " "),
                "result": "ok" if s.get("ok") else ("our error" if s.get("ours") else "failed"),
                "status": s.get("status") if s.get("status") is not None else "-",
                "latency": _latency(s.get("latency")),
                "reason": s.get("reason", ""),
            }
            for s in health["recent"]
        ]
        columns = ["time", "result", "status", "latency", "reason"]
        _print_table(rows, columns, "last probes, oldest first")
    return EXIT_OK


def _holder() -> str:
    return os.environ.get("USER") or CLI_ACTOR


def _lock_state(locked_by: str | None, reason: str | None) -> str:
    if not locked_by:
        return "unlocked"
    return f"locked by {locked_by}" + (f": {reason}" if reason else "")


async def _lock(args: argparse.Namespace, db: Database, settings: Settings) -> int:
    store = _store(db)
    before = await store.state(args.repo, args.env)
    holder = _holder()
    await store.lock(args.repo, args.env, holder, args.reason)
    previous = {"locked_by": before.locked_by, "lock_reason": before.lock_reason}
    if args.json:
        _print_json(
            {
                "repository": args.repo.lower(),
                "environment": args.env,
                "locked_by": holder,
                "lock_reason": args.reason,
                "previous": previous,
            }
        )
    else:
        print(f"{args.env} of {args.repo.lower()}: {_lock_state(holder, args.reason)}")
        print(f"before: {_lock_state(before.locked_by, before.lock_reason)}")
    return EXIT_OK


async def _unlock(args: argparse.Namespace, db: Database, settings: Settings) -> int:
    store = _store(db)
    before = await store.state(args.repo, args.env)
    if before.locked_by:
        await store.unlock(args.repo, args.env)
    previous = {"locked_by": before.locked_by, "lock_reason": before.lock_reason}
    if args.json:
        _print_json(
            {
                "repository": args.repo.lower(),
                "environment": args.env,
                "locked_by": None,
                "lock_reason": None,
                "previous": previous,
            }
        )
    else:
        print(f"{args.env} of {args.repo.lower()}: unlocked")
        print(f"before: {_lock_state(before.locked_by, before.lock_reason)}")
    return EXIT_OK


# --------------------------------------------------------------------------- rollback
async def _rollback(args: argparse.Namespace, db: Database, settings: Settings) -> int:
    from app.deploy.deployer import DeployRefused, DeployRequest, start

    if settings.github_app_id is None or (
        settings.github_private_key is None and settings.github_private_key_path is None
    ):
        raise _Usage(
            "deployments rollback creates a GitHub Deployment and needs the App's credentials:"
            " set GITHUB_APP_ID and GITHUB_PRIVATE_KEY (or GITHUB_PRIVATE_KEY_PATH)"
        )
    store = _store(db)
    repository, environment = args.repo, args.env
    state = await store.state(repository, environment)
    if state.locked_by and not args.force:
        raise _Failed(
            f"{environment} of {repository.lower()} is "
            f"{_lock_state(state.locked_by, state.lock_reason)}; unlock it first "
            "(deployments unlock) or pass --force"
        )
    history = await store.history(repository, environment, limit=1)
    current = history[0] if history else None
    target = await _rollback_target(store, args, current)
    request = DeployRequest(
        repository=repository,
        environment=environment,
        sha=target.sha,
        ref=target.ref,
        actor=CLI_ACTOR,
        components=target.components,
        rollback_of=current.id if current else None,
        reason=f"rollback to deployment {target.id}",
    )
    from aiohttp import ClientError
    from gidgethub import HTTPException
    from jwt import PyJWTError

    from app.queue.errors import RetryLater

    app = _github_app(settings)
    try:
        app.credentials.jwt()
    except (ValueError, TypeError, PyJWTError) as exc:
        await app.close()
        raise _Usage(f"the App's private key is unusable: {exc}") from exc
    try:
        gh, backend = await _installation(app, db, settings, repository)
        record = await start(gh, store, request, backend=backend)
    except DeployRefused as refused:
        raise _Failed(f"rollback refused: {refused}") from refused
    except (HTTPException, ClientError, RetryLater, TimeoutError) as exc:
        raise _Failed(f"GitHub did not answer as expected: {exc!r}") from exc
    finally:
        await app.close()
    if args.json:
        _print_json({**_record(record), "target": target.id})
    else:
        print(
            f"rolling {environment} of {repository.lower()} back to {target.sha[:7]} "
            f"(deployment {target.id}): deployment {record.id} ({record.status})"
        )
    return EXIT_OK


async def _rollback_target(
    store: DeployStore, args: argparse.Namespace, current: DeploymentRecord | None
) -> DeploymentRecord:
    where = f"{args.env} of {args.repo.lower()}"
    if args.to is not None:
        target = await store.get(args.to)
        if target is None or (target.repository, target.environment) != (
            args.repo.lower(),
            args.env,
        ):
            raise _Failed(f"deployment {args.to} is not one of {where}")
        return target
    target = await store.last_good(args.repo, args.env, before=current.id if current else None)
    if target is None:
        raise _Failed(f"{where} has no earlier successful deployment to go back to")
    return target


def _github_app(settings: Settings) -> Any:
    from app.github.app import GitHubApp

    return GitHubApp(settings)


async def _installation(app: Any, db: Database, settings: Settings, repository: str) -> Any:
    """The installation's client for `repository` and the repository's deploy backend."""
    from gidgethub import HTTPException

    from app.config.loader import load_repo_config
    from app.deploy.backends import BackendContext
    from app.installations import InstallationStore

    owner, name = repository.split("/", 1)
    url_vars = {"owner": owner, "repo": name}
    try:
        installation_id = await InstallationStore(db).installation_for(repository)
        if installation_id is None:  # not seen in an event yet: ask GitHub
            found = await app.app_client().getitem(
                "/repos/{owner}/{repo}/installation", url_vars=url_vars
            )
            installation_id = int(found["id"])
        gh = app.installation_client(installation_id)
        repo = await gh.getitem("/repos/{owner}/{repo}", url_vars=url_vars)
    except HTTPException as exc:
        if int(exc.status_code) == 404:
            raise _Failed(f"the App is not installed on {repository}") from exc
        raise
    loaded = await load_repo_config(gh, repo)
    backend = BackendContext(
        settings=settings,
        db=db,
        config=loaded.config.deploy,
        installation_id=installation_id,
        default_branch=repo.get("default_branch") or "main",
    )
    return gh, backend


# ----------------------------------------------------------------------------- health
async def _health(args: argparse.Namespace, db: Database) -> int:
    from sqlalchemy import select

    from app.store.schema import deployments, health_watches

    query = select(health_watches, deployments.c.sha).outerjoin(
        deployments, deployments.c.id == health_watches.c.deployment_id
    )
    if args.repo:
        query = query.where(health_watches.c.repository == args.repo.lower())
    if args.env:
        query = query.where(health_watches.c.environment == args.env)
    if args.status:
        query = query.where(health_watches.c.status == args.status)
    query = query.order_by(
        health_watches.c.started_at.desc(), health_watches.c.deployment_id.desc()
    ).limit(args.limit)

    def read(conn: Any) -> list[dict[str, Any]]:
        rows = []
        for row in conn.execute(query):
            data = dict(row._mapping)
            data["settings"] = json.loads(data["settings"])
            data["tally"] = json.loads(data["tally"])
            rows.append(_watch(data, data.get("sha")))
        return rows

    watches = await db.read(read)
    if args.json:
        _print_json(watches)
        return EXIT_OK
    if not watches:
        print("no health watches")
        return EXIT_OK
    rows = [
        {
            "deployment": w["deployment_id"],
            "repository": w["repository"],
            "environment": w["environment"],
            "sha": (w["sha"] or "-")[:7],
            "status": w["status"],
            "probes": w["probes"],
            "failures": w["failures"],
            "streak": f"{w['streak']}/{w['failures_needed']}",
            "last": _sample(w["last"]),
        }
        for w in watches
    ]
    columns = ["deployment", "repository", "environment", "sha", "status", "probes"]
    _print_table(rows, [*columns, "failures", "streak", "last"], "health watches")
    return EXIT_OK
