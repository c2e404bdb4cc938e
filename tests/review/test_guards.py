"""The loop guards: skip markers, bot-authored heads, three bot commits in a row."""

from __future__ import annotations

from app.git.mirror import CommitInfo
from app.review.guards import fix_refusal, is_protected, skip_reason

BOT = ("deckhand[bot]", "1+deckhand[bot]@users.noreply.github.com")
HUMAN = ("Alice", "alice@example.com")


def history(*authors: tuple[str, str]) -> list[CommitInfo]:
    return [
        CommitInfo(f"{i:040x}", name, email, "msg", ()) for i, (name, email) in enumerate(authors)
    ]


def test_skip_markers_are_case_insensitive() -> None:
    assert skip_reason("Fix typo [skip ci]") == "the head commit says [skip ci]"
    assert skip_reason("WIP [CI SKIP]") is not None
    assert skip_reason("docs\n\n[skip deckhand]") is not None
    assert skip_reason("skip ci without brackets") is None


def test_a_bot_head_is_not_fixed_unless_a_person_asks() -> None:
    assert "bot" in str(fix_refusal(history(BOT, HUMAN), requested=False))
    assert fix_refusal(history(BOT, HUMAN), requested=True) is None
    assert fix_refusal(history(HUMAN, BOT), requested=False) is None


def test_three_bot_commits_in_a_row_stop_even_requested_fixes() -> None:
    refusal = fix_refusal(history(BOT, BOT, BOT, HUMAN), requested=True)
    assert refusal == "the last 3 commits on the branch are bot commits"
    assert fix_refusal(history(BOT, BOT, HUMAN), requested=True) is None
    assert fix_refusal([], requested=True) == "the head commit is not available"


def test_workflows_are_protected() -> None:
    assert is_protected(".github/workflows/ci.yml")
    assert not is_protected(".github/deckhand.yml")
