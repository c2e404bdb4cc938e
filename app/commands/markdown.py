"""Which lines of a GitHub comment are live text, so a command in code or a quote is not run.

Just enough Markdown to answer one question per line: could this line be a command?
Dead lines are those inside a fenced code block (``` or ~~~, any info string, at any
indentation or after a list marker, so a fence inside a list item counts too; an
unclosed fence runs to the end), block-quote lines (first non-space text `>`), lines
inside an HTML comment (`<!-- ... -->`, invisible in the rendered comment, common in
templates) and lines that begin inside an inline code span that started on an earlier
line of the same paragraph. It errs toward calling a line dead: a command shown as
code must never run. It knows nothing about commands themselves.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterator

LINE_BREAK = re.compile(r"\r\n|\r|\n")
FENCE_OPEN = re.compile(r"^\s*(?:(?:[-*+]|\d{1,9}[.)])\s+)*(`{3,}|~{3,})(.*)$")
QUOTE = re.compile(r"^\s*>")
HTML_COMMENT_OPEN = re.compile(r"^\s*<!--")
BACKTICKS = re.compile(r"`+")
INLINE_START = re.compile(r"`+|<!--")


def split_lines(body: str) -> list[str]:
    """The lines of `body`, whatever the line endings (LF, CRLF or a lone CR)."""
    return LINE_BREAK.split(body)


def live_lines(body: str) -> Iterator[tuple[int, str]]:
    """(1-based line number, text) of each line that is live Markdown text, in order."""
    paragraph: list[tuple[int, str]] = []
    for number, line in _block_lines(split_lines(body)):
        if line is None:
            yield from _outside_code_spans(paragraph)
            paragraph = []
        else:
            paragraph.append((number, line))
    yield from _outside_code_spans(paragraph)


def _block_lines(lines: list[str]) -> Iterator[tuple[int, str | None]]:
    """Each line, or None for a line that is dead or ends a paragraph (blank, fence, quote)."""
    fence: str | None = None  # the run of fence characters that would close the open fence
    fence_column = 0  # a closing fence may be indented at most 3 more than the opening one
    in_comment = False
    for number, line in enumerate(lines, start=1):
        if fence is not None:
            stripped = line.lstrip()
            indent = len(line) - len(stripped)
            stripped = stripped.rstrip()
            if (
                indent <= fence_column + 3
                and stripped.startswith(fence)
                and stripped == fence[0] * len(stripped)
            ):
                fence = None
            yield number, None
            continue
        if in_comment:
            in_comment = "-->" not in line
            yield number, None
            continue
        opening = FENCE_OPEN.match(line)
        if QUOTE.match(line):
            yield number, None
        elif opening and not (opening.group(1)[0] == "`" and "`" in opening.group(2)):
            fence, fence_column = opening.group(1), opening.start(1)
            yield number, None
        elif HTML_COMMENT_OPEN.match(line):
            in_comment = "-->" not in line.split("<!--", 1)[1]
            yield number, None
        elif not line.strip():
            yield number, None
        else:
            yield number, line


def _outside_code_spans(paragraph: list[tuple[int, str]]) -> Iterator[tuple[int, str]]:
    """The lines of one paragraph that do not begin inside a code span or an HTML comment."""
    if not paragraph:
        return
    text = "\n".join(line for _, line in paragraph)
    masked = _masked_ranges(text)
    starts = [start for start, _ in masked]
    offset = 0
    for number, line in paragraph:
        index = bisect.bisect_left(starts, offset) - 1
        if index < 0 or masked[index][1] <= offset:
            yield number, line
        offset += len(line) + 1


def _masked_ranges(text: str) -> list[tuple[int, int]]:
    """[start, end) of each code span and inline HTML comment, scanning left to right
    as CommonMark does: a run of n backticks opens a span only if a later run of
    exactly n closes it; a backslash before a run escapes its first backtick."""
    runs: dict[int, list[int]] = {}
    for run in BACKTICKS.finditer(text):
        runs.setdefault(len(run.group()), []).append(run.start())
    masked: list[tuple[int, int]] = []
    position = 0
    while (found := INLINE_START.search(text, position)) is not None:
        start, opener = found.start(), found.group()
        if opener == "<!--":
            close = text.find("-->", start + 4)
            if close < 0:
                position = start + 4
                continue
            masked.append((start, close + 3))
            position = close + 3
            continue
        before = start
        while before > position and text[before - 1] == "\\":
            before -= 1
        if (start - before) % 2:
            start, opener = start + 1, opener[1:]
            if not opener:
                position = start
                continue
        length = len(opener)
        starts = runs.get(length, [])
        index = bisect.bisect_left(starts, start + length)
        if index < len(starts):
            close = starts[index]
            masked.append((start, close + length))
            position = close + length
        else:
            position = start + length
    return masked
