"""The suspect deployment of an alert, and stack frames as permalinks into the repository.

The suspect is the newest deployment to the alert's environment created before the alert
started (failed deployments never ran, so they are passed over); the rollback target is
the last good deployment before it, ready as a `/rollback <env> <id>` line. Frames become
`blob/<sha>/<path>#L<line>` links when their path looks relative to the repository root:
no absolute paths, URLs, `site-packages` or standard library. Checking that each path
exists would cost one Contents API call per file, so it is not done.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from gidgethub import BadRequest

from app.alerts.sources import Frame
from app.deploy.store import DeploymentRecord, DeployStore

NEVER_RAN = frozenset({"failure", "error"})
NOT_OURS = re.compile(
    r"(^|/)(site-packages|dist-packages|node_modules|vendor|\.venv|venv|lib/python[\d.]*)(/|$)"
)
MAX_PERMALINKS = 10


@dataclass(frozen=True)
class Suspect:
    deployment: DeploymentRecord
    pull_author: str | None
    rollback_to: DeploymentRecord | None

    @property
    def rollback_line(self) -> str | None:
        if self.rollback_to is None:
            return None
        return f"/rollback {self.deployment.environment} {self.rollback_to.id}"


async def suspect_deployment(
    gh: Any, store: DeployStore, repository: str, environment: str, started_at: float
) -> Suspect | None:
    history = await store.history(repository, environment, limit=100)
    suspect = next(
        (d for d in history if d.created_at <= started_at and d.status not in NEVER_RAN), None
    )
    if suspect is None:
        return None
    target = await store.last_good(repository, environment, before=suspect.id)
    return Suspect(suspect, await _pull_author(gh, repository, suspect.pull_number), target)


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
    login = (pull.get("user") or {}).get("login")
    return login if isinstance(login, str) else None


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


def frame_path(frame: Frame) -> str | None:
    """The repository path a stack frame points into, or None (outside the repository,
    or a frame the source marked as not the application's)."""
    return repo_path(frame.path) if frame.in_app is not False else None


def permalinks(
    frames: tuple[Frame, ...], web_url: str, repository: str, sha: str
) -> list[tuple[Frame, str | None]]:
    """Each frame with its permalink at `sha` (None when it points outside the repo)."""
    out: list[tuple[Frame, str | None]] = []
    base = f"{web_url.rstrip('/')}/{repository}/blob/{sha}/"
    for frame in frames[:MAX_PERMALINKS]:
        path = frame_path(frame)
        link = None
        if path is not None:
            link = base + path + (f"#L{frame.line}" if frame.line else "")
        out.append((frame, link))
    return out
