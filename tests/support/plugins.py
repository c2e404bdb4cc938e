"""A handler router for tests, loaded through the `DECKHAND_PLUGINS` setting.

Event `deckhand_test` with `{"mode": ...}`:
- `fail_times` (`n`): raise a transient error on the first n attempts, then succeed;
- `always`: always raise;
- `permanent`: raise PermanentError;
- `hang`: never return (until the job's time limit);
- `comment`: an idempotent GitHub side effect: comment on issue #1 with a hidden marker
  holding the delivery id, unless a comment with that marker exists (the pattern real
  handlers follow); `sleep` seconds before posting, to widen the window for crash tests.
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from typing import Any

from gidgethub import sansio
from gidgethub.routing import Router

from app.queue.errors import PermanentError

router = Router()
ATTEMPTS: dict[str, list[Any]] = defaultdict(list)  # monotonic times, plus loaded configs


def marker(delivery_id: str) -> str:
    return f"<!-- deckhand-test:{delivery_id} -->"


@router.register("deckhand_test")
async def on_test_event(
    event: sansio.Event, gh: Any, *args: Any, context: Any, **kwargs: Any
) -> None:
    ATTEMPTS[event.delivery_id].append(time.monotonic())
    mode = event.data.get("mode")
    if mode == "fail_times" and len(ATTEMPTS[event.delivery_id]) <= event.data["n"]:
        raise RuntimeError(f"transient failure {len(ATTEMPTS[event.delivery_id])}")
    if mode == "always":
        raise RuntimeError("this always fails")
    if mode == "permanent":
        raise PermanentError("cannot be done")
    if mode == "hang":
        await asyncio.sleep(3600)
    if mode == "config":
        loaded = await context.config()
        context.log.info(
            "config_loaded", fail_on=loaded.config.review.fail_on, errors=loaded.errors
        )
        ATTEMPTS[event.delivery_id].append(loaded)
    if mode == "comment":
        owner, name = event.data["repository"]["full_name"].split("/")
        url_vars = {"owner": owner, "repo": name, "issue_number": "1"}
        url = "/repos/{owner}/{repo}/issues/{issue_number}/comments"
        async for comment in gh.getiter(url, url_vars):
            if marker(event.delivery_id) in (comment.get("body") or ""):
                return
        await asyncio.sleep(float(event.data.get("sleep", 0)))
        await gh.post(url, url_vars=url_vars, data={"body": marker(event.delivery_id)})
