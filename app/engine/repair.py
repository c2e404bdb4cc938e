"""Syntax repair: propose the smallest edit that makes a Python file parse again.

What it is for: a file that no longer parses (a missing ``:``, an unclosed or mismatched
bracket, a bad indentation, an unterminated string) gets a small, explainable repair that a
bot can offer as a commit, with one description line per edit.

What it must not do:

* It never imports, executes or compiles the checked code to bytecode. Code only goes through
  ``compile(..., flags=ast.PyCF_ONLY_AST, dont_inherit=True)`` (under a pseudo file name, see
  ``app.engine.syntax``) and ``tokenize``.
* It never touches a file that already parses and never returns a text that does not parse.
* It never guesses: when two different repairs that rank alike both parse and give different
  ASTs, it abstains. It keeps the file's line endings and its indentation style.

How: parse, take the parser's error location, generate a bounded set of small candidate edits
near it (``repair_brackets``, ``repair_indent``, ``repair_strings``; the colon ones are here),
keep those after which the file parses, and prefer by (rank, cost, tie): rank is the strength
of the evidence (debris such as a stray word or a repeated line ranks first), cost the
characters changed, tie a strategy's own preference (the nearest line, the earliest place).
Equal keys with equal ASTs are the same repair; equal keys with different ASTs abstain.
For bracket errors, where a bracket closes decides which call gets which arguments: a repair
that gives a call arguments it cannot take (a builtin's, a function's of the file, or more
than it gets anywhere else) loses to one almost as cheap that fits (``repair_calls``).

A file with several errors is repaired one error per round (at most ``_MAX_ROUNDS``): when no
candidate parses, a candidate is kept if the file parses once the lines of the later errors
are blanked out, or, failing that, if the first error moves past the edit; an error that
hides an earlier one (an unterminated string stops the tokens before an unclosed bracket is
noticed) is blanked out while the earlier one is repaired; a block indented back under its
header that then shows an unclosed bracket on the same line gets both fixes at once. The
result must parse as a whole.
The characters parsed per call are bounded (``_MAX_PARSED_CHARS``): past that, it abstains.
"""

from __future__ import annotations

import ast
import contextvars
import difflib
import itertools
import re
import tokenize
import warnings
from dataclasses import dataclass

from app.engine.findings import Edit
from app.engine.repair_brackets import (
    continuation_candidates,
    delete_char,
    mismatch_candidates,
    moved_bracket_candidates,
    parenthesized_parameter_candidates,
    stack_candidates,
    unclosed_candidates,
    unmatched_candidates,
)
from app.engine.repair_calls import Signatures, call_faults
from app.engine.repair_indent import (
    block_candidates,
    clause_candidates,
    comment_candidates,
    decorator_candidates,
    dedent_candidates,
    indent_unit,
    stray_line_candidates,
    tab_candidates,
)
from app.engine.repair_strings import (
    fstring_candidates,
    stray_quote_offset,
    string_candidates,
)
from app.engine.repair_text import (
    HEADER,
    Candidate,
    body_of,
    bracket_depth,
    code_end,
    ending_of,
    replace_line,
    split_lines,
    statement_end,
    tokens_of,
)

_PSEUDO_FILENAME = "<deckhand-syntax-repair>"
_MAX_LINES = 5000
_MAX_ROUNDS = 3
_MAX_CANDIDATES = 200
# Characters parsed per repair at most (candidates and probes): a few seconds at worst.
_MAX_PARSED_CHARS = 40_000_000
_BUDGET: contextvars.ContextVar[list[int]] = contextvars.ContextVar("repair_budget")
_MAX_COST = 40  # a bigger change is a rewrite, not a repair: abstain instead
_MAX_TWO_STEPS = 3  # edits that uncover another error on their own line, tried with a fix for it
_MAX_STEP_COST = 4  # a repair that does not yet parse must be this small to be kept


@dataclass(frozen=True)
class RepairResult:
    """``text`` is the repaired file (None when not repaired); ``edits`` apply to the input."""

    text: str | None
    edits: tuple[Edit, ...] = ()
    description: str = ""
    abstained: str | None = None


