"""Synchronous helpers over one bare git repository (the git CLI, plumbing only).

:class:`BareRepo` is what both :class:`~fakes.git.server.GitServer` (to seed commits)
and the fake GitHub (to answer the Contents and pull request APIs from git) use. Every
command runs with an isolated environment: no system or global git config is read.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

ZERO_SHA = "0" * 40

SERVER_CONFIG: dict[str, str] = {
    "http.receivepack": "true",
    "http.uploadpack": "true",
    "uploadpack.allowFilter": "true",
    "uploadpack.allowAnySHA1InWant": "true",
    "uploadpack.allowReachableSHA1InWant": "true",
    "receive.denyNonFastForwards": "true",
    "receive.denyDeleteCurrent": "true",
    "receive.hideRefs": "refs/pull",  # GitHub refuses pushes to refs/pull/*
    "core.logAllRefUpdates": "false",
    "gc.auto": "0",
}


def git_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """An environment for git that ignores the developer's and the system's config."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": tempfile.gettempdir(),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_TERMINAL_PROMPT": "0",
        "LC_ALL": "C",
        "TZ": "UTC",
    }
    env.update(extra or {})
    return env


class GitCommandError(RuntimeError):
    def __init__(self, args: list[str], returncode: int, stderr: str) -> None:
        super().__init__(f"git {' '.join(args)} failed ({returncode}): {stderr.strip()}")
        self.returncode = returncode
        self.stderr = stderr


@dataclass(frozen=True, slots=True)
class CommitInfo:
    sha: str
    author_name: str
    author_email: str
    committer_name: str
    committer_email: str
    message: str
    parents: list[str]
    author_date: int = 0  # epoch seconds
    committer_date: int = 0
    tree: str = ""


@dataclass(frozen=True, slots=True)
class FileChange:
    """One file of a diff (``git diff --numstat`` + ``--name-status`` + the patch)."""

    filename: str
    status: str  # added, removed, modified, renamed
    additions: int
    deletions: int
    patch: str | None
    previous_filename: str | None = None
    sha: str | None = None  # blob sha on the new side (None for removed files)


