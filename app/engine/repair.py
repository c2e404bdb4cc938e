"""Syntax repair: propose the smallest edit that makes a Python file parse again.

What it is for: a file that no longer parses (a missing ``:``, an unclosed or mismatched
bracket, a bad indentation, an unterminated string) gets a small, explainable repair that a
bot can offer as a commit, with one description line per edit.

What it must not do:

* It never imports, executes or compiles the checked code to bytecode. Code only goes through
  ``compile(..., flags=ast.PyCF_ONLY_AST, dont_inherit=True)`` (under a pseudo file name, see
  ``app.engine.syntax``) and ``tokenize``.
* It never touches a file that already parses and never returns a text that does not parse.
* It never guesses: when two different repairs of equal cost both parse and give different
  ASTs, it abstains. It keeps the file's line endings and its indentation style.

How: parse, take the parser's error location, generate a bounded set of small candidate edits
near it, keep those after which the file parses (or, failing that, after which the first error
moves further down the file, for a second round), prefer the cheapest one.
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
from collections import Counter
from dataclasses import dataclass

from app.engine.findings import Edit

_PSEUDO_FILENAME = "<deckhand-syntax-repair>"
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$")
_MAX_LINES = 2000
_MAX_ROUNDS = 3
_MAX_CANDIDATES = 200
_MAX_COST = 40  # a bigger change is a rewrite, not a repair: abstain instead
_MAX_STEP_COST = 4  # a repair that does not yet parse must be this small to be kept
_HEADER = re.compile(
    r"\s*(?:async\s+)?(if|elif|else|for|while|def|class|try|except|finally|with|match|case)\b"
)
_NEW_BLOCK = re.compile(r"\s*(?:@|(?:async\s+)?(?:def|class)\b|elif\b|else\b|except\b|finally\b)")
_CLOSER = {"(": ")", "[": "]", "{": "}"}
_OPENER = {v: k for k, v in _CLOSER.items()}


@dataclass(frozen=True)
class RepairResult:
    """``text`` is the repaired file (None when not repaired); ``edits`` apply to the input."""

    text: str | None
    edits: tuple[Edit, ...] = ()
    description: str = ""
    abstained: str | None = None


@dataclass(frozen=True)
class _Candidate:
    rank: int  # plausibility tier: lower wins before cost is compared
    lines: tuple[str, ...]  # full lines with their endings
    note: str
    tie: int = 0  # tie-break among equal (rank, cost): lower wins, else abstain

    def text(self) -> str:
        return "".join(self.lines)


class _Abstain(Exception):
    pass


def repair_syntax(text: str) -> RepairResult:
    """Repair ``text`` so that it parses, or say why not (see the module docstring)."""
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
    edits = _diff_edits(_split(source), _split(current))
    return RepairResult(bom + current, edits, "\n".join(notes), None)


# --- parsing -------------------------------------------------------------------------------


def _parse(source: str) -> ast.AST:
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


def _round(source: str, error: SyntaxError) -> tuple[str, str, bool]:
    """Apply the best candidate: (new text, description line, whether the file now parses)."""
    lines = _split(source)
    candidates = _candidates(lines, error)[:_MAX_CANDIDATES]
    seen: set[str] = {source}
    parsing: list[tuple[tuple[int, int, int], str, str, str]] = []
    progress: list[tuple[tuple[int, int, int, int], str, str]] = []
    start = _position(error)
    for cand in candidates:
        new = cand.text()
        if new in seen:
            continue
        seen.add(new)
        cost = _cost(lines, cand.lines)
        if cost > _MAX_COST:
            continue
        try:
            tree = _parse(new)
        except SyntaxError as exc:
            pos = _position(exc)
            moved = pos[0] > start[0] or (pos[0] != start[0] and exc.msg != error.msg)
            if moved and cost <= _MAX_STEP_COST:
                progress.append(((cand.rank, cost, -pos[0], -pos[1]), new, cand.note))
            continue
        except (ValueError, MemoryError, RecursionError, UnicodeError):
            continue
        parsing.append(((cand.rank, cost, cand.tie), ast.dump(tree), new, cand.note))
    if parsing:
        best = min(key for key, _, _, _ in parsing)
        top = [p for p in parsing if p[0] == best]
        if len({dump for _, dump, _, _ in top}) > 1:
            raise _Abstain("two different repairs are equally good")
        return top[0][2], top[0][3], True
    if progress:
        best_p = min(key for key, _, _ in progress)
        top_p = [p for p in progress if p[0] == best_p]
        if len({new for _, new, _ in top_p}) > 1:
            raise _Abstain("two different repairs are equally good")
        return top_p[0][1], top_p[0][2], False
    raise _Abstain("no candidate parses")


def _candidates(lines: list[str], error: SyntaxError) -> list[_Candidate]:
    msg = str(error.msg or "")
    lineno = error.lineno or 1
    offset = error.offset or 1
    out: list[_Candidate] = []
    if isinstance(error, TabError) or "inconsistent use of tabs" in msg:
        out += _tab_candidates(lines, lineno)
    elif isinstance(error, IndentationError) and "expected an indented block" in msg:
        out += _block_candidates(lines, lineno, msg)
    elif isinstance(error, IndentationError) and "unexpected indent" in msg:
        out += _tab_candidates(lines, lineno)
        out += _dedent_candidates(lines, lineno, snap=False)
    elif isinstance(error, IndentationError) and "unindent does not match" in msg:
        out += _tab_candidates(lines, lineno)
        out += _dedent_candidates(lines, lineno, snap=True)
    elif "was never closed" in msg:
        out += _unclosed_candidates(lines, lineno, offset)
    elif "does not match opening parenthesis" in msg:
        out += _mismatch_candidates(lines, lineno, offset, msg)
    elif msg.startswith("unmatched '"):
        out += _delete_char(lines, lineno, offset - 1, "remove unmatched '{}'")
    elif msg.startswith("unterminated string literal"):
        out += _string_candidates(lines, lineno, offset)
    elif msg.startswith("unterminated triple-quoted"):
        return []
    else:
        out += _colon_candidates(lines, lineno, offset)
        out += _stack_candidates(lines, lineno, offset)
        if msg.startswith("expected ':'"):
            return out
        out += _delete_char(lines, lineno, offset - 1, "remove stray '{}'", only=")]}")
    return out


# --- class 1: missing colon ----------------------------------------------------------------


def _colon_candidates(lines: list[str], lineno: int, offset: int) -> list[_Candidate]:
    out: list[_Candidate] = []
    first = max(1, lineno - 10)
    start = lineno
    # The header may start a few lines up when its brackets close on the error line.
    for k in range(lineno, first - 1, -1):
        if _HEADER.match(_body(lines, k)):
            start = k
            break
    for k in range(start, min(lineno, len(lines)) + 1):
        body = _body(lines, k)
        end = _code_end(body)
        if end == 0 or body[:end].endswith(":"):
            continue
        header = _HEADER.match(_body(lines, start))
        word = header.group(1) if header else "statement"
        note = f"line {k}: add missing ':' after '{word}' header"
        out.append(_Candidate(0, _replace(lines, k, body[:end] + ":" + body[end:]), note))
    if 1 <= lineno <= len(lines):
        body = _body(lines, lineno)
        col = min(max(offset - 1, 0), len(body))
        cut = len(body[:col].rstrip())
        # Only outside brackets: `def f(x y)` wants a comma, not an annotation colon.
        if body[:col].strip() and _bracket_depth(body[:cut]) == 0:
            note = f"line {lineno}: add missing ':'"
            out.append(_Candidate(1, _replace(lines, lineno, body[:cut] + ":" + body[cut:]), note))
    return out


def _bracket_depth(code: str) -> int:
    """How many brackets are open at the end of `code` (quotes skipped, roughly)."""
    depth, quote = 0, ""
    for char in code:
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
    return depth


# --- class 2: brackets ---------------------------------------------------------------------


def _unclosed_candidates(lines: list[str], lineno: int, offset: int) -> list[_Candidate]:
    body = _body(lines, lineno)
    col = offset - 1
    if not 0 <= col < len(body) or body[col] not in _CLOSER:
        return []
    return _closer_inserts(lines, lineno, col, len(lines) + 1, body[col])


def _closer_inserts(
    lines: list[str], lineno: int, col: int, stop: int, opener: str
) -> list[_Candidate]:
    closer = _CLOSER[opener]
    out: list[_Candidate] = []
    for k in range(lineno, min(stop, lineno + 12, len(lines) + 1)):
        body = _body(lines, k)
        end = _code_end(body)
        if k == lineno:
            end = max(end, col + 1)
        elif end == 0:
            continue
        note = f"line {k}: close '{opener}' opened on line {lineno}"
        # Closing at the end of the opener's own line is the natural repair; a later line
        # that happens to parse as an argument (`f(\nx = 1`) only wins on a lower cost.
        tie = 0 if k == lineno else 1
        new = body[:end] + closer + body[end:]
        out.append(_Candidate(0, _replace(lines, k, new), note, tie))
        if body[:end].endswith(":") and _HEADER.match(body):
            at = len(body[: end - 1].rstrip())
            new = body[:at] + closer + body[at:]
            out.append(_Candidate(0, _replace(lines, k, new), note + " before ':'"))
    body = _body(lines, lineno)
    for match in re.finditer(r"[,:=)\]}]", body[col + 1 :]):
        at = col + 1 + match.start()
        new = body[:at] + closer + body[at:]
        note = f"line {lineno}: close '{opener}' before '{match.group()}'"
        out.append(_Candidate(1, _replace(lines, lineno, new), note))
        if len(out) > 30:
            break
    return out


def _mismatch_candidates(lines: list[str], lineno: int, offset: int, msg: str) -> list[_Candidate]:
    body = _body(lines, lineno)
    col = offset - 1
    found = re.search(r"opening parenthesis '(.)'", msg)
    if not 0 <= col < len(body) or body[col] not in _OPENER or found is None:
        return []
    bad, want = body[col], _CLOSER.get(found.group(1), "")
    if not want:
        return []
    return [
        _Candidate(
            0,
            _replace(lines, lineno, body[:col] + want + body[col + 1 :]),
            f"line {lineno}: replace mismatched '{bad}' with '{want}'",
        ),
        _Candidate(
            0,
            _replace(lines, lineno, body[:col] + want + body[col:]),
            f"line {lineno}: insert missing '{want}' before '{bad}'",
        ),
        *_delete_char(lines, lineno, col, "remove mismatched '{}'"),
        *_inner_closer_inserts(lines, lineno, col, want),
    ]


def _inner_closer_inserts(lines: list[str], lineno: int, col: int, closer: str) -> list[_Candidate]:
    """Insert ``closer`` before a token between its opener and the mismatched closer."""
    stack: list[tuple[int, int]] = []
    tokens = [t for t in _tokens("".join(lines)) if t.start < (lineno, col)]
    starts: list[tuple[int, int]] = []
    for tok in tokens:
        if tok.type == tokenize.OP and tok.string in _CLOSER:
            stack.append(tok.start)
        elif tok.type == tokenize.OP and tok.string in _OPENER and stack:
            stack.pop()
    if not stack:
        return []
    opened = stack[-1]
    for tok in tokens:
        if tok.start > opened and tok.type not in (tokenize.NL, tokenize.COMMENT):
            starts.append(tok.start)
    out: list[_Candidate] = []
    for line, at in starts[-30:]:
        body = _body(lines, line)
        cut = len(body[:at].rstrip())
        if cut == 0 or body[cut - 1] in _CLOSER:
            continue
        note = f"line {line}: insert missing '{closer}'"
        out.append(_Candidate(1, _replace(lines, line, body[:cut] + closer + body[cut:]), note))
    return out


def _stack_candidates(lines: list[str], lineno: int, offset: int) -> list[_Candidate]:
    """Brackets still open where the parser gave up: close them on an earlier line or there."""
    stack: list[tuple[str, int, int]] = []
    for tok in _tokens("".join(lines)):
        if tok.start >= (lineno, offset - 1):
            break
        if tok.type == tokenize.OP and tok.string in _CLOSER:
            stack.append((tok.string, tok.start[0], tok.start[1]))
        elif tok.type == tokenize.OP and tok.string in _OPENER and stack:
            stack.pop()
    if not stack:
        return []
    opener, line, col = stack[-1]
    out = _closer_inserts(lines, line, col, lineno, opener)
    if 1 <= lineno <= len(lines):
        body = _body(lines, lineno)
        at = min(max(offset - 1, 0), len(body))
        if body[:at].strip() and line == lineno:
            cut = len(body[:at].rstrip())
            note = f"line {lineno}: close '{opener}' opened on line {line}"
            new = body[:cut] + _CLOSER[opener] + body[cut:]
            out.append(_Candidate(0, _replace(lines, lineno, new), note))
    return out


def _delete_char(
    lines: list[str], lineno: int, col: int, note: str, only: str = ""
) -> list[_Candidate]:
    body = _body(lines, lineno)
    if not 0 <= col < len(body) or (only and body[col] not in only):
        return []
    new = body[:col] + body[col + 1 :]
    return [
        _Candidate(0, _replace(lines, lineno, new), f"line {lineno}: " + note.format(body[col]))
    ]


# --- class 3: indentation ------------------------------------------------------------------


def _indent_of(body: str) -> str:
    return body[: len(body) - len(body.lstrip(" \t"))]


def _unit(lines: list[str]) -> str:
    """The file's indentation step: a tab, or the most common step in spaces (default 4)."""
    tabs = spaces = 0
    steps: Counter[int] = Counter()
    previous = 0
    for line in lines:
        body = line.rstrip("\r\n")
        if not body.strip():
            continue
        indent = _indent_of(body)
        if indent.startswith("\t"):
            tabs += 1
            continue
        if indent:
            spaces += 1
        width = len(indent)
        if width > previous and indent.strip(" ") == "":
            steps[width - previous] += 1
        previous = width
    if tabs > spaces:
        return "\t"
    common = [step for step, _ in steps.most_common(3) if 2 <= step <= 8]
    return " " * (common[0] if common else 4)


