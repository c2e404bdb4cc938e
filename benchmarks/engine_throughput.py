"""Validation throughput on Django 5.2's source, side by side with ruff in one run.

Downloads the Django 5.2 wheel from the package index into a temporary folder (or uses
`--tree DIR`), then times `python -m app validate django --format json` (every check:
syntax, ruff lint and security, config files, secrets, imports) three ways:

- cold: an empty result cache (a new `--cache-dir` for every run), alternating with
  `ruff check --no-cache --isolated --select ALL django`; the goal is at most 3x ruff;
- warm: nothing changed since the previous run, everything comes from the cache;
- incremental: one Python file changed (a comment appended) before every run.

The goals for warm and incremental are under 0.3 s. Prints medians (wall clock, and
the CPU time of the process and its children, steadier on a shared machine) and the
ratios to ruff; checks that warm and incremental runs report what the cold run did.
Also reports what the engine found, which on a clean large codebase measures the
secrets scan's precision (no findings expected).

    .venv/bin/python benchmarks/engine_throughput.py [--runs 5] [--tree DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.django_source import fetch_django  # noqa: E402

CHANGED_FILE = "django/utils/text.py"  # the file the incremental runs change
GOAL_COLD_RATIO = 3.0
GOAL_WARM_SECONDS = 0.3


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(command: list[str], cwd: Path) -> tuple[float, float, str]:
    """Wall-clock seconds, CPU seconds (the process and its children) and stdout."""
    cpu = _children_cpu()
    started = time.perf_counter()
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=600)
    elapsed = time.perf_counter() - started
    if result.returncode not in (0, 1):
        raise SystemExit(f"{command[0]} failed: {result.stderr[-2000:]}")
    return elapsed, _children_cpu() - cpu, result.stdout


def _same_findings(expected: str, got: str, what: str) -> None:
    if json.loads(expected)["findings"] != json.loads(got)["findings"]:
        raise SystemExit(f"{what} run reported something else than the cold run")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--tree", type=Path, help="a folder holding django/ (skips download)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="deckhand-engine-") as tmp:
        root = (args.tree or fetch_django(Path(tmp))).absolute()
        caches = Path(tmp) / "caches"
        ruff = [str(Path(sys.executable).with_name("ruff"))]
        deckhand_cmd = [sys.executable, "-m", "app", "validate", "django", "--format", "json"]
        ruff_cmd = [*ruff, "check", "--no-cache", "--isolated", "--select", "ALL", "--exit-zero"]
        ruff_cmd += ["-q", "django"]
        wall: dict[str, list[float]] = {k: [] for k in ("cold", "ruff", "warm", "incremental")}
        cpu: dict[str, list[float]] = {k: [] for k in wall}
        output = ""
        for run in range(args.runs):
            cold_cmd = [*deckhand_cmd, "--cache-dir", str(caches / f"cold-{run}")]
            order = [("cold", cold_cmd), ("ruff", ruff_cmd)]
            for name, command in order if run % 2 == 0 else reversed(order):
                elapsed, used, stdout = timed(command, root)
                wall[name].append(elapsed)
                cpu[name].append(used)
                if name == "cold":
                    output = stdout

        cached_cmd = [*deckhand_cmd, "--cache-dir", str(caches / "cold-0")]
        timed(cached_cmd, root)  # settle the cache (stats of files read in the cold run)
        for _ in range(args.runs):
            elapsed, used, stdout = timed(cached_cmd, root)
            wall["warm"].append(elapsed)
            cpu["warm"].append(used)
        _same_findings(output, stdout, "a warm")

        changed = root / CHANGED_FILE
        original = changed.read_bytes()
        try:
            for run in range(args.runs):
                changed.write_bytes(original + f"# deckhand benchmark {run}\n".encode())
                elapsed, used, stdout = timed(cached_cmd, root)
                wall["incremental"].append(elapsed)
                cpu["incremental"].append(used)
        finally:
            changed.write_bytes(original)
        _same_findings(output, stdout, "an incremental")

        py_files = sum(1 for _ in (root / "django").rglob("*.py"))
        report = json.loads(output)
        med = {name: statistics.median(values) for name, values in wall.items()}
        med_cpu = {name: statistics.median(values) for name, values in cpu.items()}
        print(
            f"Django 5.2: {report['summary']['files']} files ({py_files} Python), "
            f"{args.runs} runs each, {os.cpu_count()} cores"
        )
        print("  median wall-clock s (CPU s: process and children)")
        rows = [
            ("deckhand validate, cold (empty cache)", "cold"),
            ("ruff --select ALL --no-cache", "ruff"),
            ("deckhand validate, warm (all cached)", "warm"),
            ("deckhand validate, incremental (1 file)", "incremental"),
        ]
        for label, key in rows:
            print(f"  {label:<42} {med[key]:6.2f} s  ({med_cpu[key]:.2f} s CPU)")
        print(
            f"  ratio cold/ruff: x{med['cold'] / med['ruff']:.2f} "
            f"(goal: at most x{GOAL_COLD_RATIO:g}); "
            f"warm/ruff: x{med['warm'] / med['ruff']:.2f}; "
            f"incremental/ruff: x{med['incremental'] / med['ruff']:.2f}"
        )
        for key in ("warm", "incremental"):
            verdict = "met" if med[key] < GOAL_WARM_SECONDS else "NOT met"
            print(f"  {key}: goal under {GOAL_WARM_SECONDS} s {verdict}")
        rules = Counter(f["rule"].split("/")[0] for f in report["findings"])
        secrets = [f for f in report["findings"] if f["rule"].startswith("secrets/")]
        print(f"  findings by family: {dict(rules)}; secrets findings: {len(secrets)}")


if __name__ == "__main__":
    main()
