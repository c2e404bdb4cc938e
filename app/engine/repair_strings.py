"""Syntax repair candidates for strings: unterminated literals and broken f-strings."""

from __future__ import annotations

import ast
import io
import keyword
import re
import tokenize

from app.engine.repair_text import (
    CLOSER,
    Candidate,
    body_of,
    replace_line,
    split_lines,
    tokens_of,
)


def string_candidates(lines: list[str], lineno: int, offset: int) -> list[Candidate]:
    """Close an unterminated string with its own quote at the earliest place that reads as code.

    The missing quote may belong to an earlier string of the line (``{"a: "b"}``): every
    place in the line is tried, kept when the line then tokenizes without two operands side
    by side, and the earliest one after which the file parses wins (``f("a, b=1)`` becomes
    ``f("a", b=1)``). At the end of a line the quote goes after any trailing blanks.
    """
    body = body_of(lines, lineno)
    col = offset - 1
    while 0 <= col < len(body) and body[col].isalpha():
        col += 1
    if not 0 <= col < len(body) or body[col] not in "'\"":
        return []
    quote = body[col]
    start = len(body) - len(body.lstrip())
    blank_tail = len(body.rstrip())
    out: list[Candidate] = []
    for at in range(start + 1, len(body) + 1):
        if blank_tail < len(body) and at < len(body):
            continue  # formatters strip trailing blanks from code: these are in the string
        if 0 < at < len(body) and body[at - 1].isalnum() and body[at].isalnum():
            continue
        if body[at - 1] == quote and at != col + 1:
            continue  # `"a""b"`: a quote glued to another is not where a string ended
        new = body[:at] + quote + body[at:]
        if not _closes_as_code(new[start:], at - start):
            continue
        note = f"line {lineno}: close the string with {quote} at column {at + 1}"
        out.append(Candidate(0, replace_line(lines, lineno, new), note, len(out)))
        if len(out) >= 12:
            break
    return out


_OPERAND = (tokenize.NAME, tokenize.NUMBER, tokenize.STRING)
_STR_METHODS = frozenset(name for name in dir(str) if not name.startswith("_"))
_AFTER_STRING = re.compile(r"$|\s(?!\s*\.)|[)\]},:;\[#]|\.([A-Za-z_]\w*)")
_PLACEHOLDER = re.compile(r"\s%[A-Za-z(]")


def _closes_as_code(line: str, at: int) -> bool:
    """Whether a quote inserted at ``at`` closes a string and leaves code that reads as code.

    The line must tokenize cleanly with the quote ending a string, without two operands side
    by side (``"a"b``), followed by a blank, a closer, a separator or a str method
    (``"a".join``, not ``"django".dispatch`` or ``"," .join``), and with no ``%s`` left
    outside the string.
    """
    follow = _AFTER_STRING.match(line, at + 1)
    if follow is None or (follow.group(1) and follow.group(1) not in _STR_METHODS):
        return False
    previous: tokenize.TokenInfo | None = None
    closed = False
    try:
        for tok in tokenize.generate_tokens(io.StringIO(line).readline):
            if tok.type == tokenize.ERRORTOKEN:
                return False
            if tok.type in (tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE):
                continue
            if tok.type == tokenize.STRING and tok.end == (1, at + 1):
                closed = True
                code = line[at + 1 :].split(tok.string[-1], 1)[0]
                if _PLACEHOLDER.search(code):
                    return False
            if (
                previous is not None
                and previous.type in _OPERAND
                and tok.type in _OPERAND
                and not (previous.type == tok.type == tokenize.STRING)
                and not keyword.iskeyword(previous.string)
                and not keyword.iskeyword(tok.string)
            ):
                return False
            previous = tok
    except tokenize.TokenError:
        return closed  # brackets left open for the next lines
    except (SyntaxError, ValueError):
        return False
    return closed


def stray_quote_offset(body: str) -> int | None:
    """The 1-based column of a quote that opens a string the line never closes, if any.

    An unterminated string is not always reported as one: ``("a, "0004_b")`` reads as the
    string ``"a, "``, the number ``0004_b`` (an "invalid decimal literal") and a quote.
    """
    start = len(body) - len(body.lstrip())
    try:
        for tok in tokenize.generate_tokens(io.StringIO(body.lstrip()).readline):
            if tok.type == tokenize.ERRORTOKEN and tok.string in ("'", '"'):
                return start + tok.start[1] + 1
    except (tokenize.TokenError, SyntaxError, ValueError):
        return None
    return None


