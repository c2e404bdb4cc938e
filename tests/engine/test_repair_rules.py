"""Tests for the later rules of app.engine.repair: orphan clauses, call arity as evidence
for where a bracket closes, and more. Small examples written for these tests."""

from __future__ import annotations

import ast

import pytest

from app.engine.repair import repair_syntax
from app.engine.repair_calls import Signatures, call_faults


def _assert_repaired(bad: str, expected: str) -> None:
    result = repair_syntax(bad)
    assert result.abstained is None, result.abstained
    assert result.text == expected
    assert result.edits


def _assert_not(bad: str, unwanted: str) -> None:
    result = repair_syntax(bad)
    assert result.text != unwanted


CLAUSES = [
    # the lines after the block were dedented: back under the header the clause closes
    (
        "def f(a):\n    if a:\n        g()\n    h()\n    k()\n    else:\n        m()\n",
        "def f(a):\n    if a:\n        g()\n        h()\n        k()\n    else:\n        m()\n",
    ),
    (
        "try:\n    g(\n        1,\n    )\nexcept E:\n    log(\n        2\n    )\nstop()\n"
        "except F:\n    pass\n",
        "try:\n    g(\n        1,\n    )\nexcept E:\n    log(\n        2\n    )\n    stop()\n"
        "except F:\n    pass\n",
    ),
    # the clause went one level too deep, with its block
    (
        "def f(a, b):\n    if a:\n        if b:\n            x = 1\n            else:\n"
        "                x = 2\n    return x\n",
        "def f(a, b):\n    if a:\n        if b:\n            x = 1\n        else:\n"
        "            x = 2\n    return x\n",
    ),
]


@pytest.mark.parametrize(("bad", "expected"), CLAUSES)
def test_orphan_clause(bad: str, expected: str) -> None:
    _assert_repaired(bad, expected)


def test_orphan_clause_after_a_comment_is_not_pulled_into_the_block() -> None:
    # A comment (or a blank line) at the outer level says the block had ended.
    bad = "def f(a):\n    if a:\n        g()\n    # next\n    h()\n    elif b:\n        m()\n"
    _assert_not(bad, bad.replace("    h()", "        h()"))
    bad = "def f(a):\n    if a:\n        g()\n\n    h()\n    elif b:\n        m()\n"
    _assert_not(bad, bad.replace("    h()", "        h()"))


def test_orphan_clause_is_not_pushed_deeper() -> None:
    bad = "def f(a):\n    try:\n        try:\n            g()\n        except E:\n"
    bad += "            pass\n    except:\n        pass\n    except:\n        pass\n"
    result = repair_syntax(bad)
    assert result.text is None or "        except:\n            pass\n    except" not in result.text


def test_orphan_else_after_a_loop_is_left_alone() -> None:
    bad = "def f(u):\n    for x in u:\n        g(x)\n    h()\n    else:\n        k()\n"
    _assert_not(bad, bad.replace("    h()", "        h()"))


ARITY = [
    # a builtin that takes one argument: the call ended after it
    (
        "send(int(conf['chat'], text, buttons=b)\n",
        "send(int(conf['chat']), text, buttons=b)\n",
    ),
    # a method of a string literal
    (
        "m = re.search('|'.join([\n    'a',\n    'b',\n], s)\nprint(m)\n",
        "m = re.search('|'.join([\n    'a',\n    'b',\n]), s)\nprint(m)\n",
    ),
    # a function of the file: its signature says where its arguments end
    (
        "def scale(v):\n    return v * 2\n\n\nshow(scale(x, y, z)\n",
        "def scale(v):\n    return v * 2\n\n\nshow(scale(x), y, z)\n",
    ),
]


@pytest.mark.parametrize(("bad", "expected"), ARITY)
def test_call_arity_decides_where_a_bracket_closes(bad: str, expected: str) -> None:
    _assert_repaired(bad, expected)


def test_call_arity_keeps_the_usual_close_when_it_fits() -> None:
    _assert_repaired("print(foo(a, b)\nx = 1\n", "print(foo(a, b))\nx = 1\n")
    _assert_repaired(
        "def two(a, b):\n    return a\n\n\nshow(two(x, y)\n",
        "def two(a, b):\n    return a\n\n\nshow(two(x, y))\n",
    )


def test_call_faults() -> None:
    tree = ast.parse(
        "def f(a, b=1, *, c):\n    pass\n"
        "class K:\n    def m(self, a):\n        self.m(1, 2)\n"
        "f(1, c=2)\nf(1)\nf(1, 2, 3, c=1)\nlen(a, b)\nlen(*a)\n'-'.join(a, b)\nint(x, base=2)\n"
    )
    signatures = Signatures(tree)
    faults = [call_faults(tree, line, line, signatures) for line in range(1, 13)]
    assert faults == [0, 0, 0, 0, 1, 0, 1, 1, 1, 0, 1, 0]


