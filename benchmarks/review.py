"""Benchmark the review bot end to end: GitHub API calls, latency, and git transfer.

Runs Deckhand in this process (web + embedded workers) against the test suite's fake
GitHub and its real smart-HTTP git server (`git http-backend`) on loopback, and prints:

1. API calls per `pull_request.synchronize` with a 5-file change (after a first run has
   cached the token, the config and the bot's identity), by operation.
2. Webhook to completed check run for a 20-file pull request: median and p95 of N.
3. A fix commit on a large repository (50,000 files, long history): time and bytes
   from webhook to pushed commit, cold (empty cache) and warm (cached), beside a plain
   full `git clone` of the same repository over the same server.

Usage: python benchmarks/review.py [--runs N] [--files 50000] [--history 300]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.logs import configure_logging
from benchmarks.harness import INSTALLATION, Bench

CLEAN = "def handler(event):\n    return event\n"
BROKEN = "def handler(event)\n    return event\n"


async def api_calls(bench: Bench) -> None:
    repo = "octo-org/calls"
    files = {f"svc/mod{i}.py": CLEAN for i in range(30)}
    bench.git.create_repo(repo, files, installation_id=INSTALLATION)
    # A first run warms what a running service keeps: token, config, the bot's identity.
    broken = bench.git.commit(repo, "feature", {"svc/mod0.py": BROKEN}, message="one")
    number = bench.gh.open_pull_request(repo, head="feature", base="main", user="alice")
    await bench.deliver(
        "pull_request", bench.gh.payloads.pull_request_payload(repo, number, "opened", INSTALLATION)
    )
    await bench.pushed(repo, broken)
    await bench.settled()
    first = bench.git.head(repo, "feature")
    changes = {f"svc/mod{i}.py": "import os\n" + CLEAN for i in range(1, 6)}
    second = bench.git.commit(repo, "feature", changes, message="five files")
    before = len(bench.gh.requests)
    payload = bench.gh.payloads.pull_request_payload(
        repo, number, "synchronize", INSTALLATION, before=first
    )
    await bench.deliver("pull_request", payload)
    await bench.pushed(repo, second)
    await bench.settled()  # the review and summary come after the push
    calls = Counter(r.operation_id or f"{r.method} {r.path}" for r in bench.gh.requests[before:])
    total = sum(calls.values())
    print("1. GitHub API calls for one synchronize with 5 changed files (fix commit pushed):")
    for operation, count in sorted(calls.items()):
        print(f"   {count}  {operation}")
    print(f"   total {total} (goal: at most 6 plus one per 50 annotations)")


async def latency(bench: Bench, runs: int) -> None:
    repo = "octo-org/latency"
    bench.git.create_repo(
        repo, {f"pkg/m{i}.py": CLEAN for i in range(40)}, installation_id=INSTALLATION
    )
    seconds = []
    for n in range(runs):
        changes = {f"pkg/m{i}.py": f"import os\n{CLEAN}# {n}\n" for i in range(20)}
        head = bench.git.commit(repo, f"pr-{n}", changes, message=f"twenty files {n}")
        number = bench.gh.open_pull_request(repo, head=f"pr-{n}", base="main", user="alice")
        payload = bench.gh.payloads.pull_request_payload(repo, number, "opened", INSTALLATION)
        start = time.perf_counter()
        await bench.deliver("pull_request", payload)
        await bench.completed_run(head)
        seconds.append(time.perf_counter() - start)
    seconds.sort()
    p95 = seconds[min(len(seconds) - 1, round(0.95 * (len(seconds) - 1)))]
    print(f"2. webhook -> completed check run, 20-file PR, {runs} runs:")
    print(f"   median {statistics.median(seconds):.3f} s, p95 {p95:.3f} s (goal: under 2 s)")


WORDS = (
    "value result items count total index name config record buffer offset limit "
    "window payload request response handler session token cache entry parent child"
).split()


def module_text(index: int, revision: int) -> bytes:
    """About 2 KB of distinct, plausible Python (every file differs, as in a real tree)."""
    rng = random.Random(index * 1_000_003 + revision)
    lines = [f"# module {index} revision {revision}"]
    for number in range(12):
        a, b, c = rng.sample(WORDS, 3)
        lines += [
            f"def {a}_{b}_{index}_{number}({c}, {b}={rng.randint(0, 9999)}):",
            f"    {a} = {c} * {rng.randint(1, 999)} + {b}",
            f"    return {a} - {rng.randint(0, 99999)}",
            "",
        ]
    return ("\n".join(lines) + "\n").encode()


def fast_import(bare: Path, files: int, history: int) -> None:
    """Add `history` commits to main, the first writing `files` files of ~2 KB."""
    stream: list[bytes] = []
    when = 1_700_000_000
    for n in range(history):
        changed = range(files) if n == 0 else [(n * 7919) % files]
        lines = [
            b"commit refs/heads/main",
            f"committer Dev <dev@example.com> {when + n} +0000".encode(),
            b"data %d" % len(f"change {n}"),
            f"change {n}".encode(),
        ]
        if n == 0:
            lines.append(b"from refs/heads/main^0")
        for index in changed:
            data = module_text(index, n)
            lines += [
                f"M 100644 inline src/pkg{index // 500}/mod{index}.py".encode(),
                b"data %d" % len(data),
                data,
            ]
        stream.append(b"\n".join(lines) + b"\n")
    subprocess.run(["git", "fast-import", "--quiet"], cwd=bare, input=b"".join(stream), check=True)


async def large_repository(bench: Bench, files: int, history: int) -> None:
    repo = "octo-org/monorepo"
    bench.git.create_repo(repo, {"README.md": "# big\n"}, installation_id=INSTALLATION)
    bare = bench.git.bare(repo).path
    started = time.perf_counter()
    fast_import(Path(bare), files, history)
    generated = time.perf_counter() - started
    print(f"3. large repository: {files} files, {history} commits (made in {generated:.1f} s)")
    token = bench.gh.issue_token(INSTALLATION).token
    clone_seconds, clone_bytes = [], []
    for _ in range(3):
        target = Path(tempfile.mkdtemp(prefix="full-clone-"))
        mark = len(bench.git.requests)
        start = time.perf_counter()
        await asyncio.to_thread(
            subprocess.run,
            [
                "git",
                "clone",
                "--quiet",
                "--bare",
                bench.git.authenticated_url(repo, token),
                str(target / "c.git"),
            ],
            check=True,
        )
        clone_seconds.append(time.perf_counter() - start)
        clone_bytes.append(sum(r.bytes_sent for r in bench.git.requests[mark:]))
        shutil.rmtree(target)
    results: dict[str, list[tuple[float, int]]] = {"cold": [], "warm": []}
    for n in range(4):
        kind = "cold" if n % 2 == 0 else "warm"
        if kind == "cold":
            shutil.rmtree(bench.root / "git", ignore_errors=True)
            from app.git import mirror as mirror_module

            mirror_module._MIRRORS.clear()
        head = bench.git.commit(
            repo, f"fix-{n}", {f"src/pkg3/mod{1500 + n}.py": BROKEN}, message=f"break {n}"
        )
        number = bench.gh.open_pull_request(repo, head=f"fix-{n}", base="main", user="alice")
        payload = bench.gh.payloads.pull_request_payload(repo, number, "opened", INSTALLATION)
        mark = len(bench.git.requests)
        start = time.perf_counter()
        await bench.deliver("pull_request", payload)
        await bench.pushed(repo, head)
        elapsed = time.perf_counter() - start
        sent = sum(r.bytes_sent + r.bytes_received for r in bench.git.requests[mark:])
        results[kind].append((elapsed, sent))
    full_s, full_b = statistics.median(clone_seconds), statistics.median(clone_bytes)
    print(f"   full clone:        {full_s:7.2f} s  {full_b / 1e6:8.2f} MB")
    for kind, items in results.items():
        seconds = statistics.median(t for t, _ in items)
        size = statistics.median(b for _, b in items)
        print(
            f"   deckhand {kind:5}:    {seconds:7.2f} s  {size / 1e6:8.2f} MB"
            f"   (x{seconds / full_s:.2f} time, {100 * size / full_b:.1f}% bytes of a full clone)"
        )
    print("   goals: under 5% of the bytes, warm under 3 s, cold at most half the clone's time")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--files", type=int, default=50_000)
    parser.add_argument("--history", type=int, default=300)
    parser.add_argument("--skip-large", action="store_true")
    args = parser.parse_args()
    configure_logging("warning", "json")
    root = Path(tempfile.mkdtemp(prefix="deckhand-review-bench-"))
    try:
        async with Bench(root) as bench:
            await api_calls(bench)
            await latency(bench, args.runs)
            if not args.skip_large:
                await large_repository(bench, args.files, args.history)
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    asyncio.run(main())
