"""Syntax repair candidates for indentation: unexpected indents, dedents that match no
level, missing indented blocks and mixed tabs and spaces.

Evidence used besides the indentation levels: a comment sits at the indentation of the code
it introduces; a flush line after ``if x:`` is the one line that header governs, a flush run
after ``def``/``class`` is its body; a lone word, a repeated line or a stray word after a
header's colon is debris to remove rather than code to re-indent. Re-indented lines keep the
file's own indentation style (tabs, or its usual number of spaces).
"""

from __future__ import annotations

import ast
import re
import tokenize
from collections import Counter

from app.engine.repair_text import (
    HEADER,
    NEW_BLOCK,
    Candidate,
    body_of,
    bracket_depth,
    code_end,
    ending_of,
    indent_of,
    newline_of,
    replace_line,
    statement_end,
    tokens_of,
)


def indent_unit(lines: list[str]) -> str:
    """The file's indentation step: a tab, or the most common step in spaces (default 4)."""
    tabs = spaces = 0
    steps: Counter[int] = Counter()
    previous = 0
    for line in lines:
        body = line.rstrip("\r\n")
        if not body.strip():
            continue
        indent = indent_of(body)
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
    for tok in tokens_of("".join(lines[: lineno - 1])):
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
        body = body_of(lines, k)
        if not body.strip():
            continue
        indent = indent_of(body)
        if k > lineno and (not indent.startswith(old) or (same_only and indent != old)):
            break
        result[k - 1] = new + body[len(old) :] + ending_of(lines, k)
    return tuple(result)


def dedent_candidates(lines: list[str], lineno: int, snap: bool) -> list[Candidate]:
    body = body_of(lines, lineno)
    old = indent_of(body)
    out: list[Candidate] = []
    levels = _levels(lines, lineno)
    if snap:
        # The odd one may be the line that opened a level this line should have closed:
        # an odd number of spaces against an even one. Listed first to win same-AST ties.
        above = [(level, line) for level, line in levels if len(level) > len(old) and line]
        if above and len(above[0][0]) % 2 == 1 and len(old) % 2 == 0 and "\t" not in old:
            level, line = above[0]
            opener = body_of(lines, line)
            if level.startswith(old) or old.startswith(level[: len(old)]):
                note = f"line {line}: re-indent to column {len(old.expandtabs(8)) + 1}"
                new = old + opener[len(level) :]
                out.append(Candidate(0, replace_line(lines, line, new), note))
                run = _shifted_run(lines, line, level, old, same_only=True)
                out.append(Candidate(0, run, note + " with the lines of its block"))
    if not snap:
        # The line before may be the odd one: a stray dedent in the middle of a block.
        previous = next((k for k in range(lineno - 1, 0, -1) if body_of(lines, k).strip()), 0)
        prev_body = body_of(lines, previous)
        prev_indent = indent_of(prev_body)
        if previous and len(prev_indent) < len(old) and any(lv == old for lv, _ in levels):
            note = f"line {previous}: re-indent to column {len(old.expandtabs(8)) + 1}"
            new_prev = old + prev_body[len(prev_indent) :]
            out.append(Candidate(0, replace_line(lines, previous, new_prev), note))
    # An indent that matches no level: at equal cost, the previous line's level is the
    # strongest evidence (the line was meant to continue that block).
    previous = next((k for k in range(lineno - 1, 0, -1) if body_of(lines, k).strip()), 0)
    prev_level = indent_of(body_of(lines, previous)) if snap and previous else None
    for level in dict.fromkeys(level for level, _ in levels):
        if level == old or (not snap and len(level) >= len(old)):
            continue
        verb = "re-indent" if snap else "dedent"
        note = f"line {lineno}: {verb} to column {len(level.expandtabs(8)) + 1}"
        new = level + body[len(old) :]
        tie = 0 if level == prev_level else 1
        out.append(Candidate(0, replace_line(lines, lineno, new), note, tie))
        run = _shifted_run(lines, lineno, old, level, same_only=snap)
        out.append(Candidate(0, run, note + " with the lines of its block", tie))
    return out


