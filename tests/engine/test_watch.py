"""`python -m app watch PATH [--fix]`: the real watcher on a temporary folder.

The subprocess tests run the CLI and stop it with SIGINT (Ctrl-C); the in-process ones
run `Watcher.run` in a thread and stop it with its `stop_event`. Waiting is polling with
a deadline, never a fixed sleep, except to show that nothing more happens after a fix.
"""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

import pytest
import watchfiles

from app.engine.validate import EngineConfig
from app.engine.watch import Watcher

DEADLINE = 20.0  # seconds; generous for a loaded 2-core machine, normally well under 2
BROKEN = "def f(x)\n    return x\n"


def until(condition: Callable[[], bool], timeout: float = DEADLINE) -> bool:
    stop = time.monotonic() + timeout
    while time.monotonic() < stop:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


class Running:
    """`python -m app watch` in the background, its stdout collected line by line."""

    def __init__(self, folder: Path, *args: str, sigint_ignored: bool = False) -> None:
        def ignore_sigint() -> None:  # as a shell does for a job it starts in the background
            signal.signal(signal.SIGINT, signal.SIG_IGN)

        self.process = subprocess.Popen(
            [sys.executable, "-m", "app", "watch", str(folder), "--debounce-ms", "50", *args],
            cwd=folder,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONFAULTHANDLER": "1"},
            preexec_fn=ignore_sigint if sigint_ignored else None,
        )
        self.lines: list[str] = []
        self.errors: list[str] = []
        self._readers = [
            threading.Thread(target=self._read, args=(stream, lines), daemon=True)
            for stream, lines in (
                (self.process.stdout, self.lines),
                (self.process.stderr, self.errors),
            )
        ]
        for reader in self._readers:
            reader.start()

    @staticmethod
    def _read(stream: IO[str] | None, lines: list[str]) -> None:
        assert stream is not None
        for line in stream:
            lines.append(line.rstrip("\n"))

    def saw(self, text: str) -> bool:
        return any(text in line for line in self.lines)

    def count(self, text: str) -> int:
        return sum(text in line for line in self.lines)

    def interrupt(self) -> tuple[int, str]:
        """Ctrl-C; the exit code and everything written to stderr."""
        self.process.send_signal(signal.SIGINT)
        try:
            code = self.process.wait(timeout=DEADLINE)
        except subprocess.TimeoutExpired:  # hung: SIGABRT makes faulthandler print where
            self.process.send_signal(signal.SIGABRT)
            self.process.wait()
            for reader in self._readers:
                reader.join(timeout=DEADLINE)
            stack, output = "\n".join(self.errors), "\n".join(self.lines)
            raise AssertionError(f"still running after Ctrl-C:\n{stack}\n---\n{output}") from None
        for reader in self._readers:
            reader.join(timeout=DEADLINE)
        return code, "\n".join(self.errors)

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


@pytest.fixture
def running() -> Iterator[Callable[..., Running]]:
    started: list[Running] = []

    def start(folder: Path, *args: str, sigint_ignored: bool = False) -> Running:
        run = Running(folder, *args, sigint_ignored=sigint_ignored)
        started.append(run)
        assert until(lambda: run.saw("watching ") or run.process.poll() is not None)
        assert run.process.poll() is None, run.errors
        return run

    yield start
    for run in started:
        run.kill()


def write_until_seen(file: Path, text: str, run: Running, expected: str) -> None:
    """Write `file`, and write it again (different bytes) if the change went unseen."""
    for attempt in range(3):
        file.write_text(text + "#" * attempt)
        if until(lambda: run.saw(expected), DEADLINE / 3):
            return
    raise AssertionError(f"never saw {expected!r} in {run.lines}")


def test_a_saved_broken_file_is_reported_and_ctrl_c_exits_0(
    tmp_path: Path, running: Callable[..., Running]
) -> None:
    run = running(tmp_path, "--no-lint")
    write_until_seen(tmp_path / "a.py", BROKEN, run, "a.py:1:")
    finding = next(line for line in run.lines if line.startswith("a.py:1:"))
    assert "error [syntax]" in finding
    assert until(lambda: run.saw("1 file checked: 1 error"))
    code, stderr = run.interrupt()
    assert code == 0, stderr
    assert "Traceback" not in stderr
    assert run.lines[-1] == "stopped watching"
    assert (tmp_path / "a.py").read_text().startswith(BROKEN)  # without --fix: untouched


