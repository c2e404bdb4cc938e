"""The git side of the terminal workflow: the user's own repository, through the git CLI.

What it is for: what is staged (paths, old and new contents), the current and the
default branch, commits and pushes, for `python -m app commit` and `watch --commit`.

What it must not do: run the repository's code (every git call gets `-c
core.hooksPath=/dev/null`, so no hook runs), change the user's git configuration
(settings go on the command line only), wait for a password on the terminal
(GIT_TERMINAL_PROMPT=0), or leave a half-made commit.

Atomic commits of chosen files (`commit_files`, the watcher's) combine both ways.
A temporary index, not `git add` + `git commit` on the user's index: the commit's tree is
built in a temporary index file (GIT_INDEX_FILE) started from HEAD, so it holds exactly
the chosen files on top of HEAD and never what else the user had staged; the user's next
index (their index with the same blobs for the chosen files) is built in `index.lock`,
which also keeps other git commands off the index meanwhile, as git itself does. Until
the end nothing the user can see has changed, so a failing git (or a HEAD that moved)
only deletes temporary files. The end is two atomic steps, `git update-ref HEAD NEW OLD`
(which refuses when HEAD moved meanwhile) and renaming `index.lock` over the index.
And a shielded block: the whole commit, a dozen quick git calls, runs with Ctrl-C and
SIGTERM held back and delivered once it is done. Holding them back only around the last
two steps is not enough in Python: an interrupt can land anywhere, between taking the
lock and the `try` that releases it, inside a cleanup, or while a git child is being
started (which then runs on, orphaned, after the cleanup). Git runs in its own process
group, so a Ctrl-C on the terminal reaches only this process, never git halfway.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

from app.workflow.message import StagedFile

GIT_TIMEOUT_SECONDS = 120
PUSH_TIMEOUT_SECONDS = 300
STOP_SECONDS = 5  # how long an interrupted git may take to clean up before a kill
PYTHON_SUFFIXES = (".py", ".pyi")
MAX_CONTENT_BYTES = 2 * 1024 * 1024  # larger files are named in messages, not parsed
GUESSED_DEFAULTS = ("main", "master")


class GitError(RuntimeError):
    """A git command failed; the message says which and why (git's own words)."""


class NotARepository(GitError):
    """The path is not inside a git work tree (or git is not installed)."""


@dataclass(frozen=True)
class DefaultBranch:
    """The branch names taken as the default branch, and how they were found."""

    names: frozenset[str]
    source: str  # "origin/HEAD" (a remote's HEAD) or "guessed"

    def __contains__(self, branch: object) -> bool:
        return branch in self.names


@dataclass(frozen=True)
class Commit:
    sha: str
    subject: str
    files: tuple[str, ...]


@dataclass(frozen=True)
class PushResult:
    ok: bool
    detail: str


_STATUSES = {"A": "added", "M": "modified", "T": "modified", "D": "deleted"}


class LocalRepo:
    """A git work tree on disk, driven by the git CLI."""

    def __init__(self, top: Path, git: str) -> None:
        self.top = top
        self._git = git
        self.committed: Commit | None = None  # set by commit_files once HEAD moved

    @classmethod
    def discover(cls, path: Path) -> LocalRepo:
        """The work tree holding `path` (a file or a folder)."""
        git = shutil.which("git")
        if git is None:
            raise NotARepository("git is not installed")
        folder = path if path.is_dir() else path.parent
        result = _run([git, "-C", str(folder.absolute()), "rev-parse", "--show-toplevel"])
        top = result.stdout.decode(errors="replace").strip()
        if result.returncode != 0 or not top:
            raise NotARepository(f"{path} is not in a git work tree")
        return cls(Path(os.path.realpath(top)), git)

    # --- running git ---------------------------------------------------------------------

    def git(
        self,
        *args: str,
        index: Path | None = None,
        stdin: bytes | None = None,
        check: bool = True,
        timeout: float = GIT_TIMEOUT_SECONDS,
    ) -> subprocess.CompletedProcess[bytes]:
        command = [self._git, "-c", f"core.hooksPath={os.devnull}", "-C", str(self.top), *args]
        env = {**os.environ, "GIT_TERMINAL_PROMPT": "0"}
        if index is not None:
            env["GIT_INDEX_FILE"] = str(index)
        result = _run(command, env=env, stdin=stdin, timeout=timeout)
        if check and result.returncode != 0:
            said = result.stderr.decode(errors="replace").strip().splitlines()
            raise GitError(f"git {args[0]} failed: {' '.join(said)[:500] or result.returncode}")
        return result

    def text(self, *args: str, index: Path | None = None) -> str:
        return self.git(*args, index=index).stdout.decode(errors="replace").strip()

    def _maybe(self, *args: str) -> str | None:
        result = self.git(*args, check=False)
        text = result.stdout.decode(errors="replace").strip()
        return text if result.returncode == 0 and text else None

    # --- questions -----------------------------------------------------------------------

    def head(self) -> str | None:
        """The commit HEAD points at; None on a branch without commits yet."""
        return self._maybe("rev-parse", "--verify", "--quiet", "HEAD^{commit}")

    def branch(self) -> str | None:
        """The current branch's short name; None when HEAD is detached."""
        return self._maybe("symbolic-ref", "--quiet", "--short", "HEAD")

    def default_branch(self) -> DefaultBranch:
        """The repository's default branch: the target of the remote's HEAD (the current
        branch's remote, then `origin`) when known; otherwise a guess that is safe for
        refusing: `init.defaultBranch` when set, and `main` and `master`."""
        branch = self.branch()
        remotes = [self._maybe("config", "--get", f"branch.{branch}.remote") if branch else None]
        for remote in dict.fromkeys([*remotes, "origin"]):
            if remote is None or remote == ".":
                continue
            target = self._maybe("symbolic-ref", "--quiet", f"refs/remotes/{remote}/HEAD")
            prefix = f"refs/remotes/{remote}/"
            if target and target.startswith(prefix):
                return DefaultBranch(frozenset({target.removeprefix(prefix)}), f"{remote}/HEAD")
        configured = self._maybe("config", "--get", "init.defaultBranch")
        guesses = {*GUESSED_DEFAULTS, *([configured] if configured else [])}
        return DefaultBranch(frozenset(guesses), "guessed")

    def relative(self, path: Path) -> str:
        return Path(os.path.realpath(path)).relative_to(self.top).as_posix()

    def staged(self, index: Path | None = None) -> list[StagedFile]:
        """What the index (or `index`) changes against HEAD, renames as delete + add."""
        listed = self.git(
            "diff", "--cached", "--name-status", "--no-renames", "--no-ext-diff", "-z",
            index=index,
        ).stdout.decode(errors="surrogateescape")  # fmt: skip
        fields = [f for f in listed.split("\0") if f]
        head = self.head()
        changes = []
        for code, path in zip(fields[::2], fields[1::2], strict=False):
            status = _STATUSES.get(code[:1], "modified")
            old = new = None
            if path.endswith(PYTHON_SUFFIXES):
                if status != "added" and head:
                    old = self._blob(f"{head}:{path}")
                if status != "deleted":
                    new = self._blob(f":{path}", index)
            changes.append(StagedFile(path, status, old, new))
        return changes

    def staged_diff(self, index: Path | None = None) -> str:
        """`git diff --cached` as text (no colour, no external diff tools)."""
        result = self.git("diff", "--cached", "--no-color", "--no-ext-diff", index=index)
        return result.stdout.decode(errors="replace")

    def unstaged(self) -> set[str]:
        """Paths whose working tree file differs from the index."""
        result = self.git("diff", "--name-only", "--no-ext-diff", "-z")
        return {p for p in result.stdout.decode(errors="surrogateescape").split("\0") if p}

    def ignored(self, paths: Iterable[str]) -> set[str]:
        """The given paths that git ignores (untracked and matching .gitignore)."""
        names = list(paths)
        if not names:
            return set()
        result = self.git("check-ignore", "-z", "--stdin", stdin=_z(names), check=False)
        if result.returncode not in (0, 1):
            return set()
        return {p for p in result.stdout.decode(errors="surrogateescape").split("\0") if p}

    def _blob(self, spec: str, index: Path | None = None) -> bytes | None:
        size = self.git("cat-file", "-s", spec, index=index, check=False)
        if size.returncode != 0 or int(size.stdout.strip() or 0) > MAX_CONTENT_BYTES:
            return None
        result = self.git("cat-file", "blob", spec, index=index, check=False)
        return result.stdout if result.returncode == 0 else None

    # --- changes -------------------------------------------------------------------------

    def stage(self, paths: Sequence[str]) -> None:
        """`git add` (with Ctrl-C held back until it is done)."""
        if paths:
            with deferred_interrupts():
                self.git("add", "--", *paths)

    def commit_index(self, message: str) -> str:
        """`git commit` of what is staged (no hooks, message as given, Ctrl-C held back
        until it is done); the new HEAD."""
        with deferred_interrupts():
            self.git("commit", "--quiet", "--cleanup=whitespace", "-F", "-", stdin=message.encode())
            return self.text("rev-parse", "HEAD")

    def commit_files(
        self, paths: Sequence[str], message: Callable[[list[StagedFile]], str]
    ) -> Commit | None:
        """Commit the working tree's `paths` (relative, existing) on top of HEAD, nothing
        else, atomically (see the module's docstring); `message` writes the message from
        the staged changes. None when the files do not differ from HEAD."""
        with deferred_interrupts():
            return self._commit_files(paths, message)

    def _commit_files(
        self, paths: Sequence[str], message: Callable[[list[StagedFile]], str]
    ) -> Commit | None:
        self.committed = None
        index = self.top / self.text("rev-parse", "--git-path", "index")
        lock = index.with_name(index.name + ".lock")
        scratch = index.with_name(f"deckhand-index-{os.getpid()}-{threading.get_ident()}")
        try:
            descriptor = os.open(lock, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            raise GitError(f"another git command is running ({lock.name} exists)") from None
        published = False
        try:
            with os.fdopen(descriptor, "wb") as copy:
                if index.is_file():
                    with index.open("rb") as original:
                        shutil.copyfileobj(original, copy)
            if lock.stat().st_size == 0:
                self.git("read-tree", "--empty", index=lock)
            head = self.head()
            self.git("read-tree", *([head] if head else ["--empty"]), index=scratch)
            self.git("add", "--", *paths, index=scratch)
            changes = self.staged(index=scratch)
            if not changes:
                return None
            text = message(changes)
            tree = self.text("write-tree", index=scratch)
            parents = ["-p", head] if head else []
            sha = self.git("commit-tree", tree, *parents, "-F", "-", stdin=text.encode())
            commit = sha.stdout.decode().strip()
            entries = self.git("ls-files", "--stage", "-z", "--", *paths, index=scratch).stdout
            info = b"".join(_index_info(entry) for entry in entries.split(b"\0") if entry)
            self.git("update-index", "-z", "--index-info", stdin=info, index=lock)
            self.git("update-index", "-q", "--refresh", index=lock, check=False)
            subject = text.splitlines()[0] if text.strip() else ""
            self.git("update-ref", "-m", f"commit: {subject}", "HEAD", commit, head or "")
            self.committed = Commit(commit, subject, tuple(c.path for c in changes))
            os.replace(lock, index)
            published = True
            return self.committed
        finally:
            scratch.unlink(missing_ok=True)
            if not published:
                lock.unlink(missing_ok=True)

    def push(self, branch: str) -> PushResult:
        """Push `branch` to its upstream (never forced); a failure is reported."""
        remote = self._maybe("config", "--get", f"branch.{branch}.remote")
        merge = self._maybe("config", "--get", f"branch.{branch}.merge")
        if remote is None or merge is None:
            return PushResult(
                False, f"{branch} has no upstream (set one once: git push -u origin {branch})"
            )
        result = self.git(
            "push", "--quiet", remote, f"refs/heads/{branch}:{merge}",
            check=False, timeout=PUSH_TIMEOUT_SECONDS,
        )  # fmt: skip
        if result.returncode != 0:
            said = " ".join(result.stderr.decode(errors="replace").split())
            return PushResult(False, said[:300] or f"git push exited {result.returncode}")
        return PushResult(True, f"{remote} {merge.removeprefix('refs/heads/')}")


def _run(
    command: list[str],
    env: dict[str, str] | None = None,
    stdin: bytes | None = None,
    timeout: float = GIT_TIMEOUT_SECONDS,
) -> subprocess.CompletedProcess[bytes]:
    """Run git in its own process group (a terminal's Ctrl-C reaches only us). Stopped by
    an interrupt, git gets SIGINT, on which it removes its lock files, before a kill."""
    try:
        process = subprocess.Popen(  # noqa: S603 - git with fixed arguments, no shell
            command,
            stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            process_group=0,
        )
    except OSError as exc:
        raise GitError(f"git did not run: {exc}") from exc
    with process:
        try:
            out, err = process.communicate(stdin, timeout=timeout)
        except subprocess.TimeoutExpired as exc:
            _stop(process)
            raise GitError(f"git did not finish within {timeout:g}s: {command[5:7]}") from exc
        except BaseException:
            _stop(process)
            raise
    return subprocess.CompletedProcess(command, process.returncode, out, err)


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(STOP_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _index_info(entry: bytes) -> bytes:
    """An `ls-files --stage` entry ("MODE OID STAGE\tPATH") as `--index-info` input."""
    fields, path = entry.split(b"\t", 1)
    mode, oid, _stage = fields.split(b" ")
    return mode + b" " + oid + b"\t" + path + b"\0"


def _z(names: Iterable[str]) -> bytes:
    return b"".join(name.encode(errors="surrogateescape") + b"\0" for name in names)


@contextmanager
def deferred_interrupts() -> Iterator[None]:
    """Hold Ctrl-C and SIGTERM back until the block is done, then deliver them.

    Only the main thread can change signal handlers; elsewhere the block runs as is
    (signals are delivered to the main thread anyway)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    held: list[int] = []

    def hold(signum: int, _frame: FrameType | None) -> None:
        held.append(signum)

    signals = [signal.SIGINT, signal.SIGTERM]
    previous = {sig: signal.signal(sig, hold) for sig in signals}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if held:
            signal.raise_signal(held[0])
