"""Reads what a review needs from git: the changed files at the head commit, the
repository's ruff and dependency files, every path in the tree, the branch's recent
history and the lines the diff touches.

Blocking (git subprocesses); the runner calls `take_snapshot` in a thread. Transfers
commits and trees, then the blobs of just the files read, in one request.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from app.git.mirror import CommitInfo, RepositoryMirror, added_lines
from app.review.analysis import SUPPORT_FILES
from app.review.target import ReviewTarget

MAX_FILES = 300
HISTORY = 5


@dataclass
class Snapshot:
    base: str | None
    changed: dict[str, bytes] = field(default_factory=dict)
    support: dict[str, bytes] = field(default_factory=dict)
    known_paths: list[str] = field(default_factory=list)
    history: list[CommitInfo] = field(default_factory=list)
    patches: dict[str, str] = field(default_factory=dict)  # path -> unified diff
    changed_lines: dict[str, set[int]] = field(default_factory=dict)
    left_out: int = 0  # changed files beyond MAX_FILES

    @property
    def head_message(self) -> str:
        return self.history[0].message if self.history else ""


def take_snapshot(mirror: RepositoryMirror, target: ReviewTarget, token: str | None) -> Snapshot:
    url = target.clone_url
    mirror.fetch(url, token, [target.head_sha, target.base_sha or ""])
    base = _diff_base(mirror, target, token)
    if base is None:
        paths = mirror.paths(target.head_sha)
    else:
        paths = [c.path for c in mirror.changes(base, target.head_sha) if c.status != "D"]
    snapshot = Snapshot(base=base, left_out=max(0, len(paths) - MAX_FILES))
    paths = paths[:MAX_FILES]
    snapshot.known_paths = mirror.paths(target.head_sha)
    present = set(snapshot.known_paths)
    support = [p for p in SUPPORT_FILES if p in present]
    contents = mirror.read(url, token, target.head_sha, [*paths, *support])
    snapshot.changed = {p: contents[p] for p in paths if p in contents}
    snapshot.support = {p: contents[p] for p in support if p in contents}
    snapshot.history = mirror.log(target.head_sha, HISTORY)
    if base is not None and snapshot.changed:
        snapshot.patches = mirror.patches(token, base, target.head_sha, snapshot.changed)
        snapshot.changed_lines = {p: added_lines(d) for p, d in snapshot.patches.items()}
    return snapshot


def _diff_base(mirror: RepositoryMirror, target: ReviewTarget, token: str | None) -> str | None:
    """The pull request's merge base, the push's `before`, or for a new branch where it
    left the default branch; None when there is nothing to diff against."""
    url = target.clone_url
    if target.pull_number is not None and target.base_sha:
        return mirror.merge_base(url, token, target.base_sha, target.head_sha) or target.base_sha
    if target.base_sha:
        return target.base_sha
    if target.head_branch == target.default_branch:
        return None
    tip = mirror.fetch_branch(url, token, target.default_branch)
    return mirror.merge_base(url, token, tip, target.head_sha)
