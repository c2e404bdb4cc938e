"""A GitHubApp pointed at the fake GitHub, with one installation and repository seeded."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from app.github.app import GitHubApp
from tests.support.deckhand import make_settings

INSTALLATION = 1001
REPO = "octo-org/widgets"


@pytest.fixture
def seeded(fake_github: Any) -> Any:
    fake_github.add_installation(INSTALLATION, account="octo-org", repositories=[REPO])
    fake_github.add_issue(REPO, 1)
    return fake_github


@pytest.fixture
async def make_github_app(seeded: Any, app_keys: Any, tmp_path: Any) -> Any:
    apps: list[GitHubApp] = []

    def make(**overrides: Any) -> GitHubApp:
        values = {
            "github_api_url": seeded.url,
            "github_app_id": app_keys.app_id,
            "github_private_key": app_keys.private_pem,
            **overrides,
        }
        settings = make_settings(tmp_path, **values)
        app = GitHubApp(settings)
        apps.append(app)
        return app

    yield make
    for app in apps:
        await app.close()


@pytest.fixture
async def github_app(make_github_app: Any) -> AsyncIterator[GitHubApp]:
    yield make_github_app()
