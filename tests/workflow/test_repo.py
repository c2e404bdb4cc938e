"""app.workflow.repo and the watcher's committer on real repositories: atomic commits of
chosen files, interrupts at each step, the default branch, pushes."""

from __future__ import annotations

import io
import os
import signal
import subprocess
from pathlib import Path
from typing import Any

import pytest

from app.engine.watch import Batch
from app.workflow.commit import Refused, WatchCommitter
from app.workflow.message import deterministic_message
from app.workflow.repo import GitError, LocalRepo
from tests.workflow.gitrepo import add_bare_remote, git, make_repo, subjects

FIXED = "def greet(name):\n    return 'hey ' + name\n"


def index_bytes(repo: Path) -> bytes:
    return (repo / ".git" / "index").read_bytes()


def leftovers(repo: Path) -> list[str]:
    names = (p.name for p in (repo / ".git").iterdir())
    return sorted(n for n in names if "lock" in n or "deckhand" in n)


def test_commit_files_commits_only_the_chosen_files_and_keeps_the_rest_staged(repo: Path) -> None:
    (repo / "a.py").write_text(FIXED)
    (repo / "other.py").write_text("x = 1\n")
    git(repo, "add", "other.py")
    local = LocalRepo.discover(repo)
    commit = local.commit_files(["a.py"], deterministic_message)
    assert commit is not None and commit.files == ("a.py",)
    assert git(repo, "show", "--name-only", "--format=", "HEAD") == "a.py"
    assert git(repo, "status", "--porcelain") == "A  other.py"  # still staged, a.py clean
    assert git(repo, "reflog", "-1", "--format=%gs") == f"commit: {commit.subject}"
    assert local.commit_files(["a.py"], deterministic_message) is None  # nothing new
    assert leftovers(repo) == []


