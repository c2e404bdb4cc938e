"""Benchmark ``repair_syntax`` on pairs of broken/fixed Python files.

Reads ``../shared/syntax-errors/dev-pairs.jsonl`` (relative to the repository root) when
present: JSON lines with ``bad_source``, ``fixed_source``, ``category`` and ``changed_lines``.
Nothing from that file is stored in the repository. Prints, per category: count, exact
(the repaired AST equals the fixed AST), parses-but-different, abstained, left unparsable
(must be 0), median and p95 milliseconds. For comparison with BIFI (Yasunaga and Liang,
2021), it also counts the repairs that pass BIFI's looser test: the result parses and is at
most 4 token edits from the broken file, whether or not it is what the human did.

Usage: python benchmarks/repair.py [--limit N] [--category C] [--path FILE]
"""

from __future__ import annotations

import argparse
import ast
import json
import re
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.engine.repair import repair_syntax

DEFAULT = Path(__file__).resolve().parent.parent.parent / "shared/syntax-errors/dev-pairs.jsonl"
HEADLINE = ("missing-colon", "unclosed-bracket", "extra-or-mismatched-bracket", "indentation")
BIFI_EDITS = 4

# Python's tokens, leniently (the broken file need not tokenize): strings, comments
# (dropped), a line's indentation as one token, names, numbers, operators, anything else.
_TOKEN = re.compile(
    r"(?P<string>[rRbBuUfF]{0,2}(?:'{3}[\s\S]*?'{3}|\"{3}[\s\S]*?\"{3}"
    r"|'(?:\\.|[^'\\\n])*'|\"(?:\\.|[^\"\\\n])*\"))"
    r"|(?P<comment>#[^\n]*)"
    r"|(?P<indent>\n[ \t]*)"
    r"|(?P<word>\w+)"
    r"|(?P<op>\*\*=?|//=?|>>=?|<<=?|->|:=|[-+*/%&|^@<>=!]=|[^\s\w])"
    r"|(?P<space>[ \t\f\r\\]+)"
)


def _tokens(source: str) -> list[str]:
    out: list[str] = []
    for match in _TOKEN.finditer("\n" + source):
        kind = match.lastgroup
        if kind in ("comment", "space"):
            continue
        text = match.group()
        if kind == "indent":
            rest = source[match.end() - 1 : match.end()]  # the character after it
            if rest in ("\n", "#", ""):
                continue  # a blank or comment-only line has no indentation
            text = "\n" + text[1:].expandtabs(8)
        out.append(text)
    return out


def _token_edits(a: list[str], b: list[str], limit: int) -> int:
    """Levenshtein distance between two token lists, or `limit + 1` when it is over `limit`."""
    start = 0
    while start < min(len(a), len(b)) and a[start] == b[start]:
        start += 1
    end = 0
    while end < min(len(a), len(b)) - start and a[-1 - end] == b[-1 - end]:
        end += 1
    a, b = a[start : len(a) - end], b[start : len(b) - end]
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    over = limit + 1
    previous = {j: j for j in range(min(len(b), limit) + 1)}
    for i in range(1, len(a) + 1):
        current: dict[int, int] = {}
        for j in range(max(0, i - limit), min(len(b), i + limit) + 1):
            if j == 0:
                current[j] = i
                continue
            cost = 0 if a[i - 1] == b[j - 1] else 1
            current[j] = min(
                previous.get(j - 1, over) + cost,
                previous.get(j, over) + 1,
                current.get(j - 1, over) + 1,
            )
        if min(current.values(), default=over) > limit:
            return over
        previous = current
    return min(previous.get(len(b), over), over)


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
    rows: dict[str, list[tuple[str, float, bool]]] = defaultdict(list)
    headline: list[str] = []
    headline_ms: list[float] = []
    headline_bifi = 0
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
            parsed = outcome in ("exact", "different")
            bifi = parsed and _within_bifi(pair["bad_source"], result.text)
            rows[pair["category"]].append((outcome, elapsed, bifi))
            if pair["category"] in HEADLINE and pair.get("changed_lines", 99) <= 2:
                headline.append(outcome)
                headline_ms.append(elapsed)
                headline_bifi += bifi
    header = f"{'category':30} {'n':>5} {'exact':>6} {'differ':>6} {'abstain':>7} "
    print(header + f"{'unparse':>7} {'med ms':>7} {'p95 ms':>7} {'bifi':>6}")
    everything: list[tuple[str, float, bool]] = []
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
        print(
            f"headline under BIFI's test (parses, at most {BIFI_EDITS} token edits from the "
            f"broken file): {headline_bifi}/{len(headline)} "
            f"({100 * headline_bifi / len(headline):.1f}%)"
        )
    return 0


def _within_bifi(broken: str, repaired: str | None) -> bool:
    if repaired is None:
        return False
    return _token_edits(_tokens(broken), _tokens(repaired), BIFI_EDITS) <= BIFI_EDITS


def _print_row(name: str, items: list[tuple[str, float, bool]]) -> None:
    outcomes = [o for o, _, _ in items]
    times = [t for _, t, _ in items]
    bifi = sum(b for _, _, b in items)
    print(
        f"{name:30} {len(items):>5} {outcomes.count('exact'):>6} "
        f"{outcomes.count('different'):>6} {outcomes.count('abstained'):>7} "
        f"{outcomes.count('unparsable'):>7} {statistics.median(times):>7.1f} {_p95(times):>7.1f} "
        f"{bifi:>6}"
    )


if __name__ == "__main__":
    raise SystemExit(main())