class _Abstain(Exception):
    pass


def repair_syntax(text: str) -> RepairResult:
    """Repair ``text`` so that it parses, or say why not (see the module docstring)."""
    token = _BUDGET.set([_MAX_PARSED_CHARS])
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # candidates may hold `1if x` or `"\d"`: no noise
            return _repair(text)
    except _Abstain as exc:  # the parse budget ran out
        return RepairResult(None, abstained=str(exc))
    finally:
        _BUDGET.reset(token)


def _repair(text: str) -> RepairResult:
    bom = "\ufeff" if text.startswith("\ufeff") else ""
    source = text[len(bom) :]
    error = _error(source)
    if error is None:
        return RepairResult(None, abstained="parses already")
    if source.count("\n") + source.count("\r") > _MAX_LINES:
        return RepairResult(None, abstained="too large")
    notes: list[str] = []
    current = source
    try:
        for _ in range(_MAX_ROUNDS):
            if not isinstance(error, SyntaxError) or error.lineno is None:
                return RepairResult(None, abstained="no error location")
            current, note, done = _round(current, error)
            notes.append(note)
            if done:
                break
            error = _error(current)
        else:
            return RepairResult(None, abstained="no candidate parses")
    except _Abstain as exc:
        return RepairResult(None, abstained=str(exc))
    if _error(current) is not None:  # belt and braces: never return unparsable text
        return RepairResult(None, abstained="no candidate parses")
    edits = _diff_edits(split_lines(source), split_lines(current))
    return RepairResult(bom + current, edits, "\n".join(notes), None)


# --- parsing -------------------------------------------------------------------------------


def _parse(source: str) -> ast.AST:
    budget = _BUDGET.get()
    budget[0] -= len(source)
    if budget[0] < 0:
        raise _Abstain("too slow to repair")
    tree: ast.AST = compile(
        source, _PSEUDO_FILENAME, "exec", flags=ast.PyCF_ONLY_AST, dont_inherit=True
    )
    return tree


def _error(source: str) -> SyntaxError | Exception | None:
    try:
        _parse(source)
    except SyntaxError as exc:
        return exc
    except (ValueError, MemoryError, RecursionError, UnicodeError) as exc:
        return exc
    return None


def _position(exc: SyntaxError | Exception | None) -> tuple[int, int]:
    if exc is None:
        return (10**9, 0)
    if isinstance(exc, SyntaxError) and exc.lineno is not None:
        return (exc.lineno, exc.offset or 0)
    return (-1, -1)


# --- one round -----------------------------------------------------------------------------


