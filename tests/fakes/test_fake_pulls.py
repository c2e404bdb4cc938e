"""Tests for the fake GitHub's git-backed pull request, review, check run and commit APIs."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from tests.fakes.git import GitServer
from tests.fakes.github import FakeGitHub

REPO = "octo-org/widgets"
INSTALLATION = 1001
BASE_PY = "".join(f"line{i} = {i}\n" for i in range(1, 21))


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
    base = git_server.create_repo(
        REPO, {"app.py": BASE_PY, "README.md": "hi\n"}, installation_id=INSTALLATION
    )
    changed = BASE_PY.replace("line5 = 5\n", "line5 = 50\n").replace("line18 = 18\n", "")
    head = git_server.commit(
        REPO, "feature", {"app.py": changed, "new.txt": "new\n"}, message="Change app"
    )
    number = fake_github.open_pull_request(REPO, "feature", "main", title="Feature")
    return {"base": base, "head": head, "number": number}


@pytest.fixture
async def api(fake_github: FakeGitHub, seeded: dict[str, Any]) -> AsyncIterator[Api]:
    token = fake_github.issue_token(INSTALLATION).token
    headers = {"Authorization": f"token {token}", "User-Agent": "deckhand-tests"}
    async with aiohttp.ClientSession(headers=headers) as http:
        yield Api(http, f"{fake_github.url}/repos/{REPO}")


async def test_get_and_list_pulls(
    api: Api, fake_github: FakeGitHub, git_server: GitServer, seeded: dict[str, Any]
) -> None:
    n = seeded["number"]
    status, pr, _ = await api("GET", f"/pulls/{n}")
    assert status == 200, pr
    assert pr["head"]["sha"] == seeded["head"] and pr["base"]["sha"] == seeded["base"]
    assert pr["head"]["repo"]["clone_url"] == f"{git_server.url}/{REPO}.git"
    assert (pr["changed_files"], pr["additions"], pr["deletions"], pr["commits"]) == (2, 2, 2, 1)
    assert pr["maintainer_can_modify"] is False and pr["draft"] is False

    newer = git_server.commit(REPO, "feature", {"x.txt": "x\n"}, message="more")
    _, pr, _ = await api("GET", f"/pulls/{n}")
    assert pr["head"]["sha"] == newer
    assert git_server.bare(REPO).resolve(f"refs/pull/{n}/head") == newer

    for query, expected in [
        ({}, [n]),
        ({"head": "octo-org:feature"}, [n]),
        ({"head": "someone:feature"}, []),
        ({"base": "other"}, []),
        ({"state": "closed"}, []),
    ]:
        status, pulls, _ = await api("GET", "/pulls", params=query)
        assert status == 200 and [p["number"] for p in pulls] == expected, query
    status, pulls, _ = await api("GET", f"/commits/{seeded['head']}/pulls")
    assert [p["number"] for p in pulls] == [n]
    status, pulls, _ = await api("GET", f"/commits/{seeded['base']}/pulls")
    assert pulls == []

    fake_github.close_pull_request(REPO, n)
    _, pulls, _ = await api("GET", "/pulls", params={"state": "closed"})
    assert [p["state"] for p in pulls] == ["closed"]
    status, _, _ = await api("GET", "/pulls/999")
    assert status == 404


async def test_pull_pagination(api: Api, fake_github: FakeGitHub, git_server: GitServer) -> None:
    for i in range(3):
        git_server.commit(REPO, f"b{i}", {f"f{i}": "x"}, message="m")
        fake_github.open_pull_request(REPO, f"b{i}", "main")
    status, page, headers = await api("GET", "/pulls", params={"per_page": 2})
    assert status == 200 and len(page) == 2 and 'rel="next"' in headers["Link"]
    _, page2, _ = await api("GET", "/pulls", params={"per_page": 2, "page": 2})
    assert len(page) + len(page2) == 4


async def test_fork_pull_request(
    api: Api, fake_github: FakeGitHub, git_server: GitServer, seeded: dict[str, Any]
) -> None:
    fork = git_server.fork(REPO, "mallory")
    sha = git_server.commit(fork, "patch-1", {"README.md": "pwn\n"}, message="fork change")
    n = fake_github.open_pull_request(
        REPO, "patch-1", head_repo=fork, user="mallory", maintainer_can_modify=True
    )
    _, pr, _ = await api("GET", f"/pulls/{n}")
    assert pr["head"]["repo"]["full_name"] == fork and pr["head"]["repo"]["fork"] is True
    assert pr["head"]["repo"]["clone_url"] == f"{git_server.url}/{fork}.git"
    assert pr["head"]["label"] == "mallory:patch-1" and pr["head"]["sha"] == sha
    assert pr["maintainer_can_modify"] is True
    _, files, _ = await api("GET", f"/pulls/{n}/files")
    assert [f["filename"] for f in files] == ["README.md"]
    _, pulls, _ = await api("GET", "/pulls", params={"head": "mallory:patch-1"})
    assert [p["number"] for p in pulls] == [n]


async def test_pull_files(api: Api, seeded: dict[str, Any]) -> None:
    _, files, _ = await api("GET", f"/pulls/{seeded['number']}/files")
    by_name = {f["filename"]: f for f in files}
    assert by_name["new.txt"]["status"] == "added"
    app = by_name["app.py"]
    assert (app["status"], app["additions"], app["deletions"]) == ("modified", 1, 2)
    assert app["patch"].startswith("@@ -2,7 +2,7 @@")
    assert "+line5 = 50" in app["patch"]


async def test_review_with_suggestions(
    api: Api, fake_github: FakeGitHub, seeded: dict[str, Any]
) -> None:
    n = seeded["number"]
    comments = [
        {"path": "app.py", "line": 5, "side": "RIGHT", "body": "```suggestion\nline5 = 5\n```"},
        {"path": "app.py", "start_line": 3, "line": 6, "body": "range"},
        {"path": "app.py", "line": 18, "side": "LEFT", "body": "deleted line"},
    ]
    status, review, _ = await api(
        "POST",
        f"/pulls/{n}/reviews",
        json={"event": "REQUEST_CHANGES", "body": "Please fix", "comments": comments},
    )
    assert status == 200, review
    assert review["state"] == "CHANGES_REQUESTED" and review["commit_id"] == seeded["head"]
    _, reviews, _ = await api("GET", f"/pulls/{n}/reviews")
    assert [r["id"] for r in reviews] == [review["id"]]
    _, listed, _ = await api("GET", f"/pulls/{n}/comments")
    assert [(c["line"], c["side"], c["start_line"]) for c in listed] == [
        (5, "RIGHT", None),
        (6, "RIGHT", 3),
        (18, "LEFT", None),
    ]
    assert listed[0]["diff_hunk"].endswith("+line5 = 50")
    pr = fake_github.pull_request(REPO, n)
    assert pr.review_comments[0].body.startswith("```suggestion")


@pytest.mark.parametrize(
    "comment",
    [
        {"path": "app.py", "line": 11, "body": "outside the diff"},
        {"path": "app.py", "line": 20, "side": "RIGHT", "body": "only on the left"},
        {"path": "README.md", "line": 1, "body": "not in the PR"},
        {"path": "app.py", "start_line": 1, "line": 5, "body": "start outside the hunk"},
    ],
)
async def test_review_line_must_be_in_diff(
    api: Api, fake_github: FakeGitHub, seeded: dict[str, Any], comment: dict[str, Any]
) -> None:
    status, body, _ = await api(
        "POST",
        f"/pulls/{seeded['number']}/reviews",
        json={"event": "COMMENT", "body": "x", "comments": [comment]},
    )
    assert status == 422 and body["message"] == "Validation Failed", body
    if comment["path"] == "app.py" and "start_line" not in comment:
        assert body["errors"][0]["message"] == (
            "Pull request review thread line must be part of the diff"
        )
    assert fake_github.take_violations()
    assert fake_github.pull_request(REPO, seeded["number"]).reviews == []


async def test_check_runs_annotations_and_limits(
    api: Api, fake_github: FakeGitHub, seeded: dict[str, Any]
) -> None:
    head = seeded["head"]

    def annotations(k: int, start: int = 0) -> list[dict[str, Any]]:
        return [
            {
                "path": "app.py",
                "start_line": i + 1,
                "end_line": i + 1,
                "annotation_level": "warning",
                "message": f"m{i}",
            }
            for i in range(start, start + k)
        ]

    output = {"title": "t", "summary": "s"}
    status, body, _ = await api(
        "POST",
        "/check-runs",
        json={
            "name": "deckhand",
            "head_sha": head,
            "output": {**output, "annotations": annotations(51)},
        },
    )
    assert status == 422, body
    assert fake_github.take_violations()
    actions = [{"label": "Fix", "description": "Apply fixes", "identifier": "fix"}]
    status, run, _ = await api(
        "POST",
        "/check-runs",
        json={
            "name": "deckhand",
            "head_sha": head,
            "output": {**output, "annotations": annotations(50)},
            "actions": actions,
        },
    )
    assert status == 201, run
    assert run["pull_requests"][0]["number"] == seeded["number"]
    status, run, _ = await api(
        "PATCH",
        f"/check-runs/{run['id']}",
        json={"output": {**output, "annotations": annotations(5, 50)}},
    )
    assert status == 200 and run["output"]["annotations_count"] == 55
    assert fake_github.check_runs[run["id"]].actions == actions
    status, page, _headers = await api(
        "GET", f"/check-runs/{run['id']}/annotations", params={"per_page": 50, "page": 2}
    )
    assert status == 200 and [a["message"] for a in page] == [f"m{i}" for i in range(50, 55)]
    status, _too_many, _ = await api(
        "PATCH",
        f"/check-runs/{run['id']}",
        json={"actions": [{"label": "x" * 21, "description": "d", "identifier": "i"}]},
    )
    assert status == 422
    assert fake_github.take_violations()

    status, got, _ = await api("GET", f"/check-runs/{run['id']}")
    assert status == 200 and got["id"] == run["id"]
    await api("POST", "/check-runs", json={"name": "other", "head_sha": head})
    await api("POST", "/check-runs", json={"name": "deckhand", "head_sha": head})
    for ref in (head, "feature"):
        status, listed, _ = await api("GET", f"/commits/{ref}/check-runs")
        assert status == 200 and listed["total_count"] == 2
    _, listed, _ = await api("GET", f"/commits/{head}/check-runs", params={"filter": "all"})
    assert listed["total_count"] == 3
    _, listed, _ = await api("GET", f"/commits/{head}/check-runs", params={"check_name": "other"})
    assert [r["name"] for r in listed["check_runs"]] == ["other"]


async def test_get_commit(api: Api, seeded: dict[str, Any]) -> None:
    status, commit, _ = await api("GET", "/commits/feature")
    assert status == 200, commit
    assert commit["sha"] == seeded["head"]
    assert commit["commit"]["message"] == "Change app"
    assert commit["commit"]["author"]["email"] == "alice@example.com"
    assert [p["sha"] for p in commit["parents"]] == [seeded["base"]]
    assert {f["filename"] for f in commit["files"]} == {"app.py", "new.txt"}
    status, root, _ = await api("GET", f"/commits/{seeded['base']}")
    assert status == 200 and root["parents"] == []
    status, _, _ = await api("GET", "/commits/nope")
    assert status == 422


# ---------------------------------------------------------------- webhook payloads
def example(webhook_examples: list[dict[str, Any]], event: str, action: str | None) -> Any:
    [group] = [g for g in webhook_examples if g["name"] == event]
    return next(
        e
        for e in group["examples"]
        if e.get("action") == action and "installation" in e and e.get("head_commit", 1)
    )


def missing(real: dict[str, Any], ours: dict[str, Any], *, ignore: set[str] = set()) -> set[str]:
    return set(real) - set(ours) - ignore


async def test_pull_request_payload(
    fake_github: FakeGitHub,
    git_server: GitServer,
    seeded: dict[str, Any],
    webhook_examples: list[dict[str, Any]],
) -> None:
    fork = git_server.fork(REPO, "mallory")
    git_server.commit(fork, "patch", {"a": "b"}, message="m")
    n = fake_github.open_pull_request(
        REPO, "patch", head_repo=fork, user="mallory", maintainer_can_modify=True, draft=True
    )
    payload = fake_github.payloads.pull_request_payload(REPO, n, "opened", INSTALLATION)
    real = example(webhook_examples, "pull_request", "closed")
    assert not missing(real, payload)
    assert not missing(real["pull_request"], payload["pull_request"])
    assert not missing(real["repository"], payload["repository"], ignore={"custom_properties"})
    pr = payload["pull_request"]
    assert payload["installation"]["id"] == INSTALLATION
    assert payload["repository"]["clone_url"] == git_server.clone_url(REPO)
    assert pr["head"]["repo"]["clone_url"] == git_server.clone_url(fork)
    assert (pr["maintainer_can_modify"], pr["draft"]) == (True, True)
    assert payload["sender"]["login"] == "mallory"
    sync = fake_github.payloads.pull_request_payload(
        REPO, seeded["number"], "synchronize", INSTALLATION, before=seeded["base"]
    )
    assert sync["after"] == seeded["head"] == sync["pull_request"]["head"]["sha"]


async def test_push_payload(
    fake_github: FakeGitHub,
    git_server: GitServer,
    seeded: dict[str, Any],
    webhook_examples: list[dict[str, Any]],
) -> None:
    second = git_server.commit(
        REPO, "feature", {"new.txt": None, "b.txt": "b\n"}, message="Second\n\nbody"
    )
    payload = fake_github.payloads.push_payload(
        REPO, "refs/heads/feature", seeded["head"], second, INSTALLATION
    )
    real = example(webhook_examples, "push", None)
    assert not missing(real, payload)
    assert not missing(real["head_commit"], payload["head_commit"])
    assert [c["id"] for c in payload["commits"]] == [second]
    head = payload["head_commit"]
    assert head["message"] == "Second\n\nbody"
    assert (head["added"], head["removed"]) == (["b.txt"], ["new.txt"])
    assert head["author"]["email"] == "alice@example.com"
    assert payload["repository"]["clone_url"] == git_server.clone_url(REPO)
    assert payload["forced"] is False and payload["created"] is False
    created = fake_github.payloads.push_payload(REPO, "feature", None, second, INSTALLATION)
    assert [c["id"] for c in created["commits"]] == [seeded["head"], second]


async def test_check_payloads(
    fake_github: FakeGitHub, seeded: dict[str, Any], webhook_examples: list[dict[str, Any]]
) -> None:
    run = fake_github.add_check_run(REPO, "deckhand", seeded["head"], conclusion="failure")
    run.actions = [{"label": "Fix", "description": "Apply fixes", "identifier": "fix"}]
    payload = fake_github.payloads.check_run_payload(
        run.id, "requested_action", INSTALLATION, identifier="fix"
    )
    real = example(webhook_examples, "check_run", "requested_action")
    assert not missing(real, payload)
    assert not missing(real["check_run"], payload["check_run"])
    assert payload["requested_action"] == {"identifier": "fix"}
    assert payload["check_run"]["pull_requests"][0]["number"] == seeded["number"]
    with pytest.raises(ValueError, match="no action"):
        fake_github.payloads.check_run_payload(
            run.id, "requested_action", INSTALLATION, identifier="nope"
        )
    suite = fake_github.payloads.check_suite_payload(
        REPO, seeded["head"], "requested", INSTALLATION
    )
    real = example(webhook_examples, "check_suite", "requested")
    assert not missing(real, suite)
    assert not missing(
        real["check_suite"], suite["check_suite"], ignore={"rerequestable", "runs_rerequestable"}
    )
    cs = suite["check_suite"]
    assert (cs["id"], cs["head_branch"], cs["conclusion"]) == (
        run.check_suite_id,
        "feature",
        "failure",
    )
    assert cs["head_commit"]["message"] == "Change app"
