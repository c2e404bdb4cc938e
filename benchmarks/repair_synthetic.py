"""Syntax repair on synthetic single errors planted in real code nobody here wrote.

Takes the Python files of Django 5.2 (downloaded from the package index into a temporary
folder, or `--tree DIR`), plants one error of each class in sampled files, and checks
whether `repair_syntax` gives back a file whose AST equals the original's. The class
"two-errors" plants two errors of two different classes in the same file, at least 20 lines
apart, each of which alone breaks the file. Also checks that every untouched file is left
alone. The goal: at least 95% exact per class, no file left unparsable, p95 under 100 ms.

    .venv/bin/python benchmarks/repair_synthetic.py [--files 200] [--seed 1] [--tree DIR]
"""

from __future__ import annotations

import argparse
import ast
import io
import random
import re
import statistics
import sys
import tempfile
import time
import tokenize
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.engine.repair import repair_syntax
from benchmarks.django_source import fetch_django

HEADER = re.compile(
    r"^(\s*)(?:async\s+)?(if|elif|else|for|while|def|class|try|except|finally|with)\b.*:\s*$"
)
Mutation = Callable[[list[str], random.Random], list[str] | None]
TWO_APART = 20  # lines between the two errors of the "two-errors" class


def dump(source: str) -> str | None:
    try:
        tree = compile(source, "<bench>", "exec", flags=ast.PyCF_ONLY_AST, dont_inherit=True)
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return None
    return ast.dump(tree)


def pick(lines: list[str], rng: random.Random, test: Callable[[str], bool]) -> int | None:
    candidates = [i for i, line in enumerate(lines) if test(line)]
    return rng.choice(candidates) if candidates else None


def missing_colon(lines: list[str], rng: random.Random) -> list[str] | None:
    i = pick(lines, rng, lambda line: bool(HEADER.match(line)) and "#" not in line)
    if i is None:
        return None
    line = lines[i].rstrip("\n")
    cut = line.rstrip().rfind(":")
    return [*lines[:i], line[:cut] + line[cut + 1 :] + "\n", *lines[i + 1 :]]


def _closing_at_end(line: str) -> bool:
    stripped = line.rstrip()
    return stripped.endswith(")") and "#" not in line and not stripped.lstrip().startswith(")")


def unclosed_bracket(lines: list[str], rng: random.Random) -> list[str] | None:
    i = pick(lines, rng, _closing_at_end)
    if i is None:
        return None
    stripped = lines[i].rstrip()
    return [*lines[:i], stripped[:-1] + "\n", *lines[i + 1 :]]


def mismatched_bracket(lines: list[str], rng: random.Random) -> list[str] | None:
    i = pick(lines, rng, _closing_at_end)
    if i is None:
        return None
    stripped = lines[i].rstrip()
    return [*lines[:i], stripped[:-1] + "]\n", *lines[i + 1 :]]


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def unexpected_indent(lines: list[str], rng: random.Random) -> list[str] | None:
    def simple_after_simple(i: int) -> bool:
        return (
            i > 0
            and lines[i].strip() != ""
            and lines[i - 1].strip() != ""
            and _indent(lines[i]) == _indent(lines[i - 1])
            and not lines[i - 1].rstrip().endswith((":", ",", "(", "[", "{", "\\"))
            and not lines[i].lstrip().startswith(("#", ")", "]", "}", '"', "'"))
        )

    candidates = [i for i in range(len(lines)) if simple_after_simple(i)]
    if not candidates:
        return None
    i = rng.choice(candidates)
    return [*lines[:i], "    " + lines[i], *lines[i + 1 :]]


def unindent_mismatch(lines: list[str], rng: random.Random) -> list[str] | None:
    candidates = [
        i
        for i in range(1, len(lines))
        if _indent(lines[i]) >= 8
        and _indent(lines[i]) == _indent(lines[i - 1])
        and lines[i].strip()
        and not lines[i - 1].rstrip().endswith((":", ",", "(", "[", "{", "\\"))
    ]
    if not candidates:
        return None
    i = rng.choice(candidates)
    return [*lines[:i], lines[i][2:], *lines[i + 1 :]]


