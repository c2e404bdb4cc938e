"""Webhook ingest benchmark: Deckhand against a no-op Probot 14 app, side by side.

It starts both servers on 127.0.0.1 (Deckhand as `python -m app` on a fresh
SQLite database, Probot from a temporary `npm install` of benchmarks/probot/),
checks that each verifies signatures (a signed delivery must get a 2xx, a badly
signed one a 4xx), warms both up, then drives them with the same wrk script
(benchmarks/ingest.lua: a real signed `push` payload with a unique
X-GitHub-Delivery per request) in alternating rounds, so machine noise hits both
alike; before every run it waits until both servers are quiet (Deckhand's queue
workers have worked off its backlog; see --idle). It prints requests/s, latency
percentiles and server CPU per request, the Deckhand/Probot ratios, and checks
that every 2xx Deckhand gave is a row in its `deliveries` table. Any non-2xx
response or socket error fails the run.

It never targets anything but 127.0.0.1, bounds every step with a timeout, and
kills every process it started when it ends, on error or Ctrl-C too. It is not
part of the test suite. Run from the repository root:

    .venv/bin/python benchmarks/ingest.py [--rounds 5 --duration 10 --connections 32]

See benchmarks/README.md for what the figures mean.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import hmac
import http.client
import json
import os
import platform
import re
import secrets
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
FIXTURE = HERE / "fixtures" / "push.json"
LUA_SCRIPT = HERE / "ingest.lua"
PROBOT_SRC = HERE / "probot"
HOST = "127.0.0.1"  # the only address this benchmark ever talks to
# Outbound GitHub calls, if any server tried one, go to a closed loopback port.
NOWHERE = f"http://{HOST}:9"
EVENT = "push"
PERCENTILES = ("50", "75", "90", "99", "99.9")


class BenchError(RuntimeError):
    """A failed precondition or check: printed without a traceback, exit 1."""


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- processes


class Processes:
    """Every child process this run started, each in its own session, killed at exit."""

    def __init__(self) -> None:
        self._procs: list[subprocess.Popen[bytes]] = []
        self._names: dict[int, str] = {}

    def start(self, argv: list[str], **kwargs: Any) -> subprocess.Popen[bytes]:
        proc = subprocess.Popen(argv, start_new_session=True, **kwargs)
        self._procs.append(proc)
        self._names[proc.pid] = " ".join(Path(a).name if "/" in a else a for a in argv[:3])
        return proc

    def run(
        self, argv: list[str], timeout: float, **kwargs: Any
    ) -> subprocess.CompletedProcess[bytes]:
        """Like subprocess.run(capture_output=True), but killable from stop_all()."""
        proc = self.start(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kwargs)
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired as exc:
            self.stop(proc, grace=2)
            raise BenchError(f"timed out after {timeout:.0f} s: {' '.join(argv)}") from exc
        finally:
            if proc.poll() is not None:
                with contextlib.suppress(ValueError):
                    self._procs.remove(proc)
        return subprocess.CompletedProcess(argv, proc.returncode, out, err)

    def stop(self, proc: subprocess.Popen[bytes], grace: float = 10.0) -> None:
        """SIGTERM the child's process group, then SIGKILL it after `grace` seconds."""
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGTERM)
                os.killpg(proc.pid, signal.SIGCONT)  # a frozen server must run to exit
            try:
                proc.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                log(
                    f"pid {proc.pid} ({self._names.get(proc.pid, '?')}) still running {grace:g} s"
                    " after SIGTERM: killed"
                )
        # The leader may be gone while others in its group live on.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=5)
        with contextlib.suppress(ValueError):
            self._procs.remove(proc)

    def stop_all(self) -> None:
        for proc in list(reversed(self._procs)):
            self.stop(proc)


def group_cpu_seconds(pgid: int) -> float:
    """User+system CPU seconds of every live process in process group `pgid`."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        # fields[0] is field 3 (state): pgrp is field 5, utime 14, stime 15.
        if int(fields[2]) == pgid:
            total += int(fields[11]) + int(fields[12])
    return total / tick


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def tail(path: Path, limit: int = 3000) -> str:
    try:
        data = path.read_bytes()
    except OSError:
        return "(no output)"
    text = data[-limit:].decode("utf-8", "replace")
    return ("..." if len(data) > limit else "") + text


def base_env() -> dict[str, str]:
    """A minimal environment: nothing of the caller's GitHub, OpenAI or database settings."""
    keep = ("PATH", "HOME", "LANG", "LC_ALL", "TZ", "TMPDIR", "SYSTEMROOT")
    return {k: os.environ[k] for k in keep if k in os.environ}


# --------------------------------------------------------------------------- HTTP


def http_request(
    port: int,
    method: str,
    path: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = 10.0,
) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def delivery_headers(sig: str, delivery: str, event: str = EVENT) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "User-Agent": "GitHub-Hookshot/deckhand-bench",
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": delivery,
        "X-GitHub-Hook-ID": "1",
        "X-Hub-Signature-256": sig,
    }


# --------------------------------------------------------------------------- servers


