"""Shared pieces of syntax repair: candidates, lines with their endings, a rough scanner.

Everything here works on a file as a list of lines that keep their own endings (``\\n``,
``\\r\\n`` or ``\\r``), so that a candidate edit never changes the file's line endings.
Pure text helpers: no parsing of the checked code beyond ``tokenize``.
"""

from __future__ import annotations

import io
import re
import tokenize
from collections import Counter
from dataclasses import dataclass


@dataclass(frozen=True)
class Candidate:
    rank: int  # plausibility tier: lower wins before cost is compared
    lines: tuple[str, ...]  # full lines with their endings
    note: str
    tie: int = 0  # tie-break among equal (rank, cost): lower wins, else abstain

    def text(self) -> str:
        return "".join(self.lines)


_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$")


CLOSER = {"(": ")", "[": "]", "{": "}"}


OPENER = {v: k for k, v in CLOSER.items()}


HEADER = re.compile(
    r"\s*(?:async\s+)?(if|elif|else|for|while|def|class|try|except|finally|with|match|case)\b"
)


NEW_BLOCK = re.compile(r"\s*(?:@|(?:async\s+)?(?:def|class)\b|elif\b|else\b|except\b|finally\b)")


def split_lines(text: str) -> list[str]:
    return _LINE.findall(text)


def body_of(lines: list[str], lineno: int) -> str:
    if not 1 <= lineno <= len(lines):
        return ""
    return lines[lineno - 1].rstrip("\r\n")


def ending_of(lines: list[str], lineno: int) -> str:
    line = lines[lineno - 1]
    return line[len(line.rstrip("\r\n")) :]


def newline_of(lines: list[str]) -> str:
    endings = Counter(line[len(line.rstrip("\r\n")) :] for line in lines)
    endings.pop("", None)
    return endings.most_common(1)[0][0] if endings else "\n"


def replace_line(lines: list[str], lineno: int, body: str) -> tuple[str, ...]:
    result = list(lines)
    result[lineno - 1] = body + ending_of(lines, lineno)
    return tuple(result)


def code_end(body: str) -> int:
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


def tokens_of(source: str) -> list[tokenize.TokenInfo]:
    tokens: list[tokenize.TokenInfo] = []
    try:
        for tok in tokenize.generate_tokens(io.StringIO(source).readline):
            tokens.append(tok)
    except (tokenize.TokenError, SyntaxError, ValueError):
        pass
    return tokens


def bracket_depth(code: str) -> int:
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


def indent_of(body: str) -> str:
    return body[: len(body) - len(body.lstrip(" \t"))]


def statement_end(lines: list[str], lineno: int) -> int:
    """The last line of the logical line starting at ``lineno`` (brackets, backslashes).

    A bracket left open ends the statement anyway when the next line is not indented deeper
    than its first line (``f(a`` then the next statement): the bracket was forgotten.
    """
    depth = 0
    k = lineno
    first = len(indent_of(body_of(lines, lineno)))
    while k <= len(lines):
        body = body_of(lines, k)
        code = body[: code_end(body)]
        depth += bracket_depth(code)
        if (depth <= 0 and not code.endswith("\\")) or k - lineno > 50:
            return k
        following = next(
            (j for j in range(k + 1, len(lines) + 1) if code_end(body_of(lines, j))), 0
        )
        if not following or len(indent_of(body_of(lines, following))) <= first:
            return k
        k += 1
    return len(lines)


def open_brackets(code: str) -> list[tuple[int, str]]:
    """The brackets still open at the end of ``code`` (column, bracket), quotes skipped."""
    stack: list[tuple[int, str]] = []
    quote = ""
    for at, char in enumerate(code):
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char in CLOSER:
            stack.append((at, char))
        elif char in OPENER and stack and stack[-1][1] == OPENER[char]:
            stack.pop()
    return stack


def statement_is_header(lines: list[str], lineno: int) -> bool:
    """Whether the statement holding line ``lineno`` starts with a compound-statement keyword."""
    for k in range(lineno, max(0, lineno - 10), -1):
        body = body_of(lines, k)
        if HEADER.match(body):
            return True
        if k < lineno and code_end(body) and bracket_depth(body[: code_end(body)]) <= 0:
            return False
    return False
