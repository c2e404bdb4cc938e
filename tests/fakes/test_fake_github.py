"""Tests for the fake GitHub server itself (plain aiohttp clients, real HTTP)."""

from __future__ import annotations

import asyncio
import base64
import json
import re
import time
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import aiohttp
import jwt as pyjwt
import pytest
from multidict import CIMultiDictProxy

from tests.fakes.github import FakeGitHub, encode_app_jwt
from tests.fakes.github.state import git_blob_sha
from tests.fakes.keys import AppKeys, generate_app_keys
from tests.fakes.openapi import vendor
from tests.fakes.openapi.validator import NO_BODY, SUBSET_PATH, OpenAPIValidator

REPO = "octo-org/widgets"
INSTALLATION = 1001
SHA = "6dcb09b5b57875f334f61aebed695e2e4193db5e"


# ------------------------------------------------------------------------ fixtures
@pytest.fixture(scope="module")
def other_keys() -> AppKeys:
    """A second key pair, to sign JWTs the fake must reject."""
    return generate_app_keys(4242)


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(headers={"User-Agent": "deckhand-tests"}) as session:
        yield session


@pytest.fixture
def gh(fake_github: FakeGitHub) -> FakeGitHub:
    """The fake, seeded with one installation on one repository."""
    fake_github.add_installation(INSTALLATION, account="octo-org", repositories=[REPO])
    fake_github.add_file(REPO, "README.md", "# widgets\n")
    return fake_github


def app_auth(keys: AppKeys, **kwargs: Any) -> dict[str, str]:
    return {"Authorization": f"Bearer {encode_app_jwt(keys.private_pem, keys.app_id, **kwargs)}"}


async def call(
    http: aiohttp.ClientSession,
    method: str,
    url: str,
    *,
    headers: dict[str, str] | None = None,
    **kwargs: Any,
) -> tuple[int, Any, CIMultiDictProxy[str]]:
    async with http.request(method, url, headers=headers, **kwargs) as response:
        text = await response.text()
        body = json.loads(text) if text and "json" in response.content_type else text
        return response.status, body, response.headers


async def new_token(http: aiohttp.ClientSession, gh: FakeGitHub, keys: AppKeys) -> str:
    status, body, _ = await call(
        http,
        "POST",
        f"{gh.url}/app/installations/{INSTALLATION}/access_tokens",
        headers=app_auth(keys),
    )
    assert status == 201, body
    return body["token"]


async def token_auth(http: aiohttp.ClientSession, gh: FakeGitHub, keys: AppKeys) -> dict[str, str]:
    return {"Authorization": f"token {await new_token(http, gh, keys)}"}


# --------------------------------------------------------------- OpenAPI checks
async def test_unknown_path_is_404_and_a_violation(gh: FakeGitHub, http, app_keys) -> None:
    headers = await token_auth(http, gh, app_keys)
    status, body, resp_headers = await call(http, "GET", f"{gh.url}/nope/nothing", headers=headers)
    assert status == 404
    assert body["message"] == "Not Found"
    assert body["documentation_url"].startswith("https://docs.github.com/")
    assert "x-github-request-id" in resp_headers
    [violation] = gh.take_violations()
    assert violation.kind == "unknown_path"
    assert "/nope/nothing" in violation.message


async def test_wrong_method_is_404_and_a_violation(gh: FakeGitHub, http, app_keys) -> None:
    headers = await token_auth(http, gh, app_keys)
    status, _, _ = await call(http, "DELETE", f"{gh.url}/rate_limit", headers=headers)
    assert status == 404
    [violation] = gh.take_violations()
    assert violation.kind == "method_not_allowed"
    assert "GitHub has: GET" in violation.message


async def test_real_but_unvendored_operation_says_how_to_add_it(gh: FakeGitHub, http, app_keys):
    headers = await token_auth(http, gh, app_keys)
    status, _, _ = await call(http, "GET", f"{gh.url}/repos/{REPO}/releases", headers=headers)
    assert status == 404
    [violation] = gh.take_violations()
    assert violation.kind == "not_vendored"
    assert "GET /repos/{owner}/{repo}/releases" in violation.message
    assert "vendor.py" in violation.message


