"""The blobless git cache against a real smart-HTTP git server with token auth."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from app.git.mirror import (
    BranchMoved,
    GitError,
    Identity,
    RepositoryMirror,
    added_lines,
    mirror_for,
)
from tests.fakes.git import GitServer
from tests.fakes.github import FakeGitHub

BOT = Identity("deckhand-test[bot]", "7+deckhand-test[bot]@users.noreply.github.com")
WRITE = {"contents": "write", "metadata": "read"}


@pytest.fixture
def repo(fake_github: FakeGitHub, git_server: GitServer) -> tuple[str, str]:
    fake_github.add_installation(1001, account="octo-org", permissions=WRITE)
    files = {f"pkg/mod{i}.py": f"VALUE = {i}\n" * 50 for i in range(40)}
    head = git_server.create_repo("octo-org/widgets", files, installation_id=1001)
    return git_server.clone_url("octo-org/widgets"), head


def token(fake_github: FakeGitHub, **permissions: str) -> str:
    return fake_github.issue_token(1001, permissions=permissions or None).token


async def test_reads_only_the_blobs_asked_for(
    tmp_path: Path, fake_github: FakeGitHub, git_server: GitServer, repo: tuple[str, str]
) -> None:
    url, base = repo
    head = git_server.commit(
        "octo-org/widgets", "feature", {"pkg/mod3.py": "VALUE = 'changed'\n"}, message="change"
    )
    mirror = RepositoryMirror(tmp_path / "m.git")
    secret = token(fake_github)
    await asyncio.to_thread(mirror.fetch, url, secret, [head, base])
    fetched = sum(r.bytes_sent for r in git_server.requests)
    assert [c.path for c in mirror.changes(base, head)] == ["pkg/mod3.py"]
    assert len(mirror.paths(head)) == 40
    contents = await asyncio.to_thread(mirror.read, url, secret, head, ["pkg/mod3.py"])
    assert contents == {"pkg/mod3.py": b"VALUE = 'changed'\n"}
    patches = await asyncio.to_thread(mirror.patches, secret, base, head, ["pkg/mod3.py"])
    assert list(patches) == ["pkg/mod3.py"]
    assert patches["pkg/mod3.py"].startswith("@@ -1,50 +1 @@\n-VALUE = 3\n")
    assert added_lines(patches["pkg/mod3.py"]) == {1}
    # Trees and commits first, then one blob: far less than the 40 files' contents.
    assert fetched < 40 * 50 * 10
    assert not (tmp_path / "m.git" / "config").read_text().count(secret)


async def test_commit_and_push_as_the_bot(
    tmp_path: Path, fake_github: FakeGitHub, git_server: GitServer, repo: tuple[str, str]
) -> None:
    url, head = repo
    mirror = RepositoryMirror(tmp_path / "m.git")
    secret = token(fake_github)
    await asyncio.to_thread(mirror.fetch, url, secret, [head])
    sha = mirror.commit(head, {"pkg/mod1.py": b"VALUE = 1\n", "new.py": b"x = 1\n"}, "Fix\n", BOT)
    await asyncio.to_thread(mirror.push, url, secret, sha, "main", head)
    assert git_server.head("octo-org/widgets", "main") == sha
    [info] = git_server.log("octo-org/widgets", "main", 1)
    assert (info.author_name, info.author_email) == (BOT.name, BOT.email)
    assert git_server.show("octo-org/widgets", sha, "pkg/mod2.py") == b"VALUE = 2\n" * 50
    assert git_server.show("octo-org/widgets", sha, "new.py") == b"x = 1\n"


async def test_a_branch_that_moved_is_not_pushed_over(
    tmp_path: Path, fake_github: FakeGitHub, git_server: GitServer, repo: tuple[str, str]
) -> None:
    url, head = repo
    mirror = RepositoryMirror(tmp_path / "m.git")
    secret = token(fake_github)
    await asyncio.to_thread(mirror.fetch, url, secret, [head])
    sha = mirror.commit(head, {"a.py": b"a = 1\n"}, "Fix\n", BOT)
    moved = git_server.commit("octo-org/widgets", "main", {"b.py": "b = 2\n"}, message="human")
    with pytest.raises(BranchMoved):
        await asyncio.to_thread(mirror.push, url, secret, sha, "main", head)
    assert git_server.head("octo-org/widgets", "main") == moved


async def test_refused_tokens_give_an_error_without_the_token(
    tmp_path: Path, fake_github: FakeGitHub, git_server: GitServer, repo: tuple[str, str]
) -> None:
    url, head = repo
    mirror = RepositoryMirror(tmp_path / "m.git")
    with pytest.raises(GitError) as refused:
        await asyncio.to_thread(mirror.fetch, url, "ghs_not_a_real_token", [head])
    assert "ghs_not_a_real_token" not in str(refused.value)
    read_only = token(fake_github, contents="read", metadata="read")
    await asyncio.to_thread(mirror.fetch, url, read_only, [head])
    sha = mirror.commit(head, {"a.py": b"a = 1\n"}, "Fix\n", BOT)
    with pytest.raises(GitError) as denied:
        await asyncio.to_thread(mirror.push, url, read_only, sha, "main", head)
    assert read_only not in str(denied.value)
    assert git_server.head("octo-org/widgets", "main") == head


def test_bad_names_are_refused(tmp_path: Path) -> None:
    with pytest.raises(GitError):
        mirror_for(tmp_path, "../etc")
    mirror = mirror_for(tmp_path, "Octo/Widgets")
    assert mirror is mirror_for(tmp_path, "octo/widgets")
    with pytest.raises(GitError):
        mirror.push("http://127.0.0.1:9/x.git", None, "a" * 40, "bad name", "b" * 40)
    with pytest.raises(GitError):
        mirror.fetch("http://user:pw@127.0.0.1:9/x.git", None, ["a" * 40])


async def test_a_second_fetch_sends_only_what_is_new(
    tmp_path: Path, fake_github: FakeGitHub, git_server: GitServer, repo: tuple[str, str]
) -> None:
    """The mirror names what it fetched, so git can tell the server what it has."""
    files = {f"d{i % 20}/module_with_a_long_name_{i}.py": f"V = {i}\n" for i in range(300)}
    head = git_server.create_repo("octo-org/big", files, installation_id=1001)
    url = git_server.clone_url("octo-org/big")
    mirror = RepositoryMirror(tmp_path / "m.git")
    secret = token(fake_github)
    mark = len(git_server.requests)
    await asyncio.to_thread(mirror.fetch, url, secret, [head])
    first = sum(r.bytes_sent for r in git_server.requests[mark:])
    newer = git_server.commit("octo-org/big", "main", {"d3/x.py": "X = 5\n"}, message="m")
    mark = len(git_server.requests)
    await asyncio.to_thread(mirror.fetch, url, secret, [newer])
    second = sum(r.bytes_sent for r in git_server.requests[mark:])
    assert second < first / 3, (first, second)


def test_added_lines_follow_the_hunks() -> None:
    patch = "@@ -1,3 +1,4 @@\n a\n-b\n+B\n+C\n c\n@@ -10,2 +11,2 @@\n x\n+y\n"
    assert added_lines(patch) == {2, 3, 12}
