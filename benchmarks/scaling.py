"""Scaling out on the procrastinate queue: more worker processes, more web replicas.

Deckhand scaled out (`QUEUE_URL=postgresql://...`, app/queue/distributed.py) runs web
replicas (`python -m app serve`: verify, persist, enqueue) and worker processes
(`python -m app worker`) that share one Postgres database. This measures, on a fresh
Postgres database per configuration and round (created on 127.0.0.1:5432, dropped at
the end):

1. **Validation jobs across 1, 2 and 4 worker processes** (`--workers`). One web
   replica and K workers (`DECKHAND_WORKER_CONCURRENCY=--concurrency`, 2: the jobs are
   CPU-bound) with `DECKHAND_PLUGINS=benchmarks.scaling_plugin:router`, a handler that
   runs Deckhand's validation engine (`app.engine.validate.validate`) over a fixed
   corpus of the project's own files (read as text, never imported; no GitHub calls),
   about 70-110 ms of CPU per job. After a warm-up batch (every worker has imported
   the engine), `--jobs` signed `deckhand_bench` deliveries are posted to the web
   replica (8 at a time); the time runs from the first post to the `finished_at` of
   the last of them in the ledger (the `deliveries` table), polled until every one of
   them is `done` (a `dead` one fails the run). Figures: jobs/s, the scaling factor
   jobs/s(K) / jobs/s(1), and the workers' CPU per job. It cannot exceed the machine's
   CPU count (printed), which the web replica, Postgres and this script share too.
2. **Ingest with 2 web replicas vs 1** (no workers: the jobs just queue). wrk drives
   the replicas with benchmarks/ingest.lua (the signed `push` fixture, a unique
   X-GitHub-Delivery per request), as benchmarks/ingest.py does. With one replica, one
   wrk `-t2 -c32`; with two, one wrk per replica at the same time, each with half the
   threads and connections (`-t1 -c16`), so the client side is the same. Figures: the
   sum of the replicas' 2xx per second, each replica's p99, and the 2-replica/1-replica
   ratio. Every 2xx must be a row in `deliveries` (checked once the count settles).

Configurations alternate within each round (the order turns every round), so a drift in
the machine's load hits them alike; each is repeated `--rounds` times (3) and the medians
are quoted. It only talks to 127.0.0.1, bounds every step with a timeout, and kills every
process it started when it ends (on an error, Ctrl-C or SIGTERM too), then drops the
databases it created. It is not part of the test suite. Run from the repository root:

    .venv/bin/python -P benchmarks/scaling.py [--rounds 3] [--jobs 300] [--json out.json]

About 9 minutes with the defaults. See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import re
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))

import psycopg  # noqa: E402
from psycopg import sql  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from benchmarks.ingest import (  # noqa: E402
    FIXTURE,
    HOST,
    LUA_SCRIPT,
    NOWHERE,
    BenchError,
    Processes,
    base_env,
    delivery_headers,
    ensure_wrk,
    free_port,
    group_cpu_seconds,
    http_request,
    log,
    settled,
    signature,
    tail,
    terminate_as_interrupt,
)

PLUGIN = "benchmarks.scaling_plugin:router"
BENCH_EVENT = "deckhand_bench"
WEBHOOK_PATH = "/webhooks/github"
DB_PREFIX = "deckhand_bench_"
POSTERS = 8  # deliveries posted at a time in the validation part


# --------------------------------------------------------------------------- Postgres


class Databases:
    """Fresh databases on the local server, each dropped at the end."""

    def __init__(self, admin_url: str) -> None:
        url = make_url(admin_url)
        if url.host not in (HOST, None) or url.get_backend_name() != "postgresql":
            raise BenchError(f"--postgres must be a postgresql:// URL on {HOST}")
        self.admin_url = url.set(drivername="postgresql").render_as_string(hide_password=False)
        self.created: list[str] = []

    def _admin(self) -> psycopg.Connection[Any]:
        return psycopg.connect(self.admin_url, autocommit=True, connect_timeout=5)

    def check(self) -> None:
        try:
            with self._admin() as conn:
                conn.execute("SELECT 1")
        except psycopg.Error as exc:
            raise BenchError(f"Postgres is unreachable at {self.admin_url}: {exc}") from exc

    def create(self) -> str:
        name = f"{DB_PREFIX}{uuid.uuid4().hex[:12]}"
        with self._admin() as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        self.created.append(name)
        return make_url(self.admin_url).set(database=name).render_as_string(hide_password=False)

    def drop(self, url: str) -> None:
        name = str(make_url(url).database)
        statement = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
        with self._admin() as conn:
            conn.execute(statement.format(sql.Identifier(name)))
        with contextlib.suppress(ValueError):
            self.created.remove(name)

    def drop_all(self) -> None:
        for name in list(self.created):
            url = make_url(self.admin_url).set(database=name)
            try:
                self.drop(url.render_as_string(hide_password=False))
            except psycopg.Error as exc:
                log(f"could not drop database {name}: {exc}")


def machine_busy_seconds() -> float:
    """CPU seconds every process on the machine has used since boot (/proc/stat), not
    idle or iowait: over a run, set beside our own processes' CPU, it shows the noise."""
    values = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    # user nice system idle iowait irq softirq steal (guest time is already in user)
    return (sum(values) - values[3] - values[4]) / os.sysconf("SC_CLK_TCK")


