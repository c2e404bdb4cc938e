"""The engine on a working tree: the one place that reads files from disk and runs ruff.

`validate_tree` and `fix_tree` serve the CLI (and the watcher and the bot's checkout);
the checks themselves stay pure in the other modules. Problems that do not stop the run
(ruff unavailable, say) come back as `warnings`, not exceptions.

Repeat runs are fast: what each file's checks said is kept in app.engine.cache by the
file's git blob id (its stat stands for it when the file has not changed since it was
read), so an unchanged file is neither read, checked nor linted again; the import check
across files is redone from each file's cached imports and shares, without parsing.
Enough cache misses are spread over worker processes while ruff runs beside them. The
checked code is only read and parsed, never imported or run.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from stat import S_ISLNK
from typing import TYPE_CHECKING, Any

from app.engine.cache import (
    CACHE_DIR_NAME,
    ENGINE_VERSION,
    CorruptCache,
    Entry,
    ResultCache,
    blob_id,
    decode_findings,
    encode_findings,
    findings_by_path,
    fingerprint,
    stat_key,
)
from app.engine.files import Skipped, SourceFile, collect, collect_names, decode, load_path, read
from app.engine.findings import FileReport, Finding
from app.engine.imports import (
    Edge,
    ImportResolver,
    declared_import_names,
    edges_from_json,
    edges_to_json,
)
from app.engine.validate import (
    PYTHON_SUFFIXES,
    EngineConfig,
    FileCheck,
    check_batch,
    merge_lint_findings,
)

if TYPE_CHECKING:
    from app.engine.lint import LintRun, LintUnavailable

# Worker processes pay off from about this much work: the checks cost ~0.6 ms per file
# of Django (2.4 s for 3660 files in one process, 1.5 s in two on 2 free cores);
# starting the workers and taking their results back costs a few tens of ms.
POOL_MIN_FILES = 400
POOL_MIN_BYTES = 4 * 1024 * 1024
CHUNKS_PER_WORKER = 6
# A file changed this recently may change again within the same timestamp tick: its
# stat is not trusted to show it unchanged next time (git's "racy" files).
RACY_NANOSECONDS = 2_000_000_000
PROGRESS_DELAY_SECONDS = 1.0  # the bar shows on runs longer than this
DEPENDENCY_FILES = frozenset({"pyproject.toml", "setup.cfg", "Pipfile"})
RUFF_CONFIG_NAMES = ("pyproject.toml", "ruff.toml", ".ruff.toml")
ENGINE_MODULES = (
    "cache.py",
    "configs.py",
    "files.py",
    "findings.py",
    "imports.py",
    "lint.py",
    "secrets.py",
    "syntax.py",
    "tree.py",
    "validate.py",
)


@dataclass
class RunStats:
    """What a run did: how many files it checked, took from the cache, or linted."""

    files: int = 0  # files reported on
    cached: int = 0  # reported files whose per-file results came from the cache
    checked: int = 0  # files whose per-file checks ran
    parsed_for_imports: int = 0  # unreported files parsed only for their imports
    linted: int = 0  # files handed to ruff
    workers: int = 0  # worker processes used (0: all in this process)


@dataclass
class TreeResult:
    reports: list[FileReport] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    stats: RunStats = field(default_factory=RunStats)


def validate_tree(
    paths: list[Path],
    config: EngineConfig,
    *,
    since: str | None = None,
    only: Iterable[Path] | None = None,
    cache: bool = True,
    cache_dir: Path | None = None,
    jobs: int | None = None,
    progress: bool = False,
) -> TreeResult:
    """Every check on the given files and folders; ruff runs while the others do.

    since: a git revision; only files changed since it (in the working tree, untracked
        ones included) are reported on, while imports still resolve against the whole
        tree. Raises app.engine.changes.ChangesUnavailable outside a git repository or
        for an unknown revision.
    only: report only on these files (e.g. the ones a watcher saw change), the import
        check still resolving against every file under `paths`; with `since`, the
        files in both.
    cache: keep and use per-file results in `cache_dir` (default: `.deckhand_cache/`
        under each root). jobs: at most this many worker processes (default: one per
        core; 1: none). progress: a progress bar on stderr when the run is long.
    """
    result = TreeResult()
    files = collect_names(paths)
    if cache and cache_dir is not None:  # a cache inside the tree is not checked
        inside = os.path.abspath(cache_dir) + os.sep
        files = [(root, name) for root, name in files if not name.startswith(inside)]
    changed = None
    if since is not None:
        from app.engine.changes import changed_files

        changed = changed_files(paths, since)
    if only is not None:
        wanted = {_real_name(path) for path in only}
        changed = wanted if changed is None else changed & wanted
    by_root: dict[Path, list[str]] = {}
    for root, file in files:
        by_root.setdefault(root, []).append(file)
    options = _Options(cache, cache_dir, jobs, progress)
    reports: dict[tuple[Path, str], FileReport] = {}
    for root in sorted(by_root):
        run = _RootRun(root, config, options, result)
        try:
            found = run.validate(by_root[root], changed)
        except CorruptCache:  # noticed late: run again as if there were no cache
            run = _RootRun(root, config, options, result, fresh=True)
            found = run.validate(by_root[root], changed)
        for file, report in found.items():
            reports[root, file] = report
    for key in dict.fromkeys(files):  # each file once, even when given twice
        if key in reports:
            result.reports.append(reports[key])
    return result


@dataclass(frozen=True)
class _Options:
    cache: bool
    cache_dir: Path | None
    jobs: int | None
    progress: bool


def _real_name(path: Path) -> str:
    """The absolute name of a file with its directory's symlinks resolved (the file
    itself may be a symlink), as git names it from its top level."""
    absolute = os.path.abspath(path)
    return os.path.join(os.path.realpath(os.path.dirname(absolute)), os.path.basename(absolute))


def _relative(root: Path, file: Path) -> str:
    return file.relative_to(root).as_posix() if file.is_relative_to(root) else file.as_posix()


def _engine_sources() -> str:
    """The validating modules' source, by content: an edited check invalidates the cache
    even when ENGINE_VERSION was not bumped (a safety net for development)."""
    here = Path(__file__).parent
    digest = []
    for name in ENGINE_MODULES:
        try:
            digest.append(blob_id((here / name).read_bytes()))
        except OSError:
            digest.append("")
    return fingerprint(digest)


def cache_key(root: Path, config: EngineConfig) -> str:
    """Everything but the files' contents that the cached results depend on: the
    engine (its version and its modules' source, app.engine.lint's ruff command line
    and severities included), Python, the config and, when linting, the ruff binary
    (path, size, modification time: another version is another file) and the
    repository's ruff settings."""
    parts: list[Any] = [ENGINE_VERSION, sys.version, asdict(config), _engine_sources()]
    if config.lint:
        binary = _ruff_binary()
        try:
            stat = os.stat(binary)
            parts += [binary, stat.st_size, stat.st_mtime_ns]
        except OSError:
            parts += [binary]
        if any((root / name).is_file() for name in RUFF_CONFIG_NAMES):
            from app.engine.lint import ruff_settings  # parsing TOML: only if there is some

            parts.append(ruff_settings(root))
    return fingerprint(*parts)