async def test_body_missing_required_fields_is_422(gh: FakeGitHub, http, app_keys) -> None:
    headers = await token_auth(http, gh, app_keys)
    status, body, _ = await call(
        http,
        "POST",
        f"{gh.url}/repos/{REPO}/check-runs",
        headers=headers,
        json={"status": "queued"},
    )
    assert status == 422
    assert body["message"] == "Validation Failed"
    missing = {e["field"] for e in body["errors"] if e["code"] == "missing_field"}
    assert missing == {"name", "head_sha"}
    [violation] = gh.take_violations()
    assert violation.kind == "body_schema"
    assert "'head_sha' is a required property" in violation.message
    assert not gh.check_runs


async def test_body_type_and_enum_errors_name_the_json_path(gh: FakeGitHub, http, app_keys):
    headers = await token_auth(http, gh, app_keys)
    status, body, _ = await call(
        http,
        "POST",
        f"{gh.url}/repos/{REPO}/check-runs",
        headers=headers,
        json={"name": "lint", "head_sha": SHA, "status": "done", "output": {"title": 1}},
    )
    assert status == 422
    fields = {e["field"] for e in body["errors"]}
    assert {"status", "output.title", "output.summary"} <= fields
    [violation] = gh.take_violations()
    assert "$.output.title: 1 is not of type 'string'" in violation.message
    assert "$.status: 'done' is not one of" in violation.message


async def test_missing_body_and_invalid_json(gh: FakeGitHub, http, app_keys) -> None:
    headers = await token_auth(http, gh, app_keys)
    gh.add_issue(REPO, 1)
    url = f"{gh.url}/repos/{REPO}/issues/1/comments"
    status, _, _ = await call(http, "POST", url, headers=headers)
    assert status == 422
    status, body, _ = await call(http, "POST", url, headers=headers, data=b"{not json")
    assert status == 400
    assert body["message"] == "Problems parsing JSON"
    assert [v.kind for v in gh.take_violations()] == ["missing_body", "invalid_json"]


async def test_bad_path_and_query_parameters(gh: FakeGitHub, http, app_keys) -> None:
    headers = await token_auth(http, gh, app_keys)
    status, _, _ = await call(
        http, "GET", f"{gh.url}/repos/{REPO}/issues/abc/comments", headers=headers
    )
    assert status == 404
    gh.add_issue(REPO, 3)
    url = f"{gh.url}/repos/{REPO}/issues/3/comments"
    status, _, _ = await call(http, "GET", url, headers=headers, params={"per_page": "lots"})
    assert status == 422
    # Undocumented query parameters are ignored by GitHub, but still a bug in the caller.
    status, _, _ = await call(http, "GET", url, headers=headers, params={"perpage": "5"})
    assert status == 200
    kinds = [v.kind for v in gh.take_violations()]
    assert kinds == ["path_param", "query_param", "unknown_query_param"]


async def test_missing_user_agent_and_unknown_api_version(gh: FakeGitHub, app_keys) -> None:
    headers = app_auth(app_keys)
    async with aiohttp.ClientSession(skip_auto_headers=["User-Agent"]) as bare:
        status, body, _ = await call(bare, "GET", f"{gh.url}/app", headers=headers)
    assert status == 403
    assert "User-Agent" in body["message"]
    async with aiohttp.ClientSession() as http:
        status, _, _ = await call(
            http, "GET", f"{gh.url}/app", headers={**headers, "X-GitHub-Api-Version": "2001-01-01"}
        )
        assert status == 400
        status, _, resp = await call(
            http, "GET", f"{gh.url}/app", headers={**headers, "X-GitHub-Api-Version": "2022-11-28"}
        )
        assert (status, resp["x-github-api-version-selected"]) == (200, "2022-11-28")
    assert [v.kind for v in gh.take_violations()] == ["missing_user_agent", "api_version"]