def unterminated_string(lines: list[str], rng: random.Random) -> list[str] | None:
    source = "".join(lines)
    try:
        tokens = [
            t
            for t in tokenize.generate_tokens(io.StringIO(source).readline)
            if t.type == tokenize.STRING
            and t.start[0] == t.end[0]
            and re.fullmatch(r"""(['"])[^'"\\]*\1""", t.string)
            and len(t.string) > 2
        ]
    except (tokenize.TokenError, SyntaxError):
        return None
    if not tokens:
        return None
    token = rng.choice(tokens)
    row, end = token.end[0] - 1, token.end[1]
    line = lines[row]
    return [*lines[:row], line[: end - 1] + line[end:], *lines[row + 1 :]]


MUTATIONS: dict[str, Mutation] = {
    "missing-colon": missing_colon,
    "unclosed-bracket": unclosed_bracket,
    "mismatched-bracket": mismatched_bracket,
    "unexpected-indent": unexpected_indent,
    "unindent-mismatch": unindent_mismatch,
    "unterminated-string": unterminated_string,
}


def _changed_line(before: list[str], after: list[str]) -> int | None:
    changed = [i for i, (a, b) in enumerate(zip(before, after, strict=True)) if a != b]
    return changed[0] if len(changed) == 1 else None


def two_errors(lines: list[str], rng: random.Random) -> list[str] | None:
    """Two errors of the single classes, in lines at least ``TWO_APART`` lines apart.

    Each one alone must break the file: a repair has to find and fix both.
    """
    names = rng.sample(sorted(MUTATIONS), 2)
    first = MUTATIONS[names[0]](lines, rng)
    if first is None or len(first) != len(lines) or dump("".join(first)) is not None:
        return None
    at = _changed_line(lines, first)
    if at is None:
        return None
    for _ in range(20):
        second = MUTATIONS[names[1]](first, rng)
        if second is None or len(second) != len(lines):
            return None
        other = _changed_line(first, second)
        if other is None or abs(other - at) < TWO_APART:
            continue
        alone = [*lines[:other], second[other], *lines[other + 1 :]]
        if dump("".join(alone)) is None:
            return second
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=200, help="files sampled per class")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--tree", type=Path)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory(prefix="deckhand-repair-") as tmp:
        root = args.tree or fetch_django(Path(tmp))
        sources = []
        for path in sorted(root.rglob("*.py")):
            text = path.read_text(encoding="utf-8", errors="replace")
            if dump(text) is not None and 0 < text.count("\n") < 2000:
                sources.append(text)
    untouched = sum(1 for text in sources if repair_syntax(text).text is None)
    print(f"{len(sources)} real files that parse; left untouched by repair: {untouched}")
    print(
        f"{'class':22} {'n':>5} {'exact':>6} {'differ':>6} {'abstain':>7} {'broken':>6}"
        f" {'exact%':>7} {'med ms':>7} {'p95 ms':>7}"
    )
    for name, mutate in [*MUTATIONS.items(), ("two-errors", two_errors)]:
        counts: dict[str, int] = defaultdict(int)
        times: list[float] = []
        for text in rng.sample(sources, min(args.files, len(sources))):
            mutated_lines = mutate(text.splitlines(keepends=True), rng)
            if mutated_lines is None:
                continue
            mutated = "".join(mutated_lines)
            if dump(mutated) is not None:
                continue  # the mutation did not break the file
            started = time.perf_counter()
            result = repair_syntax(mutated)
            times.append((time.perf_counter() - started) * 1000)
            if result.text is None:
                counts["abstain"] += 1
            elif (repaired := dump(result.text)) is None:
                counts["broken"] += 1
            elif repaired == dump(text):
                counts["exact"] += 1
            else:
                counts["differ"] += 1
        n = sum(counts.values())
        p95 = sorted(times)[int(0.95 * (len(times) - 1))] if times else 0.0
        print(
            f"{name:22} {n:5} {counts['exact']:6} {counts['differ']:6} {counts['abstain']:7}"
            f" {counts['broken']:6} {100 * counts['exact'] / max(n, 1):6.1f}%"
            f" {statistics.median(times) if times else 0:7.1f} {p95:7.1f}"
        )


if __name__ == "__main__":
    main()
