"""Benchmark the automatic rollback: from the failing health check that crosses the
threshold to the rollback deployment existing on GitHub.

Runs Deckhand in this process against the fake GitHub, the real git server and a real
HTTP service standing in for the deployed app. Each round deploys a good commit and a
bad one (both reported successful by "CI"), lets the health target fail, and measures
the time from the arrival of the `failures`-th failing probe at the target to the
creation of the rollback deployment in the fake GitHub. Prints the median and p95.

Usage: python benchmarks/rollback.py [--rounds 10]
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.logs import configure_logging
from benchmarks.harness import INSTALLATION, Bench
from tests.fakes.health_target import HealthTarget

REPO = "octo-org/service"
FAILURES = 3


def config(url: str) -> str:
    return f"""
deploy:
  environments:
    production:
      required_checks: []
      health: {{url: "{url}", interval: 100ms, window: 60s, failures: {FAILURES}, timeout: 1s}}
"""


async def comment(bench: Bench, number: int, body: str) -> None:
    seeded = bench.gh.add_issue_comment(REPO, number, body, user="maintainer")
    await bench.deliver(
        "issue_comment", bench.gh.payloads.issue_comment_payload(seeded.id, INSTALLATION)
    )


async def deployed(bench: Bench, count: int, within: float = 30.0) -> Any:
    """The newest deployment once there are `count` (polling the fake every 2 ms)."""
    for _ in range(int(within / 0.002)):
        if len(bench.gh.deployments) >= count:
            return max(bench.gh.deployments.values(), key=lambda d: d.id)
        await asyncio.sleep(0.002)
    raise TimeoutError(f"fewer than {count} deployments")


async def round_trip(bench: Bench, target: HealthTarget, number: int, n: int) -> float:
    target.healthy()
    for label in ("good", "bad"):
        head = bench.git.commit(REPO, "feature", {"app.py": f"x = {n}  # {label}\n"}, message=label)
        bench.gh.add_check_run(REPO, "ci", head, status="completed", conclusion="success")
        before = len(bench.gh.deployments)
        await comment(bench, number, "/deploy production")
        deployment = await deployed(bench, before + 1)
        bench.gh.report_deployment(REPO, deployment.id, "success")
        await bench.deliver(
            "deployment_status",
            bench.gh.payloads.deployment_status_payload(REPO, deployment.id, INSTALLATION),
        )
        await asyncio.sleep(0.35 if label == "good" else 0.0)
    hits = len(target.requests)
    target.failing(503)
    before = len(bench.gh.deployments)
    rollback = await deployed(bench, before + 1)
    failing = target.requests[hits:]
    crossing = failing[FAILURES - 1].at
    target.healthy()
    bench.gh.report_deployment(REPO, rollback.id, "success")
    await bench.deliver(
        "deployment_status",
        bench.gh.payloads.deployment_status_payload(REPO, rollback.id, INSTALLATION),
    )
    await comment(bench, number, "/unlock production")
    await bench.settled(0.2)
    return rollback.created_at - crossing


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args()
    configure_logging("warning", "json")
    root = Path(tempfile.mkdtemp(prefix="deckhand-rollback-bench-"))
    try:
        async with HealthTarget() as target, Bench(root, config_cache=False) as bench:
            bench.git.create_repo(
                REPO,
                {"app.py": "x = 0\n", ".github/deckhand.yml": config(target.url)},
                installation_id=INSTALLATION,
            )
            bench.gh.set_collaborator(REPO, "maintainer", "write")
            bench.git.commit(REPO, "feature", {"app.py": "x = 1\n"}, message="start")
            number = bench.gh.open_pull_request(REPO, head="feature", base="main", user="alice")
            seconds = [await round_trip(bench, target, number, n) for n in range(args.rounds)]
    finally:
        shutil.rmtree(root, ignore_errors=True)
    seconds.sort()
    p95 = seconds[min(len(seconds) - 1, round(0.95 * (len(seconds) - 1)))]
    print(f"failing probe #{FAILURES} -> rollback deployment created, {len(seconds)} rounds:")
    median = statistics.median(seconds) * 1000
    print(f"   median {median:.0f} ms, p95 {p95 * 1000:.0f} ms (goal: under 1 s)")


if __name__ == "__main__":
    asyncio.run(main())
