"""Which lines of a comment are live Markdown text."""

from __future__ import annotations

import time

from app.commands.markdown import live_lines, split_lines


def live(body: str) -> list[int]:
    return [number for number, _ in live_lines(body)]


def test_split_lines_handles_every_line_ending() -> None:
    assert split_lines("a\r\nb\rc\nd") == ["a", "b", "c", "d"]


def test_blank_lines_are_not_live() -> None:
    assert live("a\n\n  \nb") == [1, 4]


def test_fence_lines_and_contents_are_dead() -> None:
    assert live("a\n```\nb\n```\nc") == [1, 5]


def test_quote_lines_are_dead() -> None:
    assert live("> a\nb") == [2]


def test_pathological_backticks_are_fast() -> None:
    body = "\n".join("`" * n + " x" for n in range(1, 400)) * 5
    started = time.perf_counter()
    list(live_lines(body))
    assert time.perf_counter() - started < 2
