"""Which components a deployment touches, read from git: the files changed since the
environment's last good deployment, plus the components that import them.

Blocking git work runs in a thread; the import graph is cached by blob id for the life
of the process, so a module that did not change is never parsed again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from pathlib import Path

from app.deploy.components import ImportGraphCache, affected_components, describe
from app.git.mirror import mirror_for

_GRAPH = ImportGraphCache()


def _detect(
    cache_dir: Path,
    repository: str,
    url: str,
    token: str,
    components: Mapping[str, Sequence[str]],
    base: str | None,
    head: str,
) -> tuple[tuple[str, ...], str]:
    mirror = mirror_for(cache_dir, repository)
    mirror.fetch(url, token, [head, base or ""])
    files = mirror.tree(head)
    if base is None:  # never deployed here: everything is new
        changed = list(files)
    else:
        changed = [change.path for change in mirror.changes(base, head)]

    def read(paths: Sequence[str]) -> Mapping[str, str]:
        contents = mirror.read(url, token, head, paths)
        return {path: data.decode("utf-8", "replace") for path, data in contents.items()}

    python = {path: blob for path, blob in files.items() if path.endswith(".py")}
    result = affected_components(components, changed, python, read, _GRAPH)
    return result.names, describe(result)


async def detect_components(
    cache_dir: Path,
    repository: str,
    url: str,
    token: str,
    components: Mapping[str, Sequence[str]],
    base: str | None,
    head: str,
) -> tuple[tuple[str, ...], str]:
    """(affected component names, a markdown line saying why)."""
    return await asyncio.to_thread(
        _detect, cache_dir, repository, url, token, components, base, head
    )
