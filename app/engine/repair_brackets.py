"""Syntax repair candidates for brackets: unclosed, mismatched, stray and misplaced ones.

An unclosed bracket is closed at the end of its own line (several at once when several are
left open), on a later line of the same statement, or before a token of its line; a
mismatched closer is replaced, preceded by the missing closer or removed; a stray closer is
removed, preferring one that closed a call too soon (``f(a), b)``); a missing opener is added
between two operands side by side or at the end of the line an unexpected indent continues;
a bracket one or two words off its place is moved.
"""

from __future__ import annotations

import itertools
import re
import tokenize

from app.engine.repair_text import (
    CLOSER,
    OPENER,
    Candidate,
    body_of,
    bracket_depth,
    code_end,
    indent_of,
    open_brackets,
    replace_line,
    statement_is_header,
    tokens_of,
)


def unclosed_candidates(lines: list[str], lineno: int, offset: int) -> list[Candidate]:
    """Close the bracket the parser says was never closed (see ``closer_inserts``).

    Several brackets left open on one line are closed together at its end; a doubled
    opener ending a line (``f((``) is read as an empty call, ``f()``.
    """
    body = body_of(lines, lineno)
    col = offset - 1
    if not 0 <= col < len(body) or body[col] not in CLOSER:
        return []
    out = closer_inserts(lines, lineno, col, len(lines) + 1, body[col])
    end = code_end(body)
    stack = open_brackets(body[:end])
    if len(stack) > 1:
        closers = "".join(CLOSER[char] for _, char in reversed(stack))
        note = f"line {lineno}: close the {len(stack)} brackets left open on line {lineno}"
        new = body[:end] + closers + body[end:]
        out.append(Candidate(0, replace_line(lines, lineno, new), note, 1))
    if end >= 2 and body[end - 1] == body[end - 2] in CLOSER:
        new = body[: end - 1] + CLOSER[body[end - 1]] + body[end:]
        note = (
            f"line {lineno}: replace the doubled '{body[end - 1]}' with '{CLOSER[body[end - 1]]}'"
        )
        out.append(Candidate(0, replace_line(lines, lineno, new), note, 0))
    return out


def closer_inserts(
    lines: list[str], lineno: int, col: int, stop: int, opener: str
) -> list[Candidate]:
    closer = CLOSER[opener]
    out: list[Candidate] = []
    header = statement_is_header(lines, lineno)
    first = body_of(lines, lineno)
    following = next((k for k in range(lineno + 1, len(lines) + 1) if body_of(lines, k).strip()), 0)
    deeper = len(indent_of(body_of(lines, following))) > len(indent_of(first))
    ends_line = code_end(first) <= col + 1 and deeper  # `f(` then indented arguments
    for k in _closing_lines(lines, lineno, min(stop, len(lines) + 1)):
        body = body_of(lines, k)
        end = code_end(body)
        if k == lineno:
            end = max(end, col + 1)
        elif end == 0:
            continue
        note = f"line {k}: close '{opener}' opened on line {lineno}"
        # Closing at the end of the opener's own line is the natural repair, unless the
        # opener ends it; then a later line that leaves a bracket dangling; on a tie, the
        # nearest line after it that makes the file parse (`f(\nx = 1` only wins on cost).
        tie = 2 * (k - lineno) + (1000 if k == lineno and ends_line else 0)
        if k > lineno and _dangling(lines, k):
            tie -= 100
        new = body[:end] + closer + body[end:]
        colon = body[:end].endswith(":")
        out.append(Candidate(0, replace_line(lines, k, new), note, tie + int(colon and header)))
        if colon:
            # `if f(x:` wants `if f(x):`; `y = a[1:` wants `y = a[1:]`.
            at = len(body[: end - 1].rstrip())
            new = body[:at] + closer + body[at:]
            out.append(
                Candidate(
                    0, replace_line(lines, k, new), note + " before ':'", tie + int(not header)
                )
            )
    body = body_of(lines, lineno)
    for match in re.finditer(r"[,:=)\]}]", body[col + 1 :]):
        at = col + 1 + match.start()
        new = body[:at] + closer + body[at:]
        note = f"line {lineno}: close '{opener}' before '{match.group()}'"
        out.append(Candidate(1, replace_line(lines, lineno, new), note, at))
        if len(out) > 30:
            break
    out += _later_comma_closes(lines, lineno, col, min(stop, len(lines) + 1), opener)
    return out


