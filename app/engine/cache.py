"""The engine's result cache: what each file's checks said, by the file's content hash.

One JSON file per checked root and configuration, in `.deckhand_cache/` under the root
(like ruff's `.ruff_cache/`, with a `.gitignore` of `*` and a CACHEDIR.TAG, so neither
git nor the engine's own file walk looks into it) or in a directory of the caller's
choosing. An entry holds, for one path, the git blob id of the bytes it was made from
and what is known about them: why the file was skipped, the per-file findings, the
extracted imports (the cross-file import check is redone from them, without parsing)
and ruff's findings; and the file's stat when it was read, which stands for the blob id
next time if it is unchanged (as in git's index). An entry is used only for the same
blob id; the file name comes from a key over everything else the results depend on
(engine version, Python version, EngineConfig, ruff's binary and settings). `meta`
keeps results over the whole tree (the import check's, per file and in all).

It is only ever a cache: a missing, unreadable or corrupt file, or a malformed entry,
means "not cached", never an error; writes go to a temporary file then `os.replace`,
so a reader sees the old file or the new one. JSON only: nothing is unpickled.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.engine.files import CACHEDIR_SIGNATURE, CACHEDIR_TAG
from app.engine.findings import Edit, Finding, Fix, Severity
from app.engine.imports import ImportRecord, record_from_json, record_to_json

# Bump when any check's findings change for the same input (new rules, new messages).
ENGINE_VERSION = "2026.11.1"
FORMAT = 1
CACHE_DIR_NAME = ".deckhand_cache"
STALE_SECONDS = 14 * 24 * 3600  # cache files not written for this long are removed


def blob_id(data: bytes) -> str:
    """The git blob id of these bytes (what `git hash-object` prints)."""
    digest = hashlib.sha1(b"blob %d\0" % len(data), usedforsecurity=False)
    digest.update(data)
    return digest.hexdigest()


def _loads(data: bytes) -> Any:
    """JSON from bytes: orjson (a project dependency, 2-3x faster on a large tree's
    cache), else the standard library. ValueError if it is not JSON."""
    try:
        import orjson
    except ImportError:  # pragma: no cover - orjson is a dependency
        return json.loads(data)
    return orjson.loads(data)


def _dumps(value: Any) -> bytes:
    try:
        import orjson

        return orjson.dumps(value)
    except (ImportError, TypeError):  # e.g. an integer beyond 64 bits
        return json.dumps(value, separators=(",", ":")).encode()


def fingerprint(*parts: Any) -> str:
    """A stable hash of JSON-able values (for cache keys)."""
    text = json.dumps(parts, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


Stat = tuple[int, int, int, int]  # size, mtime_ns, ctime_ns, inode


def stat_key(result: os.stat_result) -> Stat:
    return result.st_size, result.st_mtime_ns, result.st_ctime_ns, result.st_ino


@dataclass(slots=True)
class Entry:
    """What is known about one file's content (its blob id). `findings` is None when
    the per-file checks have not run on it; `imports` is only meaningful when
    `has_imports` (then None: not Python, or it does not parse); `ruff` is None when
    ruff has not run on it."""

    blob: str
    skipped: str | None = None
    findings: list[Finding] | None = None
    has_imports: bool = False
    imports: list[ImportRecord] | None = None
    ruff: list[Finding] | None = None
    ruff_key: str | None = None  # the ruff configuration `ruff` was made under
    stat: Stat | None = None  # the file's stat when `blob` was read (see `by_stat`)
    # `imports` as read from the cache, decoded only when needed (see `import_records`)
    pending_imports: list[Any] | None = field(default=None, repr=False)

    def parses(self) -> bool:
        """Whether its imports are known (it is Python and it parses)."""
        return self.imports is not None or self.pending_imports is not None

    def import_records(self) -> list[ImportRecord] | None:
        """Its imports; CorruptCache if the cached form is malformed."""
        if self.pending_imports is not None:
            try:
                self.imports = [record_from_json(item) for item in self.pending_imports]
            except (TypeError, ValueError) as exc:
                raise CorruptCache(f"malformed imports: {exc}") from exc
            self.pending_imports = None
        return self.imports


class CorruptCache(ValueError):
    """A cache entry turned out to be malformed after it was first read."""


class ResultCache:
    """Entries by path (relative to the root, as in reports) for one root and key."""

    def __init__(self, file: Path | None, key: str) -> None:
        self.file = file
        self.key = key
        self._raw: dict[str, Any] = {}
        self._entries: dict[str, Entry] = {}
        self._modified: set[str] = set()
        self._dirty = False
        self.meta: dict[str, Any] = {}  # whole-run results, see `set_meta`

    @classmethod
    def open(
        cls, directory: Path | None, root: Path, key: str, *, read: bool = True
    ) -> ResultCache:
        """The cache for `root` under `key` in `directory` (None: a cache that keeps
        nothing, as with --no-cache); unreadable or corrupt means empty. With
        `read=False` it starts empty and its file is overwritten."""
        if directory is None:
            return cls(None, key)
        name = fingerprint(FORMAT, key, str(root.absolute()))[:24]
        cache = cls(directory / f"{name}.json", key)
        if read:
            cache._read()
        return cache

    def _read(self) -> None:
        assert self.file is not None
        try:
            data = _loads(self.file.read_bytes())
        except (OSError, ValueError, RecursionError):
            return
        if (
            not isinstance(data, dict)
            or data.get("format") != FORMAT
            or data.get("key") != self.key
            or not isinstance(data.get("files"), dict)
        ):
            return
        self._raw = data["files"]
        self.meta = data["meta"] if isinstance(data.get("meta"), dict) else {}

    def set_meta(self, name: str, value: Any) -> None:
        """Keep a JSON-able value for the next run (e.g. results over the whole tree)."""
        if self.meta.get(name) != value:
            self.meta[name] = value
            self._dirty = True

    def get(self, path: str, blob: str) -> Entry | None:
        """The entry for `path` if it was made from the content `blob`."""
        entry = self._entries.get(path)
        if entry is None:
            raw = self._raw.get(path)
            if raw is None:
                return None
            try:
                entry = _decode_entry(path, raw)
            except (TypeError, ValueError, KeyError, AttributeError, RecursionError):
                self._raw.pop(path, None)
                self._dirty = True
                return None
            self._entries[path] = entry
        return entry if entry.blob == blob else None

    def by_stat(self, path: str, stat: Stat) -> Entry | None:
        """The entry for `path` if the file's stat is what it was when its blob was read
        (size, modification and change times in ns, inode: as git's index does, so an
        unchanged file is not read again). Only stats taken well after the file last
        changed are stored (`Entry.stat`), so a write within the same clock tick as the
        read cannot go unnoticed."""
        entry = self._entries.get(path)
        if entry is None:
            raw = self._raw.get(path)
            if type(raw) is not dict or raw.get("t") != list(stat):
                return None
            try:
                entry = self._entries[path] = _decode_entry(path, raw)
            except (TypeError, ValueError, KeyError, AttributeError, RecursionError):
                del self._raw[path]
                self._dirty = True
                return None
        return entry if entry.stat == stat else None

    def put(self, path: str, entry: Entry) -> None:
        self._entries[path] = entry
        self._modified.add(path)
        self._dirty = True

    def save(self, root: Path) -> str | None:
        """Write the cache if anything changed; the reason it could not be, if so.

        Entries of files that no longer exist under `root` are dropped."""
        if self.file is None or not self._dirty:
            return None
        import tempfile

        files: dict[str, Any] = {}
        top = str(root)
        for path, raw in self._raw.items():
            if path in self._entries or os.path.exists(os.path.join(top, path)):
                files[path] = raw
        for path in self._modified:
            files[path] = _encode_entry(self._entries[path])
        body = {"format": FORMAT, "key": self.key, "files": files, "meta": self.meta}
        try:
            _prepare(self.file.parent)
            handle, temporary = tempfile.mkstemp(
                prefix=".tmp-", suffix=".json", dir=self.file.parent
            )
            try:
                with os.fdopen(handle, "wb") as stream:
                    stream.write(_dumps(body))
                os.replace(temporary, self.file)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(temporary)
                raise
        except OSError as exc:
            return f"cache not written: {exc.strerror or exc} (see --cache-dir, --no-cache)"
        self._dirty = False
        self._modified.clear()
        _prune(self.file.parent)
        return None


def _prune(directory: Path) -> None:
    """Remove cache files left unused for long (other configurations, older versions)."""
    horizon = time.time() - STALE_SECONDS
    with contextlib.suppress(OSError), os.scandir(directory) as scan:
        for entry in scan:
            if entry.name.endswith(".json") and entry.stat().st_mtime < horizon:
                with contextlib.suppress(OSError):
                    os.unlink(entry.path)


def _prepare(directory: Path) -> None:
    """Create the cache directory, with a .gitignore of `*` and a CACHEDIR.TAG (as ruff
    does), so neither git nor Deckhand's own file walk looks into it."""
    directory.mkdir(parents=True, exist_ok=True)
    ignore = directory / ".gitignore"
    if not ignore.exists():
        ignore.write_text("# Automatically created by deckhand.\n*\n")
    tag = directory / CACHEDIR_TAG
    if not tag.exists():
        tag.write_bytes(
            CACHEDIR_SIGNATURE + b"\n# This file is a cache directory tag created by deckhand.\n"
        )


