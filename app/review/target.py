"""What a review run looks at, read from the webhook that asked for it.

`ReviewTarget` names the commit to check, what to diff it against, where its branch
lives (a fork or the repository itself) and whether fixes may be pushed there. The
functions here are pure: payload in, target (or the reason there is none) out.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

ZERO_SHA = "0" * 40
PULL_REQUEST_ACTIONS = frozenset({"opened", "synchronize", "reopened", "ready_for_review"})
APPLY_FIXES = "apply-fixes"


@dataclass(frozen=True)
class ReviewTarget:
    repository: str  # owner/name of the repository the App is installed on
    clone_url: str
    default_branch: str
    head_sha: str
    head_branch: str | None
    head_clone_url: str  # the fork's URL for a fork pull request
    base_sha: (
        str | None
    )  # diff base (the PR's base tip or the push's `before`); None: default branch
    pull_number: int | None = None
    fork: bool = False
    maintainer_can_modify: bool = False
    apply_fixes: bool = False  # fix now, whatever review.autofix says (button, /fix)
    run_ai: bool = False  # AI review now, whatever review.ai says (/review)

    @property
    def run_key(self) -> str:
        """Runs with the same key supersede each other: one pull request, or one branch."""
        return f"pr:{self.pull_number}" if self.pull_number else f"branch:{self.head_branch}"

    @property
    def can_push(self) -> bool:
        return self.head_branch is not None and (not self.fork or self.maintainer_can_modify)

    def with_fixes(self) -> ReviewTarget:
        return replace(self, apply_fixes=True)

    def with_ai(self) -> ReviewTarget:
        return replace(self, run_ai=True)

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ReviewTarget:
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})


def _repo_fields(repository: dict[str, Any]) -> dict[str, Any]:
    return {
        "repository": repository["full_name"],
        "clone_url": repository["clone_url"],
        "default_branch": repository.get("default_branch") or "main",
    }


def from_pull_request(data: dict[str, Any]) -> ReviewTarget | str:
    """A target for a `pull_request` event, or why it is not reviewed."""
    if data.get("action") not in PULL_REQUEST_ACTIONS:
        return f"action {data.get('action')!r} is not reviewed"
    if data["pull_request"].get("draft"):
        return "draft pull requests are reviewed when they are ready"
    return from_pull(data["pull_request"], data["repository"])


def from_pull(pull: dict[str, Any], repository: dict[str, Any]) -> ReviewTarget | str:
    """A target for a pull request as the API or a webhook shows it."""
    if pull.get("state") != "open":
        return "the pull request is closed"
    head_repo = pull["head"].get("repo")
    if head_repo is None:
        return "the pull request's head repository was deleted"
    fork = head_repo["full_name"].lower() != repository["full_name"].lower()
    return ReviewTarget(
        **_repo_fields(repository),
        head_sha=pull["head"]["sha"],
        head_branch=pull["head"]["ref"],
        head_clone_url=head_repo["clone_url"],
        base_sha=pull["base"]["sha"],
        pull_number=pull["number"],
        fork=fork,
        maintainer_can_modify=bool(pull.get("maintainer_can_modify")),
    )


def from_push(data: dict[str, Any]) -> ReviewTarget | str:
    """A target for a `push` event, or why it is not reviewed (the PR's run covers a
    push to a pull request's branch: the caller checks that, it needs the API)."""
    ref = data.get("ref") or ""
    if not ref.startswith("refs/heads/"):
        return "not a branch"
    if data.get("deleted") or (data.get("after") or ZERO_SHA) == ZERO_SHA:
        return "the branch was deleted"
    before = data.get("before") or ZERO_SHA
    repository = data["repository"]
    return ReviewTarget(
        **_repo_fields(repository),
        head_sha=data["after"],
        head_branch=ref.removeprefix("refs/heads/"),
        head_clone_url=repository["clone_url"],
        base_sha=None if before == ZERO_SHA or data.get("created") else before,
    )


def from_check_suite(data: dict[str, Any], suite: dict[str, Any]) -> ReviewTarget | str:
    """A target for a re-requested check suite or run. GitHub lists only same-repository
    pull requests on a suite; a suite with none is reviewed like a push."""
    head_sha = suite.get("head_sha")
    if not head_sha:
        return "the check suite has no head commit"
    repository = data["repository"]
    pulls = suite.get("pull_requests") or []
    if pulls:
        pull = pulls[0]
        return ReviewTarget(
            **_repo_fields(repository),
            head_sha=head_sha,
            head_branch=pull["head"]["ref"],
            head_clone_url=repository["clone_url"],
            base_sha=pull["base"]["sha"],
            pull_number=pull["number"],
        )
    before = suite.get("before") or ZERO_SHA
    return ReviewTarget(
        **_repo_fields(repository),
        head_sha=head_sha,
        head_branch=suite.get("head_branch"),
        head_clone_url=repository["clone_url"],
        base_sha=None if before == ZERO_SHA else before,
    )