def _round(source: str, error: SyntaxError, depth: int = 0) -> tuple[str, str, bool]:
    """Apply the best candidate: (new text, description line, whether the file now parses).

    When no candidate makes the file parse, the file has another error too. A candidate is
    then kept when the file parses once the lines of the later errors are blanked out (the
    error is fixed, the rest is for the next round), or, failing that, when the first error
    moves past the edit. When the error is reported after an earlier one that it hides (an
    unterminated string ends the tokens before an unclosed bracket is noticed), the error
    line is blanked out, the earlier error repaired first, and the line put back.
    """
    lines = split_lines(source)
    # The same text may come from several generators: keep its most plausible key.
    best_of: dict[str, tuple[tuple[int, int, int], str, tuple[str, ...]]] = {}
    for cand in _candidates(lines, error)[:_MAX_CANDIDATES]:
        new = cand.text()
        if new == source:
            continue
        cost = _cost(lines, cand.lines)
        if cost > _MAX_COST and cand.rank >= 0:  # rank < 0: removing debris, however long
            continue
        key = (cand.rank, cost, cand.tie)
        if new not in best_of or key < best_of[new][0]:
            best_of[new] = (key, cand.note, cand.lines)
    parsing: list[tuple[tuple[int, int, int], ast.AST, str, str]] = []
    failing: list[tuple[tuple[int, int, int], str, str, tuple[str, ...], SyntaxError]] = []
    for new, (key, note, new_lines) in sorted(best_of.items(), key=lambda item: item[1][0]):
        if parsing and key > parsing[0][0]:
            break  # in key order: nothing after the best parsing key can win
        try:
            tree = _parse(new)
        except SyntaxError as exc:
            if exc.lineno is not None:
                failing.append((key, new, note, new_lines, exc))
            continue
        except (ValueError, MemoryError, RecursionError, UnicodeError):
            continue
        parsing.append((key, tree, new, note))
    if parsing:
        best = min(key for key, _, _, _ in parsing)
        top = [p for p in parsing if p[0] == best]
        if _BRACKET_ERROR.search(str(error.msg or "")):
            top = _fewest_faults(lines, best_of, top)
        if len(top) > 1 and len({ast.dump(tree) for _, tree, _, _ in top}) > 1:
            raise _Abstain("two different repairs are equally good")
        return top[0][2], top[0][3], True
    progress: list[tuple[tuple[int, int, int, int, int], str, str]] = []
    same_line: list[tuple[tuple[int, int, int], str, str, tuple[str, ...], SyntaxError]] = []
    for key, new, note, new_lines, found in failing:
        edited = _last_changed_line(lines, new_lines)
        if (found.lineno or 0) <= edited:
            if found.lineno == edited and "was never closed" in str(found.msg):
                same_line.append((key, new, note, new_lines, found))
            continue
        reached = _reach(new_lines, found)
        # A step that fixes its error outright may be as big as a repair; one that only
        # moves the error must be small.
        if reached == _PARSES or (reached > edited and key[1] <= _MAX_STEP_COST):
            progress.append(((int(reached < _PARSES), *key, -reached), new, note))
    done: set[str] = set()
    if depth == 0 and "expected an indented block" in str(error.msg):
        for key, new, note, new_lines, found in same_line[:_MAX_TWO_STEPS]:
            # Indenting a block uncovered an unclosed bracket on its line (`if x:` then a
            # flush `f(a`): close that one too, and keep the pair when the file then
            # parses. Its cost is both edits'.
            try:
                final, second, parses = _round(new, found, depth + 1)
            except _Abstain:
                continue
            if parses:
                total = key[1] + _cost(list(new_lines), tuple(split_lines(final)))
                progress.append(((0, key[0], total, key[2], -_PARSES), final, note + "\n" + second))
                done.add(final)
    if progress:
        best_p = min(key for key, _, _ in progress)
        top_p = [p for p in progress if p[0] == best_p]
        if len({new for _, new, _ in top_p}) > 1:
            raise _Abstain("two different repairs are equally good")
        return top_p[0][1], top_p[0][2], top_p[0][1] in done
    earlier = _earlier_first(lines, error, depth)
    if earlier is not None:
        return earlier
    raise _Abstain("no candidate parses")


_BRACKET_ERROR = re.compile(r"was never closed|does not match opening|^unmatched '")


def _fewest_faults(
    lines: list[str],
    best_of: dict[str, tuple[tuple[int, int, int], str, tuple[str, ...]]],
    top: list[tuple[tuple[int, int, int], ast.AST, str, str]],
) -> list[tuple[tuple[int, int, int], ast.AST, str, str]]:
    """Where a bracket closes decides which call gets which arguments: when the best
    repairs give a call arguments it cannot take (``f(int(a, b, c=1))``), a repair almost as
    good (one rank lower, at most two characters more) that gives every call arguments it
    takes wins instead (``f(int(a), b, c=1)``). See ``repair_calls``."""
    first = top[0][0]
    pool = sorted(
        (key, new, note, new_lines)
        for new, (key, note, new_lines) in best_of.items()
        if key[0] <= first[0] + 1 and key[1] <= first[1] + 2
    )[:20]
    spans = [_changed_span(lines, new_lines) for _, _, _, new_lines in pool]
    lo, hi = min(a for a, _ in spans), max(b for _, b in spans)
    if hi - lo > 60:
        return top
    signatures = Signatures(top[0][1])
    faults = [call_faults(tree, lo, hi, signatures) for _, tree, _, _ in top]
    if min(faults) == 0 and len(set(faults)) == 1:
        return top
    trees = {new: tree for _, tree, new, _ in top}
    scored: list[tuple[int, tuple[int, int, int], ast.AST, str, str]] = []
    for key, new, note, _ in pool:
        tree = trees.get(new)
        if tree is None:
            try:
                tree = _parse(new)
            except (SyntaxError, ValueError, MemoryError, RecursionError, UnicodeError):
                continue
        scored.append((call_faults(tree, lo, hi, signatures), key, tree, new, note))
    if not scored:
        return top
    least = min((count, key) for count, key, _, _, _ in scored)
    if least[0] >= min(faults):
        return top
    return [
        (key, tree, new, note) for count, key, tree, new, note in scored if (count, key) == least
    ]