def _ruff_binary() -> str:
    """The ruff app.engine.lint runs (as its `ruff_binary` finds it), without importing
    app.engine.lint: a run served from the cache does not start ruff."""
    try:
        from ruff.__main__ import find_ruff_bin

        return str(find_ruff_bin())
    except (ImportError, FileNotFoundError):
        return "ruff (not found)"


class _RootRun:
    """One root's share of a run: its cache, its ruff run, its reports."""

    def __init__(
        self,
        root: Path,
        config: EngineConfig,
        options: _Options,
        result: TreeResult,
        fresh: bool = False,
    ) -> None:
        self.root = root
        self.config = config
        self.options = options
        self.result = result
        self.stats = RunStats()  # added to the result's once the run is through
        self._linted: list[str] = []
        directory = (options.cache_dir or root / CACHE_DIR_NAME) if options.cache else None
        self.cache = ResultCache.open(directory, root, cache_key(root, config), read=not fresh)
        self._ruff_dirs: dict[str, str] = {}
        self.root_name = str(root)
        # Files last changed before this (ns) may be known by their stat next time.
        self.settled_before = time.time_ns() - RACY_NANOSECONDS

    def validate(self, files: list[str], changed: set[str] | None) -> dict[str, FileReport]:
        """Reports by the given absolute file names (only reported files)."""
        config = self.config
        real_root = os.path.realpath(self.root)
        prefix = str(self.root).rstrip(os.sep) + os.sep
        entries: dict[str, Entry] = {}
        reported: list[str] = []
        symlinks: set[str] = set()
        texts: dict[str, str] = {}  # dependency declarations, for the import check
        jobs: list[tuple[SourceFile, bool]] = []
        names: dict[str, str] = {}  # path -> absolute file name
        for name in files:
            if name.startswith(prefix):
                path = name[len(prefix) :].replace(os.sep, "/")
            else:
                path = _relative(self.root, Path(name))
            if path in entries:
                continue
            names[path] = name
            if changed is None or os.path.join(real_root, path) in changed:
                reported.append(path)
                is_reported = True
            else:
                is_reported = False
            found = self._entry(path, name)
            if isinstance(found, Skipped):
                entries[path] = Entry("", skipped=found.reason)  # not cached: not read
                continue
            entry, data, link = found
            entries[path] = entry
            if link:
                symlinks.add(path)
            if entry.skipped is not None:
                continue
            wants_checks = is_reported and entry.findings is None
            wants_imports = path.endswith(PYTHON_SUFFIXES) and not entry.has_imports
            declares = _declares_dependencies(path)
            if not (wants_checks or wants_imports or declares):
                continue
            if data is None:  # known by its stat: read it after all
                found = self._entry(path, name, trust_stat=False)
                if isinstance(found, Skipped):
                    entries[path] = Entry("", skipped=found.reason)
                    continue
                entry, data, _ = found
                entries[path] = entry
                if entry.skipped is not None:
                    continue
                wants_checks = is_reported and entry.findings is None
                wants_imports = path.endswith(PYTHON_SUFFIXES) and not entry.has_imports
            assert data is not None
            blob = entry.blob
            source = decode(path, data, config.max_bytes)
            if isinstance(source, Skipped):
                entries[path] = Entry(blob, skipped=source.reason)
                self.cache.put(path, entries[path])
                continue
            if declares:
                texts[path] = source.text
            if wants_checks or wants_imports:
                jobs.append((source, not wants_checks))

        lint_run = self._start_lint(entries, reported, symlinks)
        for (source, imports_only), check in zip(jobs, self._run(jobs), strict=True):
            entry = entries[source.path]
            if not imports_only:
                entry.findings = check.findings
            entry.has_imports = True
            entry.imports, entry.pending_imports = check.imports, None
            self.cache.put(source.path, entry)
        self.stats.checked += sum(1 for _, only in jobs if not only)
        self.stats.parsed_for_imports += sum(1 for _, only in jobs if only)
        if lint_run is not None:
            self._finish_lint(lint_run, entries)

        reports: dict[str, FileReport] = {}
        for path in reported:
            entry = entries[path]
            reports[path] = FileReport(path, list(entry.findings or []), entry.skipped)
        self.stats.files += len(reports)
        self.stats.cached += len(reports) - sum(1 for _, only in jobs if not only)
        report_only = None if changed is None else set(reported)
        for finding in self._import_findings(entries, texts, report_only):
            reports[finding.path].findings.append(finding)
        if config.lint:
            ruff = [f for path in reported for f in entries[path].ruff or []]
            merge_lint_findings(list(reports.values()), ruff)
        if (warning := self.cache.save(self.root)) is not None:
            self.result.warnings.append(warning)
        total = self.result.stats
        for name in ("files", "cached", "checked", "parsed_for_imports", "linted"):
            setattr(total, name, getattr(total, name) + getattr(self.stats, name))
        total.workers = max(total.workers, self.stats.workers)
        return {names[path]: report for path, report in reports.items()}

    def _import_findings(
        self, entries: dict[str, Entry], texts: dict[str, str], report: set[str] | None
    ) -> list[Finding]:
        """The import check across the tree, from each file's imports.

        All of it comes from the cache when no Python file, dependency declaration or
        reported path changed; else each unchanged file's share (its unresolved imports
        and its edges) does, as long as the set of Python files and the declared
        dependencies are the same, and only the cycles are looked for again."""
        python = sorted(path for path, entry in entries.items() if entry.parses())
        declarations = [(path, entries[path].blob) for path in sorted(texts)]
        context = fingerprint(python, declarations)
        key = fingerprint(
            context,
            [entries[path].blob for path in python],
            sorted(report) if report is not None else None,
        )
        known = self.cache.meta.get("imports")
        if not isinstance(known, dict):
            known = {}
        if known.get("key") == key:
            try:
                return decode_findings(known["findings"])
            except (TypeError, ValueError, KeyError, AttributeError):
                pass
        kept = known.get("files") if known.get("context") == context else None
        if not isinstance(kept, dict):
            kept = {}
        resolver = ImportResolver(python, declared_import_names(texts))
        findings: list[Finding] = []
        edges: dict[str, list[Edge]] = {}
        shares: dict[str, list[Any]] = {}
        for path in python:
            blob = entries[path].blob
            reported = report is None or path in report
            share: Any = kept.get(path)
            known_share = _file_share(share, blob, reported)
            if known_share is None:
                records = entries[path].import_records() or []
                unresolved = resolver.unresolved(path, records) if reported else None
                edges[path] = resolver.edges(path, records)
                share = [
                    blob,
                    None if unresolved is None else encode_findings(unresolved),
                    edges_to_json(edges[path]),
                ]
            else:
                unresolved, edges[path] = known_share
            findings += unresolved or []
            shares[path] = share
        findings += resolver.cycles(edges, report)
        self.cache.set_meta(
            "imports",
            {
                "key": key,
                "findings": encode_findings(findings),
                "context": context,
                "files": shares,
            },
        )
        return findings

    def _entry(
        self, path: str, name: str, trust_stat: bool = True
    ) -> tuple[Entry, bytes | None, bool] | Skipped:
        """The file's cache entry (a new one on a miss), its bytes unless its stat
        showed it unchanged, and whether it is a symlink; or why it is not read."""
        max_bytes = self.config.max_bytes
        try:
            stat = os.lstat(name)
        except OSError:
            stat = None
        link = stat is not None and S_ISLNK(stat.st_mode)
        key = None
        if stat is not None and not link:
            if stat.st_size > max_bytes:
                return Skipped(path, f"larger than {max_bytes} bytes ({stat.st_size} bytes)")
            key = stat_key(stat)
            if trust_stat and (entry := self.cache.by_stat(path, key)) is not None:
                return entry, None, link
        data = load_path(self.root, name, path, max_bytes, link)
        if isinstance(data, Skipped):
            return data
        blob = blob_id(data)
        entry = self.cache.get(path, blob) or Entry(blob)
        if key is not None and max(key[1], key[2]) < self.settled_before and entry.stat != key:
            entry.stat = key  # settled: its stat is enough to know it next time
            self.cache.put(path, entry)
        return entry, data, link

    # ruff --------------------------------------------------------------------------

    def _ruff_key(self, path: str) -> str:
        """The ruff configuration files in the directories from the root down to this
        file's (ruff takes the nearest one), by content."""
        directory = path.rpartition("/")[0]
        key = self._ruff_dirs.get(directory)
        if key is None:
            parent = self._ruff_key(directory) if directory else ""
            found = []
            folder = os.path.join(self.root_name, directory)
            for name in RUFF_CONFIG_NAMES:
                try:
                    with open(os.path.join(folder, name), "rb") as stream:
                        found.append((name, blob_id(stream.read())))
                except OSError:
                    continue
            key = fingerprint(parent, found)[:16] if found else parent
            self._ruff_dirs[directory] = key
        return key

    def _start_lint(
        self, entries: dict[str, Entry], reported: list[str], symlinks: set[str]
    ) -> LintRun | None:
        if not self.config.lint:
            return None
        wanted = []
        for path in reported:
            entry = entries[path]
            if entry.skipped is not None or path in symlinks:
                continue
            if not path.endswith(PYTHON_SUFFIXES):
                continue
            key = self._ruff_key(path)
            if entry.ruff is None or entry.ruff_key != key:
                entry.ruff, entry.ruff_key = None, key
                wanted.append(path)
        if not wanted:
            return None
        from app.engine.lint import LintRun, LintUnavailable  # not needed on a warm run

        self._linted = wanted
        self.stats.linted += len(wanted)
        try:
            return LintRun(self.root, wanted)
        except LintUnavailable as exc:
            self.result.warnings.append(_lint_skipped(exc))
            return None

    def _finish_lint(self, run: LintRun, entries: dict[str, Entry]) -> None:
        from app.engine.lint import LintUnavailable

        try:
            found = findings_by_path(run.result())
        except LintUnavailable as exc:
            self.result.warnings.append(_lint_skipped(exc))
            return
        for path in self._linted:
            entry = entries[path]
            entry.ruff = found.get(path, [])
            self.cache.put(path, entry)

    # the per-file checks -----------------------------------------------------------

    def _run(self, jobs: list[tuple[SourceFile, bool]]) -> list[FileCheck]:
        if not jobs:
            return []
        workers = _workers(jobs, self.options.jobs)
        if workers >= 2:
            self.stats.workers = max(self.stats.workers, workers)
            return _in_pool(jobs, self.config, workers, self.options.progress)
        bar = _progress_bar(len(jobs), self.options.progress)
        try:
            results = []
            for start in range(0, len(jobs), 64):
                results += check_batch(jobs[start : start + 64], self.config)
                bar.update(min(64, len(jobs) - start))
            return results
        finally:
            bar.close()


