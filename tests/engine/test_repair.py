"""Tests for app.engine.repair: small, realistic breakages with exact expected repairs."""

from __future__ import annotations

import ast
import random

import pytest

from app.engine.repair import repair_syntax


def _dump(text: str) -> str:
    return ast.dump(ast.parse(text))


def _assert_repaired(bad: str, expected: str) -> None:
    result = repair_syntax(bad)
    assert result.abstained is None, result.abstained
    assert result.text == expected
    assert _dump(result.text) == _dump(expected)
    assert result.edits
    assert result.description.count("\n") + 1 >= 1


MISSING_COLON = [
    ("if x > 1\n    y = 2\n", "if x > 1:\n    y = 2\n"),
    ("def f(a, b)\n    return a\n", "def f(a, b):\n    return a\n"),
    ("for i in range(3)  # loop\n    print(i)\n", "for i in range(3):  # loop\n    print(i)\n"),
    (
        "if (a and\n        b)\n    pass\n",
        "if (a and\n        b):\n    pass\n",
    ),
    (
        "def f(\n    a,\n    b,\n) -> int\n    return a\n",
        "def f(\n    a,\n    b,\n) -> int:\n    return a\n",
    ),
    ("class A(Base)\n    x = 1\n", "class A(Base):\n    x = 1\n"),
    (
        "try:\n    x()\nexcept ValueError as e\n    pass\n",
        "try:\n    x()\nexcept ValueError as e:\n    pass\n",
    ),
    ("while True\n    break\n", "while True:\n    break\n"),
    ("if a:\n    b()\nelse\n    c()\n", "if a:\n    b()\nelse:\n    c()\n"),
    ("with open(p) as f\n    f.read()\n", "with open(p) as f:\n    f.read()\n"),
]


@pytest.mark.parametrize(("bad", "expected"), MISSING_COLON)
def test_missing_colon(bad: str, expected: str) -> None:
    _assert_repaired(bad, expected)


BRACKETS = [
    ("print(foo(x)\ny = 1\n", "print(foo(x))\ny = 1\n"),
    ("x = [1, 2, 3\nprint(x)\n", "x = [1, 2, 3]\nprint(x)\n"),
    ("d = {'a': 1\n", "d = {'a': 1}\n"),
    ("x = f(a]\n", "x = f(a)\n"),
    ("x = g(a[1)\n", "x = g(a[1])\n"),
    ("y = h(1))\n", "y = h(1)\n"),
    ("if f(x:\n    pass\n", "if f(x):\n    pass\n"),
    (
        "total = sum(values  # all of them\nprint(total)\n",
        "total = sum(values)  # all of them\nprint(total)\n",
    ),
]


@pytest.mark.parametrize(("bad", "expected"), BRACKETS)
def test_brackets(bad: str, expected: str) -> None:
    _assert_repaired(bad, expected)


INDENTATION = [
    # unexpected indent: back to the previous statement's level
    ("x = 1\n    y = 2\n", "x = 1\ny = 2\n"),
    (
        "def f():\n    a = 1\n        b = 2\n    return b\n",
        "def f():\n    a = 1\n    b = 2\n    return b\n",
    ),
    # unindent matching no outer level: snap to the nearest level
    (
        "def f():\n    if x:\n        y = 1\n   return y\n",
        "def f():\n    if x:\n        y = 1\n    return y\n",
    ),
    (
        "def f(c):\n    while c:\n        for j in c:\n            g(j)\n         c = 0\n",
        "def f(c):\n    while c:\n        for j in c:\n            g(j)\n        c = 0\n",
    ),
    # the line that opened an odd level is the one to move
    (
        "def f(u):\n     if u:\n        raise E\n    return u\n",
        "def f(u):\n    if u:\n        raise E\n    return u\n",
    ),
    # missing indented block: indent the body
    ("def f():\nreturn 1\n", "def f():\n    return 1\n"),
    ("def f():\nx = 1\nreturn x\n", "def f():\n    x = 1\n    return x\n"),
    # missing block followed by a new definition: insert pass
    ("class A:\n\ndef f():\n    pass\n", "class A:\n    pass\n\ndef f():\n    pass\n"),
    ("if x:\nelse:\n    y = 1\n", "if x:\n    pass\nelse:\n    y = 1\n"),
]


@pytest.mark.parametrize(("bad", "expected"), INDENTATION)
def test_indentation(bad: str, expected: str) -> None:
    _assert_repaired(bad, expected)


def test_mixed_tabs_normalized_to_file_style() -> None:
    bad = "def f():\n\tif x:\n\t\ty = 1\n        z = 2\n"
    _assert_repaired(bad, "def f():\n\tif x:\n\t\ty = 1\n\tz = 2\n")


STRINGS = [
    ("x = 'abc\n", "x = 'abc'\n"),
    ('print("hello)\n', 'print("hello")\n'),
    ("name = 'abc  # note\n", "name = 'abc'  # note\n"),
    ('items = ["a", "b]\n', 'items = ["a", "b"]\n'),
]


@pytest.mark.parametrize(("bad", "expected"), STRINGS)
def test_unterminated_string(bad: str, expected: str) -> None:
    _assert_repaired(bad, expected)