@dataclass
class Server:
    name: str
    argv: list[str]
    env: dict[str, str]
    cwd: Path
    port: int
    webhook_path: str
    ready_path: str
    log_path: Path
    proc: subprocess.Popen[bytes] | None = None
    accepted: int = 0  # 2xx answers to signed deliveries, probes and warm-up included
    info: dict[str, str] = field(default_factory=dict)

    def start(self, procs: Processes, timeout: float) -> None:
        log(f"[{self.name}] starting on {HOST}:{self.port}: {' '.join(self.argv)}")
        out = self.log_path.open("wb")
        try:
            self.proc = procs.start(
                self.argv,
                cwd=self.cwd,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        finally:
            out.close()
        deadline = time.monotonic() + timeout
        last = "no answer yet"
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise BenchError(
                    f"[{self.name}] exited with {self.proc.returncode} before it was ready;"
                    f" its output:\n{tail(self.log_path)}"
                )
            try:
                status, _ = http_request(self.port, "GET", self.ready_path, timeout=2)
                if status == 200:
                    log(f"[{self.name}] ready (GET {self.ready_path} -> 200)")
                    return
                last = f"GET {self.ready_path} -> {status}"
            except OSError as exc:
                last = f"GET {self.ready_path}: {exc}"
            time.sleep(0.25)
        raise BenchError(
            f"[{self.name}] not ready after {timeout:.0f} s ({last}); its output:\n"
            f"{tail(self.log_path)}"
        )

    def cpu_seconds(self) -> float:
        return group_cpu_seconds(self.proc.pid) if self.proc else 0.0

    def freeze(self) -> None:
        """SIGSTOP the server's process group: it uses no CPU while the other is measured."""
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGSTOP)

    def thaw(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGCONT)

    def wait_quiet(self, timeout: float, window: float = 1.0, busy: float = 0.05) -> float:
        """Wait until the server uses under `busy` of a core over `window`; the seconds waited."""
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            cpu0 = self.cpu_seconds()
            time.sleep(window)
            if self.cpu_seconds() - cpu0 < busy * window:
                break
        else:
            log(f"[{self.name}] still busy after {timeout:.0f} s; measuring anyway")
        return time.monotonic() - started

    def queue_state(self) -> str | None:
        """The `queue` part of the readiness answer, where the server reports one."""
        try:
            status, answer = http_request(self.port, "GET", self.ready_path, timeout=5)
            queue = json.loads(answer).get("queue") if status == 200 else None
        except (OSError, ValueError, AttributeError):
            return None
        return json.dumps(queue) if queue is not None else None

    def check_alive(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            code = None if self.proc is None else self.proc.returncode
            raise BenchError(
                f"[{self.name}] died (exit {code}); its output:\n{tail(self.log_path)}"
            )

    def probe(self, body: bytes, secret: str) -> None:
        """One good and one badly signed delivery: 2xx and 4xx, or the run is meaningless."""
        good = signature(secret, body)
        status, answer = http_request(
            self.port,
            "POST",
            self.webhook_path,
            body,
            delivery_headers(good, f"probe-ok-{secrets.token_hex(8)}"),
        )
        if not 200 <= status < 300:
            raise BenchError(
                f"[{self.name}] a correctly signed delivery got {status}, not 2xx:"
                f" {answer[:300]!r}\nserver output:\n{tail(self.log_path)}"
            )
        self.accepted += 1
        bad = signature(secret + "-wrong", body)
        bad_status, bad_answer = http_request(
            self.port,
            "POST",
            self.webhook_path,
            body,
            delivery_headers(bad, f"probe-bad-{secrets.token_hex(8)}"),
        )
        if not 400 <= bad_status < 500:
            raise BenchError(
                f"[{self.name}] a badly signed delivery got {bad_status}, not 4xx: it does not"
                f" verify signatures, so the comparison would be unfair: {bad_answer[:300]!r}"
            )
        log(f"[{self.name}] signed delivery -> {status}, badly signed -> {bad_status}")


def deckhand_available() -> bool:
    return (REPO / "app" / "__main__.py").is_file()


def wait_for_deckhand(max_wait: float, poll: float = 30.0) -> bool:
    deadline = time.monotonic() + max_wait
    while not deckhand_available():
        if time.monotonic() >= deadline:
            return False
        log(
            f"[deckhand] app/__main__.py not there yet; checking again in {poll:.0f} s"
            f" ({(deadline - time.monotonic()) / 60:.0f} min left)"
        )
        time.sleep(min(poll, max(0.0, deadline - time.monotonic())))
    return True


def make_deckhand(tmp: Path, secret: str, python: str, noop_handler: bool = False) -> Server:
    port = free_port()
    db = tmp / "deckhand.db"
    plugins = {"DECKHAND_PLUGINS": "benchmarks.noop:router"} if noop_handler else {}
    env = (
        base_env()
        | plugins
        | {
            "PORT": str(port),
            "HOST": HOST,
            "GITHUB_WEBHOOK_SECRET": secret,
            "DATABASE_URL": f"sqlite:///{db}",
            "LOG_LEVEL": "warning",
            "GITHUB_API_URL": NOWHERE,
            "GITHUB_WEB_URL": NOWHERE,
            "PYTHONUNBUFFERED": "1",
        }
    )
    server = Server(
        name="deckhand",
        argv=[python, "-m", "app"],
        env=env,
        cwd=REPO,
        port=port,
        webhook_path="/webhooks/github",
        ready_path="/healthz",
        log_path=tmp / "deckhand.log",
    )
    server.info["database"] = str(db)
    return server


def install_probot(procs: Processes, tmp: Path) -> Path:
    """Copy benchmarks/probot/ to a temporary folder and npm install it there."""
    for tool in ("node", "npm"):
        if shutil.which(tool) is None:
            raise BenchError(
                f"`{tool}` is not on PATH: install Node.js 20.18+ (apt-get install nodejs npm)"
            )
    node_version = procs.run(["node", "--version"], timeout=30).stdout.decode().strip()
    major, minor = (int(x) for x in node_version.lstrip("v").split(".")[:2])
    if (major, minor) < (20, 18):
        raise BenchError(f"Probot 14 needs Node.js >= 20.18.1; this is {node_version}")
    app_dir = tmp / "probot"
    app_dir.mkdir()
    for name in ("package.json", "index.js"):
        shutil.copy2(PROBOT_SRC / name, app_dir / name)
    log(f"[probot] npm install into {app_dir} ...")
    started = time.monotonic()
    result = procs.run(
        ["npm", "install", "--no-audit", "--no-fund", "--loglevel=error"],
        timeout=600,
        cwd=app_dir,
        env=base_env() | {"npm_config_update_notifier": "false"},
    )
    if result.returncode != 0:
        raise BenchError(
            f"npm install failed ({result.returncode}):\n"
            f"{result.stderr.decode(errors='replace')[-3000:]}"
        )
    pkg = json.loads((app_dir / "node_modules" / "probot" / "package.json").read_text())
    if not str(pkg["version"]).startswith("14."):
        raise BenchError(f"installed probot {pkg['version']}, expected 14.x")
    log(
        f"[probot] installed probot {pkg['version']} in {time.monotonic() - started:.0f} s"
        f" (node {node_version})"
    )
    return app_dir


def write_private_key(path: Path) -> None:
    """A throwaway RSA key: Probot will not start without one (it is never used)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
    )
    path.chmod(0o600)


def make_probot(app_dir: Path, tmp: Path, secret: str) -> Server:
    port = free_port()
    key = tmp / "probot-key.pem"
    write_private_key(key)
    env = base_env() | {
        "APP_ID": "1",
        "PRIVATE_KEY_PATH": str(key),
        "WEBHOOK_SECRET": secret,
        "PORT": str(port),
        "HOST": HOST,
        "NODE_ENV": "production",
        "LOG_LEVEL": "warn",  # no per-request pino-http line (those are "info")
        "LOG_FORMAT": "json",
        # Octokit's base URL: a closed loopback port (the no-op app calls nothing).
        "GHE_HOST": f"{HOST}:9",
        "GHE_PROTOCOL": "http",
    }
    pkg = json.loads((app_dir / "node_modules" / "probot" / "package.json").read_text())
    server = Server(
        name="probot",
        argv=[
            "node",
            str(app_dir / "node_modules" / "probot" / "bin" / "probot.js"),
            "run",
            "./index.js",
        ],
        env=env,
        cwd=app_dir,
        port=port,
        webhook_path="/api/github/webhooks",  # probot 14 lib/server/server.js defaultWebhookPath
        ready_path="/ping",
        log_path=tmp / "probot.log",
    )
    server.info["probot"] = str(pkg["version"])
    return server


# --------------------------------------------------------------------------- wrk

_UNITS_US = {"us": 1.0, "ms": 1e3, "s": 1e6, "m": 60e6, "h": 3600e6}


def duration_to_us(text: str) -> float:
    """'812.00us', '1.23ms', '2.01s', '1.5m' -> microseconds."""
    match = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*(us|ms|s|m|h)\s*", text)
    if not match:
        raise ValueError(f"not a wrk duration: {text!r}")
    return float(match.group(1)) * _UNITS_US[match.group(2)]


def parse_wrk_text(out: str) -> dict[str, Any]:
    """The human part of wrk's output (with --latency): a cross-check and a fallback."""
    parsed: dict[str, Any] = {}
    if m := re.search(r"Requests/sec:\s*([0-9.]+)", out):
        parsed["rps"] = float(m.group(1))
    if m := re.search(r"(\d+) requests in ([0-9.]+\w+),", out):
        parsed["requests"] = int(m.group(1))
        parsed["duration_us"] = duration_to_us(m.group(2))
    if m := re.search(r"Non-2xx or 3xx responses:\s*(\d+)", out):
        parsed["non_2xx_3xx"] = int(m.group(1))
    if m := re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out):
        parsed["socket_errors"] = dict(
            zip(("connect", "read", "write", "timeout"), map(int, m.groups()), strict=True)
        )
    block = out.split("Latency Distribution", 1)
    if len(block) == 2:
        pct = {}
        for m in re.finditer(
            r"^\s*([0-9.]+)%\s+([0-9.]+\s*(?:us|ms|s|m|h))\s*$", block[1], re.MULTILINE
        ):
            pct[m.group(1).rstrip("0").rstrip(".") or "0"] = duration_to_us(m.group(2))
        parsed["percentiles_us"] = pct
    return parsed


