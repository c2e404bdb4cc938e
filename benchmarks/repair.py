"""Benchmark ``repair_syntax`` on pairs of broken/fixed Python files.

Reads ``../shared/syntax-errors/dev-pairs.jsonl`` (relative to the repository root) when
present: JSON lines with ``bad_source``, ``fixed_source``, ``category`` and ``changed_lines``.
Nothing from that file is stored in the repository. Prints, per category: count, exact
(the repaired AST equals the fixed AST), parses-but-different, abstained, left unparsable
(must be 0), median and p95 milliseconds.

Usage: python benchmarks/repair.py [--limit N] [--category C] [--path FILE]
"""

from __future__ import annotations

import argparse
import ast
import json
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.engine.repair import repair_syntax

DEFAULT = Path(__file__).resolve().parent.parent.parent / "shared/syntax-errors/dev-pairs.jsonl"
HEADLINE = ("missing-colon", "unclosed-bracket", "extra-or-mismatched-bracket", "indentation")


def _dump(source: str) -> str | None:
    try:
        tree = compile(source, "<bench>", "exec", flags=ast.PyCF_ONLY_AST, dont_inherit=True)
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return None
    return ast.dump(tree)


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=0)
    parser.add_argument("--category", default="")
    parser.add_argument("--path", default=str(DEFAULT))
    args = parser.parse_args()
    path = Path(args.path)
    if not path.exists():
        print(f"no data at {path}")
        return 0
    rows: dict[str, list[tuple[str, float]]] = defaultdict(list)
    headline: list[str] = []
    headline_ms: list[float] = []
    seen = 0
    with path.open(encoding="utf-8") as handle:
        for raw in handle:
            pair = json.loads(raw)
            if args.category and pair["category"] != args.category:
                continue
            if args.limit and seen >= args.limit:
                break
            seen += 1
            start = time.perf_counter()
            result = repair_syntax(pair["bad_source"])
            elapsed = (time.perf_counter() - start) * 1000
            if result.text is None:
                outcome = "abstained"
            else:
                got = _dump(result.text)
                if got is None:
                    outcome = "unparsable"
                elif got == _dump(pair["fixed_source"]):
                    outcome = "exact"
                else:
                    outcome = "different"
            rows[pair["category"]].append((outcome, elapsed))
            if pair["category"] in HEADLINE and pair.get("changed_lines", 99) <= 2:
                headline.append(outcome)
                headline_ms.append(elapsed)
    header = f"{'category':30} {'n':>5} {'exact':>6} {'differ':>6} {'abstain':>7} "
    print(header + f"{'unparse':>7} {'med ms':>7} {'p95 ms':>7}")
    everything: list[tuple[str, float]] = []
    for category in sorted(rows):
        _print_row(category, rows[category])
        everything += rows[category]
    if everything:
        _print_row("ALL", everything)
    if headline:
        exact = headline.count("exact")
        print(
            f"headline (missing-colon, brackets, indentation; changed_lines <= 2): "
            f"{exact}/{len(headline)} exact ({100 * exact / len(headline):.1f}%), "
            f"{headline.count('different')} different, {headline.count('abstained')} abstained, "
            f"{headline.count('unparsable')} unparsable, "
            f"median {statistics.median(headline_ms):.1f} ms, p95 {_p95(headline_ms):.1f} ms"
        )
    return 0


def _print_row(name: str, items: list[tuple[str, float]]) -> None:
    outcomes = [o for o, _ in items]
    times = [t for _, t in items]
    print(
        f"{name:30} {len(items):>5} {outcomes.count('exact'):>6} "
        f"{outcomes.count('different'):>6} {outcomes.count('abstained'):>7} "
        f"{outcomes.count('unparsable'):>7} {statistics.median(times):>7.1f} {_p95(times):>7.1f}"
    )


if __name__ == "__main__":
    raise SystemExit(main())
