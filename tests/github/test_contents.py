"""read_text on the fake GitHub: a file's text at a ref, and None for what is not text."""

from __future__ import annotations

from typing import Any

import pytest
from gidgethub import GitHubBroken

from app.github.contents import MAX_INLINE_BYTES, read_text
from tests.github.conftest import INSTALLATION, REPO


async def test_a_file_is_read_at_a_ref_or_the_default_branch(github_app: Any, seeded: Any) -> None:
    seeded.add_file(REPO, "app/pricing.py", "x = 1\n")
    seeded.add_file(REPO, "app/pricing.py", "x = 2\n", ref="release")
    gh = github_app.installation_client(INSTALLATION)
    assert await read_text(gh, REPO, "app/pricing.py", None) == "x = 1\n"
    assert await read_text(gh, REPO, "app/pricing.py", "release") == "x = 2\n"
    [default, release] = seeded.requests_for("repos/get-content")
    assert "ref" not in default.query and release.query["ref"] == "release"


async def test_what_is_not_a_text_file_reads_as_none(github_app: Any, seeded: Any) -> None:
    seeded.add_file(REPO, "app/__init__.py", "")
    seeded.add_file(REPO, "logo.png", b"\x89PNG\r\n\x1a\n\xff\xfe")
    seeded.add_file(REPO, "huge.txt", "x" * (MAX_INLINE_BYTES + 1))
    gh = github_app.installation_client(INSTALLATION)
    assert await read_text(gh, REPO, "app/__init__.py", None) == ""
    assert await read_text(gh, REPO, "app", None) is None  # a folder
    assert await read_text(gh, REPO, "gone.py", None) is None
    assert await read_text(gh, REPO, "logo.png", None) is None
    assert await read_text(gh, REPO, "huge.txt", None) is None


async def test_github_failing_is_not_taken_for_a_missing_file(github_app: Any, seeded: Any) -> None:
    seeded.fail_next("GET", "/repos/{owner}/{repo}/contents/{path}", 503, times=None)
    with pytest.raises(GitHubBroken):
        await read_text(github_app.installation_client(INSTALLATION), REPO, "a.py", None)
