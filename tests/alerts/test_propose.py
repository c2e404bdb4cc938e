"""The pure parts of `/propose-fix`: which files go to the model, how its answer is read
and what of it is refused, and how the engine's findings become the reply."""

from __future__ import annotations

import json

import pytest

from app.alerts.propose import (
    MAX_FILES_CHANGED,
    MAX_FILES_SENT,
    Declined,
    Proposal,
    checked_changes,
    parse_answer,
    pull_body,
    refuse_errors,
    trace_paths,
)
from app.alerts.sources import Alert, Frame
from app.engine.findings import FileReport, Finding, Severity
from app.review.analysis import Analysis


def alert(*frames: Frame) -> Alert:
    return Alert("generic", "fp", "TypeError", "error", "firing", "production", "", frames)


def test_only_repository_frames_innermost_first_once_each() -> None:
    found = trace_paths(
        alert(
            Frame("app/checkout.py", 12),
            Frame("/usr/lib/python3.11/asyncio/events.py", 84),
            Frame("./app/cart.py", 3),
            Frame("app/checkout.py", 40),
            Frame(".venv/lib/python3.12/site-packages/x/y.py", 1),
            Frame("app/vendor_code.py", 1, in_app=False),
            Frame("../outside.py", 1),
        )
    )
    assert found == ["app/checkout.py", "app/cart.py"]
    many = alert(*(Frame(f"app/m{i}.py", 1) for i in range(10)))
    assert len(trace_paths(many)) == MAX_FILES_SENT


def test_a_well_formed_answer() -> None:
    text = json.dumps(
        {
            "files": [{"path": "a.py", "content": "x = 1\n"}],
            "explanation": "It  was\nbroken; ask @alice.",
        }
    )
    proposal = parse_answer(text)
    assert proposal.files == {"a.py": "x = 1\n"}
    assert proposal.explanation == "It was broken; ask @\u200balice."


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        ("Sure, here is a fix", "not the JSON"),
        ('{"files": "a.py"}', "not the JSON"),
        ('{"files": [{"path": "a.py"}], "explanation": ""}', "without a `path`"),
        ('{"files": [], "explanation": "Not enough to go on."}', "Not enough"),
        (
            json.dumps({"files": [{"path": "a", "content": ""}] * 2, "explanation": "twice"}),
            "twice",
        ),
    ],
)
def test_unusable_answers_say_why(answer: str, reason: str) -> None:
    with pytest.raises(Declined, match=reason):
        parse_answer(answer)


def test_changes_are_limited_to_the_files_sent() -> None:
    sent = {"a.py": "x = 1\n", "b.py": "y = 1\n"}
    changed = checked_changes(Proposal({"a.py": "x = 2\n", "b.py": "y = 1\n"}, ""), sent)
    assert changed == {"a.py": "x = 2\n"}  # an unchanged file is dropped
    with pytest.raises(Declined, match=r"`c\.py`, which is not"):
        checked_changes(Proposal({"c.py": "z"}, ""), sent)
    with pytest.raises(Declined, match="at most"):
        files = {f"f{i}.py": "" for i in range(MAX_FILES_CHANGED + 1)}
        checked_changes(Proposal(files, ""), {**files, **sent})
    with pytest.raises(Declined, match="binary"):
        checked_changes(Proposal({"a.py": "\0"}, ""), sent)
    with pytest.raises(Declined, match="binary"):
        checked_changes(Proposal({"a.py": "\ud800"}, ""), sent)
    with pytest.raises(Declined, match="the same as the current ones"):
        checked_changes(Proposal({"a.py": "x = 1\n"}, ""), sent)


def test_error_findings_and_skipped_files_refuse_and_are_listed() -> None:
    warning = Finding("a.py", 3, 1, "ruff/B006", Severity.WARNING, "mutable default")
    error = Finding("a.py", 7, 5, "syntax", Severity.ERROR, "invalid syntax")
    fine = Analysis(reports=[FileReport("a.py", [warning])])
    refuse_errors(fine)  # warnings pass
    body = pull_body(4, "maintainer", Proposal({"a.py": ""}, "Because."), fine)
    assert body.startswith("<!-- deckhand:propose-fix:issue-4 -->")
    assert "Proposed fix for #4" in body and "mutable default" in body and "no errors" in body
    with pytest.raises(Declined) as refused:
        refuse_errors(Analysis(reports=[FileReport("a.py", [warning, error])]))
    assert "`a.py:7`: invalid syntax (syntax)" in str(refused.value)
    assert "mutable default" not in str(refused.value)
    with pytest.raises(Declined, match="not UTF-8"):
        refuse_errors(Analysis(reports=[FileReport("b.py", skipped="not UTF-8 text")]))