def _changed_span(old: list[str], new: tuple[str, ...]) -> tuple[int, int]:
    head = 0
    while head < min(len(old), len(new)) and old[head] == new[head]:
        head += 1
    return head + 1, max(head + 1, _last_changed_line(old, new))


_PARSES = 10**9  # what _reach returns when the text parses once later errors are blanked


def _reach(lines: tuple[str, ...], error: SyntaxError) -> int:
    """Blank out up to three later error lines: _PARSES if the text then parses, else the
    line of the error that stops it."""
    current = list(lines)
    line = error.lineno or 0
    for _ in range(3):
        if not 1 <= line <= len(current):
            return line
        exc = _blank(current, line)
        if exc is None:
            return _PARSES
        if not isinstance(exc, SyntaxError) or exc.lineno is None or exc.lineno <= line:
            return line
        line = exc.lineno
    return line


def _blank(lines: list[str], line: int) -> SyntaxError | Exception | None:
    """Blank out ``line`` in place (a ``pass`` when a block would be left empty); the error
    of the result."""
    lines[line - 1] = ending_of(lines, line)
    exc = _error("".join(lines))
    found = re.search(r"expected an indented block.* on line (\d+)", str(getattr(exc, "msg", "")))
    if found is not None:
        header = body_of(lines, int(found.group(1)))
        indent = header[: len(header) - len(header.lstrip())] + indent_unit(lines)
        lines[line - 1] = indent + "pass" + ending_of(lines, line)
        exc = _error("".join(lines))
    return exc


def _earlier_first(
    lines: list[str], error: SyntaxError, depth: int
) -> tuple[str, str, bool] | None:
    """Repair an earlier error that the reported one hides, in a copy without the error line."""
    line = error.lineno or 0
    if depth >= 2 or not 1 <= line <= len(lines):
        return None
    probe = list(lines)
    earlier = _blank(probe, line)
    if not isinstance(earlier, SyntaxError) or (earlier.lineno or line) >= line:
        return None
    try:
        new, note, _ = _round("".join(probe), earlier, depth + 1)
    except _Abstain:
        return None
    repaired = split_lines(new)
    if len(repaired) != len(lines) or repaired[line - 1] != probe[line - 1]:
        return None
    repaired[line - 1] = lines[line - 1]
    return "".join(repaired), note, False


def _last_changed_line(old: list[str], new: tuple[str, ...]) -> int:
    tail = 0
    while tail < min(len(old), len(new)) and old[len(old) - 1 - tail] == new[len(new) - 1 - tail]:
        tail += 1
    return len(new) - tail


