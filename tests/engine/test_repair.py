"""Tests for app.engine.repair: small, realistic breakages with exact expected repairs."""

from __future__ import annotations

import ast
import random
import warnings

import pytest

import app.engine.repair as repair_module
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
    result = repair_syntax("x = 1\n" * 6000 + "if x\n    pass\n")
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


# --- strategies added for real-world errors -----------------------------------------------


FSTRINGS = [
    ('x = f"{name"\n', 'x = f"{name}"\n'),
    ('x = f"{a)}"\n', 'x = f"{a}"\n'),
    ('x = f"{g(x}"\n', 'x = f"{g(x)}"\n'),
    ('x = f"{a}}b"\n', 'x = f"{a}b"\n'),
    # the last stray closer of the field, not one in its middle
    ('x = f"{g(a) or h(b))}"\n', 'x = f"{g(a) or h(b)}"\n'),
    ("x = f\"{d['k'}\"\r\n", "x = f\"{d['k']}\"\r\n"),
]


@pytest.mark.parametrize(("bad", "expected"), FSTRINGS)
def test_fstring_fields(bad: str, expected: str) -> None:
    _assert_repaired(bad, expected)


UNMATCHED = [
    # the call was closed too soon: the closer before a comma goes
    ("y = f(a), b)\n", "y = f(a, b)\n"),
    ('x = f(a, "t"),\n    )\n', 'x = f(a, "t",\n    )\n'),
    # otherwise the stray closer itself
    ("x = d.get(k))\n", "x = d.get(k)\n"),
    # a missing opener between two operands
    ('x = m.reply"hi")\n', 'x = m.reply("hi")\n'),
    # a closer ending a line that the next lines still continue
    ("def f()\n    a,\n    b):\n    pass\n", "def f(\n    a,\n    b):\n    pass\n"),
    ('p = m.reply("t")\n, quote=True)\n', 'p = m.reply("t"\n, quote=True)\n'),
]


@pytest.mark.parametrize(("bad", "expected"), UNMATCHED)
def test_unmatched_closer(bad: str, expected: str) -> None:
    _assert_repaired(bad, expected)


UNCLOSED = [
    ("x = f(g(h(1\ny = 2\n", "x = f(g(h(1)))\ny = 2\n"),
    ("r = e.get((\nz = 1\n", "r = e.get()\nz = 1\n"),
    (
        "CMD.update(\n    {\n        'a': 1,\n    }\n\nx = 1\n",
        "CMD.update(\n    {\n        'a': 1,\n    })\n\nx = 1\n",
    ),
    ("if f(x,\n      y:\n    pass\n", "if f(x,\n      y):\n    pass\n"),
]


@pytest.mark.parametrize(("bad", "expected"), UNCLOSED)
def test_unclosed_bracket_strategies(bad: str, expected: str) -> None:
    _assert_repaired(bad, expected)


UNTERMINATED = [
    # the missing quote belongs to an earlier string of the line
    ('d = {"a: "b", "c": "d"}\n', 'd = {"a": "b", "c": "d"}\n'),
    # the earliest place that reads as code
    ('log("hello, name=1)\n', 'log("hello", name=1)\n'),
    ('x = ", .join(items)\n', 'x = ", ".join(items)\n'),
    # a string has no `.dispatch`: the quote goes at the end
    ('x = "django.dispatch\n', 'x = "django.dispatch"\n'),
    # trailing blanks only survive inside strings
    ('x = ("abc \n     "def")\n', 'x = ("abc "\n     "def")\n'),
    ("x = 'abc\r\ny = 1\r\n", "x = 'abc'\r\ny = 1\r\n"),
]


@pytest.mark.parametrize(("bad", "expected"), UNTERMINATED)
def test_unterminated_string_placement(bad: str, expected: str) -> None:
    _assert_repaired(bad, expected)


LINES = [
    # a comment sits at the indentation of the code that follows it
    (
        "def f():\n    # note\n        x = 1\n    return x\n",
        "def f():\n    # note\n    x = 1\n    return x\n",
    ),
    (
        "def f():\n\t# note\n\t\tx = 1\n\treturn x\n",
        "def f():\n\t# note\n\tx = 1\n\treturn x\n",
    ),
    # debris: a stray word, a repeated line, a word after a header's colon
    ("x = 1\n    Sa\ny = 2\n", "x = 1\ny = 2\n"),
    ("a = f(1)\n    a = f(1)\nb = 2\n", "a = f(1)\nb = 2\n"),
    ("if x:s\n    y = 1\n", "if x:\n    y = 1\n"),
    ("if x:s\r\n\ty = 1\r\n", "if x:\r\n\ty = 1\r\n"),
]