def test_parsing_file_untouched() -> None:
    result = repair_syntax("x = 1\nif x:\n    pass\n")
    assert result.text is None
    assert result.edits == ()
    assert result.abstained == "parses already"


def test_crlf_kept() -> None:
    _assert_repaired("if x\r\n    y = 1\r\n", "if x:\r\n    y = 1\r\n")
    _assert_repaired("def f():\r\nreturn 1\r\n", "def f():\r\n    return 1\r\n")


def test_tabs_kept() -> None:
    _assert_repaired("def f(x)\n\treturn x\n", "def f(x):\n\treturn x\n")
    _assert_repaired("def f():\n\tif x:\n\tpass\n", "def f():\n\tif x:\n\t\tpass\n")


def test_two_space_style_kept() -> None:
    _assert_repaired(
        "def f():\n  x = 1\n  if x:\n  y = 2\n", "def f():\n  x = 1\n  if x:\n    y = 2\n"
    )


def test_ambiguous_abstains() -> None:
    # "b" could go back to column 1 or on to column 5: both cost 2, mean different things,
    # and neither is the previous line's level (column 9).
    result = repair_syntax("if x:\n    if y:\n        a\n  b\n")
    assert result.text is None
    assert result.abstained == "two different repairs are equally good"


def test_two_errors_repaired() -> None:
    bad = "for i in range(3)\n    print(i\n"
    _assert_repaired(bad, "for i in range(3):\n    print(i)\n")
    bad = "def f(x)\n    return x\n\nclass A\n    pass\n"
    _assert_repaired(bad, "def f(x):\n    return x\n\nclass A:\n    pass\n")


def test_too_large_skipped() -> None:
    result = repair_syntax("x = 1\n" * 2500 + "if x\n    pass\n")
    assert result.abstained == "too large"


def test_edits_describe_the_change() -> None:
    result = repair_syntax("a = 1\nif a\n    b = 2\n")
    assert result.description == "line 2: add missing ':' after 'if' header"
    (edit,) = result.edits
    assert (edit.line, edit.column, edit.end_line, edit.end_column) == (2, 5, 2, 5)
    assert edit.replacement == ":"


SAMPLE = '''"""A sample module."""

import os


class Store:
    def __init__(self, root: str) -> None:
        self.root = root
        self.items = {"a": [1, 2], "b": (3, 4)}

    def get(self, key):
        if key in self.items:
            return self.items[key]
        elif key.startswith("_"):
            raise KeyError(key)
        else:
            return None

    def walk(self):
        for name in sorted(os.listdir(self.root)):
            while name:
                name = name[1:]
            yield name


def main(argv=None):
    store = Store(os.getcwd())
    try:
        print(store.get("a"), [x * 2 for x in range(3)])
    except KeyError as exc:
        print(exc)
    finally:
        pass
    return 0
'''


def _breakages(seed: int) -> list[str]:
    rng = random.Random(seed)
    out: list[str] = []
    lines = SAMPLE.splitlines(keepends=True)
    for _ in range(40):
        kind = rng.choice(["colon", "bracket", "indent"])
        copy = list(lines)
        index = rng.randrange(len(copy))
        line = copy[index]
        if kind == "colon" and ":" in line:
            at = rng.choice([i for i, ch in enumerate(line) if ch == ":"])
            copy[index] = line[:at] + line[at + 1 :]
        elif kind == "bracket" and any(ch in line for ch in ")]}"):
            at = rng.choice([i for i, ch in enumerate(line) if ch in ")]}"])
            copy[index] = line[:at] + line[at + 1 :]
        elif kind == "indent" and line.strip():
            copy[index] = " " * rng.choice([0, 1, 2, 3, 5, 6, 12]) + line.lstrip(" ")
        else:
            continue
        out.append("".join(copy))
    return out


@pytest.mark.parametrize("seed", range(3))
def test_never_returns_unparsable_text(seed: int) -> None:
    repaired = 0
    for bad in _breakages(seed):
        result = repair_syntax(bad)
        if result.text is not None:
            ast.parse(result.text)  # raises when the repair does not parse
            repaired += 1
        else:
            assert result.abstained
    assert repaired > 0


def test_sample_parses() -> None:
    assert repair_syntax(SAMPLE).abstained == "parses already"


def test_no_annotation_colon_is_invented_inside_brackets() -> None:
    result = repair_syntax("def f(x y):\n    pass\n")
    assert result.text is None


def test_unindent_prefers_previous_line_level_on_a_tie() -> None:
    # Column 3 matches no level; columns 1 and 5 both cost 2: line 2's level wins.
    _assert_repaired("if x:\n    a\n  b\n", "if x:\n    a\n    b\n")
    bad = "def f():\n    if x:\n        a\n      b\n    c\n"
    _assert_repaired(bad, "def f():\n    if x:\n        a\n        b\n    c\n")


def test_unclosed_bracket_closes_on_its_own_line_on_a_tie() -> None:
    # `f(\nx = 1)` would parse too (a keyword argument), at the same cost.
    bad = "def g():\n    y = f(\n    x = h(y)\n"
    _assert_repaired(bad, "def g():\n    y = f()\n    x = h(y)\n")
    bad = "def g():\n    return f(a\n\n@d\ndef h():\n    pass\n"
    _assert_repaired(bad, "def g():\n    return f(a)\n\n@d\ndef h():\n    pass\n")
