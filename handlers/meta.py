"""`ping`: GitHub's hello when a webhook is created; answered by logging which hook it was."""

from typing import Any

from gidgethub import sansio
from gidgethub.routing import Router

router = Router()


@router.register("ping")
async def on_ping(event: sansio.Event, gh: Any, *args: Any, context: Any, **kwargs: Any) -> None:
    hook = event.data.get("hook") or {}
    context.log.info(
        "ping",
        hook_id=event.data.get("hook_id"),
        hook_type=hook.get("type"),
        zen=event.data.get("zen"),
    )