def test_fix_repairs_the_file_once_and_does_not_loop_on_its_own_write(
    tmp_path: Path, running: Callable[..., Running]
) -> None:
    run = running(tmp_path, "--fix", "--no-lint")
    write_until_seen(tmp_path / "b.py", BROKEN, run, "fixed 1 file")
    assert until(lambda: (tmp_path / "b.py").read_text().startswith("def f(x):\n"))
    assert until(lambda: run.saw("1 file checked: no findings"))
    time.sleep(1.0)  # 20 debounce periods: a loop on its own write would show here
    assert run.count("add missing ':'") == 1, run.lines
    assert run.count("fixed 1 file") == 1, run.lines
    assert run.count("files checked") + run.count("file checked") == 1, run.lines
    code, stderr = run.interrupt()
    assert code == 0, stderr
    assert "Traceback" not in stderr


def test_ignored_folders_and_the_cache_are_not_acted_on(
    tmp_path: Path, running: Callable[..., Running]
) -> None:
    run = running(tmp_path, "--no-lint")
    for folder in (".git", ".venv", ".deckhand_cache", "node_modules", "pkg.egg-info"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "x.py").write_text(BROKEN)
    write_until_seen(tmp_path / "seen.py", BROKEN, run, "seen.py:1:")
    assert not any("x.py" in line for line in run.lines), run.lines
    run.interrupt()