def block_candidates(lines: list[str], lineno: int, msg: str) -> list[Candidate]:
    found = re.search(r"on line (\d+)", msg)
    header_line = int(found.group(1)) if found else lineno - 1
    if not 1 <= header_line <= len(lines):
        return []
    unit = indent_unit(lines)
    header_indent = indent_of(body_of(lines, header_line))
    body_indent = header_indent + unit
    newline = newline_of(lines)
    at = min(lineno, len(lines) + 1)
    if not any(code_end(body_of(lines, k)) for k in range(at, len(lines) + 1)):
        at = len(lines) + 1  # only comments after the header: the end of the file
    while at - 1 > header_line and not body_of(lines, at - 1).strip():
        at -= 1  # right after the header (and its comments), before blank lines
    padded = list(lines)
    if padded and not ending_of(padded, len(padded)):
        padded[-1] = padded[-1] + newline
    pass_lines = tuple([*padded[: at - 1], body_indent + "pass" + newline, *padded[at - 1 :]])
    if at > len(lines):
        pass_lines = tuple([*padded, body_indent + "pass" + newline])
    pass_note = f"line {header_line}: add 'pass' as the missing indented block"
    out = [Candidate(1, pass_lines, pass_note)]
    if lineno > len(lines):
        return [Candidate(0, pass_lines, pass_note)]
    body = body_of(lines, lineno)
    if indent_of(body) != header_indent or NEW_BLOCK.match(body):
        return [Candidate(0, pass_lines, pass_note)]
    result = list(lines)
    k = lineno
    while k <= len(lines):
        line_body = body_of(lines, k)
        indent = indent_of(line_body)
        if not line_body.strip():
            following = next(
                (j for j in range(k + 1, len(lines) + 1) if body_of(lines, j).strip()), None
            )
            if following is None or indent_of(body_of(lines, following)) == header_indent:
                break
            k += 1
            continue
        if not indent.startswith(header_indent) or len(indent) < len(header_indent):
            break
        if k > lineno and indent == header_indent and (NEW_BLOCK.match(line_body)):
            break
        result[k - 1] = unit + line_body + ending_of(lines, k)
        k += 1
    last = k - 1
    note = f"lines {lineno}-{last}: indent the block after line {header_line}"
    if last == lineno:
        note = f"line {lineno}: indent the block after line {header_line}"
    # A def/class body written flush with its header is usually the whole run; a flush line
    # after `if`/`for`/`with`/... is usually the one line the header governs.
    whole_run = bool(re.match(r"\s*(?:async\s+)?(?:def|class)\b", body_of(lines, header_line)))
    out.insert(0, Candidate(0 if whole_run else 1, tuple(result), note))
    stop = statement_end(lines, lineno)
    if stop < last:
        single = list(lines)
        for j in range(lineno, stop + 1):
            if body_of(lines, j).strip():
                single[j - 1] = unit + lines[j - 1]
        note = f"line {lineno}: indent the statement after line {header_line}"
        out.insert(0, Candidate(1 if whole_run else 0, tuple(single), note))
    out += _flush_run_candidates(lines, lineno, header_line, unit)
    header = body_of(lines, header_line)
    above = next((k for k in range(header_line - 1, 0, -1) if code_end(body_of(lines, k))), 0)
    opens_block = body_of(lines, above)[: code_end(body_of(lines, above))].endswith(":")
    if (
        re.match(r"\s*try\s*:\s*(?:#.*)?$", header)
        and indent_of(body) == header_indent
        and not opens_block
    ):
        # A `try:` that governs nothing (no handler follows its level): a leftover line.
        # Not the first line of a block, which would be left empty.
        removed = (*lines[: header_line - 1], *lines[header_line:])
        out.append(Candidate(1, removed, f"line {header_line}: remove the empty 'try:'"))
    return out


def _flush_run_candidates(
    lines: list[str], lineno: int, header_line: int, unit: str
) -> list[Candidate]:
    """Statements flush with their header, followed by lines already indented under it:
    indent the flush ones. A header that repeats the line above it (a paste gone wrong,
    ``for x in y:`` twice) is removed instead."""
    header = body_of(lines, header_line)
    header_indent = indent_of(header)
    out: list[Candidate] = []
    above = next((k for k in range(header_line - 1, 0, -1) if code_end(body_of(lines, k))), 0)
    if above and body_of(lines, above).strip() == header.strip():
        removed = (*lines[: header_line - 1], *lines[header_line:])
        out.append(Candidate(-1, removed, f"line {header_line}: remove the repeated line", 0))
    k = lineno
    while k <= len(lines) and k < lineno + 12:
        body = body_of(lines, k)
        if not code_end(body):
            k += 1
        elif indent_of(body) == header_indent and not HEADER.match(body):
            k = statement_end(lines, k) + 1  # simple statements only: not `if x:` and its body
        else:
            break
    body = body_of(lines, k)
    if k > lineno and code_end(body) and len(indent_of(body)) > len(header_indent):
        shifted = list(lines)
        for j in range(lineno, k):
            if body_of(lines, j).strip():
                shifted[j - 1] = unit + lines[j - 1]
        note = f"lines {lineno}-{k - 1}: indent the statements after line {header_line}"
        out.append(Candidate(0, tuple(shifted), note))
    return out


