"""Reading the files to check: text is decoded once here, everything else gets a reason.

Binary files, files over the size limit, undecodable text and symlinks that leave the
tree are skipped with a reason instead of reaching a check. A UTF-8 BOM is removed and
remembered; line endings are left as they are (checks and fixes keep CRLF).
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass
from pathlib import Path

DEFAULT_MAX_BYTES = 1024 * 1024
SKIP_DIRS = frozenset(
    {".git", ".hg", ".svn", "node_modules", "__pycache__", ".venv", "venv", ".tox", ".nox"}
    | {".mypy_cache", ".ruff_cache", ".pytest_cache", ".hypothesis", "build", "dist"}
)
SNIFF_BYTES = 8192


@dataclass(frozen=True)
class SourceFile:
    path: str  # relative to the root, with forward slashes
    text: str
    bom: bool = False
    crlf: bool = False


@dataclass(frozen=True)
class Skipped:
    path: str
    reason: str


def decode(path: str, data: bytes, max_bytes: int = DEFAULT_MAX_BYTES) -> SourceFile | Skipped:
    """Decode one file's bytes, or say why it is not checked."""
    if len(data) > max_bytes:
        return Skipped(path, f"larger than {max_bytes} bytes ({len(data)} bytes)")
    if b"\0" in data[:SNIFF_BYTES] and not data.startswith(
        (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
    ):
        return Skipped(path, "binary file")
    bom = data.startswith(codecs.BOM_UTF8)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return Skipped(path, f"not UTF-8 text (byte {exc.start}: {exc.reason})")
    return SourceFile(path, text, bom=bom, crlf="\r\n" in text)


def read(root: Path, file: Path, max_bytes: int = DEFAULT_MAX_BYTES) -> SourceFile | Skipped:
    """Read a file under `root`; a symlink that resolves outside the tree is not followed."""
    relative = file.relative_to(root).as_posix() if file.is_relative_to(root) else file.as_posix()
    if file.is_symlink():
        target = file.resolve()
        if not target.is_relative_to(root.resolve()):
            return Skipped(relative, "symlink to a file outside the tree")
    try:
        size = file.stat().st_size
        if size > max_bytes:
            return Skipped(relative, f"larger than {max_bytes} bytes ({size} bytes)")
        return decode(relative, file.read_bytes(), max_bytes)
    except OSError as exc:
        return Skipped(relative, f"unreadable: {exc.strerror or exc}")


def collect(
    paths: list[Path], ignore_dirs: frozenset[str] = frozenset(), base: Path | None = None
) -> list[tuple[Path, Path]]:
    """(root, file) pairs for the given files and directories, sorted.

    The root, against which paths are shown and symlinks judged, is `base` (by default
    the working directory) when the given path lies inside it, else the given directory.
    """
    base = (base or Path.cwd()).absolute()
    skip = SKIP_DIRS | ignore_dirs
    found: list[tuple[Path, Path]] = []
    for given in paths:
        absolute = given.absolute()
        inside = absolute.is_relative_to(base)
        if not given.is_dir():
            found.append((base if inside else absolute.parent, absolute))
            continue
        root = base if inside else absolute
        for file in sorted(absolute.rglob("*")):
            parts = file.relative_to(absolute).parts
            if any(part in skip or part.endswith(".egg-info") for part in parts[:-1]):
                continue
            if file.is_file() or file.is_symlink():
                found.append((root, file))
    return found