class BareRepo:
    """One bare repository on disk."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    # ------------------------------------------------------------------ running git
    def git(
        self,
        *args: str,
        input: bytes | None = None,
        env: dict[str, str] | None = None,
        check: bool = True,
    ) -> bytes:
        proc = subprocess.run(
            ["git", "--git-dir", str(self.path), *args],
            input=input,
            capture_output=True,
            env=git_env(env),
            check=False,
        )
        if check and proc.returncode != 0:
            raise GitCommandError(list(args), proc.returncode, proc.stderr.decode(errors="replace"))
        return proc.stdout

    def text(
        self, *args: str, input: bytes | None = None, env: dict[str, str] | None = None
    ) -> str:
        return self.git(*args, input=input, env=env).decode(errors="replace")

    # ------------------------------------------------------------------- creation
    @classmethod
    def init(cls, path: Path, branch: str = "main") -> BareRepo:
        path.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            ["git", "init", "--bare", "--quiet", f"--initial-branch={branch}", str(path)],
            check=True,
            capture_output=True,
            env=git_env(),
        )
        repo = cls(path)
        repo.configure()
        return repo

    def configure(self) -> None:
        for key, value in SERVER_CONFIG.items():
            self.git("config", key, value)

    def set_head(self, branch: str) -> None:
        self.git("symbolic-ref", "HEAD", f"refs/heads/{branch}")

    # ----------------------------------------------------------------------- refs
    def resolve(self, rev: str) -> str | None:
        """Commit sha of ``rev`` (branch, tag, sha, ``refs/...``), or None."""
        out = self.git("rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}", check=False)
        sha = out.decode().strip()
        return sha or None

    def head(self, branch: str) -> str:
        sha = self.resolve(f"refs/heads/{branch}")
        if sha is None:
            raise KeyError(f"no branch {branch!r} in {self.path}")
        return sha

    def refs(self) -> dict[str, str]:
        out = self.text("for-each-ref", "--format=%(refname) %(objectname)")
        refs: dict[str, str] = {}
        for line in out.splitlines():
            name, _, sha = line.partition(" ")
            if name:
                refs[name] = sha
        return refs

    def branches(self) -> list[str]:
        return sorted(
            name.removeprefix("refs/heads/")
            for name in self.refs()
            if name.startswith("refs/heads/")
        )

    def default_branch(self) -> str:
        return self.text("symbolic-ref", "HEAD").strip().removeprefix("refs/heads/")

    # ---------------------------------------------------------------------- reads
    def show(self, rev: str, path: str) -> bytes:
        return self.git("cat-file", "blob", f"{rev}:{path.strip('/')}")

    def read_file(self, rev: str, path: str) -> bytes | None:
        out = self.git("cat-file", "blob", f"{rev}:{path.strip('/')}", check=False)
        if not out and self.object_type(f"{rev}:{path.strip('/')}") != "blob":
            return None
        return out

    def object_type(self, spec: str) -> str | None:
        out = self.git("cat-file", "-t", spec, check=False).decode().strip()
        return out or None

    def files(self, rev: str) -> dict[str, str]:
        """path -> blob sha of every file at ``rev`` (recursive)."""
        out = self.git("ls-tree", "-r", "-z", "--full-tree", rev)
        result: dict[str, str] = {}
        for entry in out.split(b"\0"):
            if not entry:
                continue
            meta, _, path = entry.partition(b"\t")
            _mode, kind, sha = meta.decode().split(" ")
            if kind == "blob":
                result[path.decode()] = sha
        return result

    def tree_entries(self, rev: str, path: str) -> list[tuple[str, str, str]] | None:
        """Direct children of directory ``path`` at ``rev``: (kind, path, sha); None if none."""
        path = path.strip("/")
        spec = f"{rev}:{path}" if path else f"{rev}^{{tree}}"
        if self.object_type(spec) != "tree":
            return None
        out = self.git("ls-tree", "-z", spec)
        entries = []
        for entry in out.split(b"\0"):
            if not entry:
                continue
            meta, _, name = entry.partition(b"\t")
            _mode, kind, sha = meta.decode().split(" ")
            full = f"{path}/{name.decode()}" if path else name.decode()
            entries.append(("dir" if kind == "tree" else "file", full, sha))
        return entries

    def blob_sha(self, rev: str, path: str) -> str | None:
        out = self.git("rev-parse", "--verify", "--quiet", f"{rev}:{path.strip('/')}", check=False)
        return out.decode().strip() or None

    def commit_info(self, rev: str) -> CommitInfo:
        return self.log(rev, 1)[0]

    def log(self, rev: str, n: int = 10) -> list[CommitInfo]:
        fmt = "%H%x00%an%x00%ae%x00%cn%x00%ce%x00%P%x00%at%x00%ct%x00%T%x00%B%x00%x01"
        out = self.text("log", f"-n{n}", f"--format={fmt}", rev, "--")
        infos = []
        for record in out.split("\x01"):
            record = record.lstrip("\n")
            if not record:
                continue
            sha, an, ae, cn, ce, parents, at, ct, tree, message, _ = record.split("\x00")
            infos.append(
                CommitInfo(
                    sha=sha,
                    author_name=an,
                    author_email=ae,
                    committer_name=cn,
                    committer_email=ce,
                    message=message.rstrip("\n"),
                    parents=parents.split(),
                    author_date=int(at),
                    committer_date=int(ct),
                    tree=tree,
                )
            )
        return infos

    def rev_list(self, *revs: str) -> list[str]:
        """Commits reachable from ``revs`` (``^sha`` excludes), oldest first."""
        return self.text("rev-list", "--reverse", *revs, "--").split()

    def merge_base(self, a: str, b: str) -> str | None:
        out = self.git("merge-base", a, b, check=False).decode().strip()
        return out or None

    def is_ancestor(self, a: str, b: str) -> bool:
        return (
            subprocess.run(
                ["git", "--git-dir", str(self.path), "merge-base", "--is-ancestor", a, b],
                capture_output=True,
                env=git_env(),
                check=False,
            ).returncode
            == 0
        )

    def diff_files(self, base: str, head: str) -> list[FileChange]:
        """Files changed from ``base`` to ``head`` (both commits), with unified patches."""
        status_out = self.git("diff", "--no-color", "-M", "--name-status", "-z", base, head)
        fields = [f.decode() for f in status_out.split(b"\0") if f]
        changes: list[tuple[str, str, str | None]] = []
        i = 0
        while i < len(fields):
            code = fields[i]
            if code.startswith("R") or code.startswith("C"):
                changes.append(("renamed", fields[i + 2], fields[i + 1]))
                i += 3
            else:
                kind = {"A": "added", "D": "removed", "M": "modified", "T": "changed"}.get(
                    code[0], "modified"
                )
                changes.append((kind, fields[i + 1], None))
                i += 2
        numstat = self.git("diff", "--no-color", "-M", "--numstat", "-z", base, head)
        counts: dict[str, tuple[int, int]] = {}
        parts = numstat.split(b"\0")
        j = 0
        while j < len(parts):
            item = parts[j].decode()
            if not item:
                j += 1
                continue
            adds, dels, name = item.split("\t", 2)
            if not name:  # rename: "adds\tdels\t\0old\0new"
                name = parts[j + 2].decode()
                j += 3
            else:
                j += 1
            counts[name] = (int(adds) if adds != "-" else 0, int(dels) if dels != "-" else 0)
        result = []
        for kind, name, previous in changes:
            patch = self.patch(base, head, name, previous)
            added, deleted = counts.get(name, (0, 0))
            result.append(
                FileChange(
                    filename=name,
                    status=kind,
                    additions=added,
                    deletions=deleted,
                    patch=patch,
                    previous_filename=previous,
                    sha=None if kind == "removed" else self.blob_sha(head, name),
                )
            )
        return result

    def patch(self, base: str, head: str, path: str, previous: str | None = None) -> str | None:
        """The hunks (from the first ``@@``) of one file's diff; None for binary files."""
        paths = [previous, path] if previous else [path]
        out = self.text("diff", "--no-color", "-M", "--unified=3", base, head, "--", *paths)
        at = out.find("\n@@")
        if at < 0:
            return None if "Binary files" in out else ""
        return out[at + 1 :].rstrip("\n")

    # --------------------------------------------------------------------- writes
    def commit(
        self,
        branch: str,
        files: Mapping[str, str | bytes | None],
        *,
        message: str,
        author: tuple[str, str] = ("Alice", "alice@example.com"),
        committer: tuple[str, str] | None = None,
        parent: str | None = None,
        date: int | None = None,
    ) -> str:
        """Commit ``files`` (None deletes) on ``branch`` and move it; returns the sha.

        The parent is ``parent`` when given, else the branch's head, else nothing
        (a root commit). The branch is created if needed.
        """
        ref = f"refs/heads/{branch}"
        old = self.resolve(ref)
        base = parent if parent is not None else old
        if parent is not None:
            resolved = self.resolve(parent)
            if resolved is None:
                raise KeyError(f"unknown parent {parent!r}")
            base = resolved
        with tempfile.TemporaryDirectory() as tmp:
            index_env = {"GIT_INDEX_FILE": str(Path(tmp) / "index")}
            if base is not None:
                self.git("read-tree", base, env=index_env)
            lines = []
            for path, content in files.items():
                path = path.strip("/")
                if content is None:  # mode 0 removes the entry
                    lines.append(f"0 {ZERO_SHA}\t{path}\n")
                    continue
                data = content.encode() if isinstance(content, str) else bytes(content)
                sha = self.text("hash-object", "-w", "--stdin", input=data).strip()
                lines.append(f"100644 {sha}\t{path}\n")
            self.git("update-index", "--index-info", input="".join(lines).encode(), env=index_env)
            tree = self.text("write-tree", env=index_env).strip()
        name, email = author
        cname, cemail = committer or author
        stamp = f"{date} +0000" if date is not None else None
        env = {
            "GIT_AUTHOR_NAME": name,
            "GIT_AUTHOR_EMAIL": email,
            "GIT_COMMITTER_NAME": cname,
            "GIT_COMMITTER_EMAIL": cemail,
        }
        if stamp:
            env |= {"GIT_AUTHOR_DATE": stamp, "GIT_COMMITTER_DATE": stamp}
        args = ["commit-tree", tree]
        if base is not None:
            args += ["-p", base]
        sha = self.text(*args, input=message.encode(), env=env).strip()
        self.git("update-ref", ref, sha, old or ZERO_SHA)
        return sha
