"""Real git repositories in a temporary folder for the workflow tests.

`make_repo(folder)` makes a repository on `main` with one commit (`a.py`), then a
`feature` branch checked out. Identity and config are the repository's own; the tests'
environment points GIT_CONFIG_GLOBAL at an empty file, so the machine's settings (and
the user's global config) neither matter nor change.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

FIRST = "def greet(name):\n    return 'hello ' + name\n"


def git(repo: Path, *args: str, check: bool = True) -> str:
    result = subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, text=True, check=False, timeout=60
    )
    if check and result.returncode != 0:
        raise AssertionError(f"git {' '.join(args)}: {result.stderr}")
    return result.stdout.strip()


def isolate_git(monkeypatch: pytest.MonkeyPatch, folder: Path) -> None:
    """Global and system git config out of the picture for this test (and its children)."""
    empty = folder / "empty-gitconfig"
    empty.write_text("")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(empty))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    for name in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "OPENAI_API_KEY"):
        monkeypatch.delenv(name, raising=False)


def make_repo(folder: Path, branch: str = "feature") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    git(folder, "init", "-q", "-b", "main")
    git(folder, "config", "user.name", "Test User")
    git(folder, "config", "user.email", "test@example.com")
    git(folder, "config", "commit.gpgsign", "false")
    (folder / "a.py").write_text(FIRST)
    (folder / ".gitignore").write_text(".deckhand_cache/\nignored.py\n")
    git(folder, "add", "a.py", ".gitignore")
    git(folder, "commit", "-q", "-m", "First")
    if branch != "main":
        git(folder, "switch", "-q", "-c", branch)
    return folder


def add_bare_remote(repo: Path, bare: Path, branch: str = "feature") -> None:
    """A local bare `origin` with `branch` pushed and set as its upstream."""
    subprocess.run(["git", "init", "-q", "--bare", str(bare)], check=True, capture_output=True)
    git(repo, "remote", "add", "origin", str(bare))
    git(repo, "push", "-q", "-u", "origin", branch)


def subjects(repo: Path) -> list[str]:
    return git(repo, "log", "--format=%s").splitlines()