def _file_share(
    share: Any, blob: str, reported: bool
) -> tuple[list[Finding] | None, list[Edge]] | None:
    """A file's cached share of the import check, [blob, its unresolved imports (None
    if it was not reported), its edges], decoded; None if missing or unusable."""
    if type(share) is not list or len(share) != 3 or share[0] != blob:
        return None
    if reported and share[1] is None:
        return None
    try:
        unresolved = None if share[1] is None else decode_findings(share[1])
        return unresolved, edges_from_json(share[2])
    except (TypeError, ValueError, KeyError, AttributeError):
        return None


def _declares_dependencies(path: str) -> bool:
    """Files the import check reads dependency declarations from (requirement files
    may include any other `.txt`/`.in` file)."""
    name = path.rpartition("/")[2]
    return name in DEPENDENCY_FILES or name.endswith((".txt", ".in"))


def _workers(jobs: Sequence[tuple[SourceFile, bool]], limit: int | None) -> int:
    cores = os.cpu_count() or 1
    wanted = min(cores, limit) if limit is not None else cores
    if wanted < 2 or len(jobs) < POOL_MIN_FILES:
        return 1
    if sum(len(source.text) for source, _ in jobs) < POOL_MIN_BYTES:
        return 1
    return wanted


# The jobs of the pool being started: forked workers find them here, so the texts are
# not pickled to them (only index ranges are). One pool at a time (threads may share
# this module: the bot, the watcher).
_shared_jobs: tuple[list[tuple[SourceFile, bool]], EngineConfig] | None = None
_pool_lock = threading.Lock()