# ------------------------------------------------------------------------- JWTs
async def test_valid_jwt_is_accepted_and_its_claims_recorded(gh: FakeGitHub, http, app_keys):
    status, body, headers = await call(http, "GET", f"{gh.url}/app", headers=app_auth(app_keys))
    assert status == 200
    assert body["id"] == app_keys.app_id
    assert body["slug"] == "deckhand-test"
    assert headers["x-ratelimit-resource"] == "core"
    [claims] = gh.jwt_claims
    assert claims["iss"] == str(app_keys.app_id)
    assert abs((time.time() - 60) - claims["iat"]) < 5


async def test_integer_iss_and_client_id_iss_are_accepted(gh: FakeGitHub, http, app_keys) -> None:
    for iss in (app_keys.app_id, gh.app.client_id):
        now = int(time.time())
        payload = {"iat": now - 60, "exp": now + 500, "iss": iss}
        # Sign the raw claims: PyJWT's encoder refuses a non-string iss, other libraries
        # (and GitHub) do not.
        token = pyjwt.api_jws.encode(
            json.dumps(payload).encode(), app_keys.private_pem, algorithm="RS256"
        )
        status, _, _ = await call(
            http, "GET", f"{gh.url}/app", headers={"Authorization": f"Bearer {token}"}
        )
        assert status == 200


@pytest.mark.parametrize(
    ("make_headers", "message"),
    [
        pytest.param(
            lambda keys, other: {"Authorization": "Bearer not.a.jwt"},
            "A JSON web token could not be decoded",
            id="garbage",
        ),
        pytest.param(
            lambda keys, other: app_auth(other),
            "A JSON web token could not be decoded",
            id="wrong-key",
        ),
        pytest.param(
            lambda keys, other: app_auth(keys, iat_offset=-700, lifetime=600),
            "'Expiration time' claim ('exp') must be a numeric value",
            id="expired",
        ),
        pytest.param(
            lambda keys, other: app_auth(keys, iat_offset=-60, lifetime=900),
            "'Expiration time' claim ('exp') is too far in the future",
            id="too-long",
        ),
        pytest.param(
            lambda keys, other: app_auth(keys, iat_offset=+120, lifetime=300),
            "'Issued at' claim ('iat') must be an Integer",
            id="iat-in-future",
        ),
        pytest.param(
            lambda keys, other: {
                "Authorization": "Bearer "
                + encode_app_jwt(keys.private_pem, 999, iat_offset=-60, lifetime=600)
            },
            "Integration not found",
            id="other-app",
        ),
    ],
)
async def test_bad_jwts_are_401(gh: FakeGitHub, http, app_keys, other_keys, make_headers, message):
    status, body, _ = await call(
        http, "GET", f"{gh.url}/app", headers=make_headers(app_keys, other_keys)
    )
    assert status == 401
    assert body["message"].startswith(message)
    assert body["documentation_url"] == "https://docs.github.com/rest"
    assert gh.jwt_claims == []
    [failure] = gh.auth_failures
    assert failure.request.path == "/app"
    assert not gh.violations  # a rejected credential is the bot's problem to handle


async def test_clock_drift_of_under_a_minute_is_tolerated(gh: FakeGitHub, http, app_keys):
    headers = app_auth(app_keys, iat_offset=+30, lifetime=300)
    status, _, _ = await call(http, "GET", f"{gh.url}/app", headers=headers)
    assert status == 200


async def test_installation_token_is_not_accepted_on_app_endpoints(gh: FakeGitHub, http, app_keys):
    headers = await token_auth(http, gh, app_keys)
    status, body, _ = await call(http, "GET", f"{gh.url}/app", headers=headers)
    assert status == 401
    assert body["message"] == "A JSON web token could not be decoded"


async def test_missing_authorization_is_401_and_a_violation(gh: FakeGitHub, http) -> None:
    status, body, _ = await call(http, "GET", f"{gh.url}/repos/{REPO}")
    assert status == 401
    assert body["message"] == "Requires authentication"
    [violation] = gh.take_violations()
    assert violation.kind == "missing_auth"


