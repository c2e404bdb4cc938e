"""Which files changed since a git revision: what `validate --since REF` checks.

Changed means different between REF and the working tree (staged or not), plus files
git does not track and does not ignore. Only git's plumbing is asked (`rev-parse`,
`diff --name-only`, `ls-files`); nothing is changed in the repository.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import subprocess

TIMEOUT_SECONDS = 60


class ChangesUnavailable(RuntimeError):
    """No answer from git: not a repository, an unknown revision, git missing."""


def _git(directory: str, *args: str) -> subprocess.CompletedProcess[str]:
    import shutil
    import subprocess

    git = shutil.which("git")
    if git is None:
        raise ChangesUnavailable("--since needs git, which is not installed")
    try:
        return subprocess.run(  # noqa: S603 - git with fixed arguments, no shell
            [git, "-C", directory, *args],
            capture_output=True,
            text=True,
            timeout=TIMEOUT_SECONDS,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ChangesUnavailable(f"git did not answer: {exc}") from exc


def _toplevel(directory: str) -> str:
    result = _git(directory, "rev-parse", "--show-toplevel")
    if result.returncode != 0 or not result.stdout.strip():
        raise ChangesUnavailable(f"--since needs a git repository: {directory} is not in one")
    return os.path.realpath(result.stdout.strip())


def _changed_in(top: str, ref: str) -> set[str]:
    verified = _git(top, "rev-parse", "--verify", "--quiet", "--end-of-options", ref + "^{commit}")
    commit = verified.stdout.strip()
    if verified.returncode != 0 or not commit:
        raise ChangesUnavailable(f"unknown revision {ref!r} in the git repository {top}")
    changed: set[str] = set()
    for args in (
        ("diff", "--name-only", "--no-renames", "-z", commit, "--"),
        ("ls-files", "--others", "--exclude-standard", "-z"),
    ):
        result = _git(top, *args)
        if result.returncode != 0:
            raise ChangesUnavailable(f"git {args[0]} failed: {result.stderr.strip()[:500]}")
        changed.update(os.path.join(top, name) for name in result.stdout.split("\0") if name)
    return changed


def changed_files(paths: Iterable[Path], ref: str) -> set[str]:
    """Real absolute paths of the files changed since `ref` in the git repositories
    holding `paths` (paths of deleted files included: they are simply never found)."""
    changed: set[str] = set()
    tops: set[str] = set()
    for path in paths:
        directory = path if path.is_dir() else path.parent
        tops.add(_toplevel(str(directory.absolute())))
    for top in sorted(tops):
        changed |= _changed_in(top, ref)
    return changed