def test_shadowed_builtin_is_not_judged() -> None:
    tree = ast.parse("def len(a, b):\n    pass\nlen(1, 2)\n")
    assert call_faults(tree, 3, 3, Signatures(tree)) == 0
    tree = ast.parse("from m import len\nlen(1, 2)\n")
    assert call_faults(tree, 2, 2, Signatures(tree)) == 0


def test_later_comma_closes_a_bracket_opened_inside_the_unclosed_one() -> None:
    # Without a signature to go by, the usual close at the end of the last line wins...
    _assert_repaired(
        "x = f(g([\n    1,\n    2,\n], h)\ny = 2\n",
        "x = f(g([\n    1,\n    2,\n], h))\ny = 2\n",
    )
    # ...and with one, the close before the comma of the later line.
    _assert_repaired(
        "def g(v):\n    return v\n\n\nx = f(g([\n    1,\n    2,\n], h)\ny = 2\n",
        "def g(v):\n    return v\n\n\nx = f(g([\n    1,\n    2,\n]), h)\ny = 2\n",
    )


def test_earliest_comma_wins_among_closes_that_fit() -> None:
    _assert_repaired(
        "await send(int(conf['chat'], text, buttons=b)\n",
        "await send(int(conf['chat']), text, buttons=b)\n",
    )


def test_indentation_fix_that_uncovers_an_unclosed_bracket_on_its_line() -> None:
    bad = "def f(r):\n    names = []\n    if r:\n    names.append(r['a']\n    return names\n"
    _assert_repaired(
        bad,
        "def f(r):\n    names = []\n    if r:\n        names.append(r['a'])\n    return names\n",
    )


PARAMETERS = [
    ("def f((a, b):\n    return a\n", "def f(a, b):\n    return a\n"),
    ("def f(x, (a, b)):\n    return a\n", "def f(x, a, b):\n    return a\n"),
    # an annotation colon, when the other parameters are annotated
    (
        "def f(a: str, n int = 3) -> str:\n    return a * n\n",
        "def f(a: str, n: int = 3) -> str:\n    return a * n\n",
    ),
]


@pytest.mark.parametrize(("bad", "expected"), PARAMETERS)
def test_parameters(bad: str, expected: str) -> None:
    _assert_repaired(bad, expected)


def test_no_annotation_colon_without_annotated_neighbours() -> None:
    assert repair_syntax("def f(a, n int = 3):\n    return a\n").text is None


def test_decorator_indented_deeper_than_its_definition() -> None:
    bad = "x = 1\n\n\n        @route('/a')\n    @auth\ndef view(r):\n    return r\n"
    _assert_repaired(bad, "x = 1\n\n\n@route('/a')\n@auth\ndef view(r):\n    return r\n")


def test_try_that_governs_nothing_is_removed() -> None:
    bad = "def f(d):\n    k()\n    try:\n    if d:\n        g()\n    else:\n        h()\n"
    _assert_repaired(bad, "def f(d):\n    k()\n    if d:\n        g()\n    else:\n        h()\n")
    # A `try:` whose handler follows keeps its body instead.
    bad = "try:\nx = 1\nexcept E:\n    x = 2\n"
    _assert_repaired(bad, "try:\n    x = 1\nexcept E:\n    x = 2\n")


def test_function_called_the_same_way_elsewhere() -> None:
    bad = (
        "from m import tr\n\nA = tr('a')\nB = tr('b')\nC = tr('c')\n"
        "kb = make([[(tr('d', 'key')]])\n"
    )
    _assert_repaired(bad, bad.replace("tr('d', 'key')", "tr('d'), 'key')"))


def test_fstring_repair_that_would_invent_a_format_spec_loses() -> None:
    # Closing `{tg` would read `tg` with the format spec `//u?id={k.id})`.
    bad = 'x = f"[{k.name}]({tg://u?id={k.id})"\n'
    _assert_repaired(bad, 'x = f"[{k.name}](tg://u?id={k.id})"\n')
    # A standard spec is fine: `{v:.2f` closes as `{v:.2f}`.
    _assert_repaired('x = f"{v:.2f"\n', 'x = f"{v:.2f}"\n')


def test_fstring_field_opening_with_a_stray_bracket() -> None:
    _assert_repaired('x = f"""\nGroup: {[m.title}\n"""\n', 'x = f"""\nGroup: {m.title}\n"""\n')


def test_try_that_is_the_only_line_of_a_block_is_kept() -> None:
    # Removing it would leave the `except` above empty.
    bad = "try:\n    a()\nexcept E:\n    try:\n    b()\nexcept F:\n    pass\n"
    result = repair_syntax(bad)
    assert result.text is None or "    try:\n" in result.text