def _check_shared(start: int, end: int) -> list[FileCheck]:
    """check_batch on a range of the jobs a forked worker inherited."""
    assert _shared_jobs is not None
    jobs, config = _shared_jobs
    return check_batch(jobs[start:end], config)


def _in_pool(
    jobs: list[tuple[SourceFile, bool]], config: EngineConfig, workers: int, progress: bool
) -> list[FileCheck]:
    """The jobs in worker processes, in chunks of about equal size (in characters)."""
    global _shared_jobs
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    total = sum(len(source.text) for source, _ in jobs) or 1
    target = total / (workers * CHUNKS_PER_WORKER)
    chunks: list[tuple[int, int]] = []
    start, size = 0, 0
    for index, (source, _) in enumerate(jobs):
        size += len(source.text)
        if size >= target:
            chunks.append((start, index + 1))
            start, size = index + 1, 0
    if start < len(jobs):
        chunks.append((start, len(jobs)))
    results: list[FileCheck | None] = [None] * len(jobs)
    context = multiprocessing.get_context()
    forked = context.get_start_method() == "fork"
    with _pool_lock, ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        _shared_jobs = (jobs, config) if forked else None
        try:
            futures = {
                (
                    pool.submit(_check_shared, a, b)
                    if forked
                    else pool.submit(check_batch, jobs[a:b], config)
                ): (a, b)
                for a, b in chunks
            }
        finally:
            _shared_jobs = None  # forked on the first submit: the workers have it
        # After the workers started: the bar's monitor thread must not be forked.
        bar = _progress_bar(len(jobs), progress)
        try:
            for future in as_completed(futures):
                a, b = futures[future]
                results[a:b] = future.result()
                bar.update(b - a)
        finally:
            bar.close()
    return [check for check in results if check is not None]


