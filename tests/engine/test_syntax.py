"""check_python_syntax: exact positions (1-based, characters) verified on CPython 3.11."""

from __future__ import annotations

import pytest

from app.engine.findings import Severity
from app.engine.syntax import check_python_syntax


def one(text: str):
    findings = check_python_syntax("pkg/mod.py", text)
    assert len(findings) == 1
    finding = findings[0]
    assert finding.severity is Severity.ERROR
    assert finding.path == "pkg/mod.py"
    return finding


def pos(finding):
    return (finding.line, finding.column, finding.end_line, finding.end_column)


@pytest.mark.parametrize("text", ["", "\n", "x = 1\n", "def f():\n    return 1\n", "x = 1"])
def test_valid_files_give_nothing(text: str) -> None:
    assert check_python_syntax("a.py", text) == []


@pytest.mark.parametrize(
    ("text", "rule", "message", "position"),
    [
        ("def f()\n    pass\n", "syntax", "expected ':'", (1, 8, 1, 9)),
        ("x = [1,\n2,\n", "syntax", "'[' was never closed", (1, 5, 1, 6)),
        ("x = 1\n    y = 2\n", "syntax/indentation", "unexpected indent", (2, 4, 2, 5)),
        (
            "if x:\n        a = 1\n    b = 2\n",
            "syntax/indentation",
            "unindent does not match any outer indentation level",
            (3, 10, 3, 11),
        ),
        (
            "if x:\n        a = 1\n\tb = 2\n",
            "syntax/tab",
            "inconsistent use of tabs and spaces in indentation",
            (3, 1, 3, 2),
        ),
        (
            "x = 'é' + 'abc\n",
            "syntax",
            "unterminated string literal (detected at line 1)",
            (1, 11, 1, 12),
        ),
        ("x = 1 + \\\n", "syntax", "unexpected EOF while parsing", (1, 10, 1, 11)),
        (
            "def f():\n",
            "syntax/indentation",
            "expected an indented block after function definition on line 1",
            (1, 9, 1, 10),
        ),
    ],
)
def test_error_positions(text: str, rule: str, message: str, position: tuple) -> None:
    finding = one(text)
    assert (finding.rule, finding.message, pos(finding)) == (rule, message, position)


def test_non_ascii_before_the_error_counts_characters() -> None:
    # Three astral characters (12 UTF-8 bytes); f() is at character 12.
    finding = one("s = '\U0001d518\U0001d52b\U0001d526'; f() = 1\n")
    assert pos(finding) == (1, 12, 1, 15)
    assert finding.message.startswith("cannot assign to function call")


def test_error_after_multi_line_string_with_non_ascii() -> None:
    # CPython 3.11 alone says column 8 here; "def" starts at character 7 of line 2.
    assert pos(one("s = '''é\né'''; def\n")) == (2, 7, 2, 10)
    assert pos(one("s = '''a\nb\nééc''' 1\n")) == (3, 8, 3, 9)


def test_fstring_error_is_mapped_onto_the_line() -> None:
    finding = one("x = 'é'; y = f'{a b}'\n")
    assert finding.message == "f-string: invalid syntax. Perhaps you forgot a comma?"
    assert pos(finding) == (1, 17, 1, 20)  # "a b" inside the braces


def test_fstring_empty_expression() -> None:
    finding = one("x = f'{}'\n")
    assert finding.message == "f-string: empty expression not allowed"
    assert pos(finding) == (1, 10, 1, 11)  # end of the line


def test_crlf_line_endings() -> None:
    finding = one("x = 1\r\ndef f()\r\n    pass\r\n")
    assert (finding.message, pos(finding)) == ("expected ':'", (2, 8, 2, 9))


def test_bom_is_stripped_and_not_counted() -> None:
    assert check_python_syntax("a.py", "\ufeffx = 1\n") == []
    assert pos(one("\ufeffx = 'é' 1\n")) == (1, 9, 1, 10)


def test_null_byte_is_a_finding_at_the_byte() -> None:
    finding = one("x = 1\ny = 'é\0'\n")
    assert "null bytes" in finding.message
    assert pos(finding) == (2, 7, 2, 8)


def test_lone_surrogate_is_a_finding() -> None:
    finding = one("x = '\udcff'\n")
    assert pos(finding) == (1, 6, 1, 7)


def test_too_many_nested_parentheses() -> None:
    finding = one("x = " + "(" * 300 + ")" * 300 + "\n")
    assert finding.message == "too many nested parentheses"
    assert pos(finding) == (1, 205, 1, 206)


@pytest.mark.parametrize(
    "text",
    ["x = " + "-" * 200_000 + "1\n", "x = 1" + "+1" * 200_000 + "\n"],
    ids=["memory-error", "recursion-error"],
)
def test_deep_nesting_is_a_finding_not_a_crash(text: str) -> None:
    finding = one(text)
    assert finding.message == "too deeply nested for Python's parser"
    assert pos(finding) == (1, 1, 1, 2)


def test_coding_declaration_is_irrelevant() -> None:
    assert pos(one("# -*- coding: latin-1 -*-\nx = 'é' 1\n")) == (2, 9, 2, 10)


def test_real_path_is_not_read_from_disk(tmp_path, monkeypatch) -> None:
    # CPython re-reads the error line by file name; a same-named file on disk must not matter.
    (tmp_path / "mod.py").write_text("# " + "é" * 20 + "\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    finding = check_python_syntax("mod.py", "x = 'ééé' 1 2\n")[0]
    assert pos(finding) == (1, 11, 1, 12)


def test_never_executes(tmp_path) -> None:
    marker = tmp_path / "ran"
    text = f"open({str(marker)!r}, 'w').close()\n"
    assert check_python_syntax("a.py", text) == []
    assert not marker.exists()
