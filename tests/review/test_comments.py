"""Inline comments on changed lines, fingerprints and suggested changes."""

from __future__ import annotations

from app.engine.findings import Finding, Severity
from app.review.comments import fingerprint, inline_comments, suggestions, summary_comment


def finding(line: int, message: str = "bad") -> Finding:
    return Finding("app.py", line, 1, "ruff/F401", Severity.WARNING, message)


def test_only_changed_lines_get_comments() -> None:
    chosen = inline_comments([finding(1), finding(5)], {"app.py": {5, 6}})
    assert [body["line"] for _, body in chosen] == [5]
    assert chosen[0][1]["side"] == "RIGHT" and "`ruff/F401`" in chosen[0][1]["body"]


def test_fingerprint_ignores_the_line_number_but_not_the_text() -> None:
    before = ["import os", "x = 1"]
    after = ["", "import os", "x = 1"]
    assert fingerprint(finding(1), before) == fingerprint(finding(2), after)
    assert fingerprint(finding(1), ["import sys"]) != fingerprint(finding(1), before)


def test_suggestion_replaces_the_changed_lines() -> None:
    old = "def f()\n    return 1\n"
    new = "def f():\n    return 1\n"
    [comment], missed = suggestions("app.py", old, new, {1, 2})
    assert missed == 0
    assert comment["line"] == 1 and "start_line" not in comment
    assert comment["body"].endswith("```suggestion\ndef f():\n```")


def test_an_insertion_is_suggested_on_the_line_before() -> None:
    old = "x = [\n    1,\ny = 2\n"
    new = "x = [\n    1,\n]\ny = 2\n"
    [comment], _ = suggestions("app.py", old, new, {1, 2, 3})
    assert comment["line"] == 2
    assert "```suggestion\n    1,\n]\n```" in comment["body"]


def test_changes_outside_the_diff_are_counted_not_suggested() -> None:
    comments, missed = suggestions("app.py", "a\nb\n", "a\nB\n", {1})
    assert comments == [] and missed == 1


def test_multi_line_suggestion_has_a_start_line() -> None:
    [comment], _ = suggestions("app.py", "a\nb\nc\n", "A\nB\nc\n", {1, 2})
    assert (comment["start_line"], comment["line"]) == (1, 2)
    assert "Deckhand" in summary_comment("1 error", "text", "https://example.test/run")
