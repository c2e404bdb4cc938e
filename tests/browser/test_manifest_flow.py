"""Registering the GitHub App from a browser: Deckhand's setup page posts the manifest to
the fake github.com, whose "Create GitHub App" button sends the browser back to `/setup`,
which trades the code at the fake's conversion endpoint, stores the credentials and goes
on to the App's installation page. Screenshots of each step go to artifacts/browser/."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from playwright.async_api import Page, expect

from app.config.settings import Settings
from tests.browser.conftest import Shoot
from tests.fakes.github import FakeGitHub


async def test_register_the_app_through_github(
    serve_deckhand: Any,
    fake_github: FakeGitHub,
    page: Page,
    offsite: list[str],
    shoot: Shoot,
    tmp_path: Path,
) -> None:
    gh = fake_github
    gh.oauth_login = "alice"  # the person signed in to github.com
    env_file = tmp_path / "conf" / ".env"
    deckhand = await serve_deckhand(
        github_api_url=gh.url, github_web_url=gh.url, setup_env_file=env_file
    )
    visited: list[str] = []
    page.on("request", lambda request: visited.append(request.url))

    response = await page.goto(f"{deckhand.url}/")
    assert response is not None and response.status == 200
    await expect(page.locator("body")).to_contain_text("setup mode")
    await shoot(page, "setup-page")

    await page.get_by_role("button", name="Register GitHub App").click()
    await page.wait_for_url(re.compile(re.escape(f"{gh.url}/settings/apps/new?state=") + ".+"))
    await expect(page.get_by_role("heading", name="Create GitHub App")).to_be_visible()
    await shoot(page, "github-create-app")

    await page.get_by_role("button", name=re.compile(r"^Create GitHub App")).click()
    await page.wait_for_url(re.compile(r"https://github\.com/apps/[^/]+/installations/new"))
    [created] = gh.manifests.created
    installation_page = f"https://github.com/apps/{created.app.slug}/installations/new"
    assert page.url == installation_page and offsite == [installation_page]
    assert created.manifest["redirect_url"] == f"{deckhand.url}/setup"
    assert created.manifest["hook_attributes"]["url"] == f"{deckhand.url}/webhooks/github"
    assert [u for u in visited if u.startswith(f"{deckhand.url}/setup?code=")]
    assert [r.auth for r in gh.requests_for("apps/create-from-manifest")] == ["none"]
    stored = Settings(_env_file=env_file)  # type: ignore[call-arg]
    assert stored.github_app_id == created.app.id
    assert stored.github_client_id == created.app.client_id

    await page.goto(f"{deckhand.url}/")  # this process still runs without them: restart
    await expect(page.locator("body")).to_contain_text(created.app.slug)
    await expect(page.locator("body")).to_contain_text("restart")
    await shoot(page, "registered")