def _candidates(lines: list[str], error: SyntaxError) -> list[Candidate]:
    msg = str(error.msg or "")
    lineno = error.lineno or 1
    offset = error.offset or 1
    out: list[Candidate] = []
    if msg.startswith("f-string"):
        out += fstring_candidates(lines, lineno, msg)
    elif isinstance(error, TabError) or "inconsistent use of tabs" in msg:
        out += tab_candidates(lines, lineno)
    elif isinstance(error, IndentationError) and "expected an indented block" in msg:
        out += block_candidates(lines, lineno, msg)
        out += comment_candidates(lines, lineno, msg)
    elif isinstance(error, IndentationError) and "unexpected indent" in msg:
        out += tab_candidates(lines, lineno)
        out += stray_line_candidates(lines, lineno)
        out += continuation_candidates(lines, lineno)
        out += dedent_candidates(lines, lineno, snap=False)
        out += comment_candidates(lines, lineno, msg)
    elif isinstance(error, IndentationError) and "unexpected unindent" in msg:
        out += decorator_candidates(lines, lineno)
    elif isinstance(error, IndentationError) and "unindent does not match" in msg:
        out += tab_candidates(lines, lineno)
        out += dedent_candidates(lines, lineno, snap=True)
        out += comment_candidates(lines, lineno, msg)
    elif "parameters cannot be parenthesized" in msg:
        out += parenthesized_parameter_candidates(lines, lineno, offset)
    elif "was never closed" in msg:
        out += unclosed_candidates(lines, lineno, offset)
    elif "does not match opening parenthesis" in msg:
        out += mismatch_candidates(lines, lineno, offset, msg)
    elif msg.startswith("unmatched '"):
        out += unmatched_candidates(lines, lineno, offset)
    elif msg.startswith("unterminated string literal"):
        out += string_candidates(lines, lineno, offset)
    elif msg.startswith("unterminated triple-quoted"):
        return []
    else:
        out += _colon_candidates(lines, lineno, offset)
        out += stack_candidates(lines, lineno, offset)
        quote = stray_quote_offset(body_of(lines, lineno))
        if quote is not None:
            out += string_candidates(lines, lineno, quote)
        if "forgot a comma" in msg:
            out += _comma_candidates(lines, lineno, error.end_lineno or lineno)
        elif msg == "invalid syntax" and not body_of(lines, lineno)[: offset - 1].strip():
            # The error at the start of a line: the line above may lack its comma.
            above = next((k for k in range(lineno - 1, 0, -1) if code_end(body_of(lines, k))), 0)
            if above and statement_end(lines, above) > above:
                out += _comma_candidates(lines, above, above + 1)
        if msg == "invalid syntax" and not body_of(lines, lineno)[: offset - 1].strip():
            out += clause_candidates(lines, lineno)
        if msg == "invalid syntax":
            out += _parameter_colon_candidates(lines, lineno, offset)
        if "expected after dictionary key" in msg:
            out += _key_colon_candidates(lines, lineno)
        if msg.startswith("expected ':'"):
            return out + _arrow_candidates(lines, lineno) + _header_split_candidates(lines, lineno)
        out += delete_char(lines, lineno, offset - 1, "remove stray '{}'", only=")]}")
        if msg.startswith("invalid syntax"):
            out += moved_bracket_candidates(lines, lineno, offset)
    return out


# --- class 1: missing colon ----------------------------------------------------------------


def _colon_candidates(lines: list[str], lineno: int, offset: int) -> list[Candidate]:
    out: list[Candidate] = []
    first = max(1, lineno - 10)
    start = lineno
    # The header may start a few lines up when its brackets close on the error line.
    for k in range(lineno, first - 1, -1):
        if HEADER.match(body_of(lines, k)):
            start = k
            break
    for k in range(start, min(lineno, len(lines)) + 1):
        body = body_of(lines, k)
        end = code_end(body)
        if end == 0 or body[:end].endswith(":"):
            continue
        header = HEADER.match(body_of(lines, start))
        word = header.group(1) if header else "statement"
        note = f"line {k}: add missing ':' after '{word}' header"
        out.append(Candidate(0, replace_line(lines, k, body[:end] + ":" + body[end:]), note))
    if 1 <= lineno <= len(lines):
        body = body_of(lines, lineno)
        col = min(max(offset - 1, 0), len(body))
        cut = len(body[:col].rstrip())
        # Only outside brackets: `def f(x y)` wants a comma, not an annotation colon.
        if body[:col].strip() and bracket_depth(body[:cut]) == 0:
            note = f"line {lineno}: add missing ':'"
            out.append(
                Candidate(1, replace_line(lines, lineno, body[:cut] + ":" + body[cut:]), note)
            )
    return out