@pytest.mark.parametrize(("bad", "expected"), LINES)
def test_indentation_evidence_and_debris(bad: str, expected: str) -> None:
    _assert_repaired(bad, expected)


BLOCKS = [
    # a flush line after `if` is the one line it governs
    (
        "def f(x):\n    if x:\n    return 1\n    return 2\n",
        "def f(x):\n    if x:\n        return 1\n    return 2\n",
    ),
    # flush statements followed by lines already indented under the header
    ("if x:\ny = 1\nz = 2\n    w = 3\n", "if x:\n    y = 1\n    z = 2\n    w = 3\n"),
    # a repeated header
    ("for a in b:\n    for a in b:\n    c(a)\n", "for a in b:\n    c(a)\n"),
    # only comments after the header
    ("if x:\n    # later\n", "if x:\n    # later\n    pass\n"),
]


@pytest.mark.parametrize(("bad", "expected"), BLOCKS)
def test_missing_block_strategies(bad: str, expected: str) -> None:
    _assert_repaired(bad, expected)


CONTINUATIONS = [
    ("x = f\n    a,\n    b,\n)\n", "x = f(\n    a,\n    b,\n)\n"),
    ("items = []\n    1,\n    2,\n]\n", "items = [\n    1,\n    2,\n]\n"),
]


@pytest.mark.parametrize(("bad", "expected"), CONTINUATIONS)
def test_unexpected_indent_continues_the_line_above(bad: str, expected: str) -> None:
    _assert_repaired(bad, expected)


MOVED = [
    ("if str(a not) in b:\n    pass\n", "if str(a) not in b:\n    pass\n"),
    ("from m import name()\n", "from m import name\n"),
    ("def f(x -> None):\n    pass\n", "def f(x) -> None:\n    pass\n"),
]


@pytest.mark.parametrize(("bad", "expected"), MOVED)
def test_moved_bracket(bad: str, expected: str) -> None:
    _assert_repaired(bad, expected)


def test_error_hidden_by_a_later_one_is_repaired_first() -> None:
    # The unterminated string ends the tokens before the unclosed bracket is noticed.
    _assert_repaired('x = f(1\ny = 2\nz = "abc\n', 'x = f(1)\ny = 2\nz = "abc"\n')


def test_two_errors_of_different_classes() -> None:
    bad = "def f(a)\n    return a\n\n\ndef g():\n    x = [1, 2\n    return x\n"
    _assert_repaired(bad, "def f(a):\n    return a\n\n\ndef g():\n    x = [1, 2]\n    return x\n")
    bad = "if a:\n    b = 1\n      c = 2\n\nd = 'x\n"
    _assert_repaired(bad, "if a:\n    b = 1\n    c = 2\n\nd = 'x'\n")


def test_candidates_raise_no_warnings() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = repair_syntax('x = "\\d+\ny = 1\n')
    assert result.text == 'x = "\\d+"\ny = 1\n'


COLONS = [
    # the colon went one token early: `-> list:[int]`
    ("def run(n) -> list:[int]\n    return [n]\n", "def run(n) -> list[int]:\n    return [n]\n"),
    ("def f(self) int:\n    return 1\n", "def f(self) -> int:\n    return 1\n"),
    ("d = {\n    'a': 0,\n    'b' (1, 2),\n}\n", "d = {\n    'a': 0,\n    'b': (1, 2),\n}\n"),
]


@pytest.mark.parametrize(("bad", "expected"), COLONS)
def test_misplaced_or_missing_colon_and_arrow(bad: str, expected: str) -> None:
    _assert_repaired(bad, expected)


def test_tabs_in_a_space_file_normalized_for_the_whole_run() -> None:
    # A tab is read as 4 columns here: the only reading under which `except` fits.
    bad = "def g():\n    try:\n        x = f()\n\texcept KeyError:\n\t\treturn None\n    return x\n"
    expected = (
        "def g():\n    try:\n        x = f()\n    except KeyError:\n        return None\n"
        "    return x\n"
    )
    _assert_repaired(bad, expected)