@dataclass
class Run:
    server: str
    round: int  # 0 for the warm-up
    duration_s: float
    requests: int
    ok: int
    rps: float
    latency_us: dict[str, float]
    errors: dict[str, int]
    status: dict[str, int]
    server_cpu_s: float
    idle_server_cpu_s: float  # the other server's CPU during this run
    settle_s: float  # how long --idle drain waited for both servers to go quiet first

    @property
    def cpu_ms_per_1k(self) -> float:
        return self.server_cpu_s * 1e6 / self.ok if self.ok else float("nan")


@dataclass
class Usage:
    """What `measured` saw: the server's and the other server's CPU, the wait before."""

    server_cpu_s: float = 0.0
    other_cpu_s: float = 0.0
    waited_s: float = 0.0


@contextlib.contextmanager
def measured(server: Server, other: Server | None, args: argparse.Namespace) -> Iterator[Usage]:
    """One run against `server`, with the other kept out of its way (see --idle)."""
    server.check_alive()
    usage = Usage()
    if args.idle == "drain":  # every run starts with both servers quiet (queues drained)
        usage.waited_s = sum(s.wait_quiet(args.settle_timeout) for s in (server, other) if s)
    if other is not None and args.idle == "freeze":
        other.freeze()
    try:
        cpu0 = server.cpu_seconds()
        idle0 = other.cpu_seconds() if other else 0.0
        yield usage
        usage.server_cpu_s = server.cpu_seconds() - cpu0
        usage.other_cpu_s = (other.cpu_seconds() - idle0) if other else 0.0
    finally:
        if other is not None and args.idle == "freeze":
            other.thaw()


