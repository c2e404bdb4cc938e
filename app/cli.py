"""Command line: `python -m app [serve|worker|schema|validate|fix|watch|commit]`, and the admin
commands `deliveries`, `deployments` and `health` (the last two in app/admin.py).

Exit codes (CONTRACT.md): 0 success, 1 findings (`validate`; `--fail-on` sets from which
severity) or a failed operation, 2 usage or configuration error.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.engine.files import DEFAULT_MAX_BYTES

if TYPE_CHECKING:  # the service's imports cost 0.14 s: validate and fix do without them
    from app.config.settings import Settings

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m app", description="Deckhand GitHub App")
    commands = parser.add_subparsers(dest="command")
    commands.add_parser("serve", help="run the web service (and, embedded, its workers)")
    commands.add_parser("worker", help="run queue workers only")
    commands.add_parser("schema", help="print the JSON Schema of .github/deckhand.yml")

    validate = commands.add_parser("validate", help="check files or directories locally")
    validate.add_argument("paths", nargs="+", type=Path, metavar="PATH")
    validate.add_argument("--format", choices=["text", "json", "sarif"], default="text")
    validate.add_argument(
        "--max-bytes", type=int, default=DEFAULT_MAX_BYTES, help="skip larger files"
    )
    validate.add_argument("--no-lint", action="store_true", help="skip ruff's lint and security")
    validate.add_argument(
        "--since",
        metavar="REF",
        help="check only files changed since this git revision (and untracked ones)",
    )
    validate.add_argument(
        "--cache-dir", type=Path, help="where results are cached (default: ROOT/.deckhand_cache)"
    )
    validate.add_argument("--no-cache", action="store_true", help="neither use nor write the cache")
    validate.add_argument(
        "--jobs", type=int, metavar="N", help="at most N worker processes (default: one per core)"
    )
    validate.add_argument(
        "--fail-on",
        choices=["error", "warning", "notice"],
        default="notice",
        help="the least severe finding that makes the exit code 1 (default: any finding)",
    )

    fix = commands.add_parser("fix", help="repair syntax and apply ruff's safe fixes locally")
    fix.add_argument("paths", nargs="+", type=Path, metavar="PATH")
    fix.add_argument("--diff", action="store_true", help="show the changes, write nothing")
    fix.add_argument("--check", action="store_true", help="exit 1 if anything would change")

    watch = commands.add_parser("watch", help="validate files on save (and fix with --fix)")
    watch.add_argument("path", type=Path, metavar="PATH")
    watch.add_argument("--fix", action="store_true", help="fix each saved file, then validate")
    watch.add_argument("--no-lint", action="store_true", help="skip ruff's lint and security")
    watch.add_argument(
        "--debounce-ms", type=int, default=300, help="act once no change came for this long"
    )
    watch.add_argument(
        "--commit",
        action="store_true",
        help="with --fix: commit the files that check clean on the current branch (never the "
        "default branch)",
    )
    watch.add_argument("--push", action="store_true", help="with --commit: push after each commit")

    commit = commands.add_parser(
        "commit", help="validate and fix the staged changes, then commit them"
    )
    commit.add_argument(
        "-m", "--message", help="the commit message (default: written from the diff)"
    )
    commit.add_argument("--no-lint", action="store_true", help="skip ruff's lint and security")

    deliveries = commands.add_parser("deliveries", help="inspect and retry queued deliveries")
    actions = deliveries.add_subparsers(dest="action", required=True)
    listing = actions.add_parser("list", help="recent deliveries, newest first")
    listing.add_argument("--status", choices=["queued", "running", "done", "dead"])
    listing.add_argument("--limit", type=int, default=50)
    listing.add_argument("--json", action="store_true")
    show = actions.add_parser("show", help="one delivery with its error")
    show.add_argument("id")
    show.add_argument("--json", action="store_true")
    retry = actions.add_parser("retry", help="queue dead deliveries again")
    retry.add_argument("ids", nargs="*")
    retry.add_argument("--all-dead", action="store_true")
    retry.add_argument("--json", action="store_true")

    from app.admin import add_parsers  # light: its heavy imports are inside its functions

    add_parsers(commands)
    from app.api.client import add_parsers as add_remote_parsers

    add_remote_parsers(commands)
    return parser


def _when(epoch: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(epoch)) if epoch else "-"


def _table(rows: list[dict[str, Any]], columns: Sequence[str]) -> str:
    widths = {c: max([len(c)] + [len(str(r.get(c, ""))) for r in rows]) for c in columns}
    lines = ["  ".join(c.upper().ljust(widths[c]) for c in columns)]
    lines += ["  ".join(str(r.get(c, "")).ljust(widths[c]) for c in columns) for r in rows]
    return "\n".join(lines)


def _summary(delivery: Any) -> dict[str, Any]:
    return {
        "id": delivery.id,
        "event": delivery.event + (f".{delivery.action}" if delivery.action else ""),
        "status": delivery.status,
        "attempts": delivery.attempts,
        "repository": delivery.repository or "-",
        "received": _when(delivery.received_at),
        "error": (delivery.last_error or "")[:80],
    }


async def _deliveries(args: argparse.Namespace, settings: Settings) -> int:
    from app.store.database import Database
    from app.store.deliveries import DeliveryStore

    db = Database(settings.database_url)
    queue: Any = None
    try:
        await db.migrate()
        store = DeliveryStore(db)
        if args.action == "list":
            rows = [_summary(d) for d in await store.list(args.status, args.limit)]
            if args.json:
                print(json.dumps(rows, indent=2))
            elif rows:
                print(
                    _table(
                        rows,
                        ["id", "event", "status", "attempts", "repository", "received", "error"],
                    )
                )
            else:
                print("no deliveries")
            return EXIT_OK
        if args.action == "show":
            delivery = await store.get(args.id)
            if delivery is None:
                print(f"no delivery {args.id}", file=sys.stderr)
                return EXIT_FAILED
            row = {**_summary(delivery), "error": delivery.last_error or ""}
            if args.json:
                print(json.dumps(row, indent=2))
            else:
                print("\n".join(f"{k}: {v}" for k, v in row.items()))
            return EXIT_OK
        if not args.ids and not args.all_dead:
            print("name delivery ids or pass --all-dead", file=sys.stderr)
            return EXIT_USAGE
        if settings.queue_url:  # the distributed queue's workers hear of them at once
            from app.queue.distributed import DistributedQueue

            queue = DistributedQueue(settings, store, None)
            await queue.open()
            db.on_enqueue = queue.announce
        queued = await store.retry(args.ids, all_dead=args.all_dead)
        missing = sorted(set(args.ids) - set(queued))
        if args.json:
            print(json.dumps({"queued": queued, "not_dead_or_unknown": missing}))
        else:
            print(f"queued again: {len(queued)}" + (f" {' '.join(queued)}" if queued else ""))
            for delivery_id in missing:
                print(f"not retried (unknown or not dead): {delivery_id}", file=sys.stderr)
        return EXIT_FAILED if missing else EXIT_OK
    finally:
        if queue is not None:
            await queue.close()
        await db.close()


async def _freeze_heap(_app: object) -> None:
    """Move what startup built (about 200k objects: routers, schemas, libraries) out of
    the garbage collector's reach: a full collection over it blocks the event loop for
    ~200 ms, which was the whole p99 of webhook and alert ingest."""
    import gc

    gc.collect()
    gc.freeze()


def _serve(settings: Settings) -> int:
    import uvloop
    from aiohttp import web

    from app.web import create_app

    app = create_app(settings, worker=not settings.queue_url)
    app.on_startup.append(_freeze_heap)
    web.run_app(
        app,
        loop=uvloop.new_event_loop(),
        host=settings.host,
        port=settings.port,
        access_log=None if settings.log_level != "debug" else web.access_logger,
        print=None,
        shutdown_timeout=5,
    )
    return EXIT_OK


def _worker(settings: Settings) -> int:
    import asyncio

    import uvloop

    from app.service import Service

    async def run() -> None:
        import signal

        service = Service(settings, web=False, worker=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await service.start()
        try:
            await stop.wait()
        finally:
            await service.stop()

    uvloop.run(run())
    return EXIT_OK


def _missing(paths: list[Path]) -> int | None:
    missing = [str(p) for p in paths if not p.exists() and not p.is_symlink()]
    if missing:
        print(f"no such file or directory: {', '.join(missing)}", file=sys.stderr)
        return EXIT_USAGE
    return None


def _validate(args: argparse.Namespace) -> int:
    """The local engine on a working tree: no GitHub, no database, no settings."""
    from app.engine.changes import ChangesUnavailable
    from app.engine.findings import Severity
    from app.engine.report import FORMATS
    from app.engine.tree import validate_tree
    from app.engine.validate import EngineConfig

    if (usage := _missing(args.paths)) is not None:
        return usage
    if args.jobs is not None and args.jobs < 1:
        print("--jobs must be at least 1", file=sys.stderr)
        return EXIT_USAGE
    try:
        result = validate_tree(
            args.paths,
            EngineConfig(max_bytes=args.max_bytes, lint=not args.no_lint),
            since=args.since,
            cache=not args.no_cache,
            cache_dir=args.cache_dir,
            jobs=args.jobs,
            progress=sys.stderr.isatty(),
        )
    except ChangesUnavailable as exc:
        print(f"validate --since: {exc}", file=sys.stderr)
        return EXIT_USAGE
    for warning in result.warnings:
        print(warning, file=sys.stderr)
    sys.stdout.write(FORMATS[args.format](result.reports))
    threshold = Severity(args.fail_on).rank
    failing = any(f.severity.rank >= threshold for r in result.reports for f in r.findings)
    return EXIT_FAILED if failing else EXIT_OK


def _fix(args: argparse.Namespace) -> int:
    """Syntax repair, then ruff's safe fixes; --diff and --check write nothing."""
    from app.engine.tree import fix_tree

    if (usage := _missing(args.paths)) is not None:
        return usage
    result = fix_tree(args.paths, write=not (args.diff or args.check))
    if args.diff:
        sys.stdout.write(result.diff)
    for line in result.notes:
        print(line, file=sys.stderr if args.diff else sys.stdout)
    for warning in result.warnings:
        print(warning, file=sys.stderr)
    return EXIT_FAILED if args.check and result.changed else EXIT_OK


