"""One bounded ETag cache for every installation, so memory stays flat as installations grow.

gidgethub keys its conditional-request cache by URL; `InstallationEtags` is the view one
installation's clients get, keyed by (installation, URL) in the shared LRU, so one
installation never sees another's cached answers.
"""

from __future__ import annotations

from collections.abc import Iterator, MutableMapping
from typing import Any

from cachetools import LRUCache

ETAG_ENTRIES = 2_000  # whole decoded bodies: bounded in count, kept modest


class InstallationEtags(MutableMapping[str, Any]):
    def __init__(self, shared: LRUCache[tuple[int, str], Any], installation_id: int) -> None:
        self._shared = shared
        self._installation_id = installation_id

    def __getitem__(self, url: str) -> Any:
        return self._shared[(self._installation_id, url)]

    def __setitem__(self, url: str, value: Any) -> None:
        self._shared[(self._installation_id, url)] = value

    def __delitem__(self, url: str) -> None:
        del self._shared[(self._installation_id, url)]

    def __iter__(self) -> Iterator[str]:
        return (url for key, url in list(self._shared) if key == self._installation_id)

    def __len__(self) -> int:
        return sum(1 for _ in self)


def shared_etag_cache() -> LRUCache[tuple[int, str], Any]:
    return LRUCache(maxsize=ETAG_ENTRIES)