def run_wrk(
    procs: Processes,
    server: Server,
    other: Server | None,
    args: argparse.Namespace,
    round_no: int,
    duration: float,
    secret_sig: str,
) -> Run:
    nonce = secrets.token_hex(4)  # new per run: delivery ids never repeat across runs
    argv = [
        "wrk",
        f"-t{args.threads}",
        f"-c{args.connections}",
        f"-d{duration:g}s",
        f"--timeout={args.request_timeout:g}s",
        "--latency",
        "-s",
        str(LUA_SCRIPT),
        f"http://{HOST}:{server.port}{server.webhook_path}",
        "--",
        str(FIXTURE),
        secret_sig,
        EVENT,
        nonce,
    ]
    with measured(server, other, args) as usage:
        result = procs.run(argv, timeout=duration + args.request_timeout + 30)
    cpu, idle, waited = usage.server_cpu_s, usage.other_cpu_s, usage.waited_s
    out = result.stdout.decode(errors="replace")
    if result.returncode != 0:
        raise BenchError(
            f"wrk failed ({result.returncode}) against {server.name}:\n{out[-2000:]}\n"
            f"{result.stderr.decode(errors='replace')[-2000:]}"
        )
    text = parse_wrk_text(out)
    m = re.search(r"^WRK_RESULT (\{.*\})\s*$", out, re.MULTILINE)
    if m:
        data = json.loads(m.group(1))
        duration_s = data["duration_us"] / 1e6
        requests = int(data["requests"])
        status = {k: int(v) for k, v in data["status"].items()}
        errors = {k: int(v) for k, v in data["errors"].items()}
        latency = {k: float(v) for k, v in data["latency_us"]["percentiles"].items()}
        latency.update({k: float(data["latency_us"][k]) for k in ("mean", "max")})
    else:  # the Lua done() hook did not print: fall back on wrk's own text
        log(f"[{server.name}] WARNING: no WRK_RESULT line; parsing wrk's text output")
        if "requests" not in text or "percentiles_us" not in text:
            raise BenchError(f"cannot parse wrk output:\n{out[-2000:]}")
        duration_s = text["duration_us"] / 1e6
        requests = text["requests"]
        non_ok = text.get("non_2xx_3xx", 0)
        status = {"2xx": requests - non_ok, "non_2xx_3xx": non_ok}
        errors = dict(text.get("socket_errors", {}), status=non_ok)
        latency = text["percentiles_us"]
    ok = status.get("2xx", 0)
    bad = {k: v for k, v in status.items() if k != "2xx" and v}
    sock = {k: v for k, v in errors.items() if k != "status" and v}
    if bad or sock or ok == 0:
        raise BenchError(
            f"[{server.name}] round {round_no}: {ok} 2xx, other statuses {bad or 'none'},"
            f" socket errors {sock or 'none'}: every request must get a 2xx.\n"
            f"wrk output:\n{out[-2000:]}\nserver output:\n{tail(server.log_path)}"
        )
    server.accepted += ok
    if "rps" in text and abs(text["rps"] - requests / duration_s) > 0.02 * text["rps"] + 1:
        log(
            f"[{server.name}] note: wrk text says {text['rps']:.0f} req/s,"
            f" done() says {requests / duration_s:.0f}"
        )
    return Run(
        server=server.name,
        round=round_no,
        duration_s=duration_s,
        requests=requests,
        ok=ok,
        rps=ok / duration_s,
        latency_us=latency,
        errors=errors,
        status=status,
        server_cpu_s=cpu,
        idle_server_cpu_s=idle,
        settle_s=waited,
    )


