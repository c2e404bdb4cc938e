"""Tests for the smart-HTTP git server (real git clients against ``git http-backend``)."""

from __future__ import annotations

import asyncio
import base64
import json
import os
from pathlib import Path

import aiohttp
import pytest

from tests.fakes.git import GitServer
from tests.fakes.git.repo import ZERO_SHA, git_env
from tests.fakes.github import FakeGitHub

REPO = "octo-org/widgets"
INSTALLATION = 1001
WRITE = {"contents": "write", "metadata": "read", "pull_requests": "write", "checks": "write"}


async def git(*args: str, cwd: Path | None = None) -> tuple[int, str]:
    """Run a git client command without blocking the loop the servers run on."""
    proc = await asyncio.create_subprocess_exec(
        "git",
        "-c",
        "user.name=Bot",
        "-c",
        "user.email=bot@example.com",
        "-c",
        "protocol.version=2",
        *args,
        cwd=cwd,
        env=git_env(),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await proc.communicate()
    return proc.returncode or 0, out.decode(errors="replace")


@pytest.fixture
def seeded(fake_github: FakeGitHub, git_server: GitServer) -> str:
    fake_github.add_installation(INSTALLATION, account="octo-org", repositories=[])
    return git_server.create_repo(
        REPO,
        {
            "README.md": "# widgets\n",
            ".github/deckhand.yml": "enabled: true\n",
            "blob.bin": os.urandom(300_000),
        },
        installation_id=INSTALLATION,
    )


async def test_clone_with_token_and_partial_clone(
    fake_github: FakeGitHub, git_server: GitServer, seeded: str, tmp_path: Path
) -> None:
    token = fake_github.issue_token(INSTALLATION).token
    url = git_server.authenticated_url(REPO, token)
    code, out = await git("clone", "--quiet", url, str(tmp_path / "full"))
    assert code == 0, out
    assert (tmp_path / "full" / "README.md").read_text() == "# widgets\n"
    full_bytes = sum(r.bytes_sent for r in git_server.requests if r.status == 200)
    assert all(r.user == "x-access-token" for r in git_server.requests if r.status == 200)
    assert git_server.requests[0].status == 401  # git asks anonymously first

    git_server.requests.clear()
    code, out = await git(
        "clone", "--quiet", "--filter=blob:none", "--no-checkout", url, str(tmp_path / "lazy")
    )
    assert code == 0, out
    lazy_bytes = sum(r.bytes_sent for r in git_server.requests)
    assert full_bytes > 300_000
    assert lazy_bytes < 10_000
    # On-demand blob fetch of one file.
    git_server.requests.clear()
    code, out = await git("show", "HEAD:README.md", cwd=tmp_path / "lazy")
    assert code == 0 and out == "# widgets\n", out
    assert [r.service for r in git_server.requests if r.status == 200] == [
        "upload-pack",
        "upload-pack",
    ]
    assert sum(r.bytes_sent for r in git_server.requests) < 10_000


@pytest.mark.parametrize("case", ["none", "wrong-user", "unknown", "revoked", "expired"])
async def test_fetch_refused(
    fake_github: FakeGitHub, git_server: GitServer, seeded: str, tmp_path: Path, case: str
) -> None:
    token = fake_github.issue_token(INSTALLATION).token
    url = {
        "none": git_server.clone_url(REPO),
        "wrong-user": git_server.authenticated_url(REPO, token).replace("x-access-token", "al"),
        "unknown": git_server.authenticated_url(REPO, "ghs_" + "x" * 36),
        "revoked": git_server.authenticated_url(REPO, token),
        "expired": git_server.authenticated_url(REPO, token),
    }[case]
    if case == "revoked":
        fake_github.revoke_tokens()
    if case == "expired":
        fake_github.expire_tokens()
    code, _out = await git("clone", "--quiet", url, str(tmp_path / "c"))
    assert code != 0
    assert {r.status for r in git_server.requests} == {401}
    assert git_server.requests[-1].service == "upload-pack"


async def test_raw_401_has_realm(git_server: GitServer, seeded: str) -> None:
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"{git_server.clone_url(REPO)}/info/refs?service=git-upload-pack") as resp,
    ):
        assert resp.status == 401
        assert resp.headers["WWW-Authenticate"] == 'Basic realm="GitHub"'


