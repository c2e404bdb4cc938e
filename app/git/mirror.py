"""A per-repository git cache on disk: a bare, blobless partial clone that fetches only
the commits asked for and only the blobs read, and builds and pushes commits without a
work tree.

What it is for: the review bot reads the changed files of a push and commits fixes on
top of it while transferring as little as possible (trees and commits on fetch, the
changed files' blobs on demand, one new commit's objects on push).

What it must not do: put the installation token on disk or on a command line (it goes
to git through the environment, as an HTTP header), execute anything from the
repository (no hooks, no checkout, no filters), or push over a branch that moved
(pushes are never forced: a push whose parent is no longer the branch head fails).
Everything here is blocking; callers run it in a thread.
"""

from __future__ import annotations

import base64
import os
import re
import tempfile
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import git

ZERO_SHA = "0" * 40
_RECENT_TIPS = 32
_HUNK = re.compile(r"^@@ -\d+(?:,\d+)? \+(\d+)(?:,(\d+))? @@")


def added_lines(patch: str) -> set[int]:
    """The new-side line numbers a unified diff adds (what a review may comment on)."""
    lines: set[int] = set()
    number = 0
    for raw in patch.splitlines():
        match = _HUNK.match(raw)
        if match:
            number = int(match.group(1))
        elif raw.startswith("+"):
            lines.add(number)
            number += 1
        elif raw.startswith(" "):
            number += 1
    return lines


_SHA = re.compile(r"^[0-9a-f]{40}$")
_PROTECTED_REF = re.compile(r"^refs/heads/[^\s~^:?*\[\\]+$")


_FETCH = (
    "fetch", "--no-tags", "--no-write-fetch-head", "--recurse-submodules=no", "--no-auto-gc",
    "--filter=blob:none",
)  # fmt: skip


class GitError(RuntimeError):
    """A git operation failed; the message never carries the token."""


class BranchMoved(GitError):
    """The push was refused because the branch is no longer at the commit we built on."""


@dataclass(frozen=True)
class Identity:
    name: str
    email: str


@dataclass(frozen=True)
class CommitInfo:
    sha: str
    author_name: str
    author_email: str
    message: str
    parents: tuple[str, ...]


@dataclass(frozen=True)
class Change:
    """One changed path between two commits; status is git's letter (A, M, D, R, T ...)."""

    status: str
    path: str


def _auth_environment(token: str | None) -> dict[str, str]:
    environment = {
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_ASKPASS": "",
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_LFS_SKIP_SMUDGE": "1",
    }
    if token:
        basic = base64.b64encode(f"x-access-token:{token}".encode()).decode()
        environment |= {
            "GIT_CONFIG_COUNT": "1",
            "GIT_CONFIG_KEY_0": "http.extraHeader",
            "GIT_CONFIG_VALUE_0": f"Authorization: Basic {basic}",
        }
    return environment