def _later_comma_closes(
    lines: list[str], lineno: int, col: int, stop: int, opener: str
) -> list[Candidate]:
    """Close the innermost bracket open at a ``,`` of the statement before that comma: the
    one the parser says was never closed, or one opened inside it that a later closer was
    taken for (``f(",".join([`` ... ``], sep)`` wants ``]), sep)`` as much as ``], sep))``)."""
    last = max(_closing_lines(lines, lineno, stop))
    stack = [opener]
    out: list[Candidate] = []
    for tok in tokens_of("".join(lines[lineno - 1 : last])):
        row, at = tok.start[0] + lineno - 1, tok.start[1]
        if (row, at) <= (lineno, col) or tok.type != tokenize.OP:
            continue
        if tok.string in CLOSER:
            stack.append(tok.string)
        elif tok.string in OPENER:
            stack.pop()
            if not stack:
                break
        elif tok.string == "," and (row > lineno or len(stack) > 1):
            body = body_of(lines, row)
            cut = len(body[:at].rstrip())
            if cut == 0:
                continue
            new = body[:cut] + CLOSER[stack[-1]] + body[cut:]
            note = f"line {row}: close '{stack[-1]}' before ','"
            tie = 1000 * (row - lineno) + at  # the earliest comma first
            out.append(Candidate(1, replace_line(lines, row, new), note, tie))
            if len(out) >= 12:
                break
    return out


def _closing_lines(lines: list[str], lineno: int, stop: int) -> list[int]:
    """Lines where a bracket opened on ``lineno`` may close: the next dozen, and the last
    line of the run indented deeper than the opener's line (its arguments or items)."""
    near = list(range(lineno, min(stop, lineno + 12)))
    indent = len(indent_of(body_of(lines, lineno)))
    last = lineno
    for k in range(lineno + 1, min(stop, lineno + 200)):
        body = body_of(lines, k)
        if not body.strip():
            continue
        if len(indent_of(body)) <= indent:
            break
        last = k
    if last not in near:
        near.append(last)
    return near


def mismatch_candidates(lines: list[str], lineno: int, offset: int, msg: str) -> list[Candidate]:
    body = body_of(lines, lineno)
    col = offset - 1
    found = re.search(r"opening parenthesis '(.)'", msg)
    if not 0 <= col < len(body) or body[col] not in OPENER or found is None:
        return []
    bad, want = body[col], CLOSER.get(found.group(1), "")
    if not want:
        return []
    return [
        Candidate(
            0,
            replace_line(lines, lineno, body[:col] + want + body[col + 1 :]),
            f"line {lineno}: replace mismatched '{bad}' with '{want}'",
        ),
        Candidate(
            0,
            replace_line(lines, lineno, body[:col] + want + body[col:]),
            f"line {lineno}: insert missing '{want}' before '{bad}'",
        ),
        *delete_char(lines, lineno, col, "remove mismatched '{}'"),
        *_inner_closer_inserts(lines, lineno, col, want),
        *_dangling_closes(lines, _opened_on(msg, lineno), lineno, found.group(1)),
        *_doubled_closes(lines, _opened_on(msg, lineno), lineno),
    ]


def _doubled_closes(lines: list[str], first: int, stop: int) -> list[Candidate]:
    """A line ending with a closer followed by a line that starts with one: ``f(\n  a)``
    then ``)``. One of the two is extra; remove the first."""
    out: list[Candidate] = []
    for k in range(first, min(stop, first + 40)):
        body = body_of(lines, k)
        end = code_end(body)
        end -= body[:end].endswith(",")  # `f(a),` then `)`: the comma stays
        following = next((j for j in range(k + 1, stop + 1) if code_end(body_of(lines, j))), 0)
        if end > 0 and body[end - 1] in OPENER and following:
            if body_of(lines, following).lstrip()[:1] in OPENER:
                note = f"line {k}: remove the extra '{body[end - 1]}'"
                new = replace_line(lines, k, body[: end - 1] + body[end:])
                out.append(Candidate(0, new, note, -1))  # keep the closer on its own line
    return out


def _opened_on(msg: str, lineno: int) -> int:
    found = re.search(r"on line (\d+)", msg)
    return int(found.group(1)) if found else lineno