# ---------------------------------------------------------------------- tokens
async def test_token_is_issued_then_accepted(gh: FakeGitHub, http, app_keys) -> None:
    status, body, _ = await call(
        http,
        "POST",
        f"{gh.url}/app/installations/{INSTALLATION}/access_tokens",
        headers=app_auth(app_keys),
    )
    assert status == 201
    assert re.fullmatch(r"ghs_[A-Za-z0-9]{36}", body["token"])
    expires = datetime.fromisoformat(body["expires_at"].replace("Z", "+00:00"))
    assert body["expires_at"].endswith("Z")
    assert abs(expires.timestamp() - (time.time() + 3600)) < 5
    assert body["permissions"]["checks"] == "write"
    assert body["repository_selection"] == "selected"
    assert gh.tokens_issued[INSTALLATION] == 1

    for scheme in ("token", "Bearer"):
        headers = {"Authorization": f"{scheme} {body['token']}"}
        status, repo, _ = await call(http, "GET", f"{gh.url}/repos/{REPO}", headers=headers)
        assert status == 200
        assert repo["full_name"] == REPO
        assert repo["default_branch"] == "main"
    recorded = gh.requests_for("repos/get")[-1]
    assert recorded.installation_id == INSTALLATION
    assert recorded.auth == "token"


async def test_token_lifetime_is_configurable_and_expiry_enforced(gh: FakeGitHub, http, app_keys):
    gh.token_lifetime = timedelta(seconds=1)
    token = await new_token(http, gh, app_keys)
    headers = {"Authorization": f"token {token}"}
    assert (await call(http, "GET", f"{gh.url}/repos/{REPO}", headers=headers))[0] == 200
    gh.expire_tokens()
    status, body, _ = await call(http, "GET", f"{gh.url}/repos/{REPO}", headers=headers)
    assert status == 401
    assert body["message"] == "Bad credentials"
    assert gh.auth_failures[-1].reason == "token expired"


async def test_revoked_tokens_are_401_until_a_new_one_is_issued(gh: FakeGitHub, http, app_keys):
    headers = await token_auth(http, gh, app_keys)
    assert gh.revoke_tokens() == 1
    status, body, _ = await call(http, "GET", f"{gh.url}/repos/{REPO}", headers=headers)
    assert (status, body["message"]) == (401, "Bad credentials")
    headers = await token_auth(http, gh, app_keys)
    assert (await call(http, "GET", f"{gh.url}/repos/{REPO}", headers=headers))[0] == 200
    assert gh.tokens_issued[INSTALLATION] == 2


async def test_unknown_token_and_unknown_installation(gh: FakeGitHub, http, app_keys) -> None:
    headers = {"Authorization": "token ghs_" + "x" * 36}
    assert (await call(http, "GET", f"{gh.url}/repos/{REPO}", headers=headers))[0] == 401
    status, _, _ = await call(
        http, "POST", f"{gh.url}/app/installations/999/access_tokens", headers=app_auth(app_keys)
    )
    assert status == 404
    assert gh.tokens_issued[999] == 0


async def test_token_scoped_to_repositories_and_permissions(gh: FakeGitHub, http, app_keys):
    gh.add_repo("octo-org/private-thing", private=True, installation_id=INSTALLATION)
    url = f"{gh.url}/app/installations/{INSTALLATION}/access_tokens"
    status, body, _ = await call(
        http,
        "POST",
        url,
        headers=app_auth(app_keys),
        json={"repositories": ["widgets"], "permissions": {"contents": "read"}},
    )
    assert status == 201
    assert [r["full_name"] for r in body["repositories"]] == [REPO]
    headers = {"Authorization": f"token {body['token']}"}
    status, _, _ = await call(
        http, "GET", f"{gh.url}/repos/octo-org/private-thing", headers=headers
    )
    assert status == 404  # outside the token's repositories, and private
    status, body, resp_headers = await call(
        http,
        "POST",
        f"{gh.url}/repos/{REPO}/check-runs",
        headers=headers,
        json={"name": "lint", "head_sha": SHA},
    )
    assert status == 403
    assert body["message"] == "Resource not accessible by integration"
    assert resp_headers["x-accepted-github-permissions"] == "checks=write"
    # Asking for more than the installation has is refused.
    status, _, _ = await call(
        http,
        "POST",
        url,
        headers=app_auth(app_keys),
        json={"permissions": {"administration": "write"}},
    )
    assert status == 422


