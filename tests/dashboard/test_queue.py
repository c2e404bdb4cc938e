"""The queue page and its Retry buttons, through the real service over HTTP: only the
dead letters of visible repositories, and retrying needs the CSRF token and admin rights."""

from __future__ import annotations

import re
from typing import Any

import aiohttp

from app.dashboard.queue import retried_message
from app.dashboard.sessions import FLASH_COOKIE
from app.web.keys import SERVICE
from tests.dashboard.conftest import (
    ELSEWHERE,
    SECRET,
    WIDGETS,
    add_dead_letter,
    csrf_of,
    get,
    sign_in,
)
from tests.fakes.github import FakeGitHub


def _dead_rows(page: str) -> list[str]:
    return re.findall(r'data-testid="dead-letter" data-delivery="([^"]+)"', page)


async def _post_retry(
    browser: aiohttp.ClientSession, base: str, data: dict[str, str]
) -> tuple[int, str, str | None]:
    async with browser.post(
        f"{base}/dashboard/queue/retry", data=data, allow_redirects=False
    ) as response:
        return response.status, await response.text(), response.headers.get("Location")


async def _letters(dashboard: Any) -> None:
    db = dashboard.app[SERVICE].db
    await add_dead_letter(db, "dead-widgets", "Octo-Org/Widgets")  # any spelling of the name
    await add_dead_letter(db, "dead-secret", SECRET)
    await add_dead_letter(db, "dead-elsewhere", ELSEWHERE)
    await add_dead_letter(db, "dead-nowhere", None)  # an installation event: no repository


async def test_the_queue_page_shows_only_visible_dead_letters(
    dashboard: Any, browser: aiohttp.ClientSession
) -> None:
    await _letters(dashboard)
    await sign_in(browser, dashboard.url)
    status, page, _ = await get(browser, f"{dashboard.url}/dashboard/queue")
    assert status == 200 and "<h1>Queue</h1>" in page
    assert _dead_rows(page) == ["dead-widgets"]
    for hidden in ("dead-secret", "dead-elsewhere", "dead-nowhere", SECRET, ELSEWHERE):
        assert hidden not in page
    assert 'data-status="dead">dead<b>1</b>' in page  # depth counts visible ones only
    assert "RuntimeError: &lt;the handler broke&gt;" in page  # escaped
    assert ">Retry</button>" not in page  # alice only writes to widgets: no button
    assert 'data-testid="nav-queue" aria-current="page"' in page


async def test_retry_needs_admin_rights(dashboard: Any, browser: aiohttp.ClientSession) -> None:
    await _letters(dashboard)
    await sign_in(browser, dashboard.url)
    _, page, _ = await get(browser, f"{dashboard.url}/dashboard/queue")
    csrf = csrf_of(page)
    for delivery in ("dead-widgets", "dead-secret", "dead-nowhere", "no-such-delivery"):
        status, _, _ = await _post_retry(
            browser, dashboard.url, {"csrf": csrf, "delivery": delivery}
        )
        assert status == 403, delivery
    status, _, _ = await _post_retry(browser, dashboard.url, {"csrf": csrf, "all": "visible"})
    assert status == 403
    store = dashboard.app[SERVICE].deliveries
    for delivery in ("dead-widgets", "dead-secret", "dead-nowhere"):
        found = await store.get(delivery)
        assert found is not None and found.status == "dead"


async def test_retry_needs_the_csrf_token(
    dashboard: Any, browser: aiohttp.ClientSession, fake_github: FakeGitHub
) -> None:
    fake_github.set_collaborator(WIDGETS, "alice", "admin")
    await _letters(dashboard)
    await sign_in(browser, dashboard.url)
    for data in ({"delivery": "dead-widgets"}, {"csrf": "forged", "delivery": "dead-widgets"}):
        status, _, _ = await _post_retry(browser, dashboard.url, data)
        assert status == 403
    found = await dashboard.app[SERVICE].deliveries.get("dead-widgets")
    assert found is not None and found.status == "dead"


async def test_an_admin_retries_and_the_delivery_is_processed(
    dashboard: Any, browser: aiohttp.ClientSession, fake_github: FakeGitHub
) -> None:
    fake_github.set_collaborator(WIDGETS, "alice", "admin")
    await _letters(dashboard)
    await sign_in(browser, dashboard.url)
    _, page, _ = await get(browser, f"{dashboard.url}/dashboard/queue")
    button = re.search(r'<button type="submit" data-delivery="dead-widgets">([^<]*)</button>', page)
    assert button is not None and button.group(1) == "Retry"
    assert (
        'action="/dashboard/queue/retry"' in page and 'name="delivery" value="dead-widgets"' in page
    )

    status, _, location = await _post_retry(
        browser, dashboard.url, {"csrf": csrf_of(page), "delivery": "dead-widgets"}
    )
    assert (status, location) == (303, "/dashboard/queue")
    done = await dashboard.wait_finished(["dead-widgets"])
    assert done["dead-widgets"].status == "done" and done["dead-widgets"].attempts == 1

    status, page, _ = await get(browser, f"{dashboard.url}/dashboard/queue")
    assert "Queued again: dead-widgets" in page and _dead_rows(page) == []
    assert not [m for m in browser.cookie_jar if m.key == FLASH_COOKIE and m.value]
    _, page, _ = await get(browser, f"{dashboard.url}/dashboard/queue")
    assert "Queued again" not in page  # the flash is shown once
    others = await dashboard.app[SERVICE].deliveries.get("dead-secret")
    assert others is not None and others.status == "dead"


async def test_retry_all_visible_takes_only_what_the_admin_may_retry(
    dashboard: Any, browser: aiohttp.ClientSession, fake_github: FakeGitHub
) -> None:
    fake_github.set_collaborator(WIDGETS, "alice", "admin")
    await _letters(dashboard)
    await add_dead_letter(dashboard.app[SERVICE].db, "dead-widgets-2", WIDGETS)
    await sign_in(browser, dashboard.url)
    _, page, _ = await get(browser, f"{dashboard.url}/dashboard/queue")
    assert 'data-testid="retry-all"' in page
    status, _, _ = await _post_retry(
        browser, dashboard.url, {"csrf": csrf_of(page), "all": "visible"}
    )
    assert status == 303
    done = await dashboard.wait_finished(["dead-widgets", "dead-widgets-2"])
    assert {d.status for d in done.values()} == {"done"}
    store = dashboard.app[SERVICE].deliveries
    for hidden in ("dead-secret", "dead-elsewhere", "dead-nowhere"):
        found = await store.get(hidden)
        assert found is not None and found.status == "dead"


async def test_signed_out_visitors_cannot_retry(dashboard: Any) -> None:
    await _letters(dashboard)
    async with aiohttp.ClientSession() as stranger:
        status, _, location = await _post_retry(
            stranger, dashboard.url, {"csrf": "x", "delivery": "dead-widgets"}
        )
    assert (status, location) == (302, "/login")


def test_the_flash_message_stays_small() -> None:
    assert retried_message(["a"]) == "Queued again: a"
    assert retried_message(["a", "b"]) == "Queued again: a, b"
    assert retried_message([str(n) for n in range(50)]) == "Queued again: 50 dead letters"
    assert retried_message([]).startswith("Nothing to retry")
