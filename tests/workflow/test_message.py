"""app.workflow.message: the summary from old and new contents, and model answers tidied."""

from __future__ import annotations

from app.workflow.message import (
    BODY_WIDTH,
    SUBJECT_LIMIT,
    StagedFile,
    deterministic_message,
    symbol_changes,
    tidy_model_message,
)

OLD = b"""
import os

def keep():
    return 1

def edit(x):
    return x

def gone():
    pass

class Shape:
    sides = 3

    def area(self):
        return 0

    def old(self):
        return 0
"""

NEW = b"""
import os

def keep():
    return 1

def edit(x):
    return x * 2

async def fresh():
    pass

class Shape:
    sides = 4

    def area(self):
        return 0

    def perimeter(self):
        return 1

class Brand:
    def new_method(self):
        pass
"""


def test_symbols_added_changed_and_removed_with_methods_by_class() -> None:
    found = symbol_changes(OLD, NEW)
    assert found is not None
    assert found.added == ["function fresh", "method Shape.perimeter", "class Brand"]
    assert found.changed == ["function edit", "class Shape"]
    assert found.removed == ["function gone", "method Shape.old"]


def test_a_side_that_does_not_parse_gives_no_symbols_and_whole_files_count() -> None:
    assert symbol_changes(b"def broken(:\n", NEW) is None
    added = symbol_changes(None, b"def f():\n    pass\n")
    assert added is not None and added.added == ["function f"]
    deleted = symbol_changes(b"class C:\n    pass\n", None)
    assert deleted is not None and deleted.removed == ["class C"]


def test_the_summary_names_files_symbols_and_fixes_within_the_limits() -> None:
    changes = [
        StagedFile("pkg/shapes.py", "modified", OLD, NEW),
        StagedFile("pkg/new.py", "added", None, b"def made():\n    pass\n"),
        StagedFile("docs/old.md", "deleted"),
    ]
    message = deterministic_message(changes, ["pkg/new.py: line 1: add missing ':'"])
    subject, blank, *body = message.splitlines()
    assert blank == ""
    assert len(subject) <= SUBJECT_LIMIT
    assert subject.startswith("Update 3 files")
    assert all(len(line) <= BODY_WIDTH for line in body)
    text = "\n".join(body)
    assert "Added: pkg/new.py\nModified: pkg/shapes.py\nDeleted: docs/old.md" in text
    assert "- change function edit" in text
    assert "- remove method Shape.old" in text
    assert "pkg/new.py:\n- add function made" in text
    assert "Fixes applied by Deckhand:\n- pkg/new.py: line 1: add missing ':'" in text


def test_one_file_subject_names_the_changed_functions() -> None:
    old = b"def a():\n    return 1\n"
    new = b"def a():\n    return 2\n\ndef b():\n    pass\n"
    message = deterministic_message([StagedFile("app/x.py", "modified", old, new)])
    assert message.splitlines()[0] == "Update app/x.py: add b; change a"
    long = b"".join(f"def function_number_{i}():\n    pass\n".encode() for i in range(30))
    message = deterministic_message([StagedFile("app/x.py", "added", None, long)])
    assert message.splitlines()[0] == "Add app/x.py"
    assert "and 18 more" in message


def test_model_answers_are_tidied_shortened_or_refused() -> None:
    fenced = "```\nSubject: Add a greeting.\n\n- first point that is quite long " + "word " * 30
    tidy = tidy_model_message(fenced + "\n```")
    assert tidy is not None
    subject, blank, *body = tidy.splitlines()
    assert (subject, blank) == ("Add a greeting", "")
    assert body[0].startswith("- first point")
    assert all(len(line) <= BODY_WIDTH for line in body)
    assert body[1].startswith("  ")  # a wrapped bullet hangs under its text
    long_subject = "Refactor the message writer so that " + "every word counts " * 6
    shortened = tidy_model_message(long_subject)
    assert shortened is not None
    assert len(shortened) <= SUBJECT_LIMIT
    assert long_subject.startswith(shortened)
    assert tidy_model_message("x" * 200) is None  # no word boundary to cut at
    assert tidy_model_message("   ") is None
    assert tidy_model_message('{"message": "json"}') is None
