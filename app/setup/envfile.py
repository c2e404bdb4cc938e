"""Writing Deckhand's credentials into a `.env` file: atomically, mode 0600, keeping the rest.

Only the given keys are replaced (or appended); every other line (comments, other
services' variables) stays as it was. Values are single-quoted, which python-dotenv (and,
for values without quotes, POSIX shells) read literally. Never logs the values.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from collections.abc import Mapping
from pathlib import Path

FILE_MODE = 0o600
_ESCAPED = re.compile(r"\\(?=[\\']|$)")  # a backslash dotenv would read as an escape
_ASSIGNMENT = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$")


class EnvFileError(Exception):
    """The file cannot be written; the message names it and says why."""


def check_writable(path: Path) -> None:
    """Raise `EnvFileError` unless `path` can be (re)written, before anything is changed."""
    directory = path.parent if str(path.parent) else Path(".")
    existing = directory
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
        raise EnvFileError(f"cannot create files in {existing}")
    if path.exists() and (path.is_dir() or not os.access(path, os.R_OK)):
        raise EnvFileError(f"{path} exists but cannot be read as a file")


def quote(value: str) -> str:
    """Single-quoted as python-dotenv reads it: only `\\\\` and `\\'` are escapes there."""
    return "'" + _ESCAPED.sub(r"\\\\", value).replace("'", "\\'") + "'"


def _unterminated(raw: str) -> bool:
    """Whether a quoted value continues on the following lines (a multi-line PEM)."""
    raw = raw.strip()
    if not raw or raw[0] not in "'\"":
        return False
    quote_char, body = raw[0], raw[1:]
    escaped = False
    for char in body:
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == quote_char:
            return False
    return True


def merge(existing: str, values: Mapping[str, str]) -> str:
    """`existing` with `values` assigned: first assignment replaced, later ones dropped."""
    lines = existing.splitlines()
    out: list[str] = []
    written: set[str] = set()
    skipping: str | None = None  # the quote character of a multi-line value being dropped
    for line in lines:
        if skipping is not None:
            if _closes(line, skipping):
                skipping = None
            continue
        match = _ASSIGNMENT.match(line)
        if match is None or match.group(1) not in values:
            out.append(line)
            continue
        key = match.group(1)
        if _unterminated(match.group(2)):
            skipping = match.group(2).strip()[0]
        if key not in written:
            out.append(f"{key}={quote(values[key])}")
            written.add(key)
    out.extend(f"{key}={quote(value)}" for key, value in values.items() if key not in written)
    return "\n".join(out) + "\n"


def _closes(line: str, quote_char: str) -> bool:
    escaped = False
    for char in line:
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == quote_char:
            return True
    return False


def write_env(path: Path, values: Mapping[str, str]) -> None:
    """Set `values` in the env file at `path` (created if missing), atomically, mode 0600."""
    try:
        existing = path.read_text() if path.exists() else ""
        path.parent.mkdir(parents=True, exist_ok=True)
        text = merge(existing, values)
        fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    except OSError as exc:
        raise EnvFileError(f"cannot write {path}: {exc.strerror or exc}") from exc
    try:
        os.fchmod(fd, FILE_MODE)
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise EnvFileError(f"cannot write {path}: {exc.strerror or exc}") from exc
