"""`/` opens the dashboard once the App and its OAuth client are configured; without the
OAuth client it stays the short status page (the setup pages are tested in tests/web)."""

from __future__ import annotations

from typing import Any

from tests.fakes.github import FakeGitHub


async def test_the_front_page_goes_to_the_dashboard(dashboard: Any) -> None:
    async with dashboard.session.get(f"{dashboard.url}/", allow_redirects=False) as response:
        assert (response.status, response.headers["Location"]) == (302, "/dashboard")


async def test_without_the_oauth_client_it_is_the_status_page(
    start_deckhand: Any, fake_github: FakeGitHub, app_keys: Any
) -> None:
    harness = await start_deckhand(
        github_api_url=fake_github.url,
        github_app_id=app_keys.app_id,
        github_private_key=app_keys.private_pem,
    )
    async with harness.session.get(f"{harness.url}/", allow_redirects=False) as response:
        assert response.status == 200
        page = await response.text()
    assert f"running as GitHub App <code>{app_keys.app_id}</code>" in page
    assert "/dashboard" not in page