# --- class 3: indentation ------------------------------------------------------------------


# --- class 4: unterminated string ----------------------------------------------------------


def _key_colon_candidates(lines: list[str], lineno: int) -> list[Candidate]:
    """``{'a' (1, 2)}`` wants ``{'a': (1, 2)}``: a colon between two operands side by side."""
    body = body_of(lines, lineno)
    toks = [t for t in tokens_of(body.lstrip() + "\n") if t.type != tokenize.NEWLINE]
    shift = len(body) - len(body.lstrip())
    out: list[Candidate] = []
    for left, right in itertools.pairwise(toks):
        ends_operand = left.type in (tokenize.STRING, tokenize.NUMBER, tokenize.NAME) or (
            left.string in ")]}"
        )
        starts_operand = right.type in (tokenize.STRING, tokenize.NUMBER, tokenize.NAME) or (
            right.string in "([{"
        )
        if ends_operand and starts_operand and right.type != tokenize.ENDMARKER:
            at = left.end[1] + shift
            note = f"line {lineno}: add the missing ':' after the dictionary key"
            new = body[:at] + ":" + body[at:]
            out.append(Candidate(0, replace_line(lines, lineno, new), note, len(out)))
    return out


def _parameter_colon_candidates(lines: list[str], lineno: int, offset: int) -> list[Candidate]:
    """``def f(a: int, b int=1)`` wants ``b: int=1`` when the other parameters are annotated
    (without annotations, ``def f(a b)`` may as well want a comma: no repair)."""
    body = body_of(lines, lineno)
    header = re.match(r"\s*(?:async\s+)?def\s+\w+\s*\(", body)
    col = min(max(offset - 1, 0), len(body))
    cut = len(body[:col].rstrip())
    if header is None or cut < header.end() or not re.match(r"[A-Za-z_]", body[col : col + 1]):
        return []
    if not re.search(r"\w$", body[:cut]) or bracket_depth(body[:cut]) != 1:
        return []
    if not re.search(r"[(,]\s*\w+\s*:\s*[\w'\"]", body[header.end() - 1 : code_end(body)]):
        return []
    note = f"line {lineno}: add the missing ':' before the parameter's annotation"
    return [Candidate(0, replace_line(lines, lineno, body[:cut] + ":" + body[cut:]), note)]


def _comma_candidates(lines: list[str], lineno: int, end_lineno: int) -> list[Candidate]:
    """Python saw two operands side by side (``f(a\n  b)``): the comma between them, at the
    end of the first one's line."""
    out: list[Candidate] = []
    for k in range(lineno, min(end_lineno, lineno + 10)):
        body = body_of(lines, k)
        end = code_end(body)
        if end and body[end - 1] not in ",([{":
            note = f"line {k}: add the missing ','"
            out.append(Candidate(0, replace_line(lines, k, body[:end] + "," + body[end:]), note))
    return out


def _header_split_candidates(lines: list[str], lineno: int) -> list[Candidate]:
    """A header split over two lines: ``if a`` then ``    and b:`` wants a continuation;
    ``if a`` then ``    x = f():`` had its colon put on the wrong line."""
    body = body_of(lines, lineno)
    end = code_end(body)
    following = body_of(lines, lineno + 1)
    tail = code_end(following)
    if not end or not tail or not following[:tail].endswith(":") or not HEADER.match(body):
        return []
    if re.match(r"\s*(?:and|or|not|in|is|if|else)\b|\s*[-+*/%&|^<>=]", following):
        new = body[:end] + " \\" + body[end:]
        note = f"line {lineno}: continue the header on the next line"
        return [Candidate(0, replace_line(lines, lineno, new), note)]
    if HEADER.match(following):
        return []
    moved = list(replace_line(lines, lineno, body[:end] + ":" + body[end:]))
    moved[lineno] = following[: tail - 1] + following[tail:] + ending_of(lines, lineno + 1)
    note = f"line {lineno}: move the ':' from line {lineno + 1} to the header"
    return [Candidate(0, tuple(moved), note, 1)]


