"""`installation` and `installation_repositories`: keep the record of where the App is installed."""

from typing import Any

from gidgethub import sansio
from gidgethub.routing import Router

from app.installations import ACTIVE, DELETED, SUSPENDED, InstallationStore

router = Router()

STATUS_BY_ACTION = {
    "created": ACTIVE,
    "unsuspend": ACTIVE,
    "new_permissions_accepted": ACTIVE,
    "suspend": SUSPENDED,
    "deleted": DELETED,
}


@router.register("installation")
async def on_installation(
    event: sansio.Event, gh: Any, *args: Any, context: Any, **kwargs: Any
) -> None:
    action = event.data.get("action")
    status = STATUS_BY_ACTION.get(action)
    if status is None:
        return
    store = InstallationStore(context.db)
    await store.record(event.data["installation"], status, event.data.get("repositories") or [])
    context.log.info("installation_recorded", action=action, status=status)


@router.register("installation_repositories")
async def on_installation_repositories(
    event: sansio.Event, gh: Any, *args: Any, context: Any, **kwargs: Any
) -> None:
    store = InstallationStore(context.db)
    installation = event.data["installation"]
    await store.add_repositories(installation, event.data.get("repositories_added") or [])
    await store.remove_repositories(
        installation["id"], event.data.get("repositories_removed") or []
    )
    context.log.info(
        "installation_repositories_recorded",
        added=len(event.data.get("repositories_added") or []),
        removed=len(event.data.get("repositories_removed") or []),
    )
