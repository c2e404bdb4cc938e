"""Watch mode: validate files as they are saved, and fix them first with `fix=True`.

`watch(path, ...)` waits for changes under `path` with watchfiles, groups them (a change
is acted on once no other has come for `debounce_ms`), and for each batch runs the
engine on the changed files only: with `fix`, `fix_tree(paths, write=True)` and its notes
first, then `validate_tree([root], config, only=paths)` and its findings in the text format of
`python -m app validate`, then a one-line summary.

Which changes count: files the engine checks, so not deletions, not binary files, not
editor swap or backup files (watchfiles' default filter), and nothing under the engine's
skipped folders (`.git`, virtualenvs, caches, `node_modules`, ...; see
`app.engine.files.SKIP_DIRS`), its own cache `.deckhand_cache`, `*.egg-info` or any
folder holding a `pyvenv.cfg`.

Its own writes: a fix writes files, which the watcher then sees change. Each file the
watcher wrote is remembered with a digest of what it wrote; a change event for it whose
content is still exactly that is the echo of the watcher's own write and is dropped, so
a fix is never followed by another round on the same content.

After each batch an optional `after_batch` callback receives a `Batch` (the files acted
on, the fixes, the files left with errors): `watch --commit` commits through it, so this
module itself knows nothing of git.
"""

from __future__ import annotations

import hashlib
import io
import os
import stat
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TextIO

import watchfiles

from app.engine.files import SKIP_DIRS, SNIFF_BYTES
from app.engine.findings import FileReport, Severity
from app.engine.report import as_text
from app.engine.tree import fix_tree, validate_tree
from app.engine.validate import EngineConfig

__all__ = ["CACHE_DIR", "IGNORE_DIRS", "Batch", "Watcher", "watch"]

CACHE_DIR = ".deckhand_cache"
IGNORE_DIRS = SKIP_DIRS | {CACHE_DIR}
DEFAULT_DEBOUNCE_MS = 300
# How often the watcher wakes up with nothing to report (to notice a stop request).
_WAKE_MS = 200


@dataclass(frozen=True)
class Batch:
    """One handled batch, as the `after_batch` callback sees it (absolute paths)."""

    stamp: str  # the clock's time for the batch, as printed
    files: tuple[Path, ...]  # the saved files acted on
    fixed: tuple[Path, ...]  # those the fixes changed
    notes: tuple[str, ...]  # the fixes' notes, commit-message style
    checked: tuple[Path, ...]  # those the engine checked (not skipped)
    errors: tuple[Path, ...]  # those with errors left


