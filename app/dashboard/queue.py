"""The queue page, `/dashboard/queue`, and its Retry buttons.

Everything shown is limited to deliveries of repositories the person can see: depth by
status, how long the oldest due delivery has waited, and the dead letters (id, event,
repository, attempts, error, when). A delivery without a repository (an installation
event) or of a repository the person cannot see is hidden. Retrying
(`POST /dashboard/queue/retry`, one `delivery` or `all=visible`) needs the session's
CSRF token and admin permission on the delivery's repository (from GitHub's
`permissions`, cached with the access list); anything else is a 403. A retry queues the
delivery again (`DeliveryStore.retry`) and redirects (303) back with a flash message.
"""

from __future__ import annotations

from aiohttp import web

from app.dashboard.access import Visible
from app.dashboard.deliveries import DEAD_LIMIT, dead_letters, depth, oldest_queued_age
from app.dashboard.history import span, when
from app.dashboard.pages import message, page, settings_of, signed_in_page
from app.dashboard.sessions import FLASH_COOKIE, Session, clear, read_flash, set_flash
from app.logs import get_logger
from app.store.database import Database
from app.store.deliveries import DeliveryStore
from app.web.keys import SERVICE

log = get_logger("deckhand.dashboard")

routes = web.RouteTableDef()

RETRY_ALL_LIMIT = 1000
FLASH_IDS = 5


def _db(request: web.Request) -> Database:
    return request.app[SERVICE].db


@routes.get("/dashboard/queue")
@signed_in_page
async def queue(request: web.Request, session: Session, visible: Visible) -> web.Response:
    db = _db(request)
    names = visible.names
    dead = await dead_letters(db, names)
    context = {
        "session": session,
        "depth": await depth(db, names),
        "oldest": await oldest_queued_age(db, names),
        "dead": dead,
        "limit": DEAD_LIMIT,
        "admin": {d.id for d in dead if visible.is_admin(d.repository)},
        "flash": read_flash(request, settings_of(request)),
        "when": when,
        "span": span,
    }
    response = page(request, "queue.html", context)
    clear(response, FLASH_COOKIE)
    return response


def retried_message(queued: list[str]) -> str:
    """The flash message after a retry (a few ids at most: it travels in a cookie)."""
    if not queued:
        return "Nothing to retry: not dead any more."
    if len(queued) <= FLASH_IDS:
        return f"Queued again: {', '.join(queued)}"
    return f"Queued again: {len(queued)} dead letters"


def _refused(request: web.Request, session: Session, text: str) -> web.Response:
    return message(request, "Refused", text, status=403, session=session)


@routes.post("/dashboard/queue/retry")
@signed_in_page
async def retry(request: web.Request, session: Session, visible: Visible) -> web.StreamResponse:
    form = await request.post()
    if not session.csrf_matches(form.get("csrf")):
        return _refused(request, session, "The form is stale: reload the queue page.")
    db = _db(request)
    if form.get("all") == "visible":
        wanted = await dead_letters(db, visible.names, limit=RETRY_ALL_LIMIT)
    else:
        found = await DeliveryStore(db).get(str(form.get("delivery", "")))
        wanted = [found] if found is not None else []  # is_admin below: visible ones only
    allowed = [d.id for d in wanted if visible.is_admin(d.repository)]
    if not allowed:
        return _refused(
            request, session, "Only an admin of the delivery's repository may retry it."
        )
    queued = await DeliveryStore(db).retry(allowed)
    log.info("dashboard_retry", login=session.login, deliveries=queued)
    redirect = web.HTTPSeeOther("/dashboard/queue")
    set_flash(redirect, settings_of(request), retried_message(queued))
    raise redirect