def _watch(args: argparse.Namespace) -> int:
    """Validate (and with --fix, fix) files as they are saved, until Ctrl-C."""
    import signal

    from app.engine.validate import EngineConfig
    from app.engine.watch import watch

    if (usage := _missing([args.path])) is not None:
        return usage
    if args.debounce_ms < 0:
        print("--debounce-ms must not be negative", file=sys.stderr)
        return EXIT_USAGE
    config = EngineConfig(lint=not args.no_lint)
    committer = None
    if (args.push and not args.commit) or (args.commit and not args.fix):
        print("--push needs --commit, and --commit needs --fix", file=sys.stderr)
        return EXIT_USAGE
    if args.commit:
        from app.workflow.commit import Refused, WatchCommitter

        try:
            committer = WatchCommitter.start(args.path, push=args.push, out=sys.stdout)
        except Refused as exc:
            print(exc, file=sys.stderr)
            return EXIT_USAGE
    # Ctrl-C and SIGTERM stop it, even where SIGINT came in ignored (a background job).
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, signal.default_int_handler)
    try:
        watch(
            args.path,
            fix=args.fix,
            config=config,
            debounce_ms=args.debounce_ms,
            after_batch=committer,
        )
    except KeyboardInterrupt:  # a Ctrl-C that came just before or after the watch loop
        pass
    print("stopped watching")
    return EXIT_OK