class RepositoryMirror:
    """One repository's cache. Safe to share between threads: operations are serialised."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        if not (path / "HEAD").exists():
            path.mkdir(parents=True, exist_ok=True)
            repo = git.Repo.init(path, bare=True)
            with repo.config_writer() as config:
                config.set_value("core", "hooksPath", os.devnull)
                config.set_value("gc", "auto", "0")
                config.set_value("remote.origin", "promisor", "true")
                config.set_value("remote.origin", "partialclonefilter", "blob:none")
                config.set_value("extensions", "partialClone", "origin")
                config.set_value("core", "repositoryformatversion", "1")
                config.set_value("protocol", "version", "2")
        self._repo = git.Repo(path)

    # ----------------------------------------------------------------- plumbing
    def _git(
        self,
        *args: str,
        token: str | None = None,
        env: Mapping[str, str] | None = None,
    ) -> bytes:
        environment = _auth_environment(token) | dict(env or {})
        try:
            output = self._repo.git.execute(
                ["git", *args],
                env=environment,
                stdout_as_string=False,
                strip_newline_in_stdout=False,
                with_extended_output=False,
            )
        except git.GitCommandError as exc:
            raise GitError(_describe(args, exc)) from None
        return output if isinstance(output, bytes) else str(output).encode()

    def _set_url(self, url: str) -> None:
        if "@" in url.split("//", 1)[-1].split("/", 1)[0]:
            raise GitError("the clone URL must not carry credentials")
        with self._repo.config_writer() as config:
            config.set_value('remote "origin"', "url", url)

    # ------------------------------------------------------------------ reading
    def fetch(self, url: str, token: str | None, shas: Iterable[str], depth: int = 50) -> None:
        """Fetch these commits and up to `depth` ancestors: commits and trees, no blobs.

        Always asks the server (a lookup of a missing object in a partial clone would
        itself fetch, one object a request); what is already here is not sent again.
        """
        wanted = sorted({sha for sha in shas if sha and sha != ZERO_SHA})
        for sha in wanted:
            if not _SHA.match(sha):
                raise GitError(f"not a commit id: {sha[:50]!r}")
        if not wanted:
            return
        with self._lock:
            self._set_url(url)
            self._git(*_FETCH, f"--depth={depth}", "origin", *wanted, token=token)
            self._keep_as_tips(wanted)

    def _keep_as_tips(self, commits: list[str]) -> None:
        """Name recent commits under refs/deckhand/recent: git offers its refs as "have"
        when it fetches, so the next fetch sends only what is new (without them every
        fetch by id would send the whole tree again). The newest few are kept."""
        for sha in commits:
            self._git("update-ref", f"refs/deckhand/recent/{sha}", sha)
        listing = self._git(
            "for-each-ref", "--sort=-committerdate", "--format=%(refname)", "refs/deckhand/recent"
        )
        for stale in listing.decode().split()[_RECENT_TIPS:]:
            self._git("update-ref", "-d", stale)

    def fetch_branch(self, url: str, token: str | None, branch: str, depth: int = 50) -> str:
        """Fetch a branch's tip by name; returns its commit id."""
        ref = f"refs/heads/{branch}"
        if not _PROTECTED_REF.match(ref):
            raise GitError(f"not a branch name: {branch[:100]!r}")
        with self._lock:
            self._set_url(url)
            local = f"refs/deckhand/branches/{branch}"
            self._git(*_FETCH, f"--depth={depth}", "origin", f"+{ref}:{local}", token=token)
            return self._git("rev-parse", local).decode().strip()

    def merge_base(self, url: str, token: str | None, base: str, head: str) -> str | None:
        """The commit `head` forked from `base`, deepening the shallow history as needed."""
        for deepen in (200, 2000, 0):
            try:
                return self._git("merge-base", base, head).decode().strip() or None
            except GitError:
                pass
            with self._lock:
                extra = ["--unshallow"] if deepen == 0 else [f"--deepen={deepen}"]
                try:
                    self._git(*_FETCH, *extra, "origin", base, head, token=token)
                except GitError:
                    break
        return None

    def changes(self, base: str, head: str) -> list[Change]:
        """Paths changed from `base` to `head` (renames as the new path)."""
        output = self._git("diff", "--name-status", "--no-renames", "-z", base, head)
        fields = output.decode("utf-8", "surrogateescape").split("\0")
        return [
            Change(status=fields[i][:1], path=fields[i + 1])
            for i in range(0, len(fields) - 1, 2)
            if fields[i]
        ]

    def patches(
        self, token: str | None, base: str, head: str, paths: Iterable[str]
    ) -> dict[str, str]:
        """The unified diff (3 lines of context) from `base` to `head`, per path. git
        fetches the missing blobs of both sides in one batch."""
        wanted = list(paths)
        if not wanted:
            return {}
        output = self._git(
            "-c", "core.quotePath=false", "diff", "--no-color", "--no-ext-diff",
            "--no-textconv", "--no-renames", base, head, "--", *wanted, token=token,
        )  # fmt: skip
        patches: dict[str, list[str]] = {}
        current: list[str] | None = None
        for raw in output.decode("utf-8", "surrogateescape").splitlines(keepends=True):
            if raw.startswith("diff --git "):
                current = None
            elif raw.startswith("+++ ") and current is None:
                name = raw[4:].rstrip("\n")
                current = patches.setdefault(name[2:], []) if name.startswith("b/") else None
            elif current is not None:
                current.append(raw)
        return {path: "".join(lines) for path, lines in patches.items()}

    def paths(self, commit: str) -> list[str]:
        """Every file path in the commit's tree (no blobs are fetched)."""
        output = self._git("ls-tree", "-r", "-z", "--name-only", commit)
        return [p for p in output.decode("utf-8", "surrogateescape").split("\0") if p]

    def tree(self, commit: str) -> dict[str, str]:
        """path -> blob id for every file in the commit (trees only: no blob is fetched)."""
        output = self._git("ls-tree", "-r", "-z", commit)
        found: dict[str, str] = {}
        for entry in output.decode("utf-8", "surrogateescape").split("\0"):
            meta, _, path = entry.partition("\t")
            parts = meta.split()
            if len(parts) == 3 and parts[1] == "blob":
                found[path] = parts[2]
        return found

    def blob_ids(self, commit: str, paths: Iterable[str]) -> dict[str, tuple[str, str]]:
        """path -> (mode, blob id) for the given paths that are files in the commit."""
        wanted = list(paths)
        if not wanted:
            return {}
        output = self._git("ls-tree", "-z", commit, "--", *wanted)
        found: dict[str, tuple[str, str]] = {}
        for entry in output.decode("utf-8", "surrogateescape").split("\0"):
            if not entry:
                continue
            meta, _, path = entry.partition("\t")
            mode, kind, oid = meta.split()
            if kind == "blob":
                found[path] = (mode, oid)
        return found

    def read(
        self, url: str, token: str | None, commit: str, paths: Iterable[str]
    ) -> dict[str, bytes]:
        """The contents of these files at `commit`, fetching the missing blobs in one request."""
        entries = self.blob_ids(commit, paths)
        if not entries:
            return {}
        with self._lock:
            self._set_url(url)
            missing = self._missing_objects(commit, list(entries))
            if missing:
                self._git(
                    "-c",
                    "fetch.negotiationAlgorithm=noop",
                    *_FETCH,
                    "origin",
                    *missing,
                    token=token,
                )
        return {path: self._cat(oid) for path, (mode, oid) in entries.items() if mode != "160000"}

    def _missing_objects(self, commit: str, paths: list[str]) -> list[str]:
        """Blob ids under these paths that are not here yet (listing them fetches nothing)."""
        output = self._git(
            "rev-list", "--objects", "--no-walk", "--missing=print", commit, "--", *paths
        )
        return sorted(
            {line[1:].strip() for line in output.decode().splitlines() if line.startswith("?")}
        )

    def _cat(self, oid: str) -> bytes:
        return self._git("cat-file", "blob", oid)

    def log(self, commit: str, count: int) -> list[CommitInfo]:
        """The first-parent history from `commit`, newest first (commits already fetched)."""
        output = self._git(
            "log", "--first-parent", f"--max-count={count}", "-z",
            "--format=%H%x1f%P%x1f%an%x1f%ae%x1f%B", commit,
        )  # fmt: skip
        commits = []
        for record in output.decode("utf-8", "replace").split("\0"):
            if not record.strip():
                continue
            sha, parents, name, email, message = record.split("\x1f", 4)
            commits.append(CommitInfo(sha.strip(), name, email, message, tuple(parents.split())))
        return commits

    # ------------------------------------------------------------------ writing
    def commit(
        self, parent: str, files: Mapping[str, bytes], message: str, identity: Identity
    ) -> str:
        """A new commit on `parent` with these files replaced; no work tree is touched."""
        with self._lock, tempfile.TemporaryDirectory(prefix="deckhand-commit-") as scratch:
            index = {"GIT_INDEX_FILE": str(Path(scratch) / "index")}
            self._git("read-tree", parent, env=index)
            modes = self.blob_ids(parent, files)
            for number, (path, data) in enumerate(sorted(files.items())):
                staged = Path(scratch) / f"blob-{number}"
                staged.write_bytes(data)
                oid = self._git("hash-object", "-w", "--no-filters", str(staged)).decode().strip()
                mode = modes.get(path, ("100644", ""))[0]
                self._git("update-index", "--add", "--cacheinfo", f"{mode},{oid},{path}", env=index)
            tree = self._git("write-tree", "--missing-ok", env=index).decode().strip()
            message_file = Path(scratch) / "message"
            message_file.write_text(message, encoding="utf-8")
            people = {
                "GIT_AUTHOR_NAME": identity.name,
                "GIT_AUTHOR_EMAIL": identity.email,
                "GIT_COMMITTER_NAME": identity.name,
                "GIT_COMMITTER_EMAIL": identity.email,
            }
            command = ("commit-tree", tree, "-p", parent, "-F", str(message_file))
            return self._git(*command, env=people).decode().strip()

    def push(self, url: str, token: str | None, commit: str, branch: str, expected: str) -> None:
        """Move `branch` from `expected` to `commit`; BranchMoved if it is elsewhere now."""
        ref = f"refs/heads/{branch}"
        if not _PROTECTED_REF.match(ref):
            raise GitError(f"not a branch name: {branch[:100]!r}")
        with self._lock:
            self._set_url(url)
            try:
                self._git(
                    "push", "--porcelain", "--no-verify", f"--force-with-lease={ref}:{expected}",
                    "origin", f"{commit}:{ref}", token=token,
                )  # fmt: skip
            except GitError as exc:
                text = str(exc)
                if any(s in text for s in ("stale info", "non-fast-forward", "fetch first")):
                    raise BranchMoved(f"{branch} is no longer at {expected[:12]}") from None
                raise


