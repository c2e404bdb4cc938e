"""Alert benchmark: ingest latency at a fixed rate, and a storm worked off end to end.

Deckhand runs in this process (web and embedded workers, SQLite) against the test
suite's fake GitHub and git server (benchmarks/harness.py `Bench`); the load comes from
a child process (this file with `--client`), so the client's own work never sits on the
server's event loop. Requests are generic alerts signed with `X-Deckhand-Signature`.

1. Latency: an open-loop pacer sends `--rate` alerts per second for `--seconds`; each
   request's latency is measured from its scheduled send time (no coordinated omission).
   Prints p50/p90/p99/max, the non-202 count, this process's CPU per alert (server,
   workers and fakes; steadier than latency on a shared machine) and how many durable
   commits (each an fsync that every request waiting on it shares) took over 50, 100 and
   250 ms: the disk's share of the tail. Goal: p99 under 50 ms
   at 500/s. `--loop uvloop` runs the server on uvloop, as `serve` does; `--gc-freeze`
   freezes the heap once everything is started (see its help). The
   fake GitHub runs in this process too: every occurrence-comment flush it answers
   (validating each request against the OpenAPI description) takes time from the
   server's event loop, so a short `--interval` (try 2s) inflates the tail.
2. Storm: `--storm` alerts over `--fingerprints` fingerprints as fast as the client
   (`--concurrency` connections) goes, on a fresh database; then waits until every alert
   job is done and every issue's occurrence comment shows its final count. Prints the
   ingest time, the time to settle, issues created, the counts and GitHub requests made.

Not part of the test suite. Run from the repository root:

    .venv/bin/python benchmarks/alerts.py [--rate 500 --seconds 10 --storm 10000]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import hashlib
import hmac
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

SECRET = "bench-generic-alert-secret"
REPO = "octo-org/widgets"
CONFIG = "alerts:\n  update_interval: {interval}\n"


def alert_body(n: int, fingerprints: int) -> bytes:
    fp = n % fingerprints
    return json.dumps(
        {
            "title": f"Storm error {fp}",
            "fingerprint": f"storm-{fp}",
            "severity": "error",
            "message": f"occurrence {n}",
            "environment": "production",
            "stacktrace": [{"path": "app/storm.py", "line": 10 + fp, "function": "handle"}],
        }
    ).encode()


def headers(body: bytes, n: int, run: str) -> dict[str, str]:
    digest = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    return {
        "Content-Type": "application/json",
        "X-Deckhand-Signature": f"sha256={digest}",
        "X-Deckhand-Delivery": f"{run}-{n}",
    }


# ------------------------------------------------------------------------ the client
async def paced_alerts(url: str, rate: float, seconds: float, fingerprints: int) -> dict[str, Any]:
    from benchmarks.paced import paced

    run = f"paced-{time.time_ns()}"

    def request_for(n: int) -> tuple[bytes, dict[str, str]]:
        body = alert_body(n, fingerprints)
        return body, headers(body, n, run)

    return await paced(url, rate, seconds, request_for)


async def burst(url: str, total: int, fingerprints: int, concurrency: int) -> dict[str, Any]:
    import aiohttp

    run = f"storm-{time.time_ns()}"
    ids: list[str] = []
    failures = 0
    queue = iter(range(total))
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        started = time.perf_counter()

        async def worker() -> None:
            nonlocal failures
            for n in queue:
                body = alert_body(n, fingerprints)
                async with session.post(url, data=body, headers=headers(body, n, run)) as r:
                    answer = await r.json(content_type=None)
                    if r.status == 202:
                        ids.append(answer["delivery"])
                    else:
                        failures += 1

        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    return {"sent": total, "failures": failures, "seconds": round(elapsed, 2), "ids": ids}


def client_main(args: argparse.Namespace) -> None:
    if args.client == "paced":
        result = asyncio.run(paced_alerts(args.url, args.rate, args.seconds, args.fingerprints))
    else:
        result = asyncio.run(burst(args.url, args.storm, args.fingerprints, args.concurrency))
    print("RESULT " + json.dumps(result), flush=True)


async def run_client(*argv: str) -> dict[str, Any]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, __file__, *argv, stdout=subprocess.PIPE
    )
    out, _ = await process.communicate()
    for line in out.decode().splitlines():
        if line.startswith("RESULT "):
            return dict(json.loads(line[7:]))
    raise RuntimeError("the load client printed no result")


# ------------------------------------------------------------------------ the server
async def start_bench(root: Path, interval: str, gc_freeze: bool = False) -> Any:
    from app.installations import InstallationStore
    from app.web.keys import SERVICE
    from benchmarks.harness import INSTALLATION, Bench

    bench = await Bench(root, generic_alert_secret=SECRET, worker_concurrency=32).__aenter__()
    bench.git.create_repo(
        REPO,
        {".github/deckhand.yml": CONFIG.format(interval=interval), "app/storm.py": "x = 1\n"},
        installation_id=INSTALLATION,
    )
    service = bench.runner.app[SERVICE]
    await InstallationStore(service.db).record(
        {"id": INSTALLATION, "account": {"login": "octo-org"}},
        "active",
        [{"full_name": REPO, "id": 1}],
    )
    bench.alerts_url = bench.url.replace(
        "/webhooks/github", f"/webhooks/alerts/generic?repo={REPO}"
    )
    bench.service = service
    if gc_freeze:  # what `serve` could do once started: later collections skip this heap
        gc.collect()
        gc.freeze()
    return bench


async def poll(check: Any, want: Any, every: float, within: float = 300.0) -> None:
    """Call `check()` (a coroutine function) until it returns `want` or time runs out."""
    deadline = time.monotonic() + within
    while True:
        if await check() == want or time.monotonic() > deadline:
            return
        await asyncio.sleep(every)


async def unfinished_alert_jobs(db: Any) -> int:
    """One query, so waiting does not load the database the workers need."""
    from sqlalchemy import func, select

    from app.alerts.tracker import ALERT_EVENT
    from app.store.schema import deliveries

    query = (
        select(func.count())
        .select_from(deliveries)
        .where(deliveries.c.event == ALERT_EVENT, deliveries.c.status.in_(("queued", "running")))
    )
    return int(await db.read(lambda conn: conn.execute(query).scalar()) or 0)


def durable_commits() -> dict[str, float]:
    """This process's durable commits so far, and how many took over 50/100/250 ms
    (`deckhand_database_commit_seconds`): each is an fsync every waiting request
    shares, so a slow disk shows here before it shows in the tail."""
    from prometheus_client import REGISTRY

    def sample(suffix: str, **labels: str) -> float:
        name = f"deckhand_database_commit_seconds_{suffix}"
        return REGISTRY.get_sample_value(name, {"mode": "durable", **labels}) or 0.0

    count = sample("count")
    return {
        "durable_commits": count,
        **{f"over_{ms}ms": count - sample("bucket", le=str(ms / 1000)) for ms in (50, 100, 250)},
    }


async def latency_phase(args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        bench = await start_bench(Path(tmp), args.interval, args.gc_freeze)
        try:
            warm = ["--client", "paced", "--url", bench.alerts_url, "--rate", "100"]
            await run_client(*warm, "--seconds", "1", "--fingerprints", str(args.fingerprints))
            cpu, commits = time.process_time(), durable_commits()
            result = await run_client(
                "--client", "paced", "--url", bench.alerts_url, "--rate", str(args.rate),
                "--seconds", str(args.seconds), "--fingerprints", str(args.fingerprints),
            )  # fmt: skip
            # this process's CPU (server, workers, fakes; not the client) per alert sent
            cpu_ms = (time.process_time() - cpu) * 1000 / result["sent"]
            disk = {k: int(v - commits[k]) for k, v in durable_commits().items()}
            return {**result, "server_cpu_ms_per_alert": round(cpu_ms, 3), **disk}
        finally:
            await bench.__aexit__(None, None, None)


async def storm_phase(args: argparse.Namespace) -> dict[str, Any]:
    from app.alerts.store import AlertStore

    per = args.storm // args.fingerprints
    with tempfile.TemporaryDirectory() as tmp:
        bench = await start_bench(Path(tmp), args.storm_interval, args.gc_freeze)
        try:
            started = time.perf_counter()
            sent = await run_client(
                "--client", "burst", "--url", bench.alerts_url, "--storm", str(args.storm),
                "--fingerprints", str(args.fingerprints), "--concurrency", str(args.concurrency),
            )  # fmt: skip
            ingested = time.perf_counter() - started
            store = bench.service.deliveries
            accepted = len(sent.pop("ids"))
            await poll(lambda: unfinished_alert_jobs(bench.service.db), want=0, every=0.1)
            jobs_done = time.perf_counter() - started

            def shown() -> bool:
                issues = bench.gh.issues_in(REPO)
                bot = bench.gh.app.bot
                return len(issues) == args.fingerprints and all(
                    any(
                        f"Fired {per} times" in c.body
                        for c in bench.gh.comments_on(REPO, i.number)
                        if c.user is bot
                    )
                    for i in issues
                )

            async def shown_now() -> bool:
                return shown()

            await poll(shown_now, want=True, every=0.05)
            settled = time.perf_counter() - started
            rows = await AlertStore(bench.service.db).rows(REPO)
            counts = await store.counts()
            return {
                **sent,
                "accepted": accepted,
                "ingest_seconds": round(ingested, 2),
                "jobs_done_seconds": round(jobs_done, 2),
                "settle_seconds": round(settled, 2),
                "issues": len(bench.gh.issues_in(REPO)),
                "counts_sum": sum(r.count for r in rows),
                "counts": sorted({r.count for r in rows}),
                "all_comments_final": shown(),
                "dead_jobs": counts["dead"],
                "github_requests": len(bench.gh.requests),
            }
        finally:
            await bench.__aexit__(None, None, None)


async def main(args: argparse.Namespace) -> None:
    if not args.skip_latency:
        latency = await latency_phase(args)
        ok = "OK" if latency["p99_ms"] < 50 and not latency["failures"] else "ABOVE GOAL"
        print(f"ingest at {args.rate:g}/s for {args.seconds:g}s: {json.dumps(latency)} [{ok}]")
    if args.storm:
        storm = await storm_phase(args)
        print(
            f"storm of {args.storm} alerts, {args.fingerprints} fingerprints: {json.dumps(storm)}"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rate", type=float, default=500.0)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--storm", type=int, default=10000)
    parser.add_argument("--fingerprints", type=int, default=20)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument(
        "--interval",
        default="30s",
        help="alerts.update_interval in the latency phase (30s, the default, as deployed)",
    )
    parser.add_argument(
        "--storm-interval",
        default="2s",
        help="alerts.update_interval in the storm, so settling is not dominated by waiting",
    )
    parser.add_argument("--skip-latency", action="store_true")
    parser.add_argument(
        "--loop",
        choices=("asyncio", "uvloop"),
        default="asyncio",
        help="the server's event loop (`python -m app serve` runs on uvloop)",
    )
    parser.add_argument(
        "--gc-freeze",
        action="store_true",
        help="gc.freeze() once everything is started, so a full collection does not walk"
        " the startup heap (the fake GitHub's OpenAPI description, every module)",
    )
    parser.add_argument("--client", choices=("paced", "burst"), help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.client:
        client_main(arguments)
    else:
        from app.logs import configure_logging

        configure_logging("warning", "json")
        if arguments.loop == "uvloop":
            import uvloop

            uvloop.run(main(arguments))
        else:
            asyncio.run(main(arguments))
