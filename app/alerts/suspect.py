"""The suspect deployment of an alert, and stack frames as permalinks into the repository.

The suspect is the newest deployment to the alert's environment created before the alert
started (failed deployments never ran and queued ones had not started, so they are
passed over): Deckhand's own, or one another tool made through GitHub's Deployments API
(a CI job that deploys on merge), found by its latest status and linked to its pull
request through the commit. The rollback
target is the last good Deckhand deployment before it, ready as a `/rollback <env> <id>`
line (`/rollback` redeploys what Deckhand deployed). Frames become
`blob/<sha>/<path>#L<line>` links to files that exist at the deployed commit (one
recursive tree read lists them): a frame's path as it is, or with the deploy root a
server adds in front of it taken off (`/app/src/x.py` is `src/x.py`), or with the source
folder it was run from put back (`x.py` run from `src/`). When the tree cannot be read
whole, a path that looks relative to the repository root is linked as it is (no absolute
paths, URLs, `site-packages` or standard library).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from gidgethub import BadRequest, GitHubException

from app.alerts.sources import Frame, epoch_seconds
from app.deploy.deployer import latest_state
from app.deploy.store import DeploymentRecord, DeployStore

# Failed deployments never ran; queued ones had not started when the alert began.
PASSED_OVER = frozenset({"failure", "error", "queued", "pending", "waiting"})
NOT_OURS = re.compile(
    r"(^|/)(site-packages|dist-packages|node_modules|vendor|\.venv|venv|lib/python[\d.]*)(/|$)"
)
MAX_PERMALINKS = 10
GITHUB_CANDIDATES = 30  # GitHub's newest deployments to the environment looked at
STATUS_READS = 5  # at most this many of them have their latest status read


@dataclass(frozen=True)
class Suspect:
    deployment: DeploymentRecord
    pull_author: str | None
    rollback_to: DeploymentRecord | None
    files: frozenset[str] | None = None  # every file at the deployed commit; None: unknown

    @property
    def rollback_line(self) -> str | None:
        if self.rollback_to is None:
            return None
        return f"/rollback {self.deployment.environment} {self.rollback_to.id}"


async def suspect_deployment(
    gh: Any,
    store: DeployStore,
    repository: str,
    environment: str,
    started_at: float,
    *,
    read_files: bool = False,
) -> Suspect | None:
    """The alert's suspect; with `read_files` (the alert has frames to link), also every
    file at its commit."""
    history = await store.history(repository, environment, limit=100)
    ours = next(
        (d for d in history if d.created_at <= started_at and d.status not in PASSED_OVER), None
    )
    try:
        found = await _newer_on_github(gh, store, repository, environment, started_at, ours)
    except GitHubException:  # GitHub's list unreadable: Deckhand's own history still tells
        found = None
    if found is not None:
        suspect, author = found
    elif ours is not None:
        suspect, author = ours, await _pull_author(gh, repository, ours.pull_number)
    else:
        return None
    target = await store.last_good(repository, environment, before=suspect.id)
    files = await repository_files(gh, repository, suspect.sha) if read_files else None
    return Suspect(suspect, author, target, files)


async def repository_files(gh: Any, repository: str, sha: str) -> frozenset[str] | None:
    """Every file at `sha`, from one recursive tree read; None when GitHub cannot list
    them all (a truncated tree) or the read fails."""
    owner, repo = repository.split("/", 1)
    try:
        tree = await gh.getitem(
            "/repos/{owner}/{repo}/git/trees/{tree_sha}{?recursive}",
            url_vars={"owner": owner, "repo": repo, "tree_sha": sha, "recursive": "1"},
        )
    except BadRequest:
        return None
    if tree.get("truncated"):
        return None
    return frozenset(e["path"] for e in tree.get("tree") or [] if e.get("type") == "blob")


async def _newer_on_github(
    gh: Any,
    store: DeployStore,
    repository: str,
    environment: str,
    started_at: float,
    ours: DeploymentRecord | None,
) -> tuple[DeploymentRecord, str | None] | None:
    """A deployment another tool made after `ours` and before the alert, that had
    started and did not fail, with its pull request's author; None when there is none."""
    owner, repo = repository.split("/", 1)
    listed = await gh.getitem(
        "/repos/{owner}/{repo}/deployments{?environment,per_page}",
        url_vars={
            "owner": owner,
            "repo": repo,
            "environment": environment,
            "per_page": str(GITHUB_CANDIDATES),
        },
    )
    reads = 0
    for deployment in listed:  # newest first
        if ours is not None and int(deployment["id"]) <= ours.id:
            break
        created = epoch_seconds(deployment.get("created_at"))
        if created is None or created > started_at:
            continue
        if await store.get(int(deployment["id"])) is not None:
            continue  # Deckhand's own, passed over above (it never ran)
        if reads == STATUS_READS:
            break
        reads += 1
        state = await latest_state(gh, repository, int(deployment["id"]))
        if state is None or state in PASSED_OVER:
            continue
        pull = await _pull_of(gh, owner, repo, str(deployment["sha"]))
        record = DeploymentRecord(
            id=int(deployment["id"]),
            repository=repository.lower(),
            environment=environment,
            sha=str(deployment["sha"]),
            ref=deployment.get("ref"),
            actor=str((deployment.get("creator") or {}).get("login") or "unknown"),
            components=(),
            rollback_of=None,
            forced=False,
            status=state,
            pull_number=int(pull["number"]) if pull else None,
            reason=None,
            created_at=created,
        )
        return record, _login(pull)
    return None