def test_tab_in_the_line_above_the_error() -> None:
    bad = "def f(c):\n\twith c:\n        g()\n    return c\n"
    result = repair_syntax(bad)
    assert result.text == "def f(c):\n    with c:\n        g()\n    return c\n"


def test_indent_after_a_comment_is_not_a_missing_bracket() -> None:
    # The indented line continues a commented-out line: nothing to invent after `print(x)`.
    bad = "print(x)\n# y = f(a,\n      b)\nz = 1\n"
    result = repair_syntax(bad)
    assert result.text is None or "print(x)(" not in result.text


def test_bracket_left_dangling_is_closed_where_it_dangles() -> None:
    # The `(` reported as never closed is line 1's; the one forgotten is line 3's.
    bad = "x = (\n    a,\n    f(b\n    .c,\n)\n"
    _assert_repaired(bad, "x = (\n    a,\n    f(b)\n    .c,\n)\n")
    # A `]` that does not match: the `(` left open two lines above is closed there.
    bad = "y = [\n    g(a\n    for a in b\n]\n"
    _assert_repaired(bad, "y = [\n    g(a)\n    for a in b\n]\n")


def test_quote_that_reads_as_a_number_is_an_unterminated_string() -> None:
    _assert_repaired('deps = [("auth, "0004_x"),\n]\n', 'deps = [("auth", "0004_x"),\n]\n')


def test_missing_comma_between_lines() -> None:
    bad = "x = f(a\n      b)\n"
    _assert_repaired(bad, "x = f(a,\n      b)\n")
    bad = "items = [\r\n    a\r\n    b if c else d,\r\n]\r\n"
    _assert_repaired(bad, "items = [\r\n    a,\r\n    b if c else d,\r\n]\r\n")


def test_comprehension_boundary_decides_where_a_bracket_goes() -> None:
    # The item of the comprehension ends where its `for` begins.
    _assert_repaired("g = [[0] * 3] for _ in r]\n", "g = [[0] * 3 for _ in r]\n")
    _assert_repaired("c = [f(a, g(a) for a in r]\n", "c = [f(a, g(a)) for a in r]\n")


def test_stray_closer_meant_to_open() -> None:
    _assert_repaired('v = ul]"k"].pop()\n', 'v = ul["k"].pop()\n')


def test_missing_opener_after_an_assignment() -> None:
    bad = "b =\n    (1, 2),\n    (3, 4),\n]\n"
    _assert_repaired(bad, "b = [\n    (1, 2),\n    (3, 4),\n]\n")


def test_doubled_closer_across_lines() -> None:
    bad = "x = [\n    range(\n        a, b)\n    ),\n]\n"
    _assert_repaired(bad, "x = [\n    range(\n        a, b\n    ),\n]\n")


def test_missing_comma_before_a_continuation_line() -> None:
    # Reported as plain "invalid syntax" at the start of the second argument's line.
    bad = 'def f():\n    g(a\n        "text",\n        b=1,\n    )\n'
    result = repair_syntax(bad)
    assert result.text == 'def f():\n    g(a,\n        "text",\n        b=1,\n    )\n'


def test_parse_budget_bounds_the_work(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(repair_module, "_MAX_PARSED_CHARS", 100)
    result = repair_syntax("x = 1\n" * 30 + "if x\n    pass\n")
    assert result.text is None
    assert result.abstained == "too slow to repair"


HEADER_SPLITS = [
    ("if a\n    and b:\n    c()\n", "if a \\\n    and b:\n    c()\n"),
    ("if a\n  x = f():\n  y = 2\n", "if a:\n  x = f()\n  y = 2\n"),
]


@pytest.mark.parametrize(("bad", "expected"), HEADER_SPLITS)
def test_header_split_over_two_lines(bad: str, expected: str) -> None:
    _assert_repaired(bad, expected)


def test_doubled_closer_before_a_comma() -> None:
    bad = "x = [\n    range(\n        a, b),\n    ),\n]\n"
    _assert_repaired(bad, "x = [\n    range(\n        a, b,\n    ),\n]\n")
