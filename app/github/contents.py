"""One text file of a repository at a commit, read through the contents API (no clone).

For the few files a feature needs to show (the code around an alert's stack frames):
`read_text` returns None rather than raising for what it cannot give as text: a path
that does not exist at that commit, a folder, a file over the API's inline limit, or
bytes that are not UTF-8.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from gidgethub import BadRequest

MAX_INLINE_BYTES = 1_000_000  # the contents API inlines files up to 1 MB


async def read_text(gh: Any, repository: str, path: str, ref: str | None) -> str | None:
    """The file's text at `ref` (a commit, branch or tag; None: the default branch)."""
    owner, repo = repository.split("/", 1)
    url_vars = {"owner": owner, "repo": repo, "path": path}
    if ref:
        url_vars["ref"] = ref
    try:
        item = await gh.getitem("/repos/{owner}/{repo}/contents/{+path}{?ref}", url_vars=url_vars)
    except BadRequest as exc:
        if int(exc.status_code) in (403, 404):  # 403: over the inline limit
            return None
        raise
    if not isinstance(item, dict) or item.get("type") != "file":
        return None
    if item.get("size", 0) > MAX_INLINE_BYTES or item.get("encoding") != "base64":
        return None
    try:
        return base64.b64decode(item.get("content") or "").decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
