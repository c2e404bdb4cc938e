"""Python syntax check: does this file parse with the running interpreter (3.11)?

It only parses. It must never import, exec, eval or compile the checked code to bytecode:
the source goes through ``compile(..., flags=ast.PyCF_ONLY_AST)`` and nothing else.

Two CPython details shape the code below:

* The file name given to ``compile`` must not be the real path. For a ``SyntaxError`` in
  ``exec`` mode CPython re-reads the offending line *from disk* by that name, so a repo path
  that also exists relative to the bot's working directory would give a foreign line and
  wrong columns. A pseudo name is used instead.
* CPython reports columns in characters of the error line, but when the error follows a
  token that spans lines (a triple-quoted string), 3.11 converts the byte offset with the
  wrong line. Only in that case the parse is repeated on a private temporary copy so that
  CPython reads the right line (still no execution). f-string expression errors are
  reported by 3.11 relative to the expression alone; they are mapped back onto the line.
"""

from __future__ import annotations

import ast
import os
import re
import tempfile
from typing import cast

from app.engine.findings import Finding, clamp_position

_PSEUDO_FILENAME = "<deckhand-syntax-check>"
_NEWLINE = re.compile(r"\r\n|\r|\n")


def check_python_syntax(path: str, text: str) -> list[Finding]:
    """Return one ``syntax`` finding for the first syntax error in ``text``, or ``[]``.

    See :func:`parse_python`, which also returns the tree.
    """
    return parse_python(path, text)[0]


def parse_python(path: str, text: str) -> tuple[list[Finding], ast.Module | None]:
    """The first syntax error in ``text`` as a finding, or no finding and the module's AST.

    Python's parser stops at the first error, so at most one finding is returned; fixing it
    may reveal the next. Only the parser runs: errors CPython raises later, while compiling
    to bytecode (``return`` outside a function, ``break`` outside a loop, ``nonlocal`` at
    module level, ...), are not reported.

    Rule ids: ``syntax`` (plain ``SyntaxError``), ``syntax/indentation``
    (``IndentationError``), ``syntax/tab`` (``TabError``). Positions are 1-based, in
    characters, and always inside the text; a column one past the end of a line means the end
    of that line (where Python says a ``:`` is missing, for example). A UTF-8 BOM is not
    counted as a column, as in editors.
    """
    source = text[1:] if text.startswith("\ufeff") else text
    try:
        return [], _parse(source, _PSEUDO_FILENAME)
    except SyntaxError as exc:
        lines = _split_lines(source)
        if exc.lineno is None and "null byte" in str(exc.msg):
            return [_null_byte_finding(path, source, lines, str(exc.msg))], None
        if _has_inner_newline(exc.text):
            exc = _reparse_from_private_file(source) or exc
        return [_syntax_finding(path, lines, exc)], None
    except UnicodeEncodeError as exc:  # a lone surrogate: not valid text at all
        lines = _split_lines(source)
        char = source[exc.start] if exc.start < len(source) else ""
        message = f"source contains a lone surrogate U+{ord(char or chr(0xFFFD)):04X}"
        return [_position_finding(path, source, lines, message, exc.start)], None
    except ValueError as exc:  # null bytes on older 3.11 patch releases
        return [_null_byte_finding(path, source, _split_lines(source), str(exc))], None
    except (MemoryError, RecursionError):
        message = "too deeply nested for Python's parser"
        return [_finding(path, _split_lines(source), "syntax", message, 1, 1, None, None)], None


def _parse(source: str, filename: str) -> ast.Module:
    tree = compile(source, filename, "exec", flags=ast.PyCF_ONLY_AST, dont_inherit=True)
    return cast(ast.Module, tree)


def _split_lines(source: str) -> list[str]:
    """Lines as Python's tokenizer sees them: only \\r\\n, \\r and \\n end a line."""
    lines = _NEWLINE.split(source)
    if len(lines) > 1 and lines[-1] == "":
        lines.pop()  # the text ends with a line break; there is no line after it
    return lines