class Watcher:
    """One watch session's state: what it wrote, and how each batch is handled."""

    def __init__(
        self,
        root: Path,
        *,
        fix: bool = False,
        config: EngineConfig | None = None,
        out: TextIO | None = None,
        err: TextIO | None = None,
        clock: Callable[[], str] | None = None,
        after_batch: Callable[[Batch], object] | None = None,
    ) -> None:
        self.root = root.absolute()
        self.only = None if self.root.is_dir() else self.root
        self.fix = fix
        self.config = config or EngineConfig()
        self.out = out or sys.stdout
        self.err = err or sys.stderr
        self.clock = clock or (lambda: time.strftime("%H:%M:%S"))
        self.after_batch = after_batch
        self._written: dict[Path, str] = {}  # file -> digest of what this watcher wrote
        # Its own output, when redirected to a file in the tree, is no change to act on.
        self._outputs = {_identity(stream) for stream in (self.out, self.err)} - {None}
        self.batches = 0

    @property
    def folder(self) -> Path:
        """The folder given to watchfiles (a single file is watched through its folder,
        which survives editors that save by writing a new file and renaming it)."""
        return self.root if self.only is None else self.root.parent

    def wanted(self, change: watchfiles.Change, path: str) -> bool:
        """watchfiles filter: the changes that may concern a file the engine checks."""
        if change is watchfiles.Change.deleted:
            return False
        file = Path(path)
        if self._outputs and _identity(file) in self._outputs:
            return False
        if self.only is not None:
            return file == self.only
        if not _default_filter(change, path):
            return False
        try:
            parts = file.relative_to(self.root).parts[:-1]
        except ValueError:
            return False
        return not any(
            part in IGNORE_DIRS or part.endswith(".egg-info") for part in parts
        ) and not any(
            _is_virtualenv(self.root.joinpath(*parts[: i + 1])) for i in range(len(parts))
        )

    def handle(self, paths: Iterable[Path]) -> bool:
        """Act on one batch of changed files; False when there was nothing to do."""
        files = [p for p in sorted({Path(p).absolute() for p in paths}) if self._fresh(p)]
        if not files:
            return False
        self.batches += 1
        stamp = self.clock()
        changed: list[Path] = []
        notes: list[str] = []
        if self.fix:
            before = {p: _digest(p) for p in files}
            fixed = fix_tree(files, write=True)
            notes = fixed.notes
            for line in fixed.notes:
                print(line, file=self.out)
            for warning in fixed.warnings:
                print(warning, file=self.err)
            after = {p: _digest(p) for p in files}
            changed = [p for p in files if after[p] and after[p] != before[p]]
            self._written.update((p, after[p]) for p in changed)
            if changed:
                print(f"[{stamp}] fixed {_plural(len(changed), 'file')}", file=self.out)
        # Imports resolve against the whole watched tree; only the saved files are reported.
        result = validate_tree([self.root], self.config, only=files)
        for warning in result.warnings:
            print(warning, file=self.err)
        body = as_text(result.reports).splitlines()[:-1]  # its own summary line is replaced
        for line in body:
            print(line, file=self.out)
        counts = Counter(f.severity for r in result.reports for f in r.findings)
        detail = ", ".join(_plural(counts[s], s.value) for s in Severity if counts[s])
        checked = _plural(len(result.reports), "file")
        print(f"[{stamp}] {checked} checked: {detail or 'no findings'}", file=self.out)
        self.out.flush()
        if self.after_batch is not None:
            reports = _by_file(self.root, result.reports)
            found = [(p, reports[_real(p)]) for p in files if _real(p) in reports]
            self.after_batch(
                Batch(
                    stamp=stamp,
                    files=tuple(files),
                    fixed=tuple(changed),
                    notes=tuple(notes),
                    checked=tuple(p for p, r in found if not r.skipped),
                    errors=tuple(p for p, r in found if _has_errors(r)),
                )
            )
            self.out.flush()
        return True

    def _fresh(self, path: Path) -> bool:
        """A file to act on: present, text, and not just the echo of this watcher's write."""
        if not path.is_file() or _is_binary(path):
            return False
        written = self._written.get(path)
        if written is None:
            return True
        if _digest(path) == written:
            return False
        del self._written[path]
        return True

    def run(
        self, debounce_ms: int = DEFAULT_DEBOUNCE_MS, stop_event: threading.Event | None = None
    ) -> None:
        """Watch until `stop_event` is set or Ctrl-C; prints a line once it is watching."""
        ready = False
        for changes in watchfiles.watch(
            self.folder,
            watch_filter=self.wanted,
            step=max(debounce_ms, 1),
            debounce=max(1_600, 4 * debounce_ms),
            stop_event=stop_event,
            rust_timeout=_WAKE_MS,
            yield_on_timeout=True,
            raise_interrupt=True,
            recursive=self.only is None,
        ):
            if not ready:  # the first wake-up: the watch is in place
                ready = True
                mode = "validating and fixing" if self.fix else "validating"
                print(f"watching {self.root} ({mode} on save; Ctrl-C to stop)", file=self.out)
                self.out.flush()
            self.handle(Path(path) for _, path in changes)


def watch(
    path: Path,
    *,
    fix: bool = False,
    config: EngineConfig | None = None,
    debounce_ms: int = DEFAULT_DEBOUNCE_MS,
    stop_event: threading.Event | None = None,
    out: TextIO | None = None,
    err: TextIO | None = None,
    after_batch: Callable[[Batch], object] | None = None,
) -> None:
    """Watch `path` (a file or folder) until stopped; Ctrl-C stops it quietly."""
    watcher = Watcher(path, fix=fix, config=config, out=out, err=err, after_batch=after_batch)
    try:
        watcher.run(debounce_ms, stop_event)
    except KeyboardInterrupt:
        pass


_default_filter = watchfiles.DefaultFilter(ignore_dirs=())


@lru_cache(maxsize=4096)
def _is_virtualenv(folder: Path) -> bool:
    return (folder / "pyvenv.cfg").is_file()


def _identity(target: TextIO | Path) -> tuple[int, int] | None:
    """(device, inode) of a regular file, or of the file a stream writes to."""
    try:
        info = target.stat() if isinstance(target, Path) else os.fstat(target.fileno())
    except (OSError, ValueError, AttributeError, io.UnsupportedOperation):
        return None
    return (info.st_dev, info.st_ino) if stat.S_ISREG(info.st_mode) else None


def _real(path: Path) -> str:
    return os.path.join(os.path.realpath(path.parent), path.name)


def _by_file(watched: Path, reports: list[FileReport]) -> dict[str, FileReport]:
    """Reports by real file name: validate_tree shows paths against the working
    directory when the watched path is inside it, else against the watched folder."""
    base = Path.cwd().absolute()
    folder = watched if watched.is_dir() else watched.parent
    root = base if watched.is_relative_to(base) else folder
    return {_real(root / report.path): report for report in reports}


def _has_errors(report: FileReport) -> bool:
    return any(f.severity is Severity.ERROR for f in report.findings)


def _is_binary(path: Path) -> bool:
    try:
        with path.open("rb") as handle:
            return b"\0" in handle.read(SNIFF_BYTES)
    except OSError:
        return True


def _digest(path: Path) -> str:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return ""


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"