def test_a_missing_path_exits_2(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "app", "watch", str(tmp_path / "nowhere")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "no such file or directory" in result.stderr
    assert "Traceback" not in result.stderr


# --- in process ---------------------------------------------------------------------------


def test_run_in_a_thread_stops_on_its_stop_event(tmp_path: Path) -> None:
    out = io.StringIO()
    watcher = Watcher(tmp_path, config=EngineConfig(lint=False), out=out, err=io.StringIO())
    stop = threading.Event()
    thread = threading.Thread(target=watcher.run, kwargs={"debounce_ms": 20, "stop_event": stop})
    thread.start()
    try:
        assert until(lambda: "watching " in out.getvalue())
        for attempt in range(3):
            (tmp_path / "c.json").write_text('{"a": 1,}' + " " * attempt)
            if until(lambda: "c.json:1:" in out.getvalue(), DEADLINE / 3):
                break
        assert "1 file checked: 1 error" in out.getvalue()
    finally:
        stop.set()
        thread.join(timeout=DEADLINE)
    assert not thread.is_alive()


def test_an_echo_of_its_own_write_is_dropped_but_a_new_edit_is_not(tmp_path: Path) -> None:
    out = io.StringIO()
    watcher = Watcher(tmp_path, fix=True, config=EngineConfig(lint=False), out=out)
    file = tmp_path / "d.py"
    file.write_text(BROKEN)
    assert watcher.handle([file])
    assert "fixed 1 file" in out.getvalue()
    assert not watcher.handle([file])  # the change event of the fix's own write
    file.write_text(file.read_text() + "y = 1\n")
    assert watcher.handle([file])
    assert watcher.batches == 2


def test_the_filter_keeps_only_files_the_engine_checks(tmp_path: Path) -> None:
    (tmp_path / "env").mkdir()
    (tmp_path / "env" / "pyvenv.cfg").write_text("home = /usr\n")
    log = (tmp_path / "watch.log").open("w")
    try:
        watcher = Watcher(tmp_path, out=log)
        added, deleted = watchfiles.Change.added, watchfiles.Change.deleted
        assert watcher.wanted(added, str(tmp_path / "src" / "a.py"))
        assert not watcher.wanted(deleted, str(tmp_path / "a.py"))
        assert not watcher.wanted(added, str(tmp_path / ".deckhand_cache" / "a.json"))
        assert not watcher.wanted(added, str(tmp_path / "x" / "__pycache__" / "a.pyc"))
        assert not watcher.wanted(added, str(tmp_path / "env" / "lib" / "a.py"))
        assert not watcher.wanted(added, str(tmp_path / ".a.py.swp"))
        assert not watcher.wanted(added, str(tmp_path / "watch.log"))  # its own output
    finally:
        log.close()
    (tmp_path / "blob.bin").write_bytes(b"\0\1\2")
    assert not Watcher(tmp_path).handle([tmp_path / "blob.bin", tmp_path / "gone.py"])


# --- watch --fix --commit [--push] on a real repository ------------------------------------


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    from tests.workflow.gitrepo import isolate_git, make_repo

    isolate_git(monkeypatch, tmp_path)
    return make_repo(tmp_path / "repo")


def test_commit_commits_the_fixed_file_with_a_generated_message(
    repo: Path, running: Callable[..., Running]
) -> None:
    from tests.workflow.gitrepo import git

    run = running(repo, "--fix", "--commit", "--no-lint")
    write_until_seen(repo / "b.py", BROKEN, run, "] committed ")
    line = next(line for line in run.lines if "] committed " in line)
    assert line.endswith(" on feature: Add b.py: add f"), run.lines
    message = git(repo, "log", "-1", "--format=%B")
    assert "Fixes applied by Deckhand:\n- b.py: line 1: add missing ':'" in message
    assert git(repo, "show", "HEAD:b.py").startswith("def f(x):\n")
    assert git(repo, "status", "--porcelain") == ""
    code, stderr = run.interrupt()
    assert code == 0, stderr


def test_commit_refuses_the_default_branch_at_start(repo: Path) -> None:
    from tests.workflow.gitrepo import git

    git(repo, "switch", "-q", "main")
    result = subprocess.run(
        [sys.executable, "-m", "app", "watch", str(repo), "--fix", "--commit"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "refusing to commit on main, the default branch" in result.stderr
    assert "Traceback" not in result.stderr
    usage = subprocess.run(
        [sys.executable, "-m", "app", "watch", str(repo), "--commit"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert usage.returncode == 2
    assert "--commit needs --fix" in usage.stderr


def test_commit_leaves_a_file_with_errors_uncommitted(
    repo: Path, running: Callable[..., Running]
) -> None:
    from tests.workflow.gitrepo import subjects

    run = running(repo, "--fix", "--commit", "--no-lint")
    write_until_seen(repo / "bad.py", "x = = 1\n", run, "not committed (errors left): bad.py")
    time.sleep(0.3)
    assert not run.saw("] committed "), run.lines
    assert subjects(repo) == ["First"]
    run.interrupt()


def test_ctrl_c_during_commits_leaves_no_half_made_commit(
    repo: Path, running: Callable[..., Running]
) -> None:
    from tests.workflow.gitrepo import git

    for attempt, delay in enumerate((0.0, 0.01, 0.03, 0.08)):
        run = running(repo, "--fix", "--commit", "--no-lint")
        file = repo / f"c{attempt}.py"
        # The summary line comes right before the commit starts. (An interrupt during
        # the engine's own checks is the engine's business, not this test's.)
        write_until_seen(file, BROKEN, run, "1 file checked")
        time.sleep(delay)
        code, stderr = run.interrupt()
        assert code == 0, (attempt, stderr, run.lines)
        assert "Traceback" not in stderr
        assert git(repo, "diff", "--cached", "--name-only") == ""  # the index: never half-made
        assert not list((repo / ".git").glob("*.lock"))
        assert not list((repo / ".git").glob("deckhand-index-*"))
        committed = git(repo, "log", "-1", "--format=%s") == f"Add c{attempt}.py: add f"
        status = git(repo, "status", "--porcelain", "--", file.name)
        assert status == ("" if committed else f"?? {file.name}"), (committed, status, run.lines)
        assert run.saw("] committed ") == committed
        git(repo, "fsck", "--no-dangling")


def test_ctrl_c_stops_a_watch_started_with_sigint_ignored(
    tmp_path: Path, running: Callable[..., Running]
) -> None:
    run = running(tmp_path, "--no-lint", sigint_ignored=True)
    code, stderr = run.interrupt()
    assert code == 0, stderr
    assert run.lines[-1] == "stopped watching"


def test_push_sends_each_commit_to_a_local_bare_remote(
    repo: Path, tmp_path: Path, running: Callable[..., Running]
) -> None:
    from tests.workflow.gitrepo import add_bare_remote, git

    bare = tmp_path / "remote.git"
    add_bare_remote(repo, bare)
    run = running(repo, "--fix", "--commit", "--push", "--no-lint")
    write_until_seen(repo / "p.py", BROKEN, run, "pushed to origin feature")
    assert git(bare, "rev-parse", "feature") == git(repo, "rev-parse", "HEAD")
    assert git(bare, "log", "-1", "--format=%s", "feature") == "Add p.py: add f"
    run.interrupt()