def _has_inner_newline(error_text: str | None) -> bool:
    return error_text is not None and "\n" in error_text.rstrip("\r\n")


def _reparse_from_private_file(source: str) -> SyntaxError | None:
    """Parse again under the name of a private copy, so CPython reads the true error line."""
    normalized = "\n".join(_split_lines(source))
    try:
        fd, name = tempfile.mkstemp(suffix=".py", prefix="deckhand-syntax-")
    except OSError:
        return None
    try:
        with os.fdopen(fd, "w", encoding="utf-8", errors="surrogatepass", newline="") as f:
            f.write(normalized)
        _parse(normalized, name)
    except SyntaxError as exc:
        return exc
    except (OSError, ValueError, MemoryError, RecursionError):
        return None
    finally:
        try:
            os.unlink(name)
        except OSError:
            pass
    return None


def _rule(exc: SyntaxError) -> str:
    if isinstance(exc, TabError):
        return "syntax/tab"
    if isinstance(exc, IndentationError):
        return "syntax/indentation"
    return "syntax"


def _syntax_finding(path: str, lines: list[str], exc: SyntaxError) -> Finding:
    message = str(exc.msg) if exc.msg else "invalid syntax"
    line = exc.lineno or 1
    column = exc.offset or 1
    end_line = exc.end_lineno
    end_column = exc.end_offset
    mapped = _map_fstring_error(lines, exc)
    if mapped is not None:
        column, end_column = mapped
        end_line = line if end_column is not None else None
    return _finding(path, lines, _rule(exc), message, line, column, end_line, end_column)


def _map_fstring_error(lines: list[str], exc: SyntaxError) -> tuple[int, int | None] | None:
    """3.11 reports f-string expression errors against ``"(" + expr + ")"``: map them back."""
    text = exc.text
    if not str(exc.msg).startswith("f-string") or not text or exc.lineno is None:
        return None
    text = text.rstrip("\r\n")
    if not (text.startswith("(") and text.endswith(")")):
        return None
    index = exc.lineno - 1
    if not 0 <= index < len(lines) or lines[index] == text:
        return None
    brace = lines[index].find("{" + text[1:-1])
    if brace < 0:
        return 1, len(lines[index]) + 1  # somewhere in an f-string on this line
    # "(" stands where "{" is, so offset 1 (the "(") maps to the brace's column.
    column = brace + (exc.offset or 1)
    end = brace + exc.end_offset if exc.end_offset and exc.end_offset > 0 else None
    return column, end


def _null_byte_finding(path: str, source: str, lines: list[str], message: str) -> Finding:
    return _position_finding(path, source, lines, message, source.find("\0"))


def _position_finding(
    path: str, source: str, lines: list[str], message: str, index: int
) -> Finding:
    """A finding at character ``index`` of ``source`` (line 1, column 1 when negative)."""
    if index < 0:
        return _finding(path, lines, "syntax", message, 1, 1, None, None)
    before = source[:index]
    line = len(_NEWLINE.findall(before)) + 1
    last_break = max(before.rfind("\n"), before.rfind("\r"))
    column = index - last_break  # 1-based: last_break is -1 on the first line
    return _finding(path, lines, "syntax", message, line, column, None, None)


def _finding(
    path: str,
    lines: list[str],
    rule: str,
    message: str,
    line: int,
    column: int,
    end_line: int | None,
    end_column: int | None,
) -> Finding:
    line, column = clamp_position(lines, line, column)
    if end_line is not None and end_column is not None and end_column > 0:
        end_line, end_column = clamp_position(lines, end_line, end_column)
        if (end_line, end_column) <= (line, column):
            end_line = None
    else:
        end_line = None
    # Without an end: one character; at the end of a line that character is the line break.
    end = (end_line, end_column) if end_line is not None and end_column is not None else None
    return Finding.error(path, rule, message, line, column, end)