class _NoBar:
    def update(self, n: int) -> None:
        return None

    def close(self) -> None:
        return None


def _progress_bar(total: int, wanted: bool) -> Any:
    if not wanted:
        return _NoBar()
    from tqdm import tqdm

    return tqdm(
        total=total,
        unit="file",
        desc="checking",
        file=sys.stderr,
        delay=PROGRESS_DELAY_SECONDS,
        leave=False,
        dynamic_ncols=True,
    )


@dataclass
class FixResult:
    changed: bool = False
    notes: list[str] = field(default_factory=list)  # commit-message lines
    diff: str = ""
    warnings: list[str] = field(default_factory=list)


def fix_tree(paths: list[Path], write: bool) -> FixResult:
    """Syntax repair, then ruff's safe fixes; with write=False only the diff is made."""
    from app.engine.fixing import plan_repairs, ruff_fix, write_repairs
    from app.engine.lint import LintUnavailable

    result = FixResult()
    files = collect(paths)
    for root in sorted({root for root, _ in files}):
        read_files = (read(root, f) for r, f in files if r == root)
        sources = [s for s in read_files if isinstance(s, SourceFile)]
        report = plan_repairs(sources)
        result.changed |= bool(report.repaired)
        result.notes += report.notes
        result.diff += "".join(report.diffs)
        if write:
            write_repairs(root, report, sources)
        python = [s.path for s in sources if s.path.endswith(PYTHON_SUFFIXES)]
        try:
            ruff_output = ruff_fix(root, python, write)
        except LintUnavailable as exc:
            result.warnings.append(f"ruff fixes skipped: {exc}")
            continue
        if not write and ruff_output.strip():
            diff, summary = _git_style(ruff_output)
            result.changed = True
            result.diff += diff
            result.notes += summary
    return result


def _git_style(ruff_diff: str) -> tuple[str, list[str]]:
    """ruff's `--diff` with `a/` and `b/` paths, as the syntax repairs' diffs and `git
    apply` have them, and its closing summary ("Would fix 2 errors ...") apart."""
    lines = ruff_diff.splitlines(keepends=True)
    out: list[str] = []
    summary: list[str] = []
    for i, line in enumerate(lines):
        following = lines[i + 1] if i + 1 < len(lines) else ""
        if line.startswith("--- ") and following.startswith("+++ "):
            line = "--- a/" + line[4:]
        elif line.startswith("+++ ") and out and out[-1].startswith("--- a/"):
            line = "+++ b/" + line[4:]
        elif line.startswith(("Would fix", "No errors would be fixed")):
            summary.append(line.strip())
            continue
        out.append(line)
    return "".join(out).rstrip("\n") + "\n" if out else "", summary


def _lint_skipped(exc: LintUnavailable) -> str:
    """On the user's own machine, ruff's own words too (they name the bad setting)."""
    return f"lint skipped: {exc}" + (f"\n{exc.detail}" if exc.detail else "")
