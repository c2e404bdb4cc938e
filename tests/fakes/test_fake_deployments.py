"""Tests for the fake GitHub's deployments, team membership, issue and reaction APIs."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from tests.fakes.git import GitServer
from tests.fakes.github import FakeGitHub
from tests.fakes.github.state import DEFAULT_PERMISSIONS

REPO = "octo-org/widgets"
INSTALLATION = 1001


class Api:
    def __init__(self, http: aiohttp.ClientSession, base: str) -> None:
        self.http, self.base = http, base

    async def __call__(self, method: str, path: str, **kwargs: Any) -> tuple[int, Any, Any]:
        async with self.http.request(method, f"{self.base}{path}", **kwargs) as resp:
            text = await resp.text()
            body = json.loads(text) if text and "json" in resp.content_type else text
            return resp.status, body, resp.headers


@pytest.fixture
def seeded(fake_github: FakeGitHub, git_server: GitServer) -> dict[str, Any]:
    fake_github.add_installation(INSTALLATION, account="octo-org", repositories=[])
    base = git_server.create_repo(REPO, {"app.py": "x = 1\n"}, installation_id=INSTALLATION)
    head = git_server.commit(REPO, "feature", {"app.py": "x = 2\n"}, message="Change")
    git_server.bare(REPO).git("tag", "v1.0", base)
    return {"base": base, "head": head}


async def client(gh: FakeGitHub, **token_kwargs: Any) -> aiohttp.ClientSession:
    token = gh.issue_token(INSTALLATION, **token_kwargs).token
    headers = {"Authorization": f"token {token}", "User-Agent": "deckhand-tests"}
    return aiohttp.ClientSession(headers=headers)


@pytest.fixture
async def api(fake_github: FakeGitHub, seeded: dict[str, Any]) -> AsyncIterator[Api]:
    async with await client(fake_github) as http:
        yield Api(http, f"{fake_github.url}/repos/{REPO}")


@pytest.fixture
async def root(fake_github: FakeGitHub, seeded: dict[str, Any]) -> AsyncIterator[Api]:
    async with await client(fake_github) as http:
        yield Api(http, fake_github.url)


def without(*names: str) -> dict[str, str]:
    return {k: v for k, v in DEFAULT_PERMISSIONS.items() if k not in names}


# ----------------------------------------------------------------------- deployments
async def test_create_get_and_list_deployments(
    api: Api, fake_github: FakeGitHub, seeded: dict[str, Any]
) -> None:
    status, first, headers = await api(
        "POST",
        "/deployments",
        json={
            "ref": "main",
            "environment": "production",
            "auto_merge": False,
            "required_contexts": [],
            "payload": json.dumps({"pr": 7}),
            "description": "Deploy #7",
        },
    )
    assert status == 201, first
    assert first["sha"] == seeded["base"] and first["ref"] == "main"
    assert first["payload"] == {"pr": 7} and first["task"] == "deploy"
    assert first["creator"]["login"] == fake_github.app.bot.login
    assert first["performed_via_github_app"]["id"] == fake_github.app.id
    assert first["production_environment"] is True
    assert first["transient_environment"] is False
    assert headers["Location"] == first["url"]
    assert first["statuses_url"] == f"{first['url']}/statuses"

    status, second, _ = await api(
        "POST",
        "/deployments",
        json={
            "ref": seeded["head"],
            "environment": "staging",
            "required_contexts": [],
            "payload": {"a": [1]},
            "transient_environment": True,
        },
    )
    assert status == 201, second
    assert second["production_environment"] is False and second["payload"] == {"a": [1]}
    status, tagged, _ = await api(
        "POST", "/deployments", json={"ref": "v1.0", "required_contexts": []}
    )
    assert status == 201 and tagged["sha"] == seeded["base"]

    status, listed, _ = await api("GET", "/deployments")
    assert status == 200 and [d["id"] for d in listed] == [tagged["id"], second["id"], first["id"]]
    for query, expected in [
        ({"environment": "staging"}, [second["id"]]),
        ({"sha": seeded["base"]}, [tagged["id"], first["id"]]),
        ({"ref": "main"}, [first["id"]]),
        ({"task": "deploy:migrations"}, []),
    ]:
        status, listed, _ = await api("GET", "/deployments", params=query)
        assert status == 200 and [d["id"] for d in listed] == expected, query
    status, page, headers = await api("GET", "/deployments", params={"per_page": 2})
    assert len(page) == 2 and 'rel="next"' in headers["Link"]

    status, got, _ = await api("GET", f"/deployments/{first['id']}")
    assert status == 200 and got == first
    status, _, _ = await api("GET", "/deployments/999")
    assert status == 404

    status, body, _ = await api(
        "POST", "/deployments", json={"ref": "no-such-branch", "required_contexts": []}
    )
    assert status == 422 and body["message"] == "No ref found for: no-such-branch"
    assert [d.id for d in fake_github.deployments_in(REPO)] == [
        first["id"],
        second["id"],
        tagged["id"],
    ]
    assert fake_github.deployment(first["id"]).payload == {"pr": 7}


async def test_required_contexts(api: Api, fake_github: FakeGitHub, seeded: dict[str, Any]) -> None:
    sha = seeded["head"]
    ci = fake_github.add_check_run(REPO, "ci", sha, status="in_progress")
    fake_github.add_check_run(REPO, "lint", sha, conclusion="skipped")

    status, body, _ = await api("POST", "/deployments", json={"ref": "feature"})
    assert status == 409, body
    assert body["message"] == "Conflict: Commit status checks failed for feature."
    [error] = body["errors"]
    assert error["field"] == "required_contexts"
    assert error["contexts"] == [
        {"context": "ci", "state": "pending"},
        {"context": "lint", "state": "success"},
    ]
    status, body, _ = await api(
        "POST", "/deployments", json={"ref": "feature", "required_contexts": ["ci"]}
    )
    assert status == 409 and body["errors"][0]["contexts"] == [
        {"context": "ci", "state": "pending"}
    ]
    status, _, _ = await api(
        "POST", "/deployments", json={"ref": "feature", "required_contexts": []}
    )
    assert status == 201

    ci.status, ci.conclusion = "completed", "success"
    status, body, _ = await api(
        "POST", "/deployments", json={"ref": "feature", "required_contexts": ["ci", "e2e"]}
    )
    assert status == 409 and {"context": "e2e", "state": "missing"} in body["errors"][0]["contexts"]
    for given in ({}, {"required_contexts": ["ci"]}, {"required_contexts": ["ci", "lint"]}):
        status, body, _ = await api("POST", "/deployments", json={"ref": "feature", **given})
        assert status == 201, (given, body)
    fake_github.add_check_run(REPO, "ci", sha, conclusion="failure")  # a re-run failed
    status, body, _ = await api("POST", "/deployments", json={"ref": sha})
    assert status == 409 and {"context": "ci", "state": "failure"} in body["errors"][0]["contexts"]
    assert not fake_github.take_violations()


async def test_commit_statuses(api: Api, fake_github: FakeGitHub, seeded: dict[str, Any]) -> None:
    sha = seeded["head"]
    status, body, _ = await api("GET", "/commits/feature/status")
    assert status == 200 and (body["state"], body["total_count"], body["sha"]) == (
        "pending",
        0,
        sha,
    )

    fake_github.add_commit_status(REPO, sha, "ci/test", "pending")
    fake_github.add_commit_status(REPO, sha, "lint", "success")
    fake_github.add_commit_status(REPO, sha, "ci/test", "success", target_url="https://ci/1")
    status, body, _ = await api("GET", "/commits/feature/status")
    assert body["state"] == "success" and body["total_count"] == 2
    assert [(s["context"], s["state"]) for s in body["statuses"]] == [
        ("lint", "success"),
        ("ci/test", "success"),
    ]
    fake_github.add_commit_status(REPO, sha, "lint", "error")
    status, body, headers = await api("GET", "/commits/feature/status", params={"per_page": "1"})
    assert (
        body["state"] == "failure"
        and len(body["statuses"]) == 1
        and 'rel="next"' in headers["Link"]
    )

    # A deployment's required contexts count the statuses too.
    status, body, _ = await api("POST", "/deployments", json={"ref": "feature"})
    assert status == 409 and body["errors"][0]["contexts"] == [
        {"context": "ci/test", "state": "success"},
        {"context": "lint", "state": "error"},
    ]
    status, body, _ = await api(
        "POST", "/deployments", json={"ref": "feature", "required_contexts": ["ci/test"]}
    )
    assert status == 201, body
    assert not fake_github.take_violations()


async def test_commit_statuses_need_permission(
    fake_github: FakeGitHub, seeded: dict[str, Any]
) -> None:
    fake_github.add_installation(INSTALLATION, account="octo-org", permissions=without("statuses"))
    async with await client(fake_github) as http:
        api = Api(http, f"{fake_github.url}/repos/{REPO}")
        status, body, _ = await api("GET", f"/commits/{seeded['head']}/status")
    assert status == 403 and body["message"] == "Resource not accessible by integration"


async def test_statuses_and_auto_inactive(
    api: Api, fake_github: FakeGitHub, seeded: dict[str, Any]
) -> None:
    async def deploy(environment: str = "qa") -> int:
        status, body, _ = await api(
            "POST",
            "/deployments",
            json={"ref": "main", "environment": environment, "required_contexts": []},
        )
        assert status == 201, body
        return int(body["id"])

    first = await deploy()
    staging = await deploy("staging")
    status, created, headers = await api(
        "POST",
        f"/deployments/{first}/statuses",
        json={
            "state": "success",
            "log_url": "https://ci.example/run/1",
            "environment_url": "https://widgets.example",
            "description": "Deployed",
        },
    )
    assert status == 201, created
    assert created["state"] == "success" and created["target_url"] == "https://ci.example/run/1"
    assert created["log_url"] == "https://ci.example/run/1"
    assert created["environment_url"] == "https://widgets.example"
    assert created["creator"]["login"] == fake_github.app.bot.login
    assert created["environment"] == "qa"
    assert headers["Location"] == created["url"]
    await api("POST", f"/deployments/{staging}/statuses", json={"state": "success"})

    second = await deploy()
    for state in ("queued", "in_progress", "success"):
        status, _, _ = await api("POST", f"/deployments/{second}/statuses", json={"state": state})
        assert status == 201
    d1, d2 = fake_github.deployment(first), fake_github.deployment(second)
    assert [s.state for s in d1.statuses] == ["success", "inactive"]
    assert [s.state for s in d2.statuses] == ["queued", "in_progress", "success"]
    assert fake_github.deployment(staging).state == "success"  # another environment

    status, listed, _ = await api("GET", f"/deployments/{first}/statuses")
    assert status == 200 and [s["state"] for s in listed] == ["inactive", "success"]
    assert listed[1] == created

    # Production deployments (production_environment defaults to true there) are never
    # marked inactive by GitHub, nor are failed ones.
    live, failed = await deploy("production"), await deploy("production")
    await api("POST", f"/deployments/{live}/statuses", json={"state": "success"})
    await api("POST", f"/deployments/{failed}/statuses", json={"state": "failure"})
    await api(
        "POST", f"/deployments/{await deploy('production')}/statuses", json={"state": "success"}
    )
    assert fake_github.deployment(live).state == "success"
    assert fake_github.deployment(failed).state == "failure"

    third = await deploy()
    status, _, _ = await api(
        "POST", f"/deployments/{third}/statuses", json={"state": "success", "auto_inactive": False}
    )
    assert status == 201 and d2.state == "success"
    status, _, _ = await api("POST", f"/deployments/{third}/statuses", json={"state": "failure"})
    assert status == 201 and d2.state == "success"  # only success deactivates

    status, body, _ = await api(
        "POST",
        f"/deployments/{third}/statuses",
        json={"state": "success", "description": "x" * 141},
    )
    assert status == 422 and "140" in body["message"]
    [violation] = fake_github.take_violations()
    assert violation.kind == "semantic"
    status, _, _ = await api("POST", f"/deployments/{third}/statuses", json={"state": "done"})
    assert status == 422
    assert fake_github.take_violations()
    status, _, _ = await api("POST", "/deployments/999/statuses", json={"state": "success"})
    assert status == 404


async def test_deployments_need_permission(fake_github: FakeGitHub, seeded: dict[str, Any]) -> None:
    url = f"{fake_github.url}/repos/{REPO}"
    async with await client(fake_github, permissions=without("deployments")) as http:
        api = Api(http, url)
        status, body, headers = await api(
            "POST", "/deployments", json={"ref": "main", "required_contexts": []}
        )
        assert status == 403 and body["message"] == "Resource not accessible by integration"
        assert headers["x-accepted-github-permissions"] == "deployments=write"
        status, _, _ = await api("GET", "/deployments")
        assert status == 403
    deployment = fake_github.add_deployment(REPO, seeded["base"], ref="main")
    reader = {**without("deployments"), "deployments": "read"}
    async with await client(fake_github, permissions=reader) as http:
        api = Api(http, url)
        status, _, _ = await api("GET", f"/deployments/{deployment.id}/statuses")
        assert status == 200
        status, _, _ = await api(
            "POST", f"/deployments/{deployment.id}/statuses", json={"state": "success"}
        )
        assert status == 403


async def test_deployments_without_git(fake_github: FakeGitHub) -> None:
    fake_github.add_installation(INSTALLATION, account="octo-org", repositories=[REPO])
    sha = "6dcb09b5b57875f334f61aebed695e2e4193db5e"
    async with await client(fake_github) as http:
        api = Api(http, f"{fake_github.url}/repos/{REPO}")
        status, body, _ = await api("POST", "/deployments", json={"ref": sha})
        assert status == 201 and body["sha"] == sha
        status, body, _ = await api("POST", "/deployments", json={"ref": "main"})
        assert status == 201 and len(body["sha"]) == 40
        status, body, _ = await api("POST", "/deployments", json={"ref": "nope"})
        assert status == 422 and body["message"] == "No ref found for: nope"


async def test_report_deployment_and_payloads(
    api: Api,
    fake_github: FakeGitHub,
    seeded: dict[str, Any],
    webhook_examples: list[dict[str, Any]],
) -> None:
    status, created, _ = await api(
        "POST", "/deployments", json={"ref": "main", "required_contexts": []}
    )
    assert status == 201
    deployment_id = created["id"]
    fake_github.report_deployment(REPO, deployment_id, "in_progress")
    reported = fake_github.report_deployment(
        REPO, deployment_id, "failure", log_url="https://github.com/octo-org/widgets/actions/1"
    )
    assert reported.creator.login == "github-actions[bot]" and reported.creator.type == "Bot"
    assert reported.log_url.endswith("/actions/1")
    with pytest.raises(ValueError):
        fake_github.report_deployment(REPO, deployment_id, "done")

    status, listed, _ = await api("GET", f"/deployments/{deployment_id}/statuses")
    assert [s["state"] for s in listed] == ["failure", "in_progress"]
    assert listed[0]["creator"]["login"] == "github-actions[bot]"
    assert listed[0]["performed_via_github_app"] is None

    def real(event: str) -> dict[str, Any]:
        [group] = [g for g in webhook_examples if g["name"] == event]
        return next(e for e in group["examples"] if "installation" in e)

    payload = fake_github.payloads.deployment_status_payload(REPO, deployment_id, INSTALLATION)
    example = real("deployment_status")
    ignore = {"check_run", "workflow_run", "workflow"}
    assert not set(example) - set(payload) - ignore
    assert not set(example["deployment_status"]) - set(payload["deployment_status"])
    assert not set(example["deployment"]) - set(payload["deployment"])
    assert payload["action"] == "created"
    assert payload["deployment_status"]["state"] == "failure"
    assert payload["deployment_status"]["id"] == reported.id
    assert payload["deployment"]["id"] == deployment_id
    assert payload["installation"]["id"] == INSTALLATION
    assert payload["sender"]["login"] == "github-actions[bot]"
    assert payload["repository"]["full_name"] == REPO
    earlier = fake_github.payloads.deployment_status_payload(
        REPO, deployment_id, INSTALLATION, state="in_progress"
    )
    assert earlier["deployment_status"]["state"] == "in_progress"
    with pytest.raises(ValueError):
        fake_github.payloads.deployment_status_payload(
            REPO, deployment_id, INSTALLATION, state="success"
        )

    event = fake_github.payloads.deployment_payload(REPO, deployment_id, INSTALLATION)
    example = real("deployment")
    assert not set(example) - set(event)
    assert not set(example["deployment"]) - set(event["deployment"])
    assert event["action"] == "created" and event["deployment"]["sha"] == seeded["base"]
    assert event["sender"]["login"] == fake_github.app.bot.login
    with pytest.raises(KeyError):
        fake_github.payloads.deployment_payload(REPO, 12345, INSTALLATION)


# --------------------------------------------------------------------------- teams
async def test_team_membership(root: Api, fake_github: FakeGitHub) -> None:
    fake_github.add_team("octo-org", "deployers", members=["alice"], maintainers=["Bob"])
    fake_github.add_team("other-org", "deployers", members=["mallory"])
    base = "/orgs/octo-org/teams/deployers/memberships"
    status, body, _ = await root("GET", f"{base}/alice")
    assert status == 200, body
    assert (body["role"], body["state"]) == ("member", "active") and body["url"]
    status, body, _ = await root("GET", f"{base}/bob")
    assert status == 200 and body["role"] == "maintainer"
    for path in (
        f"{base}/carol",
        "/orgs/octo-org/teams/admins/memberships/alice",
        "/orgs/other-org/teams/deployers/memberships/mallory",  # not installed there
    ):
        status, _, _ = await root("GET", path)
        assert status == 404, path

    async with await client(fake_github, permissions=without("members")) as http:
        status, body, headers = await Api(http, fake_github.url)("GET", f"{base}/alice")
    assert status == 403 and headers["x-accepted-github-permissions"] == "members=read"


# -------------------------------------------------------------------------- issues
async def test_create_and_get_issue(api: Api, fake_github: FakeGitHub) -> None:
    fake_github.add_user("alice")
    fake_github.add_issue(REPO, 1, title="Existing")
    status, issue, headers = await api(
        "POST",
        "/issues",
        json={
            "title": "Rollback of production failed",
            "body": "Deployment 5 failed health checks.",
            "labels": ["deploy", {"name": "incident"}],
            "assignees": ["alice", "ghost"],
        },
    )
    assert status == 201, issue
    assert issue["number"] == 2 and issue["state"] == "open"
    assert [label["name"] for label in issue["labels"]] == ["deploy", "incident"]
    assert [a["login"] for a in issue["assignees"]] == ["alice"]
    assert issue["user"]["login"] == fake_github.app.bot.login
    assert issue["body"] == "Deployment 5 failed health checks."
    assert headers["Location"] == issue["url"]

    status, got, _ = await api("GET", "/issues/2")
    assert status == 200 and got == issue
    status, _, _ = await api("GET", "/issues/99")
    assert status == 404
    [existing, created] = fake_github.issues_in(REPO)
    assert existing.title == "Existing"
    assert (created.number, created.labels, created.body) == (
        2,
        ["deploy", "incident"],
        "Deployment 5 failed health checks.",
    )
    assert fake_github.issue(REPO, 2) is created


# ----------------------------------------------------------------------- reactions
async def test_list_comment_reactions(api: Api, fake_github: FakeGitHub) -> None:
    comment = fake_github.add_issue_comment(REPO, 3, "/deploy production", user="alice")
    thumbs = fake_github.add_reaction(comment.id, "alice", "+1")
    assert fake_github.add_reaction(comment.id, "alice", "+1") is thumbs
    fake_github.add_reaction(comment.id, "bob", "+1")
    fake_github.add_reaction(comment.id, "bob", "eyes")
    url = f"/issues/comments/{comment.id}/reactions"
    status, listed, _ = await api("GET", url)
    assert status == 200 and [(r["user"]["login"], r["content"]) for r in listed] == [
        ("alice", "+1"),
        ("bob", "+1"),
        ("bob", "eyes"),
    ]
    status, listed, _ = await api("GET", url, params={"content": "+1", "per_page": 1})
    assert [r["id"] for r in listed] == [thumbs.id]
    status, listed, headers = await api("GET", url, params={"content": "+1", "per_page": 1})
    assert 'rel="next"' in headers["Link"]
    status, _, _ = await api("GET", "/issues/comments/999/reactions")
    assert status == 404