def connect(url: str) -> psycopg.Connection[Any]:
    return psycopg.connect(url, autocommit=True, connect_timeout=5)


def count_rows(url: str) -> int:
    with connect(url) as conn:
        row = conn.execute("SELECT count(*) FROM deliveries").fetchone()
        return int(row[0]) if row else 0


def rows_by_status(url: str) -> dict[str, int]:
    with connect(url) as conn:
        rows = conn.execute("SELECT status, count(*) FROM deliveries GROUP BY status").fetchall()
        return {str(status): int(n) for status, n in rows}


# --------------------------------------------------------------------------- Deckhand


@dataclass
class Deckhand:
    role: str  # "serve" or "worker"
    name: str
    port: int
    log_path: Path
    proc: subprocess.Popen[bytes]

    def check_alive(self) -> None:
        if self.proc.poll() is not None:
            raise BenchError(
                f"[{self.name}] exited with {self.proc.returncode}; its output:\n"
                f"{tail(self.log_path)}"
            )

    def cpu_seconds(self) -> float:
        return group_cpu_seconds(self.proc.pid)


class Cluster:
    """Web replicas and workers of one configuration, on one fresh database."""

    def __init__(
        self, procs: Processes, args: argparse.Namespace, tmp: Path, url: str, secret: str
    ) -> None:
        self.procs = procs
        self.args = args
        self.tmp = tmp
        self.url = url
        self.secret = secret
        self.webs: list[Deckhand] = []
        self.workers: list[Deckhand] = []

    def env(self, port: int, extra: dict[str, str]) -> dict[str, str]:
        return (
            base_env()
            | {
                "PYTHONPATH": str(REPO),
                "PYTHONUNBUFFERED": "1",
                "HOST": HOST,
                "PORT": str(port),
                "DATABASE_URL": self.url,
                "QUEUE_URL": self.url,
                "GITHUB_WEBHOOK_SECRET": self.secret,
                "GITHUB_API_URL": NOWHERE,
                "GITHUB_WEB_URL": NOWHERE,
            }
            | extra
        )

    def _spawn(self, role: str, name: str, extra: dict[str, str]) -> Deckhand:
        port = free_port()
        log_path = self.tmp / f"{name}.log"
        env = self.env(port, extra | {"GIT_CACHE_DIR": str(self.tmp / f"git-{name}")})
        with log_path.open("ab") as out:
            proc = self.procs.start(
                [self.args.python, "-m", "app", role],
                cwd=REPO,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        return Deckhand(role, name, port, log_path, proc)

    def start_web(self, extra: dict[str, str]) -> Deckhand:
        web = self._spawn("serve", f"web{len(self.webs)}", extra)
        self.webs.append(web)
        return web

    def wait_healthy(self, web: Deckhand) -> None:
        deadline = time.monotonic() + self.args.start_timeout
        last = "no answer yet"
        while time.monotonic() < deadline:
            web.check_alive()
            try:
                status, _ = http_request(web.port, "GET", "/healthz", timeout=2)
                if status == 200:
                    return
                last = f"GET /healthz -> {status}"
            except OSError as exc:
                last = f"GET /healthz: {exc}"
            time.sleep(0.1)
        raise BenchError(f"[{web.name}] not ready ({last}); its output:\n{tail(web.log_path)}")

    def start_webs(self, count: int, extra: dict[str, str]) -> None:
        """The first applies the migrations and the queue schema, then the others start."""
        self.wait_healthy(self.start_web(extra))
        started = [self.start_web(extra) for _ in range(count - 1)]
        for web in started:
            self.wait_healthy(web)

    def start_workers(self, count: int, extra: dict[str, str]) -> None:
        self.workers = [self._spawn("worker", f"worker{n}", extra) for n in range(count)]
        deadline = time.monotonic() + self.args.start_timeout
        while time.monotonic() < deadline:
            for worker in self.workers:
                worker.check_alive()
            logged = all("service_started" in w.log_path.read_text() for w in self.workers)
            if logged and self.registered_workers() >= count:
                return
            time.sleep(0.1)
        raise BenchError(
            f"{count} workers did not all start within {self.args.start_timeout:.0f} s; the"
            f" first one's output:\n{tail(self.workers[0].log_path)}"
        )

    def registered_workers(self) -> int:
        """Workers procrastinate knows of (each registers itself when it starts)."""
        with connect(self.url) as conn:
            row = conn.execute("SELECT count(*) FROM procrastinate_workers").fetchone()
            return int(row[0]) if row else 0

    def check_alive(self) -> None:
        for process in self.webs + self.workers:
            process.check_alive()

    def stop(self, grace: float = 10.0) -> None:
        """SIGTERM to all at once; whatever still runs after `grace` s is killed. One
        SIGTERM each: a second one during aiohttp's graceful exit cuts it short."""
        everyone = [p.proc for p in self.webs + self.workers]
        for proc in everyone:
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        for proc in everyone:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=max(0.0, deadline - time.monotonic()))
            self.procs.stop(proc, grace=1)  # SIGKILLs the group of one still running