# --------------------------------------------------------------------------------------
# JSON forms: lists of fields, the path implied by the entry
# --------------------------------------------------------------------------------------


def _encode_finding(finding: Finding) -> list[Any]:
    fix = None
    if finding.fix is not None:
        edits = [
            [e.line, e.column, e.end_line, e.end_column, e.replacement] for e in finding.fix.edits
        ]
        fix = [finding.fix.description, finding.fix.safe, edits]
    return [
        finding.line,
        finding.column,
        finding.end_line,
        finding.end_column,
        finding.rule,
        finding.severity.value,
        finding.message,
        fix,
        finding.source,
    ]


def _decode_finding(path: str, data: Sequence[Any]) -> Finding:
    line, column, end_line, end_column, rule, severity, message, fix, source = data
    decoded_fix = None
    if fix is not None:
        description, safe, edits = fix
        decoded_fix = Fix(
            str(description),
            tuple(Edit(int(a), int(b), int(c), int(d), str(text)) for a, b, c, d, text in edits),
            safe=bool(safe),
        )
    return Finding(
        path=path,
        line=int(line),
        column=int(column),
        end_line=None if end_line is None else int(end_line),
        end_column=None if end_column is None else int(end_column),
        rule=str(rule),
        severity=Severity(severity),
        message=str(message),
        fix=decoded_fix,
        source=str(source),
    )


