"""Which events start a review, and what each one looks at."""

from __future__ import annotations

from typing import Any

from app.review.target import ZERO_SHA, ReviewTarget, from_check_suite, from_pull_request, from_push

REPO = {
    "full_name": "octo/widgets",
    "clone_url": "https://github.com/octo/widgets.git",
    "default_branch": "main",
}


def pull_request(action: str = "synchronize", **changes: Any) -> dict[str, Any]:
    pull = {
        "number": 7,
        "state": "open",
        "draft": False,
        "maintainer_can_modify": False,
        "head": {"sha": "a" * 40, "ref": "feature", "repo": REPO},
        "base": {"sha": "b" * 40, "ref": "main", "repo": REPO},
    }
    pull.update(changes)
    return {"action": action, "pull_request": pull, "repository": REPO}


def test_pull_request_target_diffs_against_the_base() -> None:
    target = from_pull_request(pull_request())
    assert isinstance(target, ReviewTarget)
    assert (target.head_sha, target.base_sha, target.pull_number) == ("a" * 40, "b" * 40, 7)
    assert target.run_key == "pr:7" and target.can_push and not target.fork


def test_closed_draft_and_other_actions_are_not_reviewed() -> None:
    assert from_pull_request(pull_request("closed")) == "action 'closed' is not reviewed"
    assert "closed" in str(from_pull_request(pull_request(state="closed")))
    assert "draft" in str(from_pull_request(pull_request(draft=True)))
    assert isinstance(from_pull_request(pull_request("ready_for_review")), ReviewTarget)


def test_fork_without_maintainer_edits_cannot_be_pushed_to() -> None:
    fork = {
        **REPO,
        "full_name": "alice/widgets",
        "clone_url": "https://github.com/alice/widgets.git",
    }
    data = pull_request(head={"sha": "a" * 40, "ref": "patch", "repo": fork})
    target = from_pull_request(data)
    assert isinstance(target, ReviewTarget)
    assert target.fork and not target.can_push
    assert target.head_clone_url.endswith("alice/widgets.git")
    data["pull_request"]["maintainer_can_modify"] = True
    allowed = from_pull_request(data)
    assert isinstance(allowed, ReviewTarget) and allowed.can_push


def test_push_targets() -> None:
    push = {"ref": "refs/heads/dev", "before": "c" * 40, "after": "d" * 40, "repository": REPO}
    target = from_push(push)
    assert isinstance(target, ReviewTarget)
    assert (target.base_sha, target.head_branch, target.run_key) == ("c" * 40, "dev", "branch:dev")
    assert from_push({**push, "ref": "refs/tags/v1"}) == "not a branch"
    assert "deleted" in str(from_push({**push, "after": ZERO_SHA, "deleted": True}))
    created = from_push({**push, "before": ZERO_SHA, "created": True})
    assert isinstance(created, ReviewTarget) and created.base_sha is None


def test_check_suite_with_and_without_a_pull_request() -> None:
    suite = {
        "head_sha": "e" * 40,
        "head_branch": "feature",
        "before": "f" * 40,
        "pull_requests": [
            {"number": 3, "head": {"ref": "feature", "sha": "e" * 40}, "base": {"sha": "1" * 40}}
        ],
    }
    target = from_check_suite({"repository": REPO}, suite)
    assert isinstance(target, ReviewTarget) and target.pull_number == 3
    plain = from_check_suite({"repository": REPO}, {**suite, "pull_requests": []})
    assert isinstance(plain, ReviewTarget) and plain.base_sha == "f" * 40
    assert from_check_suite({"repository": REPO}, {}) == "the check suite has no head commit"


def test_a_target_survives_a_round_trip_and_can_ask_for_fixes() -> None:
    target = from_pull_request(pull_request())
    assert isinstance(target, ReviewTarget)
    again = ReviewTarget.from_dict(target.to_dict())
    assert again == target and again.with_fixes().apply_fixes