@dataclass
class PacedRun:
    server: str
    round: int
    result: dict[str, Any]  # benchmarks/paced.py's RESULT: rate achieved, latency in ms
    server_cpu_s: float


def run_paced(
    procs: Processes,
    server: Server,
    other: Server | None,
    args: argparse.Namespace,
    round_no: int,
    secret_sig: str,
) -> PacedRun:
    """`--paced-rate` deliveries a second, open loop (benchmarks/paced.py), each with a
    new delivery id; every one must get a 2xx."""
    headers = delivery_headers(secret_sig, "")  # paced.py gives each its own delivery id
    argv = [
        sys.executable, str(HERE / "paced.py"),
        "--url", f"http://{HOST}:{server.port}{server.webhook_path}",
        "--rate", f"{args.paced_rate:g}", "--seconds", f"{args.paced_seconds:g}",
        "--body", str(FIXTURE), "--id-header", "X-GitHub-Delivery",
        *(arg for name, value in headers.items() for arg in ("--header", f"{name}: {value}")),
    ]  # fmt: skip
    with measured(server, other, args) as usage:
        done = procs.run(argv, timeout=args.paced_seconds * 3 + 60)
    out = done.stdout.decode(errors="replace")
    line = next((ln for ln in out.splitlines() if ln.startswith("RESULT ")), None)
    if done.returncode != 0 or line is None:
        raise BenchError(
            f"[{server.name}] the paced client failed ({done.returncode}):\n{out[-2000:]}\n"
            f"{done.stderr.decode(errors='replace')[-2000:]}"
        )
    result = json.loads(line[len("RESULT ") :])
    if result["failures"]:
        raise BenchError(
            f"[{server.name}] paced round {round_no}: {result['failures']} of {result['sent']}"
            f" deliveries got no 2xx ({result['failed_by']}).\n"
            f"server output:\n{tail(server.log_path)}"
        )
    server.accepted += result["sent"]
    return PacedRun(server.name, round_no, result, usage.server_cpu_s)


def print_paced_report(
    servers: list[Server], runs: list[PacedRun], args: argparse.Namespace
) -> dict[str, dict[str, float]]:
    keys = ("p50_ms", "p90_ms", "p99_ms", "p99.9_ms", "max_ms")
    summary = {
        s.name: {
            **{k: statistics.median(r.result[k] for r in runs if r.server == s.name) for k in keys},
            "rate": statistics.median(
                r.result["achieved_rate"] for r in runs if r.server == s.name
            ),
            "cpu_ms_per_1k": statistics.median(
                r.server_cpu_s * 1e6 / r.result["sent"] for r in runs if r.server == s.name
            ),
        }
        for s in servers
    }
    print()
    print(
        f"Fixed rate: {args.paced_rate:g} deliveries/s for {args.paced_seconds:g} s per round,"
        f" {args.paced_rounds} rounds per server, open loop (benchmarks/paced.py: latency from"
        " each request's scheduled time to its full answer)"
    )
    header = (
        f"{'server':<10} {'sent/s':>8} {'p50 ms':>8} {'p90 ms':>8} {'p99 ms':>8}"
        f" {'p99.9 ms':>9} {'max ms':>8} {'CPU ms/1k req':>14}"
    )
    print(header)
    print("-" * len(header))
    for name, f in summary.items():
        print(
            f"{name:<10} {f['rate']:>8.0f} {f['p50_ms']:>8.2f} {f['p90_ms']:>8.2f}"
            f" {f['p99_ms']:>8.2f} {f['p99.9_ms']:>9.2f} {f['max_ms']:>8.2f}"
            f" {f['cpu_ms_per_1k']:>14.0f}"
        )
    if "deckhand" in summary and "probot" in summary:
        d, p = summary["deckhand"], summary["probot"]
        print(
            f"deckhand/probot at {args.paced_rate:g}/s: p50 x{d['p50_ms'] / p['p50_ms']:.2f},"
            f" p99 x{d['p99_ms'] / p['p99_ms']:.2f}, p99.9 x{d['p99.9_ms'] / p['p99.9_ms']:.2f}"
            " (lower is better)"
        )
    print("per round (p99 ms):")
    for s in servers:
        cells = [f"{r.result['p99_ms']:.2f}" for r in runs if r.server == s.name]
        print(f"  {s.name:<9} " + "  ".join(cells))
    return summary


def ensure_wrk(allow_install: bool, procs: Processes) -> str:
    path = shutil.which("wrk")
    if path:
        return path
    how = "install it with: apt-get update && apt-get install -y wrk"
    if not allow_install or os.geteuid() != 0 or shutil.which("apt-get") is None:
        raise BenchError(f"wrk is not installed; {how}")
    log("[wrk] not installed; apt-get install -y wrk ...")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    for argv in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "wrk"]):
        result = procs.run(argv, timeout=600, env=env)
        if result.returncode != 0:
            raise BenchError(
                f"{' '.join(argv)} failed:\n{result.stderr.decode(errors='replace')[-2000:]}\n{how}"
            )
    path = shutil.which("wrk")
    if not path:
        raise BenchError(f"wrk still missing after apt-get; {how}")
    return path