def _findings(path: str, data: Any) -> list[Finding] | None:
    if data is None:
        return None
    if type(data) is not list:
        raise TypeError("findings are not a list")
    return [_decode_finding(path, item) for item in data] if data else []


def _encode_entry(entry: Entry) -> dict[str, Any]:
    raw: dict[str, Any] = {"b": entry.blob}
    if entry.skipped is not None:
        raw["s"] = entry.skipped
    if entry.findings is not None:
        raw["f"] = [_encode_finding(f) for f in entry.findings]
    if entry.has_imports:
        if entry.pending_imports is not None:
            raw["i"] = entry.pending_imports
        else:
            raw["i"] = None if entry.imports is None else [record_to_json(r) for r in entry.imports]
    if entry.ruff is not None:
        raw["r"] = [_encode_finding(f) for f in entry.ruff]
        raw["rk"] = entry.ruff_key
    if entry.stat is not None:
        raw["t"] = list(entry.stat)
    return raw


def _decode_entry(path: str, raw: Any) -> Entry:
    if type(raw) is not dict or type(raw.get("b")) is not str:
        raise TypeError("not an entry")
    skipped = raw.get("s")
    if skipped is not None and type(skipped) is not str:
        raise TypeError("skip reason is not a string")
    imports = raw.get("i")
    if imports is not None and type(imports) is not list:
        raise TypeError("imports are not a list")
    stat = raw.get("t")
    if stat is not None and (
        type(stat) is not list or len(stat) != 4 or not set(map(type, stat)) <= {int}
    ):
        raise TypeError("stat is not 4 ints")
    ruff_key = raw.get("rk")
    if ruff_key is not None and type(ruff_key) is not str:
        raise TypeError("ruff key is not a string")
    return Entry(
        blob=raw["b"],
        skipped=skipped,
        findings=_findings(path, raw.get("f")),
        has_imports="i" in raw,
        pending_imports=imports,
        ruff=_findings(path, raw.get("r")),
        ruff_key=ruff_key,
        stat=None if stat is None else (stat[0], stat[1], stat[2], stat[3]),
    )


def encode_findings(findings: Iterable[Finding]) -> list[Any]:
    """Findings of any paths as JSON (path first)."""
    return [[f.path, *_encode_finding(f)] for f in findings]


def decode_findings(data: Any) -> list[Finding]:
    """What `encode_findings` made; TypeError, ValueError or KeyError if malformed."""
    if not isinstance(data, list):
        raise TypeError("findings are not a list")
    return [_decode_finding(str(item[0]), item[1:]) for item in data]


def findings_by_path(findings: Iterable[Finding]) -> dict[str, list[Finding]]:
    grouped: dict[str, list[Finding]] = {}
    for finding in findings:
        grouped.setdefault(finding.path, []).append(finding)
    return grouped