# --------------------------------------------------------------------------- part 1


def post_deliveries(port: int, ids: list[str], body: bytes, sig: str) -> None:
    """POST each delivery, POSTERS at a time; each must be answered 202 `queued`."""

    def post(delivery: str) -> None:
        headers = delivery_headers(sig, delivery, BENCH_EVENT)
        status, answer = http_request(port, "POST", WEBHOOK_PATH, body, headers, timeout=10)
        if status != 202 or json.loads(answer).get("status") != "queued":
            raise BenchError(f"delivery {delivery}: {status} {answer[:300]!r}, not 202 queued")

    with ThreadPoolExecutor(POSTERS) as pool:
        list(pool.map(post, ids))


def wait_done(cluster: Cluster, prefix: str, count: int, timeout: float) -> float:
    """Wait until every delivery whose id starts with `prefix` is done; the latest
    `finished_at` (epoch seconds). A dead one, or a process that exited, fails the run."""
    deadline = time.monotonic() + timeout
    query = (
        "SELECT status, count(*), max(finished_at), min(last_error) FROM deliveries"
        " WHERE id LIKE %s GROUP BY status"
    )
    counts: dict[str, int] = {}
    with connect(cluster.url) as conn:
        while time.monotonic() < deadline:
            rows = conn.execute(query, (prefix + "%",)).fetchall()
            counts = {str(r[0]): int(r[1]) for r in rows}
            if counts.get("dead"):
                error = next((r[3] for r in rows if r[0] == "dead"), None)
                raise BenchError(f"{counts['dead']} deliveries dead-lettered: {error}")
            if counts.get("done", 0) >= count:
                return float(next(r[2] for r in rows if r[0] == "done"))
            cluster.check_alive()
            time.sleep(0.05)
    raise BenchError(f"not all {count} jobs done within {timeout:.0f} s: {counts}")


