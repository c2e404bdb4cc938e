"""Property tests: `parse_comment` never raises, whatever the comment says."""

from __future__ import annotations

import pytest

from app.commands import MAX_COMMANDS, CommandError, parse_comment

hypothesis = pytest.importorskip("hypothesis")
st = hypothesis.strategies

PIECES = [
    *"/-`~>\"'\\ \t\r\n#=,.<!",
    "deploy",
    "--force",
    "--components",
    "```",
    "<!--",
    "-->",
    "/deploy",
    "/lock",
    "/rollback",
    "--reason",
    "production",
    "12",
    "\u2014",
    "\u201c",
]
COMMAND_LIKE = st.lists(st.sampled_from(PIECES), max_size=80).map("".join)


def check(body: str) -> None:
    results = parse_comment(body)
    assert len(results) <= MAX_COMMANDS
    lines = [result.line for result in results]
    assert lines == sorted(set(lines))
    for result in results:
        assert result.line >= 1
        if isinstance(result, CommandError):
            assert result.message
            assert len(result.text) <= 120


@hypothesis.settings(max_examples=300, deadline=None, database=None)
@hypothesis.given(st.text(max_size=300))
def test_never_raises_on_arbitrary_text(body: str) -> None:
    check(body)


@hypothesis.settings(max_examples=500, deadline=None, database=None)
@hypothesis.given(COMMAND_LIKE)
def test_never_raises_on_command_like_text(body: str) -> None:
    check(body)