def _commit(args: argparse.Namespace) -> int:
    """Validate and fix what is staged, then commit it (the message from the diff when
    no -m: the model's with OPENAI_API_KEY, else a summary)."""
    from app.engine.validate import EngineConfig
    from app.workflow.commit import commit_staged
    from app.workflow.model import MessageModel

    model = None
    if args.message is None:
        from pydantic import ValidationError

        from app.config.settings import Settings

        try:
            settings = Settings(_env_file=None)  # type: ignore[call-arg]  # the environment only
        except ValidationError as exc:
            return _configuration_error(exc)
        model = MessageModel.from_settings(settings)
    return commit_staged(
        Path.cwd(),
        message=args.message,
        config=EngineConfig(lint=not args.no_lint),
        model=model,
        out=sys.stdout,
        err=sys.stderr,
    )


def _configuration_error(exc: Any) -> int:
    """Each of the settings' errors on one line (never the value), and the exit code."""
    for error in exc.errors():
        name = ".".join(str(p) for p in error["loc"]).upper()
        message = str(error["msg"]).removeprefix("Value error, ")
        print(f"configuration error: {name + ': ' if name else ''}{message}", file=sys.stderr)
    return EXIT_USAGE


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "watch":
        try:
            return _watch(args)
        except KeyboardInterrupt:  # Ctrl-C while it was still starting
            return EXIT_OK
    if args.command == "validate":
        return _validate(args)
    if args.command == "fix":
        return _fix(args)
    if args.command == "commit":
        return _commit(args)
    if args.command in ("deploy", "rollback", "status"):
        from app.api.client import run as run_remote

        return run_remote(args)
    import asyncio

    from pydantic import ValidationError

    from app.config.settings import Settings
    from app.logs import configure_logging

    try:
        settings = Settings()
    except ValidationError as exc:
        return _configuration_error(exc)
    configure_logging(settings.log_level, settings.log_format, settings.secret_values())
    command = args.command or "serve"
    if command == "schema":
        from app.config.schema import render_schema

        sys.stdout.write(render_schema())
        return EXIT_OK
    if command == "deliveries":
        return asyncio.run(_deliveries(args, settings))
    if command in ("deployments", "health"):
        from app.admin import run

        return asyncio.run(run(args, settings))
    if command == "worker":
        return _worker(settings)
    return _serve(settings)