# ------------------------------------------------------- rate limits and ETags
async def test_rate_limit_headers_decrement_per_installation(gh: FakeGitHub, http, app_keys):
    headers = await token_auth(http, gh, app_keys)
    seen = []
    for _ in range(3):
        _, _, resp = await call(http, "GET", f"{gh.url}/repos/{REPO}", headers=headers)
        seen.append(int(resp["x-ratelimit-remaining"]))
        assert resp["x-ratelimit-limit"] == "5000"
        assert int(resp["x-ratelimit-reset"]) > time.time()
        assert resp["x-ratelimit-resource"] == "core"
    assert seen == [4999, 4998, 4997]
    assert resp["x-ratelimit-used"] == "3"
    # A new token of the same installation shares the installation's budget.
    headers = await token_auth(http, gh, app_keys)
    _, overview, resp = await call(http, "GET", f"{gh.url}/rate_limit", headers=headers)
    assert overview["resources"]["core"]["remaining"] == 4997  # /rate_limit is free
    assert resp["x-ratelimit-remaining"] == "4997"


async def test_exhausted_rate_limit_is_403(gh: FakeGitHub, http, app_keys) -> None:
    headers = await token_auth(http, gh, app_keys)
    gh.set_rate_limit(INSTALLATION, remaining=0, reset_in=120)
    status, body, resp = await call(http, "GET", f"{gh.url}/repos/{REPO}", headers=headers)
    assert status == 403
    assert body["message"].startswith(
        f"API rate limit exceeded for installation ID {INSTALLATION}."
    )
    assert resp["x-ratelimit-remaining"] == "0"
    assert 100 < int(resp["x-ratelimit-reset"]) - time.time() <= 120


async def test_if_none_match_gives_free_304(gh: FakeGitHub, http, app_keys) -> None:
    headers = await token_auth(http, gh, app_keys)
    url = f"{gh.url}/repos/{REPO}/contents/README.md"
    status, _, first = await call(http, "GET", url, headers=headers)
    assert status == 200
    etag = first["ETag"]
    async with http.get(url, headers={**headers, "If-None-Match": etag}) as response:
        assert response.status == 304
        assert await response.read() == b""
        assert response.headers["ETag"] == etag
        assert response.headers["x-ratelimit-remaining"] == first["x-ratelimit-remaining"]
    gh.add_file(REPO, "README.md", "# widgets, changed\n")
    status, _, changed = await call(http, "GET", url, headers={**headers, "If-None-Match": etag})
    assert status == 200
    assert changed["ETag"] != etag
    assert int(changed["x-ratelimit-remaining"]) == int(first["x-ratelimit-remaining"]) - 1


# ------------------------------------------------------------- fault injection
async def test_fail_next_502_twice_then_success(gh: FakeGitHub, http, app_keys) -> None:
    headers = await token_auth(http, gh, app_keys)
    gh.fail_next("GET", "/repos/{owner}/{repo}", 502, times=2)
    url = f"{gh.url}/repos/{REPO}"
    statuses = [(await call(http, "GET", url, headers=headers))[0] for _ in range(3)]
    assert statuses == [502, 502, 200]
    assert [r.status for r in gh.requests_for("repos/get")] == [502, 502, 200]


async def test_secondary_rate_limit_and_429_and_401(gh: FakeGitHub, http, app_keys) -> None:
    headers = await token_auth(http, gh, app_keys)
    gh.add_issue(REPO, 5)
    url = f"{gh.url}/repos/{REPO}/issues/5/comments"
    gh.secondary_rate_limit_next("POST", re.compile(r"/issues/\d+/comments$"), retry_after=1)
    gh.fail_next("POST", url.removeprefix(gh.url), 429, headers={"retry-after": "2"})
    gh.fail_next("*", r"/repos/[^/]+/[^/]+/issues/\d+/comments", 401)
    status, body, resp = await call(http, "POST", url, headers=headers, json={"body": "hi"})
    assert status == 403
    assert body["message"].startswith("You have exceeded a secondary rate limit")
    assert resp["retry-after"] == "1"
    assert resp["x-github-request-id"] in body["message"]
    status, _, resp = await call(http, "POST", url, headers=headers, json={"body": "hi"})
    assert (status, resp["retry-after"]) == (429, "2")
    status, body, _ = await call(http, "POST", url, headers=headers, json={"body": "hi"})
    assert (status, body["message"]) == (401, "Bad credentials")
    status, _, _ = await call(http, "POST", url, headers=headers, json={"body": "hi"})
    assert status == 201
    assert len(gh.comments_on(REPO, 5)) == 1