def fstring_candidates(lines: list[str], lineno: int, msg: str) -> list[Candidate]:
    """Repair inside the f-string of line ``lineno`` that does not compile on its own.

    Python 3.11 reports errors inside an f-string's replacement fields with the f-string's
    line only. The f-string tokens of that line are compiled alone; the broken one gets
    one-character edits guided by the message: close an unclosed ``{`` at the end of its
    expression, close a bracket left open inside a field, remove a stray closer.
    """
    out: list[Candidate] = []
    for tok in tokens_of("".join(lines)):
        # 3.11 may report the error on the last line of the statement holding the f-string.
        if tok.type != tokenize.STRING or not lineno - 20 <= tok.start[0] <= lineno:
            continue
        prefix = tok.string[: len(tok.string) - len(tok.string.lstrip("rRbBuUfF"))]
        if "f" not in prefix.lower() or _compiles(tok.string):
            continue
        for tie, new, what in _fstring_edits(tok.string, len(prefix), msg):
            if not _compiles(new):
                continue
            if _odd_format_spec(new):
                tie += 10  # `({tg://x={y})`: closing `{tg` makes `//x={y})` a format spec
            note = f"line {tok.start[0]}: {what} in the f-string"
            out.append(Candidate(0, _replace_token(lines, tok, new), note, tie))
    return out


def _fstring_edits(token: str, start: int, msg: str) -> list[tuple[int, str, str]]:
    quote = 3 if token[start : start + 3] in ('"""', "'''") else 1
    lo, hi = start + quote, len(token) - quote
    edits: list[tuple[int, str, str]] = []
    found = re.search(r"'(.)' does not match opening parenthesis '(.)'", msg)
    if found is not None:
        bad, want = found.group(1), CLOSER.get(found.group(2), "")
        for at in _positions(token, lo, hi, bad):
            edits.append((0, token[:at] + want + token[at:], f"insert missing '{want}'"))
            edits.append((1, token[:at] + want + token[at + 1 :], f"replace '{bad}' with '{want}'"))
        for at in _positions(token, lo, hi, found.group(2)):
            if token[at - 1] == "{" and token[at - 2 : at] != "{{":
                # `{[name}`: a field that opens with a stray bracket, not a list display.
                edits.append((-1, token[:at] + token[at + 1 :], f"remove stray '{found.group(2)}'"))
        return edits
    found = re.search(r"unmatched '(.)'|single '(.)' is not allowed", msg)
    if found is not None:
        bad = found.group(1) or found.group(2)
        spots = _positions(token, lo, hi, bad)
        for n, at in enumerate(spots):
            # The last one first: `{f(a) or g(b))}` lost its end, not its middle.
            edits.append(
                (len(spots) - 1 - n, token[:at] + token[at + 1 :], f"remove stray '{bad}'")
            )
        return edits
    if "expecting '}'" in msg:
        for at in _positions(token, lo, hi, "{"):
            # The longest expression that compiles: `{name"` becomes `{name}"`.
            for end in range(hi, at + 1, -1):
                new = token[:end] + "}" + token[end:]
                if _compiles(new):
                    # `({tg://x={y})` closed reads `tg` with the format spec `//x={y})`: a
                    # stray `{` is as likely then.
                    edits.append((0, new, "close '{'"))
                    break
            edits.append((1, token[:at] + token[at + 1 :], "remove stray '{'"))
    return edits


_STANDARD_SPEC = re.compile(r"(?:.?[<>=^])?[-+ ]?z?#?0?\d*[,_]?(?:\.\d+)?[bcdeEfFgGnosxX%]?")


def _odd_format_spec(literal: str) -> bool:
    """Whether an f-string has a format spec that is neither the standard mini-language nor
    a ``strftime`` pattern: ``{tg://x}`` reads as ``tg`` with the spec ``//x``."""
    try:
        tree = ast.parse(literal, mode="eval")
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return False
    for node in ast.walk(tree):
        if isinstance(node, ast.FormattedValue) and isinstance(node.format_spec, ast.JoinedStr):
            spec = "".join(
                part.value
                if isinstance(part, ast.Constant) and isinstance(part.value, str)
                else "0"
                for part in node.format_spec.values
            )
            if "%" not in spec and not _STANDARD_SPEC.fullmatch(spec):
                return True
    return False


def _positions(token: str, lo: int, hi: int, char: str) -> list[int]:
    return [i for i in range(lo, hi) if token[i] == char][:20]


def _compiles(literal: str) -> bool:
    try:
        compile(
            literal, "<deckhand-syntax-repair>", "eval", flags=ast.PyCF_ONLY_AST, dont_inherit=True
        )
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return False
    return True


def _replace_token(lines: list[str], tok: tokenize.TokenInfo, new: str) -> tuple[str, ...]:
    (row, col), (end_row, end_col) = tok.start, tok.end
    first = lines[row - 1]
    last = lines[end_row - 1]
    joined = first[:col] + new + last[end_col:]
    return (*lines[: row - 1], *split_lines(joined), *lines[end_row:])