def _describe(args: tuple[str, ...], exc: git.GitCommandError) -> str:
    """git's own words (stdout carries `push --porcelain` verdicts), headers masked."""
    said = " ".join(_text(part) for part in (exc.stdout, exc.stderr))
    said = re.sub(r"(?i)(authorization:\s*\w+\s+)\S+", r"\1***", said)
    lines = [line.strip() for line in said.strip().splitlines() if line.strip()]
    return f"git {args[0] if args else ''} failed ({exc.status}): " + " | ".join(lines)[-500:]


def _text(value: object) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value or "")


_MIRRORS: dict[Path, RepositoryMirror] = {}
_MIRRORS_LOCK = threading.Lock()


def mirror_for(root: Path, repository: str) -> RepositoryMirror:
    """The one cache object for `owner/name` under `root` (shared, so its lock holds)."""
    owner, _, name = repository.lower().partition("/")
    if not owner or not name or any(part in {"", ".", ".."} for part in (owner, name)):
        raise GitError(f"not a repository name: {repository[:200]!r}")
    path = (root / owner / f"{name}.git").absolute()
    with _MIRRORS_LOCK:
        mirror = _MIRRORS.get(path)
        if mirror is None:
            mirror = _MIRRORS[path] = RepositoryMirror(path)
        return mirror
