"""App JWTs and installation tokens against the fake GitHub (which verifies the JWT)."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

import pytest
from gidgethub import BadRequest

from tests.github.conftest import INSTALLATION, REPO

OWNER, NAME = REPO.split("/")
REPO_VARS = {"owner": OWNER, "repo": NAME}


async def test_app_jwt_is_rs256_backdated_and_short_lived(github_app, seeded, app_keys) -> None:
    app = await github_app.app_client().getitem("/app")
    assert app["slug"] == "deckhand-test"
    [claims] = seeded.jwt_claims
    now = time.time()
    assert claims["iss"] in (str(app_keys.app_id), app_keys.app_id)
    assert now - 62 <= claims["iat"] <= now - 58
    assert claims["exp"] - now < 600
    assert claims["exp"] - claims["iat"] <= 600


async def test_installation_token_is_fetched_once_and_cached(github_app, seeded) -> None:
    for _ in range(3):
        client = github_app.installation_client(INSTALLATION)
        await client.getitem("/repos/{owner}/{repo}", REPO_VARS)
    assert seeded.tokens_issued[INSTALLATION] == 1
    assert len(seeded.requests_for("apps/create-installation-access-token")) == 1


async def test_concurrent_first_requests_share_one_token_fetch(github_app, seeded) -> None:
    clients = [github_app.installation_client(INSTALLATION) for _ in range(20)]
    await asyncio.gather(*(c.getitem("/repos/{owner}/{repo}", REPO_VARS) for c in clients))
    assert seeded.tokens_issued[INSTALLATION] == 1


async def test_a_token_near_its_expiry_is_replaced(github_app, seeded) -> None:
    seeded.token_lifetime = timedelta(seconds=2)
    client = github_app.installation_client(INSTALLATION)
    await client.getitem("/repos/{owner}/{repo}", REPO_VARS)
    await client.getitem("/repos/{owner}/{repo}", REPO_VARS)
    assert seeded.tokens_issued[INSTALLATION] == 1
    await asyncio.sleep(1.9)  # past expires_at minus the refresh margin (a tenth of 2 s)
    await client.getitem("/repos/{owner}/{repo}", REPO_VARS)
    assert seeded.tokens_issued[INSTALLATION] == 2
    assert not seeded.auth_failures


async def test_a_revoked_token_is_dropped_and_the_request_retried_once(github_app, seeded) -> None:
    client = github_app.installation_client(INSTALLATION)
    await client.getitem("/repos/{owner}/{repo}", REPO_VARS)
    seeded.revoke_tokens()
    repo = await client.getitem("/repos/{owner}/{repo}", REPO_VARS)
    assert repo["full_name"] == REPO
    assert seeded.tokens_issued[INSTALLATION] == 2
    statuses = [r.status for r in seeded.requests_for("repos/get")]
    assert statuses == [200, 401, 304]  # the retry revalidates its ETag


async def test_a_second_401_is_not_retried_again(github_app, seeded) -> None:
    client = github_app.installation_client(INSTALLATION)
    seeded.fail_next("GET", "/repos/{owner}/{repo}", 401, times=2)
    with pytest.raises(BadRequest) as raised:
        await client.getitem("/repos/{owner}/{repo}", REPO_VARS)
    assert int(raised.value.status_code) == 401
    assert len(seeded.requests_for("repos/get")) == 2


async def test_unknown_installation_fails_clearly(github_app, seeded) -> None:
    client = github_app.installation_client(999)
    with pytest.raises(BadRequest) as raised:
        await client.getitem("/repos/{owner}/{repo}", REPO_VARS)
    assert int(raised.value.status_code) == 404


async def test_without_credentials_requests_fail_with_a_clear_message(make_github_app) -> None:
    from app.github.auth import NotConfigured

    app = make_github_app(github_app_id=None, github_private_key=None)
    with pytest.raises(NotConfigured, match="GITHUB_APP_ID"):
        await app.installation_client(INSTALLATION).getitem("/repos/{owner}/{repo}", REPO_VARS)
