"""A no-op `push` handler for Deckhand, the twin of `probot/index.js`.

Loaded with `DECKHAND_PLUGINS=benchmarks.noop:router` (`ingest.py --noop-handler`), so
Deckhand queues and handles each `push` the way the Probot app runs its empty handler.
"""

from typing import Any

from gidgethub.routing import Router

router = Router()


@router.register("push")
async def on_push(event: Any, gh: Any, *args: Any, **kwargs: Any) -> None:
    """Nothing: the cost measured is Deckhand's own."""