def _levels(lines: list[str], lineno: int) -> list[tuple[str, int]]:
    """The indentation stack before line ``lineno``: (indent, line that opened it)."""
    stack = [("", 0)]
    for tok in _tokens("".join(lines[: lineno - 1])):
        if tok.start[0] >= lineno:
            break  # the dedents the tokenizer adds at the end of the prefix
        if tok.type == tokenize.INDENT:
            stack.append((tok.string, tok.start[0]))
        elif tok.type == tokenize.DEDENT and len(stack) > 1:
            stack.pop()
    return stack


def _shifted_run(
    lines: list[str], lineno: int, old: str, new: str, same_only: bool
) -> tuple[str, ...]:
    """Re-indent line ``lineno`` and the following lines that belong with it."""
    result = list(lines)
    for k in range(lineno, len(lines) + 1):
        body = _body(lines, k)
        if not body.strip():
            continue
        indent = _indent_of(body)
        if k > lineno and (not indent.startswith(old) or (same_only and indent != old)):
            break
        result[k - 1] = new + body[len(old) :] + _ending(lines, k)
    return tuple(result)


def _dedent_candidates(lines: list[str], lineno: int, snap: bool) -> list[_Candidate]:
    body = _body(lines, lineno)
    old = _indent_of(body)
    out: list[_Candidate] = []
    levels = _levels(lines, lineno)
    if snap:
        # The odd one may be the line that opened a level this line should have closed:
        # an odd number of spaces against an even one. Listed first to win same-AST ties.
        above = [(level, line) for level, line in levels if len(level) > len(old) and line]
        if above and len(above[0][0]) % 2 == 1 and len(old) % 2 == 0 and "\t" not in old:
            level, line = above[0]
            opener = _body(lines, line)
            if level.startswith(old) or old.startswith(level[: len(old)]):
                note = f"line {line}: re-indent to column {len(old.expandtabs(8)) + 1}"
                new = old + opener[len(level) :]
                out.append(_Candidate(0, _replace(lines, line, new), note))
                run = _shifted_run(lines, line, level, old, same_only=True)
                out.append(_Candidate(0, run, note + " with the lines of its block"))
    if not snap:
        # The line before may be the odd one: a stray dedent in the middle of a block.
        previous = next((k for k in range(lineno - 1, 0, -1) if _body(lines, k).strip()), 0)
        prev_body = _body(lines, previous)
        prev_indent = _indent_of(prev_body)
        if previous and len(prev_indent) < len(old) and any(lv == old for lv, _ in levels):
            note = f"line {previous}: re-indent to column {len(old.expandtabs(8)) + 1}"
            new_prev = old + prev_body[len(prev_indent) :]
            out.append(_Candidate(0, _replace(lines, previous, new_prev), note))
    # An indent that matches no level: at equal cost, the previous line's level is the
    # strongest evidence (the line was meant to continue that block).
    previous = next((k for k in range(lineno - 1, 0, -1) if _body(lines, k).strip()), 0)
    prev_level = _indent_of(_body(lines, previous)) if snap and previous else None
    for level in dict.fromkeys(level for level, _ in levels):
        if level == old or (not snap and len(level) >= len(old)):
            continue
        verb = "re-indent" if snap else "dedent"
        note = f"line {lineno}: {verb} to column {len(level.expandtabs(8)) + 1}"
        new = level + body[len(old) :]
        tie = 0 if level == prev_level else 1
        out.append(_Candidate(0, _replace(lines, lineno, new), note, tie))
        run = _shifted_run(lines, lineno, old, level, same_only=snap)
        out.append(_Candidate(0, run, note + " with the lines of its block", tie))
    return out


