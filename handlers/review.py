"""Review on every push and pull request: the events that start, re-run or apply a review.

- `pull_request` opened/synchronize/reopened/ready_for_review: review the PR's changes.
- `push` to a branch: review it, unless an open pull request's run covers that branch;
  a push to the default branch that changes `.github/deckhand.yml` drops the cached copy.
- `check_suite`/`check_run` `rerequested`: run again. `check_run` `requested_action`
  "apply-fixes": the same review, fixing whatever `review.autofix` says.
"""

from typing import Any

from gidgethub import sansio
from gidgethub.routing import Router

from app.config.loader import CONFIG_PATH, forget_repo_config
from app.review.runner import review
from app.review.store import ReviewStore
from app.review.target import (
    APPLY_FIXES,
    ReviewTarget,
    from_check_suite,
    from_pull_request,
    from_push,
)

router = Router()


def _unable(context: Any) -> str | None:
    if not context.github_app.configured:
        return "the App's credentials are not configured (setup mode)"
    if context.installation_id is None:
        return "the event names no installation"
    return None


async def _run(target: ReviewTarget | str, context: Any) -> None:
    target = _unable(context) or target
    if isinstance(target, str):
        context.log.debug("review_not_started", reason=target)
        return
    await review(target, context)


@router.register("pull_request")
async def on_pull_request(
    event: sansio.Event, gh: Any, *args: Any, context: Any, **kw: Any
) -> None:
    await _run(from_pull_request(event.data), context)


@router.register("push")
async def on_push(event: sansio.Event, gh: Any, *args: Any, context: Any, **kw: Any) -> None:
    data = event.data
    repository = data["repository"]
    if data.get("ref") == f"refs/heads/{repository.get('default_branch')}" and _touches_config(
        data
    ):
        forget_repo_config(context.settings.github_api_url, repository["full_name"])
    target = _unable(context) or from_push(data)
    if isinstance(target, ReviewTarget) and await _has_open_pull_request(gh, target):
        target = "an open pull request's review covers this branch"
    await _run(target, context)


@router.register("check_suite", action="rerequested")
async def on_suite_rerequested(
    event: sansio.Event, gh: Any, *args: Any, context: Any, **kw: Any
) -> None:
    await _run(from_check_suite(event.data, event.data["check_suite"]), context)


@router.register("check_run", action="rerequested")
async def on_run_rerequested(
    event: sansio.Event, gh: Any, *args: Any, context: Any, **kw: Any
) -> None:
    check_run = event.data["check_run"]
    target = await ReviewStore(context.db).target_of(check_run["id"])
    await _run(target or from_check_suite(event.data, check_run["check_suite"]), context)


@router.register("check_run", action="requested_action")
async def on_requested_action(
    event: sansio.Event, gh: Any, *args: Any, context: Any, **kw: Any
) -> None:
    if (event.data.get("requested_action") or {}).get("identifier") != APPLY_FIXES:
        return
    check_run = event.data["check_run"]
    stored = await ReviewStore(context.db).target_of(check_run["id"])
    target = stored or from_check_suite(event.data, check_run["check_suite"])
    await _run(target.with_fixes() if isinstance(target, ReviewTarget) else target, context)


def _touches_config(data: dict[str, Any]) -> bool:
    return any(
        CONFIG_PATH in (commit.get(kind) or [])
        for commit in data.get("commits") or []
        for kind in ("added", "modified", "removed")
    )


async def _has_open_pull_request(gh: Any, target: ReviewTarget) -> bool:
    owner, repo = target.repository.split("/", 1)
    async for _pull in gh.getiter(
        "/repos/{owner}/{repo}/pulls{?state,head,per_page}",
        url_vars={
            "owner": owner,
            "repo": repo,
            "state": "open",
            "head": f"{owner}:{target.head_branch}",
            "per_page": "1",
        },
    ):
        return True
    return False