def _dangling(lines: list[str], k: int) -> bool:
    """Whether line ``k`` leaves a bracket open although the next line is not indented under
    it: ``f(a, b`` then the next statement or item, the usual shape of a forgotten closer."""
    body = body_of(lines, k)
    if not open_brackets(body[: code_end(body)]):
        return False
    following = next((j for j in range(k + 1, len(lines) + 1) if code_end(body_of(lines, j))), 0)
    return not following or len(indent_of(body_of(lines, following))) <= len(indent_of(body))


def _dangling_closes(lines: list[str], first: int, stop: int, opener: str) -> list[Candidate]:
    """Close ``opener`` at the end of a line between ``first`` and ``stop`` that dangles."""
    out: list[Candidate] = []
    for k in range(first, min(stop, first + 40)):
        if _dangling(lines, k):
            body = body_of(lines, k)
            end = code_end(body)
            note = f"line {k}: close the '{opener}' left open"
            new = body[:end] + CLOSER[opener] + body[end:]
            out.append(Candidate(0, replace_line(lines, k, new), note, -100 + k - first))
    return out


def _inner_closer_inserts(lines: list[str], lineno: int, col: int, closer: str) -> list[Candidate]:
    """Insert ``closer`` before a token between its opener and the mismatched closer."""
    stack: list[tuple[int, int]] = []
    tokens = [t for t in tokens_of("".join(lines)) if t.start < (lineno, col)]
    starts: list[tuple[int, int]] = []
    for tok in tokens:
        if tok.type == tokenize.OP and tok.string in CLOSER:
            stack.append(tok.start)
        elif tok.type == tokenize.OP and tok.string in OPENER and stack:
            stack.pop()
    if not stack:
        return []
    opened = stack[-1]
    for tok in tokens:
        if tok.start > opened and tok.type not in (tokenize.NL, tokenize.COMMENT):
            starts.append(tok.start)
    out: list[Candidate] = []
    for line, at in starts[-30:]:
        body = body_of(lines, line)
        cut = len(body[:at].rstrip())
        if cut == 0 or body[cut - 1] in CLOSER:
            continue
        note = f"line {line}: insert missing '{closer}'"
        new = replace_line(lines, line, body[:cut] + closer + body[cut:])
        # `[f(x for x in y]`: the call ends where the comprehension's `for` begins.
        out.append(Candidate(1, new, note, 0 if _COMPREHENSION.match(body, at) else 1))
    return out


_COMPREHENSION = re.compile(r"(?:async\s+)?for\b")


def stack_candidates(lines: list[str], lineno: int, offset: int) -> list[Candidate]:
    """Brackets still open where the parser gave up: close them on an earlier line or there."""
    stack: list[tuple[str, int, int]] = []
    for tok in tokens_of("".join(lines)):
        if tok.start >= (lineno, offset - 1):
            break
        if tok.type == tokenize.OP and tok.string in CLOSER:
            stack.append((tok.string, tok.start[0], tok.start[1]))
        elif tok.type == tokenize.OP and tok.string in OPENER and stack:
            stack.pop()
    if not stack:
        return []
    opener, line, col = stack[-1]
    out = closer_inserts(lines, line, col, lineno + 1, opener)
    if 1 <= lineno <= len(lines):
        body = body_of(lines, lineno)
        at = min(max(offset - 1, 0), len(body))
        if body[:at].strip() and line == lineno:
            cut = len(body[:at].rstrip())
            note = f"line {lineno}: close '{opener}' opened on line {line}"
            new = body[:cut] + CLOSER[opener] + body[cut:]
            out.append(Candidate(0, replace_line(lines, lineno, new), note))
    return out


def delete_char(
    lines: list[str], lineno: int, col: int, note: str, only: str = ""
) -> list[Candidate]:
    body = body_of(lines, lineno)
    if not 0 <= col < len(body) or (only and body[col] not in only):
        return []
    new = body[:col] + body[col + 1 :]
    return [
        Candidate(0, replace_line(lines, lineno, new), f"line {lineno}: " + note.format(body[col]))
    ]