def test_a_failure_before_the_commit_changes_nothing(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (repo / "a.py").write_text(FIXED)
    git(repo, "add", "a.py")  # the user's index holds something of their own
    before = (git(repo, "rev-parse", "HEAD"), index_bytes(repo))
    local = LocalRepo.discover(repo)
    real = LocalRepo.git

    def interrupted(self: LocalRepo, *args: str, **kwargs: Any) -> Any:
        if args[0] == "commit-tree":
            raise GitError("git commit-tree failed: out of disk space")
        return real(self, *args, **kwargs)

    monkeypatch.setattr(LocalRepo, "git", interrupted)
    (repo / "a.py").write_text(FIXED + "# more\n")
    with pytest.raises(GitError):
        local.commit_files(["a.py"], deterministic_message)
    assert (git(repo, "rev-parse", "HEAD"), index_bytes(repo)) == before
    assert local.committed is None
    assert leftovers(repo) == []


@pytest.mark.parametrize("when", ["read-tree", "add", "update-ref"])
def test_ctrl_c_during_a_commit_is_held_until_head_and_index_both_moved(
    repo: Path, monkeypatch: pytest.MonkeyPatch, when: str
) -> None:
    (repo / "a.py").write_text(FIXED)
    local = LocalRepo.discover(repo)
    real = LocalRepo.git

    def signalled(self: LocalRepo, *args: str, **kwargs: Any) -> Any:
        if args[0] == when:
            os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C arrives right now
        return real(self, *args, **kwargs)

    monkeypatch.setattr(LocalRepo, "git", signalled)
    with pytest.raises(KeyboardInterrupt):
        local.commit_files(["a.py"], deterministic_message)
    assert local.committed is not None
    assert git(repo, "rev-parse", "HEAD") == local.committed.sha
    assert git(repo, "status", "--porcelain") == ""  # index and work tree match the commit
    assert leftovers(repo) == []
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_a_busy_index_or_a_moved_head_fails_cleanly(repo: Path) -> None:
    (repo / "a.py").write_text(FIXED)
    local = LocalRepo.discover(repo)
    (repo / ".git" / "index.lock").write_text("")
    with pytest.raises(GitError, match="another git command"):
        local.commit_files(["a.py"], deterministic_message)
    (repo / ".git" / "index.lock").unlink()

    def racing(changes: Any) -> str:  # someone commits while the message is written
        subprocess.run(
            ["git", "-C", str(repo), "commit", "-q", "--allow-empty", "-m", "Racer"],
            check=True,
            env={**os.environ, "GIT_INDEX_FILE": str(repo / ".git" / "other-index")},
        )
        return deterministic_message(changes)

    with pytest.raises(GitError, match="update-ref"):
        local.commit_files(["a.py"], racing)
    assert subjects(repo) == ["Racer", "First"]
    assert leftovers(repo) == []


def test_the_default_branch_from_origin_head_or_guessed(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "r", branch="main")
    local = LocalRepo.discover(repo)
    assert local.default_branch().names == {"main", "master"}
    git(repo, "config", "init.defaultBranch", "trunk")
    assert local.default_branch().names == {"main", "master", "trunk"}
    add_bare_remote(repo, tmp_path / "remote.git", branch="main")
    git(repo, "switch", "-q", "-c", "develop")
    git(repo, "push", "-q", "origin", "develop")
    git(repo, "symbolic-ref", "refs/remotes/origin/HEAD", "refs/remotes/origin/develop")
    found = local.default_branch()
    assert (found.names, found.source) == ({"develop"}, "origin/HEAD")


def batch(*files: Path, errors: tuple[Path, ...] = (), fixed: tuple[Path, ...] = ()) -> Batch:
    notes = tuple(f"{f.name}: line 1: add missing ':'" for f in fixed)
    return Batch("12:00:00", files, fixed, notes, files, errors)


def test_the_committer_refuses_the_default_branch_and_a_detached_head(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    git(repo, "switch", "-q", "main")
    with pytest.raises(Refused, match="refusing to commit on main, the default branch"):
        WatchCommitter.start(repo, push=False, out=io.StringIO())
    git(repo, "switch", "-q", "--detach", "HEAD")
    with pytest.raises(Refused, match="detached"):
        WatchCommitter.start(repo, push=False, out=io.StringIO())
    plain = tmp_path / "plain"
    plain.mkdir()
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    with pytest.raises(Refused, match="needs a git work tree"):
        WatchCommitter.start(plain, push=False, out=io.StringIO())


def test_the_committer_holds_back_files_with_errors_and_ignored_ones(repo: Path) -> None:
    out = io.StringIO()
    committer = WatchCommitter.start(repo, push=False, out=out)
    good, bad, ignored = repo / "good.py", repo / "bad.py", repo / "ignored.py"
    for file in (good, bad, ignored):
        file.write_text("x = 1\n")
    committer(batch(good, bad, ignored, errors=(bad,), fixed=(good,)))
    lines = out.getvalue().splitlines()
    assert lines[0] == "[12:00:00] not committed (errors left): bad.py"
    assert lines[1].startswith("[12:00:00] committed ")
    assert lines[1].endswith(" on feature: Add good.py")
    assert git(repo, "show", "--name-only", "--format=", "HEAD") == "good.py"
    assert "Fixes applied by Deckhand:\n- good.py: line 1: add missing ':'" in git(
        repo, "log", "-1", "--format=%B"
    )
    committer(batch(good))
    assert out.getvalue().splitlines()[-1] == "[12:00:00] nothing new to commit"


def test_the_committer_pushes_and_reports_a_failed_push(repo: Path, tmp_path: Path) -> None:
    bare = tmp_path / "remote.git"
    add_bare_remote(repo, bare)
    out = io.StringIO()
    committer = WatchCommitter.start(repo, push=True, out=out)
    (repo / "a.py").write_text(FIXED)
    committer(batch(repo / "a.py"))
    assert out.getvalue().splitlines()[-1] == "[12:00:00] pushed to origin feature"
    assert git(bare, "rev-parse", "feature") == git(repo, "rev-parse", "HEAD")
    git(bare, "config", "user.name", "Someone Else")
    git(bare, "config", "user.email", "else@example.com")
    other = git(bare, "commit-tree", "-p", "feature", "-m", "Theirs", "feature^{tree}")
    git(bare, "update-ref", "refs/heads/feature", other)  # the remote moved: not a fast-forward
    (repo / "a.py").write_text(FIXED + "# again\n")
    committer(batch(repo / "a.py"))
    last = out.getvalue().splitlines()[-1]
    assert last.startswith("[12:00:00] push failed: ")
    assert "rejected" in last or "non-fast-forward" in last or "fetch first" in last
    git(repo, "branch", "--unset-upstream")
    (repo / "a.py").write_text(FIXED + "# third\n")
    committer(batch(repo / "a.py"))
    assert "has no upstream" in out.getvalue().splitlines()[-1]


def test_the_first_commit_of_a_new_repository(tmp_path: Path) -> None:
    repo = tmp_path / "fresh"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "work")
    git(repo, "config", "user.name", "Test User")
    git(repo, "config", "user.email", "test@example.com")
    (repo / "m.py").write_text("class Model:\n    pass\n")
    local = LocalRepo.discover(repo)
    commit = local.commit_files(["m.py"], deterministic_message)
    assert commit is not None and commit.subject == "Add m.py: add Model"
    assert subjects(repo) == ["Add m.py: add Model"]
    assert git(repo, "status", "--porcelain") == ""
    assert git(repo, "rev-list", "--parents", "HEAD") == commit.sha  # a root commit
