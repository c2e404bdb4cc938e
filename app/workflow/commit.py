"""`python -m app commit` and the watcher's `--commit`: the engine, then git.

`commit_staged` validates and fixes the staged files (the fixes are staged again), refuses
while errors are left, and commits with the given message, a model's or the summary.
A staged file that also has unstaged changes is checked as it is in the working tree and
not fixed, so the unstaged part is never staged with a fix.

`WatchCommitter` is the watcher's `after_batch`: it commits the saved files that were
checked without errors (and only them) with a summary message, never on the default
branch, and pushes the branch with `--push`. Each action prints one line.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from app.engine.findings import Severity
from app.engine.report import as_text
from app.engine.tree import fix_tree, validate_tree
from app.engine.validate import EngineConfig
from app.engine.watch import Batch
from app.workflow.message import StagedFile, deterministic_message
from app.workflow.model import MessageModel, model_message
from app.workflow.repo import GitError, LocalRepo, NotARepository

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def repo_notes(notes: Iterable[str], files: Iterable[Path], repo: LocalRepo) -> list[str]:
    """Fix notes ("PATH: what") with PATH made relative to the repository's top, and
    notes that are not fixes (abstentions: "not repaired ...") left out."""
    names = {str(f): repo.relative(f) for f in files}
    kept = []
    for note in notes:
        shown, _, what = note.partition(": ")
        if what.startswith("not repaired"):
            continue
        matches = [n for n in names if n == shown or n.endswith("/" + shown)]
        match = max(matches, key=len, default="")
        kept.append(f"{names[match]}: {what}" if match else note)
    return kept


def fix_notes(notes: Sequence[str], fixed: Sequence[Path], repo: LocalRepo) -> list[str]:
    """The notes for the changed files; a file changed by ruff alone gets its own line."""
    lines = repo_notes(notes, fixed, repo)
    for path in fixed:
        name = repo.relative(path)
        if not any(line.startswith(f"{name}: ") for line in lines):
            lines.append(f"{name}: apply ruff's safe fixes")
    return lines


def commit_staged(
    path: Path,
    *,
    message: str | None,
    config: EngineConfig,
    model: MessageModel | None,
    out: TextIO,
    err: TextIO,
) -> int:
    """Validate, fix and commit what is staged in the repository holding `path`.
    Ctrl-C stops it between steps (a `git add` or `git commit` under way is finished)."""
    try:
        return _commit_staged(path, message, config, model, out, err)
    except KeyboardInterrupt:
        print("commit: interrupted (no git command was left halfway)", file=err)
        return EXIT_FAILED


def _commit_staged(
    path: Path,
    message: str | None,
    config: EngineConfig,
    model: MessageModel | None,
    out: TextIO,
    err: TextIO,
) -> int:
    try:
        repo = LocalRepo.discover(path)
        staged = repo.staged()
    except NotARepository as exc:
        print(f"commit: {exc}", file=err)
        return EXIT_USAGE
    if not staged:
        print("nothing staged to commit (git add the files first)", file=err)
        return EXIT_FAILED
    present = [repo.top / c.path for c in staged if c.status != "deleted"]
    present = [p for p in present if p.is_file()]
    partial = repo.unstaged()
    fixable = [p for p in present if repo.relative(p) not in partial]
    for p in present:
        if p not in fixable:
            print(f"{repo.relative(p)}: has unstaged changes: checked as is, not fixed", file=out)
    notes: list[str] = []
    if fixable:
        before = {p: _digest(p) for p in fixable}
        result = fix_tree(fixable, write=True)
        for line in result.notes:
            print(line, file=out)
        for warning in result.warnings:
            print(warning, file=err)
        fixed = [p for p in fixable if _digest(p) != before[p]]
        if fixed:
            repo.stage([repo.relative(p) for p in fixed])
            notes = fix_notes(result.notes, fixed, repo)
            print(f"fixed and staged again: {', '.join(repo.relative(p) for p in fixed)}", file=out)
    if present:
        checked = validate_tree([repo.top], config, only=present)
        for warning in checked.warnings:
            print(warning, file=err)
        errors = [f for r in checked.reports for f in r.findings if f.severity is Severity.ERROR]
        if errors:
            err.write(as_text(checked.reports))
            count = f"{len(errors)} error{'s' if len(errors) != 1 else ''}"
            print(f"not committed: {count} left that could not be fixed", file=err)
            return EXIT_FAILED
    try:
        changes = repo.staged()
        text = message or _write_message(repo, changes, notes, model, err)
        sha = repo.commit_index(text)
    except GitError as exc:
        print(f"not committed: {exc}", file=err)
        return EXIT_FAILED
    print(f"committed {sha[:7]} {text.splitlines()[0] if text.strip() else ''}", file=out)
    return EXIT_OK


def _write_message(
    repo: LocalRepo,
    changes: Sequence[StagedFile],
    notes: Sequence[str],
    model: MessageModel | None,
    err: TextIO,
) -> str:
    summary = deterministic_message(changes, notes)
    if model is None:
        return summary
    written, reason = model_message(model, repo.staged_diff(), summary)
    if written is None:
        print(f"model message not used ({reason}): using the summary", file=err)
        return summary
    return written


@dataclass
class WatchCommitter:
    """The watcher's `after_batch` for `--commit` (and `--push`)."""

    repo: LocalRepo
    push: bool
    out: TextIO

    @classmethod
    def start(cls, path: Path, *, push: bool, out: TextIO) -> WatchCommitter:
        """A committer for the repository holding `path`; raises `Refused` on the
        default branch, on a detached HEAD or outside a git work tree."""
        try:
            repo = LocalRepo.discover(path)
        except NotARepository as exc:
            raise Refused(f"watch --commit needs a git work tree: {exc}") from None
        committer = cls(repo, push, out)
        refusal = committer.refusal()
        if refusal:
            raise Refused(f"watch --commit: {refusal}")
        return committer

    def refusal(self) -> str | None:
        """Why not to commit on the current branch now, or None."""
        branch = self.repo.branch()
        if branch is None:
            return "HEAD is detached; switch to a branch first"
        default = self.repo.default_branch()
        if branch in default:
            known = default.source if default.source != "guessed" else "no remote HEAD known"
            return (
                f"refusing to commit on {branch}, the default branch ({known}); "
                "switch to a feature branch first"
            )
        return None

    def __call__(self, batch: Batch) -> None:
        stamp = batch.stamp
        held = [p for p in batch.files if p in batch.errors]
        unchecked = [p for p in batch.files if p not in batch.checked and p not in held]
        if held:
            names = ", ".join(self._name(p) for p in held)
            print(f"[{stamp}] not committed (errors left): {names}", file=self.out)
        if unchecked:
            names = ", ".join(self._name(p) for p in unchecked)
            print(f"[{stamp}] not committed (not checked): {names}", file=self.out)
        inside = [p for p in batch.checked if p not in held and _inside(p, self.repo.top)]
        paths = [self.repo.relative(p) for p in inside]
        ignored = self.repo.ignored(paths)
        paths = [p for p in paths if p not in ignored]
        if not paths:
            return
        refusal = self.refusal()
        if refusal:
            print(f"[{stamp}] not committed: {refusal}", file=self.out)
            return
        notes = fix_notes(list(batch.notes), [p for p in batch.fixed if p in inside], self.repo)
        branch = self.repo.branch() or "HEAD"
        try:
            commit = self.repo.commit_files(paths, lambda c: deterministic_message(c, notes))
        except GitError as exc:
            print(f"[{stamp}] not committed: {exc}", file=self.out)
            return
        except KeyboardInterrupt:
            done = self.repo.committed
            if done is not None:  # Ctrl-C came while the commit was being published
                line = f"[{stamp}] committed {done.sha[:7]} on {branch}: {done.subject}"
                print(line, file=self.out)
            raise
        if commit is None:
            print(f"[{stamp}] nothing new to commit", file=self.out)
            return
        print(f"[{stamp}] committed {commit.sha[:7]} on {branch}: {commit.subject}", file=self.out)
        if self.push:
            self.out.flush()
            pushed = self.repo.push(branch)
            outcome = f"pushed to {pushed.detail}" if pushed.ok else f"push failed: {pushed.detail}"
            print(f"[{stamp}] {outcome}", file=self.out)

    def _name(self, path: Path) -> str:
        return self.repo.relative(path) if _inside(path, self.repo.top) else str(path)


class Refused(Exception):
    """watch --commit cannot start here (the message says why)."""


def _inside(path: Path, top: Path) -> bool:
    return Path(os.path.realpath(path)).is_relative_to(top)


def _digest(path: Path) -> str:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return ""