def unmatched_candidates(lines: list[str], lineno: int, offset: int) -> list[Candidate]:
    """A closer with no opener: remove it, an earlier one of its kind, or add its opener.

    The extra closer is often an earlier one that ended a call too soon: ``f(a), b)``, or
    ``f(a),`` followed by a line holding only ``)``. Otherwise the closers of the error's
    own line come first. A missing opener shows as two operands side by side (``m.reply"text")``).
    """
    body = body_of(lines, lineno)
    col = offset - 1
    if not 0 <= col < len(body) or body[col] not in OPENER:
        return []
    closer = body[col]
    out: list[Candidate] = []
    alone = not body[:col].strip()  # `)` on a line of its own closes the outer call
    previous = next((k for k in range(lineno - 1, 0, -1) if code_end(body_of(lines, k))), 0)
    spots: set[tuple[int, int]] = set()
    for tok in tokens_of("".join(lines[:lineno])):
        if tok.start > (lineno, col):
            break
        if tok.type in (tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT):
            # Only closers of the statement that holds the stray one (or of the line just
            # before a lone closer: `f(a),` then `)`).
            spots = {spot for spot in spots if alone and spot[0] == previous}
        elif tok.type == tokenize.OP and tok.string == closer and tok.start[0] >= lineno - 6:
            spots.add(tok.start)
    spots.add((lineno, col))
    early = _closed_before_its_lines(lines, lineno, closer)
    for row, at in sorted(spots | early):
        line = body_of(lines, row)
        comma = line[at + 1 :].lstrip().startswith(",")
        comprehension = _COMPREHENSION.match(line[at + 1 :].lstrip()) is not None
        if (row, at) in early or (comma and (row == lineno or (alone and row == previous))):
            tie = 0  # `f(a), b)`: the call was closed too soon
        elif comprehension and row == lineno:
            tie = 0  # `[[a] * 3] for _ in b]`: the item ends where the `for` begins
        else:
            tie = 1 if (row, at) == (lineno, col) else 2
        note = f"line {row}: remove unmatched '{closer}'"
        new = replace_line(lines, row, line[:at] + line[at + 1 :])
        out.append(Candidate(0, new, note, tie))
    opener = OPENER[closer]
    if re.match(r"\s*[\w'\"]", body[col + 1 :]):
        # `ul]"key"]`: the closer was meant to open.
        note = f"line {lineno}: replace the stray '{closer}' with '{opener}'"
        new = replace_line(lines, lineno, body[:col] + opener + body[col + 1 :])
        out.append(Candidate(0, new, note, 1))
    for k in range(max(1, lineno - 15), lineno):
        above = body_of(lines, k)
        end = code_end(above)
        if end and above[:end].endswith("="):
            # `buttons =` then the items and a `]`: the opener went missing.
            note = f"line {k}: add the missing '{opener}'"
            new = replace_line(lines, k, above[:end] + " " + opener + above[end:])
            out.append(Candidate(0, new, note, 1))
    pairs = [t for t in tokens_of(body) if t.type not in (tokenize.NEWLINE, tokenize.NL)]
    for left, right in itertools.pairwise(pairs):
        if right.start[1] >= col:
            break
        if left.type == tokenize.NAME and right.type in (tokenize.STRING, tokenize.NAME):
            at = left.end[1]
            note = f"line {lineno}: insert missing '{opener}'"
            new = replace_line(lines, lineno, body[:at] + opener + body[at:])
            out.append(Candidate(0, new, note, 2))
    return out


def continuation_candidates(lines: list[str], lineno: int) -> list[Candidate]:
    """An unexpected indent that continues the line above: its bracket went missing.

    ``x = f`` then indented arguments and a ``)`` wants ``x = f(``; ``items = []`` then
    indented items and a ``]`` wants ``items = [``; ``f(a, b),`` then more indented
    arguments wants ``f(a, b,``.
    """
    above = next((k for k in range(lineno - 1, 0, -1) if body_of(lines, k).strip()), 0)
    if not above or not code_end(body_of(lines, above)):
        return []  # after a comment, the line continues the comment, not the code
    body = body_of(lines, above)
    end = code_end(body)
    out: list[Candidate] = []
    # `x = []` + `[` would subscript a literal; `f(a),` + `(` would start a new item
    after_closer = int(body[end - 1] in OPENER or body[end - 1] == ",")
    for opener in CLOSER:
        new = body[:end] + opener + body[end:]
        note = f"line {above}: add the missing '{opener}' at the end of the line"
        out.append(Candidate(0, replace_line(lines, above, new), note, after_closer))
    for at, char in enumerate(body[:end]):
        if char in OPENER and bracket_depth(body[:at]) >= 0:
            new = body[:at] + body[at + 1 :]
            note = f"line {above}: remove the '{char}' that closed the call too soon"
            out.append(Candidate(0, replace_line(lines, above, new), note))
    return out