async def test_token_for_other_repo_or_without_contents(
    fake_github: FakeGitHub, git_server: GitServer, seeded: str, tmp_path: Path
) -> None:
    git_server.create_repo("octo-org/other", {"a": "b"}, installation_id=INSTALLATION)
    other = fake_github.repo("octo-org/other")
    assert other is not None
    only_other = fake_github.issue_token(INSTALLATION, repository_ids={other.id}).token
    code, _ = await git(
        "clone", git_server.authenticated_url(REPO, only_other), str(tmp_path / "a")
    )
    assert code != 0 and git_server.requests[-1].status == 404
    no_contents = fake_github.issue_token(INSTALLATION, permissions={"metadata": "read"}).token
    code, _ = await git(
        "clone", git_server.authenticated_url(REPO, no_contents), str(tmp_path / "b")
    )
    assert code != 0 and git_server.requests[-1].status == 403


async def test_push_needs_write_and_is_recorded(
    fake_github: FakeGitHub, git_server: GitServer, seeded: str, tmp_path: Path
) -> None:
    reader = fake_github.issue_token(INSTALLATION).token  # contents: read by default
    work = tmp_path / "w"
    code, out = await git("clone", "--quiet", git_server.authenticated_url(REPO, reader), str(work))
    assert code == 0, out
    (work / "fix.py").write_text("x = 1\n")
    await git("add", "fix.py", cwd=work)
    await git("commit", "--quiet", "-m", "Fix things", cwd=work)
    code, out = await git("push", "origin", "HEAD:refs/heads/fix", cwd=work)
    assert code != 0 and "403" in out
    assert git_server.requests[-1].service == "receive-pack"
    assert git_server.requests[-1].status == 403
    assert git_server.pushes == []

    fake_github.installations[INSTALLATION].permissions["contents"] = "write"
    writer = fake_github.issue_token(INSTALLATION).token
    await git("remote", "set-url", "origin", git_server.authenticated_url(REPO, writer), cwd=work)
    code, out = await git("push", "origin", "HEAD:refs/heads/fix", cwd=work)
    assert code == 0, out
    [push] = git_server.pushes
    assert (push.repo, push.ref, push.old) == (REPO, "refs/heads/fix", ZERO_SHA)
    assert push.new == git_server.head(REPO, "fix")
    assert push.installation_id == INSTALLATION
    assert git_server.show(REPO, "fix", "fix.py") == b"x = 1\n"
    [info] = git_server.log(REPO, "fix", n=1)
    assert (info.message, info.author_name, info.parents) == ("Fix things", "Bot", [seeded])
    assert git_server.branches(REPO) == ["fix", "main"]

    # Every ref move is in the repository's activity, newest first.
    headers = {"Authorization": f"token {writer}", "User-Agent": "deckhand-tests"}
    async with aiohttp.ClientSession(headers=headers) as http:
        url = f"{fake_github.url}/repos/{REPO}/activity"
        async with http.get(url) as response:
            everything = await response.json()
        async with http.get(url, params={"ref": "fix", "direction": "asc"}) as response:
            [pushed] = await response.json()
    assert [(a["ref"], a["activity_type"]) for a in everything] == [
        ("refs/heads/fix", "branch_creation"),
        ("refs/heads/main", "branch_creation"),
    ]
    assert (pushed["before"], pushed["after"]) == (ZERO_SHA, push.new)
    assert pushed["actor"]["login"] == fake_github.app.bot.login
    later = git_server.commit(
        REPO, "fix", {"fix.py": "x = 2\n"}, message="More", date=1_000_000_000
    )
    [moved, _] = [a for a in fake_github.activities if a.ref == "refs/heads/fix"][::-1]
    assert (moved.before, moved.after, moved.activity_type) == (push.new, later, "push")
    assert moved.timestamp > 1_000_000_000  # the branch moved now, whatever the commit's date
    assert fake_github.problems() == []