@dataclass
class JobRun:
    workers: int
    round: int
    jobs: int
    seconds: float  # first post to the last job's finished_at
    post_seconds: float  # to post them all
    jobs_per_s: float
    worker_cpu_s: float
    web_cpu_s: float
    machine_busy_s: float  # every process's CPU over the run (Postgres, other work too)
    loadavg: float

    @property
    def cpu_ms_per_job(self) -> float:
        return self.worker_cpu_s * 1000 / self.jobs

    @property
    def worker_cores(self) -> float:
        """How many cores the workers kept busy, on average, from first post to last job."""
        return self.worker_cpu_s / self.seconds

    @property
    def machine_cores(self) -> float:
        return self.machine_busy_s / self.seconds


def run_jobs(
    procs: Processes,
    dbs: Databases,
    args: argparse.Namespace,
    tmp: Path,
    workers: int,
    round_no: int,
) -> JobRun:
    secret = secrets.token_hex(20)
    body = json.dumps({"bench": "scaling", "corpus": "benchmarks/scaling_plugin.py"}).encode()
    sig = signature(secret, body)
    url = dbs.create()
    folder = tmp / f"jobs-k{workers}-r{round_no}"
    folder.mkdir()
    cluster = Cluster(procs, args, folder, url, secret)
    extra = {
        "DECKHAND_PLUGINS": PLUGIN,
        "DECKHAND_WORKER_CONCURRENCY": str(args.concurrency),
        "LOG_LEVEL": "info",  # workers say `service_started`; nothing is logged per job
    }
    try:
        cluster.start_webs(1, extra)
        cluster.start_workers(workers, extra)
        web = cluster.webs[0]
        # Warm-up: every worker imports the engine and its checks before the clock runs.
        warm = f"warm-{secrets.token_hex(4)}-"
        warm_count = max(4, 2 * workers * args.concurrency)
        post_deliveries(web.port, [f"{warm}{n:06d}" for n in range(warm_count)], body, sig)
        wait_done(cluster, warm, warm_count, args.job_timeout)
        time.sleep(0.5)

        prefix = f"run-{secrets.token_hex(4)}-"
        ids = [f"{prefix}{n:06d}" for n in range(args.jobs)]
        cpu0 = sum(w.cpu_seconds() for w in cluster.workers)
        web_cpu0 = web.cpu_seconds()
        busy0 = machine_busy_seconds()
        started = time.time()
        post_deliveries(web.port, ids, body, sig)
        posted = time.time()
        finished = wait_done(cluster, prefix, args.jobs, args.job_timeout)
        cpu = sum(w.cpu_seconds() for w in cluster.workers) - cpu0
        web_cpu = web.cpu_seconds() - web_cpu0
        busy = machine_busy_seconds() - busy0
        seconds = finished - started
        return JobRun(
            workers=workers,
            round=round_no,
            jobs=args.jobs,
            seconds=seconds,
            post_seconds=posted - started,
            jobs_per_s=args.jobs / seconds,
            worker_cpu_s=cpu,
            web_cpu_s=web_cpu,
            machine_busy_s=busy,
            loadavg=os.getloadavg()[0],
        )
    finally:
        cluster.stop()
        dbs.drop(url)


# --------------------------------------------------------------------------- part 2


@dataclass
class IngestRun:
    replicas: int
    round: int
    rps: float  # the sum over replicas
    per_replica_rps: list[float]
    per_replica_p99_ms: list[float]
    accepted: int  # every 2xx: probes, warm-up and the measured run
    rows: int


def wrk_argv(
    args: argparse.Namespace, port: int, threads: int, conns: int, seconds: float, sig: str
) -> list[str]:
    return [
        "wrk",
        f"-t{threads}",
        f"-c{conns}",
        f"-d{seconds:g}s",
        f"--timeout={args.request_timeout:g}s",
        "--latency",
        "-s",
        str(LUA_SCRIPT),
        f"http://{HOST}:{port}{WEBHOOK_PATH}",
        "--",
        str(FIXTURE),
        sig,
        "push",
        secrets.token_hex(4),  # a new nonce per wrk run: delivery ids never repeat
    ]


