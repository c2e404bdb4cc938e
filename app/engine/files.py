"""Reading the files to check: text is decoded once here, everything else gets a reason.

Binary files, files over the size limit, undecodable text and symlinks that leave the
tree are skipped with a reason instead of reaching a check. A UTF-8 BOM is removed and
remembered; line endings are left as they are (checks and fixes keep CRLF).
"""

from __future__ import annotations

import codecs
import operator
import os
from dataclasses import dataclass
from pathlib import Path

DEFAULT_MAX_BYTES = 1024 * 1024
SKIP_DIRS = frozenset(
    {".git", ".hg", ".svn", "node_modules", "__pycache__", ".venv", "venv", ".tox", ".nox"}
    | {".mypy_cache", ".ruff_cache", ".pytest_cache", ".hypothesis", "build", "dist"}
    | {".deckhand_cache"}
)
SNIFF_BYTES = 8192
CACHEDIR_TAG = "CACHEDIR.TAG"  # a folder holding one is a cache: never checked
CACHEDIR_SIGNATURE = b"Signature: 8a477f597d28d172789f06886806bc55"


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


def load(root: Path, file: Path, max_bytes: int = DEFAULT_MAX_BYTES) -> bytes | Skipped:
    """A file's bytes, or why it is not read (symlink out of the tree, too large,
    unreadable); a symlink that resolves outside the tree is not followed."""
    relative = file.relative_to(root).as_posix() if file.is_relative_to(root) else file.as_posix()
    return load_path(root, str(file), relative, max_bytes)


def load_path(
    root: Path, file: str, relative: str, max_bytes: int, link: bool | None = None
) -> bytes | Skipped:
    """`load` on a file path given as a string, with its relative path (no pathlib on
    the way: this runs for every file of every run); `link`: whether it is a symlink,
    if known."""
    if os.path.islink(file) if link is None else link:
        target, top = os.path.realpath(file), os.path.realpath(root)
        if target != top and not target.startswith(top.rstrip(os.sep) + os.sep):
            return Skipped(relative, "symlink to a file outside the tree")
    try:
        with open(file, "rb") as stream:
            data = stream.read(max_bytes + 1)
            if len(data) > max_bytes:
                size = os.fstat(stream.fileno()).st_size
                return Skipped(relative, f"larger than {max_bytes} bytes ({size} bytes)")
        return data
    except OSError as exc:
        return Skipped(relative, f"unreadable: {exc.strerror or exc}")


def read(root: Path, file: Path, max_bytes: int = DEFAULT_MAX_BYTES) -> SourceFile | Skipped:
    """Read and decode a file under `root` (see `load` and `decode`)."""
    data = load(root, file, max_bytes)
    if isinstance(data, Skipped):
        return data
    relative = file.relative_to(root).as_posix() if file.is_relative_to(root) else file.as_posix()
    return decode(relative, data, max_bytes)


def collect(
    paths: list[Path], ignore_dirs: frozenset[str] = frozenset(), base: Path | None = None
) -> list[tuple[Path, Path]]:
    """(root, file) pairs for the given files and directories, sorted.

    The root, against which paths are shown and symlinks judged, is `base` (by default
    the working directory) when the given path lies inside it, else the given directory.
    Symlinks are listed but never descended into.
    """
    return [(root, Path(file)) for root, file in collect_names(paths, ignore_dirs, base)]


def collect_names(
    paths: list[Path], ignore_dirs: frozenset[str] = frozenset(), base: Path | None = None
) -> list[tuple[Path, str]]:
    """`collect` with each file's absolute path as a string (cheaper for large trees)."""
    base = (base or Path.cwd()).absolute()
    skip = SKIP_DIRS | ignore_dirs
    found: list[tuple[Path, str]] = []
    for given in paths:
        absolute = given.absolute()
        inside = absolute.is_relative_to(base)
        if not given.is_dir():
            found.append((base if inside else absolute.parent, str(absolute)))
            continue
        root = base if inside else absolute
        found.extend((root, file) for file in _walk(str(absolute), skip))
    return found


_name = operator.attrgetter("name")


def is_cache_dir_tag(path: str) -> bool:
    """Whether this is a CACHEDIR.TAG (bford.info/cachedir): its folder holds a cache."""
    try:
        with open(path, "rb") as stream:
            return stream.read(len(CACHEDIR_SIGNATURE)) == CACHEDIR_SIGNATURE
    except OSError:
        return False


def _walk(directory: str, skip: frozenset[str]) -> list[str]:
    """Files and symlinks below `directory`, depth first in name order (the order of
    sorted paths); skipped, unreadable and cache directories are left out."""
    try:
        with os.scandir(directory) as scan:
            entries = sorted(scan, key=_name)
    except OSError:
        return []
    if any(e.name == CACHEDIR_TAG and is_cache_dir_tag(e.path) for e in entries):
        return []
    found: list[str] = []
    for entry in entries:
        try:
            if entry.is_symlink():
                found.append(entry.path)
            elif entry.is_dir():
                if entry.name not in skip and not entry.name.endswith(".egg-info"):
                    found.extend(_walk(entry.path, skip))
            elif entry.is_file():
                found.append(entry.path)
        except OSError:
            continue
    return found