async def test_non_fast_forward_push_rejected(
    fake_github: FakeGitHub, git_server: GitServer, seeded: str, tmp_path: Path
) -> None:
    fake_github.installations[INSTALLATION].permissions["contents"] = "write"
    token = fake_github.issue_token(INSTALLATION).token
    work = tmp_path / "w"
    await git("clone", "--quiet", git_server.authenticated_url(REPO, token), str(work))
    moved = git_server.commit(REPO, "main", {"README.md": "moved\n"}, message="upstream")
    (work / "mine.txt").write_text("mine\n")
    await git("add", "mine.txt", cwd=work)
    await git("commit", "--quiet", "-m", "mine", cwd=work)
    code, out = await git("push", "origin", "HEAD:main", cwd=work)
    assert code != 0 and "rejected" in out
    code, out = await git("push", "--force", "origin", "HEAD:main", cwd=work)
    assert code != 0 and "non-fast-forward" in out
    assert git_server.head(REPO, "main") == moved
    assert git_server.pushes == []


async def test_seeding_helpers_and_contents_api(
    fake_github: FakeGitHub, git_server: GitServer, seeded: str
) -> None:
    second = git_server.commit(
        REPO,
        "feature",
        {"README.md": None, "src/a.py": "a = 1\n"},
        message="feature work",
        author=("Bob", "bob@example.com"),
    )
    assert git_server.head(REPO, "feature") == second
    [info, first] = git_server.log(REPO, "feature")
    assert (info.author_email, info.parents, first.sha) == ("bob@example.com", [seeded], seeded)
    from_parent = git_server.commit(REPO, "other", {"x": b"\0"}, message="m", parent=second)
    assert git_server.log(REPO, from_parent, 1)[0].parents == [second]
    fork = git_server.fork(REPO, "mallory")
    assert fork == "mallory/widgets"
    assert git_server.head(fork, "feature") == second
    forked = fake_github.repo(fork)
    assert forked is not None and forked.parent is fake_github.repo(REPO)

    token = fake_github.issue_token(INSTALLATION).token
    headers = {"Authorization": f"token {token}", "User-Agent": "t"}
    api = f"{fake_github.url}/repos/{REPO}"
    async with aiohttp.ClientSession(headers=headers) as http:
        async with http.get(api) as resp:
            assert (await resp.json())["clone_url"] == f"{git_server.url}/{REPO}.git"
        async with http.get(f"{api}/contents/.github/deckhand.yml") as resp:
            body = await resp.json()
            assert base64.b64decode(body["content"]) == b"enabled: true\n"
        async with http.get(f"{api}/contents/README.md", params={"ref": "feature"}) as resp:
            assert resp.status == 404
        async with http.get(f"{api}/contents/src", params={"ref": second}) as resp:
            assert [e["path"] for e in await resp.json()] == ["src/a.py"]
        async with http.get(f"{api}/contents/", params={"ref": "nope"}) as resp:
            assert resp.status == 404
            assert "No commit found" in json.dumps(await resp.json())


async def test_readme_flow_clone_from_payload_and_push_fix(
    fake_github: FakeGitHub, git_server: GitServer, tmp_path: Path
) -> None:
    gh, server = fake_github, git_server
    gh.add_installation(
        INSTALLATION,
        account="octo-org",
        repositories=[],
        permissions={**gh.app.permissions, "contents": "write"},
    )
    server.create_repo(REPO, {"app.py": "x = 1\n"}, installation_id=INSTALLATION)
    head = server.commit(REPO, "feature", {"app.py": "x=1\n"}, message="add app")
    number = gh.open_pull_request(REPO, "feature", "main", user="alice")
    payload = gh.payloads.pull_request_payload(REPO, number, "opened", INSTALLATION)
    token = gh.issue_token(INSTALLATION).token
    url = payload["pull_request"]["head"]["repo"]["clone_url"].replace(
        "http://", f"http://x-access-token:{token}@"
    )
    work = tmp_path / "w"
    code, out = await git("clone", "--quiet", "--filter=blob:none", "-b", "feature", url, str(work))
    assert code == 0, out
    (work / "app.py").write_text("x = 1\n")
    await git("commit", "--quiet", "-am", "deckhand: fix", cwd=work)
    code, out = await git("push", "origin", "HEAD:feature", cwd=work)
    assert code == 0, out
    [push] = server.pushes
    assert (push.ref, push.old) == ("refs/heads/feature", head)
    assert server.log(REPO, push.new, n=1)[0].parents == [head]
    assert (
        gh.payloads.pull_request_payload(REPO, number, "synchronize", INSTALLATION)["pull_request"][
            "head"
        ]["sha"]
        == push.new
    )