# --------------------------------------------------------------------------- Deckhand's store


def count_deliveries(db: Path, table: str) -> int:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)
    try:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if table not in tables:
            raise BenchError(
                f"no table {table!r} in {db}; tables: {sorted(tables)} (pass --deliveries-table)"
            )
        if not re.fullmatch(r"\w+", table):
            raise BenchError(f"odd table name {table!r}")
        return int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
    finally:
        conn.close()


def deliveries_by_status(db: Path, table: str) -> dict[str, int]:
    """Rows per `status` (queued, done, ...), where the table has that column."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)
    try:
        rows = conn.execute(f"SELECT status, count(*) FROM {table} GROUP BY status")
        return {str(k): int(v) for k, v in rows}
    finally:
        conn.close()


def settled(count: Callable[[], int], timeout: float = 15.0) -> int:
    """`count()` once it stops growing (in-flight requests cut off by wrk may still land)."""
    deadline = time.monotonic() + timeout
    last = count()
    while time.monotonic() < deadline:
        time.sleep(1.0)
        now = count()
        if now == last:
            return now
        last = now
    return last


# --------------------------------------------------------------------------- report


def fmt_ms(us: float) -> str:
    return f"{us / 1000:.2f}"


def summarize(runs: list[Run]) -> dict[str, float]:
    return {
        "rps": statistics.median(r.rps for r in runs),
        "rps_min": min(r.rps for r in runs),
        "rps_max": max(r.rps for r in runs),
        **{f"p{p}": statistics.median(r.latency_us[p] for r in runs) for p in PERCENTILES},
        "cpu_ms_per_1k": statistics.median(r.cpu_ms_per_1k for r in runs),
        "other_cpu_s": statistics.median(r.idle_server_cpu_s for r in runs),
        "settle_s": statistics.median(r.settle_s for r in runs),
        "ok": sum(r.ok for r in runs),
    }


def print_report(
    servers: list[Server], runs: list[Run], args: argparse.Namespace, payload_len: int
) -> dict[str, dict[str, float]]:
    names = [s.name for s in servers]
    summary = {n: summarize([r for r in runs if r.server == n and r.round > 0]) for n in names}
    print()
    print(
        f"Webhook ingest, {args.rounds} rounds x {args.duration:g} s per server,"
        f" wrk -t{args.threads} -c{args.connections}, signed `push` payload of"
        f" {payload_len} bytes, unique X-GitHub-Delivery per request;"
        f" idle server policy: {args.idle}"
    )
    print(
        f"machine: {os.cpu_count()} CPUs, load average before the run"
        f" {args.loadavg_before}; Python {platform.python_version()}"
    )
    for srv in servers:
        extra = ", ".join(f"{k} {v}" for k, v in srv.info.items() if k != "database")
        print(
            f"  {srv.name}: {' '.join(Path(a).name if '/' in a else a for a in srv.argv)}"
            + (f" ({extra})" if extra else "")
        )
    print()
    header = (
        f"{'server':<10} {'req/s':>9} {'(min-max)':>15} {'p50 ms':>8} {'p90 ms':>8}"
        f" {'p99 ms':>8} {'p99.9 ms':>9} {'CPU ms/1k req':>14}"
    )
    print(header)
    print("-" * len(header))
    for n in names:
        s = summary[n]
        spread = f"({s['rps_min']:.0f}-{s['rps_max']:.0f})"
        print(
            f"{n:<10} {s['rps']:>9.0f} {spread:>15}"
            f" {fmt_ms(s['p50']):>8} {fmt_ms(s['p90']):>8} {fmt_ms(s['p99']):>8}"
            f" {fmt_ms(s['p99.9']):>9} {s['cpu_ms_per_1k']:>14.0f}"
        )
    print(
        "(medians across rounds; latency percentiles are wrk's, per round, then the median;"
        " CPU is the server's own user+system time)"
    )
    if "deckhand" in summary and "probot" in summary:
        d, p = summary["deckhand"], summary["probot"]
        print()
        print(
            f"deckhand/probot: req/s x{d['rps'] / p['rps']:.2f} (higher is better),"
            f" p50 x{d['p50'] / p['p50']:.2f}, p99 x{d['p99'] / p['p99']:.2f}"
            f" (lower is better), CPU per request x{d['cpu_ms_per_1k'] / p['cpu_ms_per_1k']:.2f}"
        )
        print(
            f"CPU the idle server used during the other's rounds (--idle {args.idle};"
            f" median s per round): deckhand {p['other_cpu_s']:.2f} while probot ran,"
            f" probot {d['other_cpu_s']:.2f} while deckhand ran"
        )
        if args.idle == "drain":
            print(
                f"waited for both servers to go quiet before each round (median s):"
                f" {d['settle_s']:.0f} before deckhand's, {p['settle_s']:.0f} before probot's"
            )
    print()
    print("per round (req/s, p99 ms):")
    for n in names:
        cells = [
            f"{r.rps:.0f}/{fmt_ms(r.latency_us['99'])}"
            for r in runs
            if r.server == n and r.round > 0
        ]
        print(f"  {n:<9} " + "  ".join(cells))
    for n in names:
        measured = [r for r in runs if r.server == n and r.round > 0]
        first, last = measured[0].rps, measured[-1].rps
        if len(measured) >= 3 and last < 0.7 * first:
            print(
                f"note: {n}'s throughput fell from {first:.0f} to {last:.0f} req/s over the"
                " rounds: the median hides a trend (for Deckhand, look at its queue backlog)"
            )
    return summary


# --------------------------------------------------------------------------- main


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Webhook ingest benchmark: Deckhand vs a no-op Probot 14 app.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--rounds", type=int, default=5, help="measured rounds per server")
    parser.add_argument("--duration", type=float, default=10, help="seconds per round")
    parser.add_argument("--warmup", type=float, default=5, help="warm-up seconds per server")
    parser.add_argument("--connections", "-c", type=int, default=32)
    parser.add_argument("--threads", "-t", type=int, default=2, help="wrk threads")
    parser.add_argument(
        "--request-timeout",
        type=float,
        default=10,
        help="wrk --timeout: a slower answer counts as an error",
    )
    parser.add_argument(
        "--servers", default="deckhand,probot", help="comma-separated: deckhand, probot or both"
    )
    parser.add_argument(
        "--wait-for-deckhand",
        type=float,
        default=0,
        metavar="MINUTES",
        help="poll this long for app/__main__.py before giving up",
    )
    parser.add_argument(
        "--deliveries-table", default="deliveries", help="Deckhand's table of persisted deliveries"
    )
    parser.add_argument(
        "--python",
        default=str(REPO / ".venv" / "bin" / "python"),
        help="interpreter that runs `-m app`",
    )
    parser.add_argument(
        "--start-timeout",
        type=float,
        default=60,
        help="seconds a server may take to answer its readiness check",
    )
    parser.add_argument("--pause", type=float, default=1.0, help="seconds between runs")
    parser.add_argument(
        "--idle",
        choices=("drain", "freeze", "run"),
        default="drain",
        help="keeping the two servers out of each other's way. drain: before every run,"
        " wait until both servers use under 5%% of a core (up to --settle-timeout each),"
        " so every round starts with Deckhand's queue worked off: steady figures, about"
        " 10 minutes with the defaults. freeze: SIGSTOP the server not being measured,"
        " no waiting (about 2.5 minutes), but Deckhand's backlog, and with it its cost"
        " per delivery, grows from round to round. run: do neither; the idle server's CPU"
        " is only reported",
    )
    parser.add_argument(
        "--settle-timeout",
        type=float,
        default=180,
        help="--idle drain: longest wait for one server to go quiet (then measure anyway)",
    )
    parser.add_argument(
        "--paced-rate",
        type=float,
        default=1000,
        help="after the wrk rounds, latency at this fixed rate (deliveries/s, open loop,"
        " below both servers' capacity); 0 skips it",
    )
    parser.add_argument("--paced-seconds", type=float, default=10, help="seconds per paced run")
    parser.add_argument("--paced-rounds", type=int, default=3, help="paced runs per server")
    parser.add_argument("--json", type=Path, help="also write every figure to this file")
    parser.add_argument(
        "--noop-handler",
        action="store_true",
        help="give Deckhand a no-op push handler (benchmarks/noop.py), like the Probot app's:"
        " every delivery is then queued and handled, not stored as ignored",
    )
    parser.add_argument(
        "--keep-tmp",
        action="store_true",
        help="keep the temporary folder (database, logs, node_modules)",
    )
    parser.add_argument(
        "--no-install", action="store_true", help="never apt-get install wrk; fail if it is missing"
    )
    args = parser.parse_args(argv)
    args.server_names = [s.strip() for s in args.servers.split(",") if s.strip()]
    if not args.server_names or set(args.server_names) - {"deckhand", "probot"}:
        parser.error("--servers takes deckhand, probot or deckhand,probot")
    if args.rounds < 1 or args.duration <= 0 or args.warmup < 0:
        parser.error("--rounds must be >= 1, --duration > 0, --warmup >= 0")
    if args.threads < 1 or args.connections < args.threads:
        parser.error("need --threads >= 1 and --connections >= --threads")
    return args


def bench(args: argparse.Namespace, procs: Processes, tmp: Path) -> int:
    ensure_wrk(not args.no_install, procs)
    body = FIXTURE.read_bytes()
    json.loads(body)  # the fixture must be the JSON it claims to be
    secret = secrets.token_hex(20)
    sig = signature(secret, body)
    args.loadavg_before = " ".join(f"{x:.2f}" for x in os.getloadavg())

    servers: list[Server] = []
    if "probot" in args.server_names:
        app_dir = install_probot(procs, tmp)
        servers.append(make_probot(app_dir, tmp, secret))
    if "deckhand" in args.server_names:
        if not deckhand_available() and not wait_for_deckhand(args.wait_for_deckhand * 60):
            raise BenchError(
                "Deckhand is not there yet (no app/__main__.py). Run Probot alone with"
                " --servers probot, or wait for it with --wait-for-deckhand MINUTES."
            )
        servers.insert(0, make_deckhand(tmp, secret, args.python, args.noop_handler))

    for server in servers:
        server.start(procs, args.start_timeout)
        server.probe(body, secret)

    def other_of(server: Server) -> Server | None:
        return next((s for s in servers if s is not server), None)

    runs: list[Run] = []
    if args.warmup > 0:
        for server in servers:
            log(f"[{server.name}] warm-up {args.warmup:g} s")
            run = run_wrk(procs, server, other_of(server), args, 0, args.warmup, sig)
            runs.append(run)
            time.sleep(args.pause)
    for round_no in range(1, args.rounds + 1):
        # ABBA order (D P, P D, D P ...): a drift in machine load hits both alike.
        order = servers if round_no % 2 else list(reversed(servers))
        for server in order:
            run = run_wrk(procs, server, other_of(server), args, round_no, args.duration, sig)
            runs.append(run)
            log(
                f"[{server.name}] round {round_no}/{args.rounds}: {run.rps:8.0f} req/s,"
                f" p50 {fmt_ms(run.latency_us['50'])} ms, p99 {fmt_ms(run.latency_us['99'])} ms,"
                f" CPU {run.cpu_ms_per_1k:.0f} ms/1k req;"
                f" other server: {run.idle_server_cpu_s:.2f} s CPU, waited {run.settle_s:.0f} s"
            )
            time.sleep(args.pause)

    paced_runs: list[PacedRun] = []
    if args.paced_rate > 0:
        for round_no in range(1, args.paced_rounds + 1):
            order = servers if round_no % 2 else list(reversed(servers))
            for server in order:
                paced = run_paced(procs, server, other_of(server), args, round_no, sig)
                paced_runs.append(paced)
                log(
                    f"[{server.name}] paced round {round_no}/{args.paced_rounds}:"
                    f" {paced.result['achieved_rate']:.0f}/s, p50 {paced.result['p50_ms']} ms,"
                    f" p99 {paced.result['p99_ms']} ms"
                )
                time.sleep(args.pause)

    for server in servers:
        server.check_alive()
    summary = print_report(servers, runs, args, len(body))
    paced_summary = print_paced_report(servers, paced_runs, args) if paced_runs else {}

    status = 0
    persisted: dict[str, Any] = {}
    deckhand = next((s for s in servers if s.name == "deckhand"), None)
    if deckhand is not None:
        db = Path(deckhand.info["database"])
        rows = settled(lambda: count_deliveries(db, args.deliveries_table))
        persisted = {"rows": rows, "accepted_2xx": deckhand.accepted}
        with contextlib.suppress(sqlite3.Error):
            persisted["by_status"] = deliveries_by_status(db, args.deliveries_table)
        print()
        verdict = "OK" if rows >= deckhand.accepted else "FAIL"
        print(
            f"deckhand durability: {deckhand.accepted} deliveries answered 2xx"
            f" (probe, warm-up and rounds), {rows} rows in {args.deliveries_table}: {verdict}"
            + (
                f" ({rows - deckhand.accepted} more rows: requests cut off by wrk's stop"
                " were persisted but their answers not counted)"
                if rows > deckhand.accepted
                else ""
            )
        )
        if persisted.get("by_status"):
            print(f"deckhand rows by status: {json.dumps(persisted['by_status'])}")
        queue = deckhand.queue_state()
        if queue:
            print(f"deckhand queue after the run (GET {deckhand.ready_path}): {queue}")
        if rows < deckhand.accepted:
            status = 1
            print(
                f"FAIL: {deckhand.accepted - rows} acknowledged deliveries are missing"
                " from the database"
            )

    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "settings": {k: v for k, v in vars(args).items() if k not in ("json",)},
                    "servers": {s.name: {"argv": s.argv, **s.info} for s in servers},
                    "summary": summary,
                    "paced_summary": paced_summary,
                    "persisted": persisted,
                    "runs": [asdict(r) for r in runs],
                    "paced_runs": [asdict(r) for r in paced_runs],
                },
                indent=2,
                default=str,
            )
        )
        log(f"wrote {args.json}")
    return status


@contextlib.contextmanager
def terminate_as_interrupt() -> Iterator[None]:
    """SIGINT, SIGTERM and SIGHUP unwind as KeyboardInterrupt, so the cleanup always runs.

    SIGINT is set explicitly: a shell starts background jobs with it ignored.
    """

    def handler(signum: int, _frame: object) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    old = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for s, h in old.items():
            signal.signal(s, h)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    procs = Processes()
    tmp = Path(tempfile.mkdtemp(prefix="deckhand-ingest-"))
    try:
        with terminate_as_interrupt():
            return bench(args, procs, tmp)
    except BenchError as exc:
        log(f"\nFAILED: {exc}")
        return 1
    except KeyboardInterrupt:
        log("\ninterrupted")
        return 130
    finally:
        # A second Ctrl-C must not cut the cleanup short.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        procs.stop_all()
        signal.signal(signal.SIGINT, signal.default_int_handler)
        if args.keep_tmp:
            log(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