async def test_fail_next_with_custom_body_and_forever(gh: FakeGitHub, http, app_keys) -> None:
    headers = await token_auth(http, gh, app_keys)
    rule = gh.fail_next("GET", "/users/{username}", 500, times=None, body="<html>unicorn</html>")
    gh.add_account("octocat")
    for _ in range(3):
        status, body, _ = await call(http, "GET", f"{gh.url}/users/octocat", headers=headers)
        assert (status, body) == (500, "<html>unicorn</html>")
    assert rule.fired == 3
    gh.clear_scripts()
    assert (await call(http, "GET", f"{gh.url}/users/octocat", headers=headers))[0] == 200


async def test_delay_next_triggers_client_timeouts(gh: FakeGitHub, http, app_keys) -> None:
    headers = await token_auth(http, gh, app_keys)
    gh.delay_next("GET", "/repos/{owner}/{repo}", 5)
    url = f"{gh.url}/repos/{REPO}"
    started = time.monotonic()
    with pytest.raises(asyncio.TimeoutError):
        await call(http, "GET", url, headers=headers, timeout=aiohttp.ClientTimeout(total=0.3))
    assert time.monotonic() - started < 2
    assert (await call(http, "GET", url, headers=headers))[0] == 200


# ---------------------------------------------------------------- endpoints
async def test_contents_api(gh: FakeGitHub, http, app_keys) -> None:
    headers = await token_auth(http, gh, app_keys)
    gh.add_file(REPO, ".github/deckhand.yml", "enabled: true\n")
    gh.add_file(REPO, ".github/deckhand.yml", "enabled: false\n", ref="feature")
    base = f"{gh.url}/repos/{REPO}/contents"

    status, body, _ = await call(http, "GET", f"{base}/.github/deckhand.yml", headers=headers)
    assert status == 200
    assert (body["type"], body["encoding"], body["path"]) == (
        "file",
        "base64",
        ".github/deckhand.yml",
    )
    assert base64.b64decode(body["content"]) == b"enabled: true\n"
    assert body["sha"] == git_blob_sha(b"enabled: true\n")

    status, body, _ = await call(
        http, "GET", f"{base}/.github/deckhand.yml", headers=headers, params={"ref": "feature"}
    )
    assert base64.b64decode(body["content"]) == b"enabled: false\n"

    status, raw, _ = await call(
        http,
        "GET",
        f"{base}/.github/deckhand.yml",
        headers={**headers, "Accept": "application/vnd.github.raw+json"},
    )
    assert (status, raw) == (200, "enabled: true\n")

    status, listing, _ = await call(http, "GET", f"{base}/.github", headers=headers)
    assert [(e["name"], e["type"]) for e in listing] == [("deckhand.yml", "file")]

    status, body, _ = await call(http, "GET", f"{base}/missing.txt", headers=headers)
    assert (status, body["message"]) == (404, "Not Found")
    status, _, _ = await call(
        http, "GET", f"{base}/README.md", headers=headers, params={"ref": "nope"}
    )
    assert status == 404


