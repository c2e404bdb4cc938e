"""GitHubClient against the fake GitHub: retries, rate limits, timeouts, ETags, concurrency."""

from __future__ import annotations

import asyncio
import time

import aiohttp
import pytest
from gidgethub import GitHubBroken

from app.queue.errors import RetryLater
from tests.github.conftest import INSTALLATION, REPO

OWNER, NAME = REPO.split("/")
REPO_PATH = "/repos/{owner}/{repo}"
REPO_VARS = {"owner": OWNER, "repo": NAME}
COMMENTS = "/repos/{owner}/{repo}/issues/{issue_number}/comments"
COMMENT_VARS = {**REPO_VARS, "issue_number": "1"}


async def test_server_errors_are_retried_with_backoff(github_app, seeded) -> None:
    seeded.fail_next("GET", REPO_PATH, 502, times=2)
    repo = await github_app.installation_client(INSTALLATION).getitem(REPO_PATH, REPO_VARS)
    assert repo["full_name"] == REPO
    assert [r.status for r in seeded.requests_for("repos/get")] == [502, 502, 200]


async def test_server_errors_give_up_after_a_bounded_number_of_tries(github_app, seeded) -> None:
    seeded.fail_next("GET", REPO_PATH, 503, times=None)
    with pytest.raises(GitHubBroken):
        await github_app.installation_client(INSTALLATION).getitem(REPO_PATH, REPO_VARS)
    assert len(seeded.requests_for("repos/get")) == 4


async def test_a_post_is_not_sent_again_after_a_502(github_app, seeded) -> None:
    seeded.fail_next("POST", COMMENTS, 502)
    client = github_app.installation_client(INSTALLATION)
    with pytest.raises(GitHubBroken):
        await client.post(COMMENTS, url_vars=COMMENT_VARS, data={"body": "hello"})
    assert [r.status for r in seeded.requests_for("issues/create-comment")] == [502]


async def test_the_token_request_is_retried_on_a_502(github_app, seeded) -> None:
    seeded.fail_next("POST", "/app/installations/{installation_id}/access_tokens", 502)
    await github_app.installation_client(INSTALLATION).getitem(REPO_PATH, REPO_VARS)
    statuses = [r.status for r in seeded.requests_for("apps/create-installation-access-token")]
    assert statuses == [502, 201]


async def test_secondary_rate_limit_waits_for_retry_after(github_app, seeded) -> None:
    seeded.secondary_rate_limit_next("GET", REPO_PATH, retry_after=1)
    started = time.monotonic()
    await github_app.installation_client(INSTALLATION).getitem(REPO_PATH, REPO_VARS)
    assert time.monotonic() - started >= 1.0
    assert [r.status for r in seeded.requests_for("repos/get")] == [403, 200]


async def test_429_is_retried(github_app, seeded) -> None:
    seeded.fail_next("GET", REPO_PATH, 429, headers={"retry-after": "0"})
    await github_app.installation_client(INSTALLATION).getitem(REPO_PATH, REPO_VARS)
    assert [r.status for r in seeded.requests_for("repos/get")] == [429, 200]


async def test_primary_rate_limit_waits_until_reset(github_app, seeded) -> None:
    client = github_app.installation_client(INSTALLATION)
    await client.getitem(REPO_PATH, REPO_VARS)  # fetch the token first
    seeded.set_rate_limit(INSTALLATION, remaining=0, reset_in=1)
    started = time.monotonic()
    await client.getitem("/installation/repositories")
    assert time.monotonic() - started >= 0.9


async def test_a_long_rate_limit_wait_parks_the_job_instead(make_github_app, seeded) -> None:
    github_app = make_github_app(github_max_inline_wait=1.0)
    client = github_app.installation_client(INSTALLATION)
    await client.getitem(REPO_PATH, REPO_VARS)
    seeded.set_rate_limit(INSTALLATION, remaining=0, reset_in=120)
    with pytest.raises(RetryLater) as raised:
        await client.getitem("/installation/repositories")
    assert 100 < raised.value.at - time.time() < 130


async def test_requests_slow_down_as_the_remaining_budget_nears_zero(github_app, seeded) -> None:
    client = github_app.installation_client(INSTALLATION)
    await client.getitem(REPO_PATH, REPO_VARS)
    seeded.set_rate_limit(INSTALLATION, remaining=4, limit=100, reset_in=3)
    await client.getitem("/installation/repositories")  # answer says 3 left in ~3 s
    started = time.monotonic()
    await client.getitem("/installation/repositories")  # waits about 3 s / 3 left
    await client.getitem("/installation/repositories")  # about 2 s / 2 left
    assert time.monotonic() - started >= 1.5
    assert seeded.rate_limit_for(INSTALLATION).remaining >= 0
    assert not [r for r in seeded.requests if r.status == 403]


async def test_a_timed_out_get_is_retried(make_github_app, seeded) -> None:
    github_app = make_github_app(github_timeout=0.5)
    client = github_app.installation_client(INSTALLATION)
    seeded.delay_next("GET", REPO_PATH, 2.0)
    repo = await client.getitem(REPO_PATH, REPO_VARS)
    assert repo["full_name"] == REPO
    assert len(seeded.requests_for("repos/get")) == 2


async def test_a_timed_out_post_is_not_sent_twice(make_github_app, seeded) -> None:
    github_app = make_github_app(github_timeout=0.5)
    client = github_app.installation_client(INSTALLATION)
    await client.getitem(REPO_PATH, REPO_VARS)
    seeded.delay_next("POST", COMMENTS, 2.0)
    with pytest.raises((TimeoutError, aiohttp.ServerTimeoutError)):
        await client.post(COMMENTS, url_vars=COMMENT_VARS, data={"body": "once"})
    await asyncio.sleep(2.0)
    assert len(seeded.requests_for("issues/create-comment")) == 1


async def test_a_refused_connection_is_retried_then_reported(make_github_app, seeded) -> None:
    github_app = make_github_app(github_api_url="http://127.0.0.1:9")
    started = time.monotonic()
    with pytest.raises(aiohttp.ClientConnectorError):
        await github_app.app_client().getitem("/app")
    assert time.monotonic() - started >= 0.25 * (1 + 2 + 4) * 0.9


async def test_conditional_get_uses_the_etag_and_costs_no_rate_limit(github_app, seeded) -> None:
    client = github_app.installation_client(INSTALLATION)
    first = await client.getitem(REPO_PATH, REPO_VARS)
    remaining = seeded.rate_limit_for(INSTALLATION).remaining
    second = await github_app.installation_client(INSTALLATION).getitem(REPO_PATH, REPO_VARS)
    assert second == first
    gets = seeded.requests_for("repos/get")
    assert [r.status for r in gets] == [200, 304]
    assert gets[1].headers.get("If-None-Match")
    assert seeded.rate_limit_for(INSTALLATION).remaining == remaining


async def test_requests_in_flight_per_installation_are_bounded(make_github_app, seeded) -> None:
    github_app = make_github_app(github_concurrency=2)
    client = github_app.installation_client(INSTALLATION)
    await client.getitem(REPO_PATH, REPO_VARS)
    seeded.delay_next("GET", "/installation/repositories", 0.3, times=6)
    started = time.monotonic()
    await asyncio.gather(
        *(
            github_app.installation_client(INSTALLATION).getitem(
                "/installation/repositories?page={page}", {"page": str(i)}
            )
            for i in range(6)
        )
    )
    assert time.monotonic() - started >= 0.85  # three rounds of two, not one round of six