def run_wrk_together(
    procs: Processes, args: argparse.Namespace, webs: list[Deckhand], seconds: float, sig: str
) -> list[dict[str, Any]]:
    """One wrk per replica, all at once, splitting --threads and --connections between
    them; each one's WRK_RESULT (from ingest.lua's done())."""
    threads = max(1, args.threads // len(webs))
    conns = max(threads, args.connections // len(webs))
    started = [
        procs.start(
            wrk_argv(args, web.port, threads, conns, seconds, sig),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for web in webs
    ]
    results = []
    for proc, web in zip(started, webs, strict=True):
        try:
            out_b, err_b = proc.communicate(timeout=seconds + args.request_timeout + 30)
        except subprocess.TimeoutExpired as exc:
            raise BenchError(f"wrk against {web.name} did not finish in time") from exc
        finally:
            procs.stop(proc, grace=2)
        out = out_b.decode(errors="replace")
        match = re.search(r"^WRK_RESULT (\{.*\})\s*$", out, re.MULTILINE)
        if proc.returncode != 0 or not match:
            raise BenchError(
                f"wrk against {web.name} failed ({proc.returncode}):\n{out[-2000:]}\n"
                f"{err_b.decode(errors='replace')[-2000:]}"
            )
        data: dict[str, Any] = json.loads(match.group(1))
        status = {k: int(v) for k, v in data["status"].items()}
        errors = {k: int(v) for k, v in data["errors"].items() if k != "status" and v}
        bad = {k: v for k, v in status.items() if k != "2xx" and v}
        if bad or errors or status.get("2xx", 0) == 0:
            raise BenchError(
                f"[{web.name}] {status.get('2xx', 0)} 2xx, other statuses {bad or 'none'},"
                f" socket errors {errors or 'none'}: every request must get a 2xx.\n"
                f"wrk output:\n{out[-2000:]}\nserver output:\n{tail(web.log_path)}"
            )
        results.append(data)
    return results


def probe(web: Deckhand, body: bytes, secret: str) -> None:
    """A signed delivery must get a 2xx and a badly signed one a 4xx."""
    good = signature(secret, body)
    status, answer = http_request(
        web.port,
        "POST",
        WEBHOOK_PATH,
        body,
        delivery_headers(good, f"probe-{uuid.uuid4()}"),
    )
    if not 200 <= status < 300:
        raise BenchError(f"[{web.name}] a signed delivery got {status}: {answer[:300]!r}")
    bad = signature(secret + "-wrong", body)
    status, answer = http_request(
        web.port, "POST", WEBHOOK_PATH, body, delivery_headers(bad, f"probe-{uuid.uuid4()}")
    )
    if not 400 <= status < 500:
        raise BenchError(f"[{web.name}] a badly signed delivery got {status}: {answer[:300]!r}")


def run_ingest(
    procs: Processes,
    dbs: Databases,
    args: argparse.Namespace,
    tmp: Path,
    replicas: int,
    round_no: int,
) -> IngestRun:
    secret = secrets.token_hex(20)
    body = FIXTURE.read_bytes()
    sig = signature(secret, body)
    url = dbs.create()
    folder = tmp / f"ingest-r{replicas}-round{round_no}"
    folder.mkdir()
    cluster = Cluster(procs, args, folder, url, secret)
    try:
        cluster.start_webs(replicas, {"LOG_LEVEL": "warning"})
        for web in cluster.webs:
            probe(web, body, secret)
        accepted = len(cluster.webs)
        if args.warmup > 0:
            for data in run_wrk_together(procs, args, cluster.webs, args.warmup, sig):
                accepted += int(data["status"]["2xx"])
            time.sleep(1.0)
        results = run_wrk_together(procs, args, cluster.webs, args.duration, sig)
        cluster.check_alive()
        per_rps = [int(d["status"]["2xx"]) / (d["duration_us"] / 1e6) for d in results]
        p99 = [float(d["latency_us"]["percentiles"]["99"]) / 1000 for d in results]
        accepted += sum(int(d["status"]["2xx"]) for d in results)
        rows = settled(lambda: count_rows(url))
        if rows < accepted:
            raise BenchError(
                f"{accepted} deliveries answered 2xx but only {rows} rows in deliveries:"
                f" {accepted - rows} acknowledged deliveries are missing"
            )
        statuses = rows_by_status(url)
        if statuses.get("queued", 0) < rows - len(cluster.webs):
            log(f"note: rows by status {statuses}: not every delivery was queued")
        return IngestRun(replicas, round_no, sum(per_rps), per_rps, p99, accepted, rows)
    finally:
        cluster.stop()
        dbs.drop(url)


# --------------------------------------------------------------------------- report


def turned(items: list[int], round_no: int) -> list[int]:
    """The configurations' order in a round: turned by one every round."""
    shift = (round_no - 1) % len(items)
    return items[shift:] + items[:shift]


def report(
    args: argparse.Namespace, job_runs: list[JobRun], ingest_runs: list[IngestRun]
) -> dict[str, Any]:
    cpus = os.cpu_count() or 1
    summary: dict[str, Any] = {"cpu_count": cpus}
    print()
    print(
        f"machine: {cpus} CPUs (os.cpu_count()), load average before the run"
        f" {args.loadavg_before}; Python {platform.python_version()}"
    )
    if job_runs:
        from benchmarks.scaling_plugin import CORPUS, CORPUS_BYTES

        print()
        print(
            f"1. Validation jobs: 1 web replica + K workers on procrastinate/Postgres,"
            f" DECKHAND_WORKER_CONCURRENCY={args.concurrency}, {args.jobs} jobs per run, each"
            f" the engine over {len(CORPUS)} files ({CORPUS_BYTES // 1000} kB);"
            f" {args.rounds} round(s), medians"
        )
        base: float | None = None  # jobs/s of the fewest workers (K=1 by default)
        header = (
            f"{'workers':>7} {'jobs/s':>8} {'(min-max)':>13} {'scaling':>8}"
            f" {'seconds':>8} {'CPU ms/job':>11} {'workers cores':>14} {'machine cores':>14}"
        )
        print(header)
        print("-" * len(header))
        per_k: dict[str, Any] = {}
        for k in args.worker_counts:
            runs = [r for r in job_runs if r.workers == k]
            if not runs:
                continue
            rate = statistics.median(r.jobs_per_s for r in runs)
            base = rate if base is None else base
            factor = rate / base
            spread = (
                f"({min(r.jobs_per_s for r in runs):.1f}-{max(r.jobs_per_s for r in runs):.1f})"
            )
            seconds = statistics.median(r.seconds for r in runs)
            cpu = statistics.median(r.cpu_ms_per_job for r in runs)
            cores = statistics.median(r.worker_cores for r in runs)
            machine = statistics.median(r.machine_cores for r in runs)
            print(
                f"{k:>7} {rate:>8.2f} {spread:>13} {'x' + format(factor, '.2f'):>8}"
                f" {seconds:>8.1f} {cpu:>11.0f} {cores:>14.2f} {machine:>14.2f}"
            )
            per_k[str(k)] = {
                "jobs_per_s": rate,
                "scaling": factor,
                "seconds": seconds,
                "cpu_ms_per_job": cpu,
                "worker_cores": cores,
                "machine_cores": machine,
                "rounds": [r.jobs_per_s for r in runs],
            }
        summary["jobs"] = per_k
        print(
            f"scaling = median jobs/s(K) / median jobs/s({args.worker_counts[0]}); with CPU-bound"
            f" jobs it cannot exceed the {cpus} CPUs of this machine (os.cpu_count()), which"
            " the web replica, Postgres and this script share with the workers."
            " workers cores: the workers' CPU over the run's wall time; machine cores: every"
            " process's (from /proc/stat), other work on the machine included"
        )
        if any(v["scaling"] > cpus for v in per_k.values()):
            print(
                f"note: a factor above {cpus} means the fewest-worker rounds got less of the"
                " machine than the others (see machine cores and the rounds below): noise"
            )
        print("per round (jobs/s, and x the same round's first configuration):")
        first = args.worker_counts[0]
        base_of = {r.round: r.jobs_per_s for r in job_runs if r.workers == first}
        for k in args.worker_counts:
            cells = [
                f"{r.jobs_per_s:.2f} (x{r.jobs_per_s / base_of[r.round]:.2f})"
                for r in job_runs
                if r.workers == k and r.round in base_of
            ]
            print(f"  K={k}: " + "  ".join(cells))
    if ingest_runs:
        print()
        print(
            f"2. Ingest: web replicas only (jobs queue), wrk with ingest.lua (signed push,"
            f" {FIXTURE.stat().st_size} bytes), {args.duration:g} s per run, -t{args.threads}"
            f" -c{args.connections} in all (split across replicas); {args.rounds} round(s),"
            " medians"
        )
        header = f"{'replicas':>8} {'req/s':>8} {'(min-max)':>13} {'p99 ms per replica':>20}"
        print(header)
        print("-" * len(header))
        per_r: dict[str, Any] = {}
        for replicas in (1, 2):
            iruns = [r for r in ingest_runs if r.replicas == replicas]
            if not iruns:
                continue
            rate = statistics.median(r.rps for r in iruns)
            spread = f"({min(r.rps for r in iruns):.0f}-{max(r.rps for r in iruns):.0f})"
            p99 = [
                statistics.median(r.per_replica_p99_ms[i] for r in iruns) for i in range(replicas)
            ]
            p99_text = " / ".join(f"{p:.1f}" for p in p99)
            print(f"{replicas:>8} {rate:>8.0f} {spread:>13} {p99_text:>20}")
            per_r[str(replicas)] = {
                "rps": rate,
                "p99_ms": p99,
                "rounds": [r.rps for r in iruns],
                "accepted": sum(r.accepted for r in iruns),
                "rows": sum(r.rows for r in iruns),
            }
        if "1" in per_r and "2" in per_r:
            ratio = per_r["2"]["rps"] / per_r["1"]["rps"]
            per_r["ratio_2_to_1"] = ratio
            print(f"2 replicas / 1 replica: x{ratio:.2f} req/s")
        accepted = sum(r.accepted for r in ingest_runs)
        rows = sum(r.rows for r in ingest_runs)
        print(f"durability: {accepted} deliveries answered 2xx, {rows} rows in deliveries: OK")
        print("per round (req/s total, p99 ms per replica):")
        for replicas in (1, 2):
            cells = [
                f"{r.rps:.0f}/" + "+".join(f"{p:.1f}" for p in r.per_replica_p99_ms)
                for r in ingest_runs
                if r.replicas == replicas
            ]
            print(f"  {replicas} replica(s): " + "  ".join(cells))
        summary["ingest"] = per_r
    return summary


# --------------------------------------------------------------------------- main


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Deckhand scaled out: validation jobs across workers, ingest across"
        " web replicas (procrastinate on Postgres).",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--rounds", type=int, default=3, help="rounds per configuration")
    parser.add_argument(
        "--parts", default="jobs,ingest", help="comma-separated: jobs, ingest or both"
    )
    parser.add_argument("--workers", default="1,2,4", help="worker process counts to compare")
    parser.add_argument("--jobs", type=int, default=300, help="validation jobs per run")
    parser.add_argument(
        "--concurrency", type=int, default=2, help="DECKHAND_WORKER_CONCURRENCY of each worker"
    )
    parser.add_argument(
        "--job-timeout", type=float, default=300, help="longest wait for a batch of jobs"
    )
    parser.add_argument("--duration", type=float, default=8, help="seconds of each ingest run")
    parser.add_argument("--warmup", type=float, default=2, help="ingest warm-up seconds")
    parser.add_argument("--connections", "-c", type=int, default=32, help="wrk, in all")
    parser.add_argument("--threads", "-t", type=int, default=2, help="wrk threads, in all")
    parser.add_argument("--request-timeout", type=float, default=10, help="wrk --timeout")
    parser.add_argument(
        "--postgres",
        default="postgresql://postgres@127.0.0.1:5432/postgres",
        help="maintenance database of the server the fresh databases are created on",
    )
    parser.add_argument(
        "--python",
        default=str(REPO / ".venv" / "bin" / "python"),
        help="interpreter that runs `-m app`",
    )
    parser.add_argument("--start-timeout", type=float, default=60, help="per process start")
    parser.add_argument("--json", type=Path, help="also write every figure to this file")
    parser.add_argument("--keep-tmp", action="store_true", help="keep the processes' logs")
    parser.add_argument("--no-install", action="store_true", help="never apt-get install wrk")
    args = parser.parse_args(argv)
    args.part_names = {p.strip() for p in args.parts.split(",") if p.strip()}
    if not args.part_names or args.part_names - {"jobs", "ingest"}:
        parser.error("--parts takes jobs, ingest or jobs,ingest")
    try:
        args.worker_counts = sorted({int(k) for k in args.workers.split(",")})
    except ValueError:
        parser.error("--workers takes comma-separated numbers")
    if min(args.worker_counts) < 1 or args.rounds < 1 or args.jobs < 1 or args.concurrency < 1:
        parser.error("--workers, --rounds, --jobs and --concurrency must be at least 1")
    if args.threads < 2 or args.connections < args.threads or args.duration <= 0:
        parser.error("need --threads >= 2 (split across 2 replicas), -c >= -t, --duration > 0")
    return args


def bench(args: argparse.Namespace, procs: Processes, dbs: Databases, tmp: Path) -> int:
    dbs.check()
    if "ingest" in args.part_names:
        ensure_wrk(not args.no_install, procs)
    args.loadavg_before = " ".join(f"{x:.2f}" for x in os.getloadavg())
    job_runs: list[JobRun] = []
    ingest_runs: list[IngestRun] = []
    for round_no in range(1, args.rounds + 1):
        if "jobs" in args.part_names:
            for k in turned(args.worker_counts, round_no):
                run = run_jobs(procs, dbs, args, tmp, k, round_no)
                job_runs.append(run)
                log(
                    f"[jobs] round {round_no}/{args.rounds}, {k} worker(s): {run.jobs} jobs in"
                    f" {run.seconds:.1f} s = {run.jobs_per_s:.2f} jobs/s, workers' CPU"
                    f" {run.cpu_ms_per_job:.0f} ms/job, {run.worker_cores:.2f} cores; machine busy"
                    f" {run.machine_cores:.2f} of {os.cpu_count()} cores, load {run.loadavg:.1f}"
                )
        if "ingest" in args.part_names:
            for replicas in turned([1, 2], round_no):
                irun = run_ingest(procs, dbs, args, tmp, replicas, round_no)
                ingest_runs.append(irun)
                log(
                    f"[ingest] round {round_no}/{args.rounds}, {replicas} replica(s):"
                    f" {irun.rps:.0f} req/s ("
                    + " + ".join(f"{x:.0f}" for x in irun.per_replica_rps)
                    + "), p99 "
                    + " / ".join(f"{p:.1f}" for p in irun.per_replica_p99_ms)
                    + f" ms, {irun.accepted} 2xx, {irun.rows} rows"
                )
    summary = report(args, job_runs, ingest_runs)
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "settings": {k: v for k, v in vars(args).items() if k != "json"},
                    "summary": summary,
                    "jobs": [
                        asdict(r)
                        | {
                            "cpu_ms_per_job": r.cpu_ms_per_job,
                            "worker_cores": r.worker_cores,
                            "machine_cores": r.machine_cores,
                        }
                        for r in job_runs
                    ],
                    "ingest": [asdict(r) for r in ingest_runs],
                },
                indent=2,
                default=str,
            )
        )
        log(f"wrote {args.json}")
    return 0


@contextlib.contextmanager
def cleanup_on_exit(procs: Processes, dbs: Databases) -> Iterator[None]:
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not cut it short
        try:
            procs.stop_all()
            dbs.drop_all()
        finally:
            signal.signal(signal.SIGINT, signal.default_int_handler)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    procs = Processes()
    tmp = Path(tempfile.mkdtemp(prefix="deckhand-scaling-"))
    try:
        dbs = Databases(args.postgres)
    except BenchError as exc:
        log(f"FAILED: {exc}")
        return 2
    try:
        with cleanup_on_exit(procs, dbs), terminate_as_interrupt():
            return bench(args, procs, dbs, tmp)
    except BenchError as exc:
        log(f"\nFAILED: {exc}")
        return 1
    except KeyboardInterrupt:
        log("\ninterrupted")
        return 130
    finally:
        if args.keep_tmp:
            log(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