async def test_issue_comments_and_reactions(gh: FakeGitHub, http, app_keys) -> None:
    headers = await token_auth(http, gh, app_keys)
    for i in range(3):
        gh.add_issue_comment(REPO, 9, f"comment {i}", user="octocat")
    url = f"{gh.url}/repos/{REPO}/issues/9/comments"

    status, page1, resp = await call(http, "GET", url, headers=headers, params={"per_page": "2"})
    assert status == 200
    assert [c["body"] for c in page1] == ["comment 0", "comment 1"]
    assert 'rel="next"' in resp["Link"]
    next_link = re.search(r'<([^>]+)>; rel="next"', resp["Link"])
    assert next_link is not None
    next_url = next_link.group(1)
    status, page2, _ = await call(http, "GET", next_url, headers=headers)
    assert [c["body"] for c in page2] == ["comment 2"]

    status, created, resp = await call(http, "POST", url, headers=headers, json={"body": "hello"})
    assert status == 201
    assert created["user"]["login"] == "deckhand-test[bot]"
    assert created["user"]["type"] == "Bot"
    assert created["performed_via_github_app"]["slug"] == "deckhand-test"
    assert created["html_url"].endswith(f"/{REPO}/issues/9#issuecomment-{created['id']}")
    assert resp["Location"] == created["url"]

    status, edited, _ = await call(
        http, "PATCH", created["url"], headers=headers, json={"body": "bye"}
    )
    assert (status, edited["body"]) == (200, "bye")

    reactions = f"{created['url']}/reactions"
    status, _, _ = await call(http, "POST", reactions, headers=headers, json={"content": "eyes"})
    assert status == 201
    status, _, _ = await call(http, "POST", reactions, headers=headers, json={"content": "eyes"})
    assert status == 200  # already there
    status, _, _ = await call(http, "POST", reactions, headers=headers, json={"content": "wow"})
    assert status == 422
    gh.take_violations()

    status, _, _ = await call(
        http,
        "POST",
        f"{gh.url}/repos/{REPO}/issues/404/comments",
        headers=headers,
        json={"body": "x"},
    )
    assert status == 404
    recorded = gh.requests_for("issues/create-comment")[0]
    assert recorded.json == {"body": "hello"}
    assert recorded.path_template == "/repos/{owner}/{repo}/issues/{issue_number}/comments"
    assert recorded.path_params == {"owner": "octo-org", "repo": "widgets", "issue_number": 9}


async def test_check_runs(gh: FakeGitHub, http, app_keys) -> None:
    headers = await token_auth(http, gh, app_keys)
    url = f"{gh.url}/repos/{REPO}/check-runs"
    status, run, _ = await call(
        http,
        "POST",
        url,
        headers=headers,
        json={"name": "deckhand", "head_sha": SHA, "status": "in_progress"},
    )
    assert status == 201
    assert (run["status"], run["conclusion"], run["app"]["id"]) == ("in_progress", None, 4242)
    status, run, _ = await call(
        http,
        "PATCH",
        run["url"],
        headers=headers,
        json={"conclusion": "success", "output": {"title": "All good", "summary": "No findings"}},
    )
    assert status == 200
    assert (run["status"], run["conclusion"]) == ("completed", "success")
    assert run["output"]["title"] == "All good"
    assert gh.check_runs[run["id"]].conclusion == "success"

    # "completed" needs a conclusion: GitHub refuses, and it is the bot's bug.
    status, body, _ = await call(
        http,
        "POST",
        url,
        headers=headers,
        json={"name": "x", "head_sha": SHA, "status": "completed"},
    )
    assert status == 422
    assert "conclusion" in body["message"]
    [violation] = gh.take_violations()
    assert violation.kind == "semantic"


async def test_users_permissions_and_installations(gh: FakeGitHub, http, app_keys) -> None:
    headers = await token_auth(http, gh, app_keys)
    gh.set_collaborator(REPO, "hubot", "maintain")
    status, user, _ = await call(http, "GET", f"{gh.url}/users/hubot", headers=headers)
    assert (status, user["login"], user["type"]) == (200, "hubot", "User")
    status, perm, _ = await call(
        http, "GET", f"{gh.url}/repos/{REPO}/collaborators/hubot/permission", headers=headers
    )
    assert (perm["permission"], perm["role_name"]) == ("write", "maintain")
    assert (await call(http, "GET", f"{gh.url}/users/ghost-user", headers=headers))[0] == 404

    status, repos, _ = await call(
        http, "GET", f"{gh.url}/installation/repositories", headers=headers
    )
    assert (status, repos["total_count"]) == (200, 1)
    status, installs, _ = await call(
        http, "GET", f"{gh.url}/app/installations", headers=app_auth(app_keys)
    )
    assert [i["id"] for i in installs] == [INSTALLATION]
    status, inst, _ = await call(
        http, "GET", f"{gh.url}/app/installations/{INSTALLATION}", headers=app_auth(app_keys)
    )
    assert (inst["account"]["login"], inst["app_id"]) == ("octo-org", 4242)
    status, _, _ = await call(
        http, "GET", f"{gh.url}/app/installations/77", headers=app_auth(app_keys)
    )
    assert status == 404