def _block_candidates(lines: list[str], lineno: int, msg: str) -> list[_Candidate]:
    found = re.search(r"on line (\d+)", msg)
    header_line = int(found.group(1)) if found else lineno - 1
    if not 1 <= header_line <= len(lines):
        return []
    unit = _unit(lines)
    header_indent = _indent_of(_body(lines, header_line))
    body_indent = header_indent + unit
    newline = _newline(lines)
    at = min(lineno, len(lines) + 1)
    while at - 1 > header_line and not _body(lines, at - 1).strip():
        at -= 1  # right after the header (and its comments), before blank lines
    padded = list(lines)
    if padded and not _ending(padded, len(padded)):
        padded[-1] = padded[-1] + newline
    pass_lines = tuple([*padded[: at - 1], body_indent + "pass" + newline, *padded[at - 1 :]])
    if at > len(lines):
        pass_lines = tuple([*padded, body_indent + "pass" + newline])
    pass_note = f"line {header_line}: add 'pass' as the missing indented block"
    out = [_Candidate(1, pass_lines, pass_note)]
    if lineno > len(lines):
        return [_Candidate(0, pass_lines, pass_note)]
    body = _body(lines, lineno)
    if _indent_of(body) != header_indent or _NEW_BLOCK.match(body):
        return [_Candidate(0, pass_lines, pass_note)]
    result = list(lines)
    k = lineno
    while k <= len(lines):
        line_body = _body(lines, k)
        indent = _indent_of(line_body)
        if not line_body.strip():
            following = next(
                (j for j in range(k + 1, len(lines) + 1) if _body(lines, j).strip()), None
            )
            if following is None or _indent_of(_body(lines, following)) == header_indent:
                break
            k += 1
            continue
        if not indent.startswith(header_indent) or len(indent) < len(header_indent):
            break
        if k > lineno and indent == header_indent and (_NEW_BLOCK.match(line_body)):
            break
        result[k - 1] = unit + line_body + _ending(lines, k)
        k += 1
    last = k - 1
    note = f"lines {lineno}-{last}: indent the block after line {header_line}"
    if last == lineno:
        note = f"line {lineno}: indent the block after line {header_line}"
    out.insert(0, _Candidate(0, tuple(result), note))
    return out