def _arrow_candidates(lines: list[str], lineno: int) -> list[Candidate]:
    """``def f(self) int:`` wants ``def f(self) -> int:``."""
    body = body_of(lines, lineno)
    header = re.match(r"(\s*(?:async\s+)?def\s+\w+\s*)\(", body)
    if header is None:
        return []
    depth = 0
    for at in range(header.end() - 1, code_end(body)):
        depth += {"(": 1, ")": -1}.get(body[at], 0)
        if depth == 0:
            rest = body[at + 1 : code_end(body)].strip()
            if rest.endswith(":") and rest[:-1].strip() and not rest.startswith("->"):
                new = body[: at + 1] + " ->" + body[at + 1 :]
                note = f"line {lineno}: add the missing '->' before the return annotation"
                return [Candidate(0, replace_line(lines, lineno, new), note)]
            return []
    return []


# --- lines and edits -----------------------------------------------------------------------


def _cost(old: list[str], new: tuple[str, ...]) -> int:
    """Characters removed plus characters inserted."""
    if len(old) != len(new):  # lines added or removed: one edit, measured on the characters
        a, b = "".join(old), "".join(new)
        head = 0
        while head < min(len(a), len(b)) and a[head] == b[head]:
            head += 1
        tail = 0
        while tail < min(len(a), len(b)) - head and a[-1 - tail] == b[-1 - tail]:
            tail += 1
        return len(a) + len(b) - 2 * (head + tail)
    return sum(_char_cost(a, b) for a, b in zip(old, new, strict=True) if a != b)


def _char_cost(a: str, b: str) -> int:
    """Characters removed plus inserted to turn line ``a`` into ``b``: moving one character
    (``list:[int]`` to ``list[int]:``) costs 2, not the whole stretch between."""
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    return sum(
        (i2 - i1) + (j2 - j1) for tag, i1, i2, j1, j2 in matcher.get_opcodes() if tag != "equal"
    )


def _span(lines: list[str], edit: Edit) -> int:
    if edit.line == edit.end_line:
        return edit.end_column - edit.column
    total = len(lines[edit.line - 1]) - (edit.column - 1)
    total += sum(len(lines[k - 1]) for k in range(edit.line + 1, edit.end_line))
    return total + edit.end_column - 1


def _diff_edits(old: list[str], new: list[str]) -> tuple[Edit, ...]:
    """Character edits turning ``old`` into ``new`` (both lists of lines with endings)."""
    head = 0
    while head < min(len(old), len(new)) and old[head] == new[head]:
        head += 1
    tail = 0
    while (
        tail < min(len(old), len(new)) - head
        and old[len(old) - 1 - tail] == new[len(new) - 1 - tail]
    ):
        tail += 1
    old_mid = old[head : len(old) - tail]
    new_mid = new[head : len(new) - tail]
    edits: list[Edit] = []
    if len(old_mid) == len(new_mid):
        for k, (a, b) in enumerate(zip(old_mid, new_mid, strict=True)):
            if a != b:
                edits.append(_line_edit(head + k + 1, a, b))
        return tuple(edits)
    start = _join_position(old, head)
    end = _join_position(old, len(old) - tail)
    return (Edit(start[0], start[1], end[0], end[1], "".join(new_mid)),)


def _join_position(lines: list[str], index: int) -> tuple[int, int]:
    """Line/column (1-based) of the start of line ``index`` (0-based), or the end of text."""
    if index < len(lines):
        return index + 1, 1
    if not lines:
        return 1, 1
    last = lines[-1]
    if last.endswith(("\n", "\r")):
        return len(lines) + 1, 1
    return len(lines), len(last) + 1


def _line_edit(lineno: int, a: str, b: str) -> Edit:
    prefix = 0
    while prefix < min(len(a), len(b)) and a[prefix] == b[prefix]:
        prefix += 1
    suffix = 0
    while suffix < min(len(a), len(b)) - prefix and a[-1 - suffix] == b[-1 - suffix]:
        suffix += 1
    return Edit(lineno, prefix + 1, lineno, len(a) - suffix + 1, b[prefix : len(b) - suffix])