def tab_candidates(lines: list[str], lineno: int) -> list[Candidate]:
    body = body_of(lines, lineno)
    old = indent_of(body)
    unit = indent_unit(lines[: lineno - 1] + lines[lineno:])
    out: list[Candidate] = []
    if not old or ("\t" not in old and unit != "\t"):
        # The line is fine: the tab may be in the line above that opened its block.
        for k in range(lineno - 1, max(0, lineno - 10), -1):
            if "\t" in indent_of(body_of(lines, k)) and body_of(lines, k).strip():
                return tab_candidates(lines, k)
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
            out.append(Candidate(rank, replace_line(lines, lineno, new + body[len(old) :]), note))
            run = _shifted_run(lines, lineno, old, new, True)
            out.append(Candidate(rank, run, note + " (block)"))
            mixed = _mixed_run(lines, lineno, style, size)
            out.append(Candidate(rank, mixed, note + f" (lines {lineno} on, tab size {size})"))
    return out


def _mixed_run(lines: list[str], lineno: int, style: str, size: int) -> tuple[str, ...]:
    """Normalize line ``lineno`` and the following lines indented in the other style."""
    other = " " if style == "\t" else "\t"
    result = list(lines)
    for k in range(lineno, len(lines) + 1):
        body = body_of(lines, k)
        if not body.strip():
            continue
        indent = indent_of(body)
        if k > lineno and other not in indent:
            break
        width = len(indent.expandtabs(size))
        if style == "\t":
            new = "\t" * (width // size) + " " * (width % size)
        else:
            new = " " * width
        result[k - 1] = new + body[len(indent) :] + ending_of(lines, k)
    return tuple(result)


def comment_candidates(lines: list[str], lineno: int, msg: str) -> list[Candidate]:
    """Re-indent a statement to the column of the comment right above it.

    A comment sits at the indentation of the code it introduces, so a statement indented
    deeper or shallower than the comment just above it is the line that moved. Which
    statement: the error line for an unexpected indent, the header for a missing block,
    any line that opened one of the open levels for a dedent that matches none of them.
    """
    if "unexpected indent" in msg:
        targets = [lineno]
    elif "expected an indented block" in msg:
        found = re.search(r"on line (\d+)", msg)
        targets = [int(found.group(1))] if found else []
    elif "unindent does not match" in msg:
        targets = [line for _, line in _levels(lines, lineno) if line]
    else:
        targets = []
    out: list[Candidate] = []
    for target in targets:
        if not 1 < target <= len(lines):
            continue
        above = next((k for k in range(target - 1, 0, -1) if body_of(lines, k).strip()), 0)
        comment = body_of(lines, above)
        body = body_of(lines, target)
        want, have = indent_of(comment), indent_of(body)
        if not comment.lstrip().startswith("#") or want == have:
            continue
        column = len(want.expandtabs(8)) + 1
        note = f"line {target}: re-indent to column {column}, as the comment above"
        out.append(Candidate(0, replace_line(lines, target, want + body[len(have) :]), note, -1))
    return out


def stray_line_candidates(lines: list[str], lineno: int) -> list[Candidate]:
    """An unexpectedly indented line that is debris rather than code: remove it.

    Debris: a lone word (``Sa``, a stray keystroke), a line that repeats the statement above
    it (a paste gone wrong), a lone literal (``'text',``) left over from an edit; or a stray
    word after the colon of the header above (``if x:s``) that turned its block into an
    unexpected indent. These rank before any re-indentation.
    """
    body = body_of(lines, lineno)
    code = body[: code_end(body)].strip()
    out: list[Candidate] = []
    above = next((k for k in range(lineno - 1, 0, -1) if code_end(body_of(lines, k))), 0)
    prev = body_of(lines, above)
    prev_code = prev[: code_end(prev)]
    for target, text in ((lineno, code), (above, prev_code.strip())):
        if target < lineno and len(indent_of(prev)) >= len(indent_of(body)):
            continue  # the line above is debris only when it broke the indentation
        if statement_end(lines, target) != target or not text:
            continue
        node = _statement(text)
        debris = isinstance(node, ast.Expr) and _is_literal_or_name(node.value)
        if target == lineno and node is not None:
            above_node = _statement(prev_code.strip())
            debris = debris or (above_node is not None and ast.dump(node) == ast.dump(above_node))
        if debris:
            removed = (*lines[: target - 1], *lines[target:])
            out.append(Candidate(-1, removed, f"line {target}: remove the stray line", 0))
    colons = [
        i
        for i, char in enumerate(prev_code)
        if char == ":" and bracket_depth(prev_code[:i]) == 0 and prev_code[i + 1 : i + 2] != "="
    ]
    if (
        colons
        and prev_code[colons[0] + 1 :].strip()
        and (NEW_BLOCK.match(prev) or _is_header(prev))
    ):
        # `def f() -> list:[int]` then an indented body: the colon went one token early.
        at = colons[0]
        new = prev_code[:at] + prev_code[at + 1 :].rstrip() + ":" + prev[len(prev_code) :]
        note = f"line {above}: move the ':' to the end of the header"
        out.append(Candidate(0, replace_line(lines, above, new), note, 0))
    word = re.search(r":\s*([A-Za-z_]\w{0,2})$", prev_code)
    if word and (NEW_BLOCK.match(prev) or _is_header(prev)):
        cut = len(prev_code[: word.start(1)].rstrip())
        new = prev[:cut] + prev[word.end(1) :]
        note = f"line {above}: remove the stray '{word.group(1)}' after ':'"
        out.append(Candidate(-1, replace_line(lines, above, new), note, 0))
    return out


def _statement(code: str) -> ast.stmt | None:
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return None
    return tree.body[0] if len(tree.body) == 1 else None


def _is_literal_or_name(node: ast.expr, in_tuple: bool = False) -> bool:
    """A short name, a number, or a tuple of literals (``'text',``); a lone string may be
    a comment written as a string, and is kept."""
    if isinstance(node, ast.Tuple):
        return all(_is_literal_or_name(item, True) for item in node.elts)
    if isinstance(node, ast.Constant):
        return in_tuple or not isinstance(node.value, str)
    return isinstance(node, ast.Name) and len(node.id) <= 4


def _is_header(body: str) -> bool:
    return (
        re.match(r"\s*(?:async\s+)?(?:if|elif|else|for|while|try|except|finally|with)\b", body)
        is not None
    )


_CLAUSE = re.compile(r"\s*(else|elif|except|finally)\b")
_OPENS = {
    "else": ("if", "elif", "for", "while", "try", "except"),
    "elif": ("if", "elif"),
    "except": ("try", "except"),
    "finally": ("try", "except", "else"),
}


def _logical_lines(lines: list[str], stop: int) -> list[tuple[int, int, str]]:
    """The statements that start before line ``stop``: (first line, last line, indent)."""
    out: list[tuple[int, int, str]] = []
    first = 0
    for tok in tokens_of("".join(lines[: stop - 1])):
        if tok.type in (tokenize.NL, tokenize.COMMENT, tokenize.INDENT, tokenize.DEDENT):
            continue
        if tok.type == tokenize.ENDMARKER:
            break
        if not first:
            first = tok.start[0]
        if tok.type == tokenize.NEWLINE:
            out.append((first, tok.start[0], indent_of(body_of(lines, first))))
            first = 0
    return out


def clause_candidates(lines: list[str], lineno: int) -> list[Candidate]:
    """An ``else``/``elif``/``except``/``finally`` that follows no block it can close.

    Either the clause lost its indentation (``if a:`` ... ``    else:`` one level too deep or
    too shallow): it and its block move to the level of the nearest header it can close; or
    the last lines of the block it closes were dedented (``if a:`` / ``    b()`` / ``c()`` /
    ``else:``): the lines between that block and the clause go back under the header.
    """
    body = body_of(lines, lineno)
    found = _CLAUSE.match(body)
    if found is None:
        return []
    keyword, old = found.group(1), indent_of(body)
    statements = _logical_lines(lines, lineno)[-150:]
    out: list[Candidate] = []
    # The clause's own block: the lines after it indented deeper than it.
    end = lineno
    for k in range(lineno + 1, len(lines) + 1):
        line = body_of(lines, k)
        if line.strip() and len(indent_of(line)) <= len(old) and code_end(line):
            break
        end = k
    while end > lineno and not body_of(lines, end).strip():
        end -= 1
    # 1. Move the clause (and its block) to the level of a header it can close.
    floor: str | None = None  # the shallowest statement seen between the header and the clause
    for first, _, indent in reversed(statements):
        words = body_of(lines, first).split(maxsplit=1)
        word = re.sub(r"\W.*", "", words[0]) if words else ""
        if floor is not None and len(indent) >= len(floor):
            continue
        if word in _OPENS[keyword] and len(indent) < len(old) and old.startswith(indent):
            shifted = list(lines)
            for k in range(lineno, end + 1):
                line = body_of(lines, k)
                if line.strip() and line.startswith(old):
                    shifted[k - 1] = indent + line[len(old) :] + ending_of(lines, k)
            note = f"line {lineno}: re-indent '{keyword}' to line {first}'s level"
            if end > lineno:
                note += " with the lines of its block"
            out.append(Candidate(0, tuple(shifted), note, 0))
        floor = indent
        if not indent:
            break
    # 2. Put the lines dedented out of the block back under the header: a few simple
    # statements right after the block (no blank line or comment between: those would
    # say the block had ended), never after a loop (`for ... else` is rare).
    for index in range(len(statements) - 1, -1, -1):
        first, _, indent = statements[index]
        if len(indent) < len(old) or not indent.startswith(old):
            break
        if indent != old:
            continue
        word = re.sub(r"\W.*", "", body_of(lines, first).split(maxsplit=1)[0])
        following = statements[index + 1] if index + 1 < len(statements) else None
        if (
            word in _OPENS[keyword]
            and word not in ("for", "while")
            and following is not None
            and len(following[2]) > len(old)
            and following[2].startswith(old)
        ):
            # The header's block ends at the first statement back at its level.
            deeper = following[2][len(old) :]
            stop = next(
                (s for s, _, ind in statements[index + 1 :] if len(ind) <= len(old)), lineno
            )
            run = [s for s, _, _ in statements[index + 1 :] if s >= stop]
            block_end = max(last for _, last, _ in statements[index:] if last < stop)
            gap = stop - block_end > 1
            simple = all(not HEADER.match(body_of(lines, k)) for k in run)
            if stop == lineno or gap or len(run) > 3 or not simple:
                break
            shifted = list(lines)
            for k in range(stop, lineno):
                line = body_of(lines, k)
                if line.strip():
                    shifted[k - 1] = old + deeper + line[len(old) :] + ending_of(lines, k)
            last = max(k for k in range(stop, lineno) if body_of(lines, k).strip())
            note = f"lines {stop}-{last}: indent back under line {first}"
            if last == stop:
                note = f"line {stop}: indent back under line {first}"
            out.append(Candidate(0, tuple(shifted), note, 1))
            break
    return out


def decorator_candidates(lines: list[str], lineno: int) -> list[Candidate]:
    """An unexpected unindent after decorators indented deeper than the definition they
    decorate: the decorators move to the definition's level."""
    body = body_of(lines, lineno)
    want = indent_of(body)
    above = [k for k in range(lineno - 1, max(0, lineno - 10), -1) if body_of(lines, k).strip()]
    decorators = []
    for k in above:
        line = body_of(lines, k)
        if not line.lstrip().startswith("@") or len(indent_of(line)) <= len(want):
            break
        decorators.append(k)
    if not decorators or not NEW_BLOCK.match(body):
        return []
    moved = list(lines)
    for k in decorators:
        line = body_of(lines, k)
        moved[k - 1] = want + line.lstrip(" \t") + ending_of(lines, k)
    first, last = min(decorators), max(decorators)
    note = f"line {first}: re-indent the decorator to its definition's level"
    if last > first:
        note = f"lines {first}-{last}: re-indent the decorators to their definition's level"
    return [Candidate(0, tuple(moved), note)]