async def test_requests_are_recorded(gh: FakeGitHub, http, app_keys) -> None:
    headers = await token_auth(http, gh, app_keys)
    await call(
        http,
        "GET",
        f"{gh.url}/repos/{REPO}/contents/README.md",
        headers=headers,
        params={"ref": "main"},
    )
    record = gh.requests[-1]
    assert (record.method, record.path, record.query["ref"]) == (
        "GET",
        f"/repos/{REPO}/contents/README.md",
        "main",
    )
    assert record.operation_id == "repos/get-content"
    assert record.path_params["path"] == "README.md"
    assert record.headers["authorization"].startswith("token ghs_")
    assert record.status == 200
    assert record.time == pytest.approx(time.time(), abs=5)


async def test_problems_collects_what_fails_the_fixture(app_keys) -> None:
    async with FakeGitHub(app_id=app_keys.app_id, public_key_pem=app_keys.public_pem) as gh:
        async with aiohttp.ClientSession() as http:
            await call(http, "GET", f"{gh.url}/definitely/not/github")
        assert gh.problems() == [
            "request violation: GET /definitely/not/github: no such path in GitHub's REST API"
        ]
    assert gh.url.startswith("http://127.0.0.1:")


async def test_a_browsers_favicon_request_is_not_an_api_call(app_keys) -> None:
    async with FakeGitHub(app_id=app_keys.app_id, public_key_pem=app_keys.public_pem) as gh:
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{gh.url}/favicon.ico") as response:
                assert response.status == 204
        assert gh.problems() == []


# ------------------------------------------------------------------- validator
def test_routing_prefers_literal_segments() -> None:
    v = OpenAPIValidator()
    op, params, _ = v.route("PATCH", "/repos/o/r/issues/comments/42")
    assert op is not None and op.operation_id == "issues/update-comment"
    assert params["comment_id"] == "42"
    op, params, _ = v.route("POST", "/repos/o/r/issues/42/comments")
    assert op is not None and op.operation_id == "issues/create-comment"
    op, params, _ = v.route("GET", "/repos/o/r/contents/docs/a%20b/c.md")
    assert op is not None and params["path"] == "docs/a b/c.md"


def test_nullable_and_refs_are_translated() -> None:
    v = OpenAPIValidator()
    op = v.operations["GET /repos/{owner}/{repo}"]
    # description is nullable in GitHub's schema, license is a nullable $ref.
    repo = {"description": None, "license": None}
    problems = v.check_response(op, 200, repo)
    assert not any("description" in p or "license" in p for p in problems)
    assert any("'id' is a required property" in p for p in problems)


def test_the_validator_routes_many_distinct_paths() -> None:
    v = OpenAPIValidator()
    for i in range(2000):
        check = v.check_request("POST", f"/repos/o/r/issues/{i}/comments", body={"body": "x"})
        assert check.ok
    assert v.validate("GET", "/rate_limit", body=NO_BODY) is None


def test_committed_subset_matches_the_operations_list() -> None:
    subset = json.loads(SUBSET_PATH.read_text())
    assert subset["info"]["license"]["name"] == "MIT"
    rebuilt = vendor.build_subset(subset, vendor.OPERATIONS)
    assert rebuilt["paths"] == subset["paths"]
    assert rebuilt["components"] == subset["components"]
    assert subset["x-deckhand"]["operations"] == vendor.OPERATIONS


@pytest.mark.skipif(not vendor.DEFAULT_SOURCE.is_file(), reason="../shared spec not available")
def test_committed_subset_is_current() -> None:
    assert vendor.main(["--check"]) == 0
