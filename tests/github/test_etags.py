"""The shared ETag cache: bounded as a whole, and separate per installation."""

from __future__ import annotations

from cachetools import LRUCache

from app.github.etags import InstallationEtags


def test_installations_do_not_see_each_others_cached_answers() -> None:
    shared: LRUCache = LRUCache(maxsize=10)
    first, second = InstallationEtags(shared, 1), InstallationEtags(shared, 2)
    first["https://api.github.com/repos/o/r"] = ("etag", None, {"private": True}, None)
    assert "https://api.github.com/repos/o/r" in first
    assert "https://api.github.com/repos/o/r" not in second
    assert list(first) == ["https://api.github.com/repos/o/r"] and len(second) == 0


def test_the_cache_is_bounded_across_installations() -> None:
    shared: LRUCache = LRUCache(maxsize=10)
    for installation in range(5):
        view = InstallationEtags(shared, installation)
        for n in range(5):
            view[f"/url/{n}"] = n
    assert len(shared) == 10
    assert len(InstallationEtags(shared, 4)) == 5
    assert len(InstallationEtags(shared, 0)) == 0