async def _pull_of(gh: Any, owner: str, repo: str, sha: str) -> dict[str, Any] | None:
    """The pull request the commit came from (merged ones first), if GitHub knows one."""
    try:
        pulls = await gh.getitem(
            "/repos/{owner}/{repo}/commits/{commit_sha}/pulls",
            url_vars={"owner": owner, "repo": repo, "commit_sha": sha},
        )
    except BadRequest:  # e.g. the commit is gone: the deployment is still the suspect
        return None
    pulls = sorted(pulls, key=lambda p: p.get("merged_at") is None)
    return pulls[0] if pulls else None


def _login(pull: dict[str, Any] | None) -> str | None:
    login = ((pull or {}).get("user") or {}).get("login")
    return login if isinstance(login, str) else None


async def _pull_author(gh: Any, repository: str, number: int | None) -> str | None:
    if number is None:
        return None
    owner, repo = repository.split("/", 1)
    try:
        pull = await gh.getitem(
            "/repos/{owner}/{repo}/pulls/{pull_number}",
            url_vars={"owner": owner, "repo": repo, "pull_number": str(number)},
        )
    except BadRequest:
        return None
    return _login(pull)


def repo_path(path: str) -> str | None:
    """The frame's path relative to the repository root, or None when it is not one."""
    path = path.strip().replace("\\", "/")
    if path.startswith("./"):
        path = path[2:]
    if (
        not path
        or path.startswith(("/", "~", "<", "["))
        or "://" in path
        or re.match(r"^[A-Za-z]:", path)
        or any(part in ("..", "") for part in path.split("/"))
        or NOT_OURS.search(path)
        or "." not in path.rsplit("/", 1)[-1]
    ):
        return None
    return path


def frame_path(frame: Frame, files: frozenset[str] | None = None) -> str | None:
    """The repository file a stack frame points into, or None (outside the repository,
    or a frame the source marked as not the application's). With `files` (every file at
    the commit), only an existing file: the path itself, else the longest file the path
    ends with, else the one file (if only one) that ends with the path."""
    if frame.in_app is False:
        return None
    guess = repo_path(frame.path)
    if files is None or guess in files:
        return guess
    clean = frame.path.strip().replace("\\", "/")
    if not clean or "://" in clean or NOT_OURS.search(clean):
        return None
    parts = [p for p in clean.split("/") if p not in ("", ".")]
    for start in range(1, len(parts)):  # a deploy root in front: the longest file first
        tail = "/".join(parts[start:])
        if tail in files:
            return tail
    suffix = "/" + "/".join(parts)
    below = [f for f in files if f.endswith(suffix)]  # run from a source folder
    return below[0] if len(below) == 1 else None


def permalinks(
    frames: tuple[Frame, ...],
    web_url: str,
    repository: str,
    sha: str,
    files: frozenset[str] | None = None,
) -> list[tuple[Frame, str | None]]:
    """Each frame with its permalink at `sha` (None when it points outside the repo, or
    to no file in `files`)."""
    out: list[tuple[Frame, str | None]] = []
    base = f"{web_url.rstrip('/')}/{repository}/blob/{sha}/"
    for frame in frames[:MAX_PERMALINKS]:
        path = frame_path(frame, files)
        link = None
        if path is not None:
            link = base + path + (f"#L{frame.line}" if frame.line else "")
        out.append((frame, link))
    return out
