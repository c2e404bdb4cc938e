"""app.engine.cache: blob ids, entries as JSON, a cache file that is only ever a cache."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import pytest

from app.engine.cache import (
    STALE_SECONDS,
    CorruptCache,
    Entry,
    ResultCache,
    blob_id,
    decode_findings,
    encode_findings,
)
from app.engine.findings import Edit, Finding, Fix, Severity
from app.engine.imports import extract_imports

FINDING = Finding(
    path="pkg/a.py",
    line=1,
    column=8,
    rule="ruff/F401",
    severity=Severity.WARNING,
    message="`os` imported but unused",
    end_line=1,
    end_column=10,
    fix=Fix("Remove unused import", (Edit(1, 1, 2, 1, ""),), safe=True),
    source="ruff",
)


def test_blob_id_is_gits(tmp_path: Path) -> None:
    data = b"x = 1\r\n\x00\xff"
    (tmp_path / "f").write_bytes(data)
    git = subprocess.run(
        ["git", "hash-object", str(tmp_path / "f")], capture_output=True, text=True, check=True
    )
    assert blob_id(data) == git.stdout.strip()
    assert blob_id(b"") == "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391"


def entry() -> Entry:
    return Entry(
        blob=blob_id(b"import os\n"),
        findings=[FINDING],
        has_imports=True,
        imports=extract_imports("import os\nfrom . import x\n"),
        ruff=[FINDING],
        ruff_key="k",
        stat=(10, 1, 2, 3),
    )


def test_entries_survive_a_save_and_open(tmp_path: Path) -> None:
    cache = ResultCache.open(tmp_path / "c", tmp_path, "key")
    cache.put("pkg/a.py", entry())
    cache.put("skipped.bin", Entry(blob_id(b"\0"), skipped="binary file"))
    cache.set_meta("imports", {"key": "x", "findings": encode_findings([FINDING])})
    assert cache.save(tmp_path) is None
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "a.py").write_text("import os\n")
    (tmp_path / "skipped.bin").write_bytes(b"\0")

    again = ResultCache.open(tmp_path / "c", tmp_path, "key")
    got = again.get("pkg/a.py", blob_id(b"import os\n"))
    assert got is not None
    assert got.findings == [FINDING] and got.ruff == [FINDING] and got.ruff_key == "k"
    assert got.parses() and got.import_records() == entry().imports
    assert got.stat == (10, 1, 2, 3)
    assert again.by_stat("pkg/a.py", (10, 1, 2, 3)) is got
    assert again.by_stat("pkg/a.py", (10, 1, 2, 4)) is None
    assert again.get("pkg/a.py", blob_id(b"other")) is None
    skipped = again.get("skipped.bin", blob_id(b"\0"))
    assert skipped is not None and skipped.skipped == "binary file"
    assert decode_findings(again.meta["imports"]["findings"]) == [FINDING]


def test_another_key_or_root_is_another_cache(tmp_path: Path) -> None:
    cache = ResultCache.open(tmp_path / "c", tmp_path, "key")
    cache.put("a.py", Entry(blob_id(b"")))
    cache.save(tmp_path)
    (tmp_path / "a.py").write_text("")
    assert ResultCache.open(tmp_path / "c", tmp_path, "other").get("a.py", blob_id(b"")) is None
    assert ResultCache.open(tmp_path / "c", tmp_path / "x", "key").get("a.py", blob_id(b"")) is None
    assert ResultCache.open(tmp_path / "c", tmp_path, "key").get("a.py", blob_id(b"")) is not None
    assert ResultCache.open(None, tmp_path, "key").save(tmp_path) is None  # --no-cache


def test_entries_of_deleted_files_are_dropped(tmp_path: Path) -> None:
    cache = ResultCache.open(tmp_path / "c", tmp_path, "key")
    for name in ("kept.py", "gone.py"):
        cache.put(name, Entry(blob_id(name.encode())))
    (tmp_path / "kept.py").write_text("")
    cache.save(tmp_path)
    again = ResultCache.open(tmp_path / "c", tmp_path, "key")
    again.put("new.py", Entry(blob_id(b"new")))
    again.save(tmp_path)
    (written,) = (tmp_path / "c").glob("*.json")
    assert sorted(json.loads(written.read_text())["files"]) == ["kept.py", "new.py"]


@pytest.mark.parametrize(
    "content",
    [b"", b"{", b"[]", b'{"format": 1}', b'{"format": 1, "key": "key", "files": []}', b"\xff"],
)
def test_a_corrupt_file_is_an_empty_cache(tmp_path: Path, content: bytes) -> None:
    cache = ResultCache.open(tmp_path / "c", tmp_path, "key")
    cache.put("a.py", Entry(blob_id(b"")))
    cache.save(tmp_path)
    assert cache.file is not None
    cache.file.write_bytes(content)
    again = ResultCache.open(tmp_path / "c", tmp_path, "key")
    assert again.get("a.py", blob_id(b"")) is None


@pytest.mark.parametrize(
    "raw",
    [
        [],
        {"b": 1},
        {"b": "x", "s": 3},
        {"b": "x", "f": [[1, 2]]},
        {"b": "x", "f": [[1, 1, 1, 2, "r", "loud", "m", None, "ruff"]]},
        {"b": "x", "i": "nope"},
        {"b": "x", "t": [1, 2, "3", 4]},
        {"b": "x", "r": [], "rk": 5},
    ],
)
def test_a_malformed_entry_is_a_miss(tmp_path: Path, raw: object) -> None:
    cache = ResultCache.open(tmp_path / "c", tmp_path, "key")
    cache.put("a.py", Entry("x"))
    cache.save(tmp_path)
    assert cache.file is not None
    data = json.loads(cache.file.read_text())
    data["files"]["a.py"] = raw
    cache.file.write_text(json.dumps(data))
    (tmp_path / "a.py").write_text("")
    again = ResultCache.open(tmp_path / "c", tmp_path, "key")
    assert again.get("a.py", "x") is None
    assert again.by_stat("a.py", (1, 2, 3, 4)) is None


def test_malformed_imports_are_noticed_when_used(tmp_path: Path) -> None:
    cache = ResultCache.open(tmp_path / "c", tmp_path, "key")
    cache.put("a.py", Entry("x", has_imports=True, pending_imports=[[True, 0]]))
    cache.save(tmp_path)
    (tmp_path / "a.py").write_text("")
    got = ResultCache.open(tmp_path / "c", tmp_path, "key").get("a.py", "x")
    assert got is not None and got.parses()
    with pytest.raises(CorruptCache):
        got.import_records()


def test_writes_are_atomic_and_leave_no_temporary_files(tmp_path: Path) -> None:
    cache = ResultCache.open(tmp_path / "c", tmp_path, "key")
    cache.put("a.py", Entry("x"))
    cache.save(tmp_path)
    assert cache.file is not None
    names = {p.name for p in (tmp_path / "c").iterdir()}
    assert names == {".gitignore", "CACHEDIR.TAG", cache.file.name}
    assert (tmp_path / "c" / ".gitignore").read_text().endswith("*\n")


def test_a_failed_write_is_reported_not_raised(tmp_path: Path) -> None:
    (tmp_path / "c").write_text("a file where the directory should be")
    cache = ResultCache.open(tmp_path / "c", tmp_path, "key")
    cache.put("a.py", Entry("x"))
    warning = cache.save(tmp_path)
    assert warning is not None and warning.startswith("cache not written")


def test_long_unused_cache_files_are_removed(tmp_path: Path) -> None:
    directory = tmp_path / "c"
    directory.mkdir()
    old, recent = directory / "old.json", directory / "recent.json"
    for file in (old, recent):
        file.write_text("{}")
    past = time.time() - STALE_SECONDS - 60
    os.utime(old, (past, past))
    cache = ResultCache.open(directory, tmp_path, "key")
    cache.put("a.py", Entry("x"))
    cache.save(tmp_path)
    assert not old.exists() and recent.exists()