def _closed_before_its_lines(lines: list[str], lineno: int, closer: str) -> set[tuple[int, int]]:
    """Closers ending a line that the next lines still continue (indented under it, or
    starting with ``,`` or ``.``): ``def f()`` then indented parameters, ``x = g("a")``
    then ``, b=1)``."""
    out: set[tuple[int, int]] = set()
    for k in range(max(1, lineno - 15), lineno):
        body = body_of(lines, k)
        end = code_end(body)
        following = next((j for j in range(k + 1, lineno + 1) if code_end(body_of(lines, j))), 0)
        if not end or body[end - 1] != closer or not following:
            continue
        nxt = body_of(lines, following)
        if len(indent_of(nxt)) > len(indent_of(body)) or nxt.lstrip().startswith((",", ".")):
            out.add((k, end - 1))
    return out


def moved_bracket_candidates(lines: list[str], lineno: int, offset: int) -> list[Candidate]:
    """A bracket one or two tokens off its place, or an empty pair that has no business here.

    ``str(x not) in y`` wants ``str(x) not in y``; ``def f(x -> None):`` wants
    ``def f(x) -> None:``; ``"a" (if b) else c`` wants ``"a" if (b) else c``;
    ``from m import name()`` wants ``from m import name``. Only brackets within three
    tokens of the error are moved, and these rank after any one-character repair.
    """
    body = body_of(lines, lineno)
    toks = [
        t
        for t in tokens_of(body.lstrip() + "\n")
        if t.type not in (tokenize.NEWLINE, tokenize.NL, tokenize.ENDMARKER, tokenize.COMMENT)
    ]
    shift = len(body) - len(body.lstrip())
    starts = [t.start[1] + shift for t in toks]
    ends = [t.end[1] + shift for t in toks]
    near = [i for i, at in enumerate(starts) if abs(at - (offset - 1)) <= 40]
    if not near:
        return []
    here = min(near, key=lambda i: abs(starts[i] - (offset - 1)))
    out: list[Candidate] = []
    for i in range(max(0, here - 3), min(len(toks), here + 4)):
        char = toks[i].string
        if toks[i].type != tokenize.OP or char not in "()[]{}":
            continue
        if char in CLOSER and i + 1 < len(toks) and toks[i + 1].string == CLOSER[char]:
            new = body[: starts[i]] + body[ends[i + 1] :]
            note = f"line {lineno}: remove the empty '{char}{CLOSER[char]}'"
            out.append(Candidate(0, replace_line(lines, lineno, new), note, 1))
        rest = body[: starts[i]] + body[ends[i] :]
        width = ends[i] - starts[i]
        if re.match(r"\w\w", rest[starts[i] - 1 : starts[i] + 1]) and starts[i]:
            continue  # `f(x` without its bracket would read `fx`
        for k in range(max(0, i - 3), min(len(toks), i + 4)):
            # A closer goes right after token k, an opener right before it.
            closer = char in OPENER
            if k < i:
                crossed = toks[k + 1 : i] if closer else toks[k:i]
            else:
                crossed = toks[i + 1 : k + 1] if closer else toks[i + 1 : k]
            words = all(t.type == tokenize.NAME or t.string == "->" for t in crossed)
            if k == i or not crossed or not words:
                continue  # only across words (`not`, `if`, `-> None`), never `.`, `:`, `,`
            at = ends[k] if closer else starts[k]
            if k > i:
                at -= width
            new = rest[:at] + char + rest[at:]
            note = f"line {lineno}: move '{char}' to column {at + 1}"
            out.append(Candidate(0, replace_line(lines, lineno, new), note, 1 + len(crossed)))
    return out


def parenthesized_parameter_candidates(
    lines: list[str], lineno: int, offset: int
) -> list[Candidate]:
    """``def f((a, b):`` wants ``def f(a, b):``; ``def f((a, b)):`` loses both brackets."""
    body = body_of(lines, lineno)
    col = offset - 1
    if not 0 <= col < len(body) or body[col] != "(":
        return []
    note = f"line {lineno}: remove the '(' around the parameters"
    out = [Candidate(0, replace_line(lines, lineno, body[:col] + body[col + 1 :]), note)]
    depth = 0
    for at in range(col, len(body)):
        depth += {"(": 1, ")": -1}.get(body[at], 0)
        if depth == 0:
            new = body[:col] + body[col + 1 : at] + body[at + 1 :]
            out.append(Candidate(0, replace_line(lines, lineno, new), note + " and its ')'"))
            break
    return out
