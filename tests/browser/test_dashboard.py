"""The dashboard in headless Chromium, as a person uses it: signing in through the fake
GitHub's OAuth pages, the repositories they may see (on a desktop and a phone), a
deployment's page, retrying a dead letter, and what strangers and forged cookies get.
Screenshots of each step go to artifacts/browser/."""

from __future__ import annotations

import re
import time
import uuid

import orjson
from playwright.async_api import Browser, BrowserContext, Page, expect

from app.dashboard.sessions import SESSION_COOKIE
from app.deploy.store import DeployStore
from app.store.deliveries import NewDelivery
from tests.browser.conftest import (
    FORBIDDEN,
    PERMITTED,
    PHONE,
    TOOLS,
    WIDGETS,
    Deckhand,
    Shoot,
    new_context,
    redirects,
    sign_in,
)
from tests.dashboard.conftest import deployment
from tests.fakes.github import FakeGitHub


async def test_sign_in_through_github_shows_only_the_permitted_repositories(
    dashboard: Deckhand,
    fake_github: FakeGitHub,
    browser: Browser,
    context: BrowserContext,
    page: Page,
    offsite: list[str],
    shoot: Shoot,
) -> None:
    response = await page.goto(f"{dashboard.url}/dashboard")  # signed out
    assert redirects(response)[:2] == [f"{dashboard.url}/dashboard", f"{dashboard.url}/login"]
    assert page.url.startswith(f"{fake_github.url}/login/oauth/authorize?")
    await shoot(page, "github-authorize")

    await page.get_by_role("button", name=re.compile(r"^Authorize ")).click()
    await page.wait_for_url(f"{dashboard.url}/dashboard")
    links = page.get_by_test_id("repo-link")
    await expect(links).to_have_count(len(PERMITTED))
    assert sorted(await links.all_inner_texts()) == PERMITTED
    text = await page.locator("body").inner_text()
    assert not [repo for repo in FORBIDDEN if repo in text]
    await expect(page.locator("header")).to_contain_text("alice")
    await shoot(page, "dashboard")

    phone = await new_context(
        browser,
        offsite,
        viewport=PHONE,
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
        storage_state=await context.storage_state(),  # the same signed-in person
    )
    try:
        tab = await phone.new_page()
        response = await tab.goto(f"{dashboard.url}/dashboard")
        assert response is not None and response.status == 200
        await expect(tab.get_by_test_id("repo-link")).to_have_count(len(PERMITTED))
        await shoot(tab, "dashboard-phone")
        # Laid out for the phone's width (the viewport meta tag), nothing to scroll sideways.
        assert await tab.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        for link in await tab.get_by_test_id("repo-link").all():
            box = await link.bounding_box()
            assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
    finally:
        await phone.close()
    assert offsite == []


async def test_open_a_repository_and_one_of_its_deployments(
    dashboard: Deckhand, page: Page, shoot: Shoot
) -> None:
    store = DeployStore(dashboard.service.db)
    now = time.time()
    for number, status, environment in [
        (101, "success", "production"),
        (102, "failure", "production"),
        (103, "success", "staging"),
    ]:
        await store.record(
            deployment(number, status, environment, created_at=now - 600 + number), None
        )
    await sign_in(page, dashboard)

    await page.get_by_test_id("repo-link").filter(has_text=WIDGETS).click()
    await page.wait_for_url(f"{dashboard.url}/dashboard/{WIDGETS}")
    rows = page.get_by_test_id("deployment-row")
    await expect(rows).to_have_count(3)
    await shoot(page, "repository")

    wanted = deployment(102, "failure")
    detail = f"/dashboard/{WIDGETS}/deployments/{wanted.id}"
    link = page.locator(f'[data-testid="deployment-row"] a[href="{detail}"]')
    await link.first.click()
    await page.wait_for_url(f"{dashboard.url}{detail}")
    main = page.locator("body")
    for shown in (wanted.sha[:7], wanted.environment, wanted.status):
        await expect(main).to_contain_text(shown)
    await shoot(page, "deployment")


async def _dead_letter(deckhand: Deckhand, repository: str, installation_id: int) -> str:
    """A delivery for `repository` whose handler kept failing: now a dead letter."""
    deliveries = deckhand.service.deliveries
    delivery_id = f"browser-{uuid.uuid4()}"
    payload = {"repository": {"full_name": repository}, "installation": {"id": installation_id}}
    new = NewDelivery(
        id=delivery_id,
        event="push",
        payload=orjson.dumps(payload),
        installation_id=installation_id,
        repository=repository,
    )
    await deliveries.add_many([new])
    assert delivery_id in [d.id for d in await deliveries.claim("browser-test", 10, 30.0)]
    assert await deliveries.bury(delivery_id, "browser-test", "RuntimeError: the handler broke")
    return delivery_id


async def test_an_admin_retries_a_dead_letter(
    dashboard: Deckhand, page: Page, shoot: Shoot
) -> None:
    dead = await _dead_letter(dashboard, WIDGETS, 1001)  # alice administers WIDGETS
    read_only = await _dead_letter(dashboard, TOOLS, 1002)  # and may only read TOOLS
    await sign_in(page, dashboard)

    await page.goto(f"{dashboard.url}/dashboard/queue")
    letters = page.get_by_test_id("dead-letter")
    await expect(letters).to_have_count(2)
    await expect(letters.filter(has_text=read_only)).to_have_count(1)
    await expect(letters.filter(has_text=read_only).get_by_role("button")).to_have_count(0)
    await shoot(page, "queue")

    await letters.filter(has_text=dead).get_by_role("button", name="Retry").click()
    await expect(page.get_by_text(f"Queued again: {dead}")).to_be_visible()
    await expect(page.get_by_test_id("dead-letter")).to_have_count(1)
    await expect(page.get_by_test_id("dead-letter")).to_contain_text(read_only)
    await shoot(page, "retried")
    deliveries = dashboard.service.deliveries
    retried, untouched = await deliveries.get(dead), await deliveries.get(read_only)
    assert retried is not None and retried.status != "dead"
    assert untouched is not None and untouched.status == "dead"


async def test_hidden_repositories_are_not_found_and_a_forged_cookie_signs_out(
    dashboard: Deckhand,
    fake_github: FakeGitHub,
    context: BrowserContext,
    page: Page,
    shoot: Shoot,
) -> None:
    await sign_in(page, dashboard)
    seen = set()
    for repo in [*FORBIDDEN, "nobody/nothing"]:
        response = await page.goto(f"{dashboard.url}/dashboard/{repo}")
        assert response is not None and response.status == 404, repo
        await expect(page.get_by_role("heading", name="Not found")).to_be_visible()
        seen.add(await page.locator("main").inner_text())
    assert len(seen) == 1  # the same page whether the repository exists or not
    await shoot(page, "not-found")

    [real] = [c for c in await context.cookies(dashboard.url) if c["name"] == SESSION_COOKIE]
    value = real["value"]
    middle = len(value) // 2
    forged = value[:middle] + ("A" if value[middle] != "A" else "B") + value[middle + 1 :]
    await context.clear_cookies()
    await context.add_cookies([{"name": SESSION_COOKIE, "value": forged, "url": dashboard.url}])
    response = await page.goto(f"{dashboard.url}/dashboard")
    assert redirects(response)[:2] == [f"{dashboard.url}/dashboard", f"{dashboard.url}/login"]
    assert page.url.startswith(f"{fake_github.url}/login/oauth/authorize?")
    assert SESSION_COOKIE not in {c["name"] for c in await context.cookies(dashboard.url)}