def _tab_candidates(lines: list[str], lineno: int) -> list[_Candidate]:
    body = _body(lines, lineno)
    old = _indent_of(body)
    unit = _unit(lines[: lineno - 1] + lines[lineno:])
    out: list[_Candidate] = []
    if not old or ("\t" not in old and unit != "\t"):
        return out
    for style in ("\t", " "):
        rank = 0 if (style == "\t") == (unit == "\t") else 1
        for size in (8, 4, 2):
            width = len(old.expandtabs(size))
            new = "\t" * (width // size) + " " * (width % size) if style == "\t" else " " * width
            if new == old:
                continue
            note = f"line {lineno}: normalize indentation to " + (
                "tabs" if style == "\t" else "spaces"
            )
            out.append(_Candidate(rank, _replace(lines, lineno, new + body[len(old) :]), note))
            run = _shifted_run(lines, lineno, old, new, True)
            out.append(_Candidate(rank, run, note + " (block)"))
    return out


# --- class 4: unterminated string ----------------------------------------------------------


def _string_candidates(lines: list[str], lineno: int, offset: int) -> list[_Candidate]:
    body = _body(lines, lineno)
    col = offset - 1
    while 0 <= col < len(body) and body[col].isalpha():
        col += 1
    if not 0 <= col < len(body) or body[col] not in "'\"":
        return []
    quote = body[col]
    rest = body[col + 1 :]
    out: list[_Candidate] = []
    positions: list[tuple[int, int]] = [(1, len(body.rstrip()))]
    for match in re.finditer(r"\s*#", rest):
        positions.append((0, col + 1 + match.start()))
    tail = re.search(r"[\s)\]},:;]*$", rest)
    if tail is not None and tail.start() < len(rest):
        positions.append((0, col + 1 + tail.start()))
    for rank, at in positions:
        if at <= col:
            continue
        new = body[:at] + quote + body[at:]
        note = f"line {lineno}: close the string opened at column {col + 1} with {quote}"
        out.append(_Candidate(rank, _replace(lines, lineno, new), note))
    return out


# --- lines and edits -----------------------------------------------------------------------


def _split(text: str) -> list[str]:
    return _LINE.findall(text)


def _body(lines: list[str], lineno: int) -> str:
    if not 1 <= lineno <= len(lines):
        return ""
    return lines[lineno - 1].rstrip("\r\n")


def _ending(lines: list[str], lineno: int) -> str:
    line = lines[lineno - 1]
    return line[len(line.rstrip("\r\n")) :]


def _newline(lines: list[str]) -> str:
    endings = Counter(line[len(line.rstrip("\r\n")) :] for line in lines)
    endings.pop("", None)
    return endings.most_common(1)[0][0] if endings else "\n"


def _replace(lines: list[str], lineno: int, body: str) -> tuple[str, ...]:
    result = list(lines)
    result[lineno - 1] = body + _ending(lines, lineno)
    return tuple(result)


def _code_end(body: str) -> int:
    """Index just after the last code character of a line (before a comment and blanks)."""
    quote = ""
    i = 0
    end = 0
    while i < len(body):
        ch = body[i]
        if quote:
            if ch == "\\":
                i += 2
                continue
            if body.startswith(quote, i):
                i += len(quote)
                quote = ""
                end = i
                continue
        elif ch == "#":
            break
        elif ch in "'\"":
            quote = body[i : i + 3] if body[i : i + 3] in ('"""', "'''") else ch
            i += len(quote)
            continue
        elif not ch.isspace():
            end = i + 1
        i += 1
    return len(body) if quote else end


def _tokens(source: str) -> list[tokenize.TokenInfo]:
    tokens: list[tokenize.TokenInfo] = []
    try:
        for tok in tokenize.generate_tokens(io.StringIO(source).readline):
            tokens.append(tok)
    except (tokenize.TokenError, SyntaxError, ValueError):
        pass
    return tokens


def _cost(old: list[str], new: tuple[str, ...]) -> int:
    return sum(len(e.replacement) + _span(old, e) for e in _diff_edits(old, list(new)))


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
