"""Validation throughput on Django 5.2's source, side by side with ruff in one run.

Downloads the Django 5.2 wheel from the package index into a temporary folder (or uses
`--tree DIR`), then times, alternating, `python -m app validate django --format json`
(every check: syntax, ruff lint and security, config files, secrets, imports) and
`ruff check --no-cache --isolated --select ALL django`, and prints medians and the ratio.
The goal is Deckhand cold at most 3x ruff's time. Also reports what the engine found,
which on a clean large codebase measures the secrets scan's precision (no findings
expected).

    .venv/bin/python benchmarks/engine_throughput.py [--runs 5] [--tree DIR]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DJANGO = "django==5.2"


def fetch_django(folder: Path) -> Path:
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "-q", "--no-deps", DJANGO, "-d", str(folder)],
        check=True,
        timeout=300,
    )
    wheel = next(folder.glob("Django-*.whl"))
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(folder / "src")
    return folder / "src"


def timed(command: list[str], cwd: Path) -> tuple[float, str]:
    started = time.perf_counter()
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=600)
    elapsed = time.perf_counter() - started
    if result.returncode not in (0, 1):
        raise SystemExit(f"{command[0]} failed: {result.stderr[-2000:]}")
    return elapsed, result.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--tree", type=Path, help="a folder holding django/ (skips download)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="deckhand-engine-") as tmp:
        root = args.tree or fetch_django(Path(tmp))
        ruff = [str(Path(sys.executable).with_name("ruff"))]
        deckhand_cmd = [sys.executable, "-m", "app", "validate", "django", "--format", "json"]
        ruff_cmd = [*ruff, "check", "--no-cache", "--isolated", "--select", "ALL", "--exit-zero"]
        ruff_cmd += ["-q", "django"]
        timings: dict[str, list[float]] = {"deckhand": [], "ruff": []}
        output = ""
        for run in range(args.runs):
            order = [("deckhand", deckhand_cmd), ("ruff", ruff_cmd)]
            for name, command in order if run % 2 == 0 else reversed(order):
                elapsed, stdout = timed(command, root)
                timings[name].append(elapsed)
                if name == "deckhand":
                    output = stdout
        py_files = sum(1 for _ in (root / "django").rglob("*.py"))
        report = json.loads(output)
        deckhand, ruff_time = (statistics.median(timings[k]) for k in ("deckhand", "ruff"))
        print(
            f"Django 5.2: {report['summary']['files']} files ({py_files} Python), {args.runs} runs"
        )
        print(f"  deckhand validate (all checks, cold): median {deckhand:.2f} s")
        print(f"  ruff --select ALL --no-cache:         median {ruff_time:.2f} s")
        print(f"  ratio deckhand/ruff: x{deckhand / ruff_time:.2f} (goal: at most x3)")
        rules = Counter(f["rule"].split("/")[0] for f in report["findings"])
        secrets = [f for f in report["findings"] if f["rule"].startswith("secrets/")]
        print(f"  findings by family: {dict(rules)}; secrets findings: {len(secrets)}")
        print("  warm (cache hit) and incremental runs: no result cache yet, not measured")


if __name__ == "__main__":
    main()
