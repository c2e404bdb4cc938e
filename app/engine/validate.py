"""Runs the checks that apply to each file and gathers their findings.

Per file: Python syntax for `.py`/`.pyi`, syntax of JSON, YAML and TOML files, and the
secrets scan on every text file; across files, imports that resolve to nothing and
import cycles. Pure, contents in, findings out. ruff's lint and security findings need
the files on disk (app.engine.tree) and are merged in by `merge_lint_findings`.
"""

from __future__ import annotations

import ast
import contextlib
import gc
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from app.engine.files import DEFAULT_MAX_BYTES, Skipped, SourceFile
from app.engine.findings import FileReport, Finding
from app.engine.imports import (
    ImportRecord,
    declared_import_names,
    extract_imports,
    resolve_imports,
)

PYTHON_SUFFIXES = (".py", ".pyi")
# Every file app.engine.configs checks ends so (it decides which of them it checks).
CONFIG_SUFFIXES = (".json", ".yml", ".yaml", ".toml")


@dataclass(frozen=True)
class EngineConfig:
    max_bytes: int = DEFAULT_MAX_BYTES
    secrets: bool = True
    lint: bool = True


def check_source(
    source: SourceFile, config: EngineConfig, trees: dict[str, ast.Module] | None = None
) -> list[Finding]:
    """Every per-file check; a Python file's syntax tree is left in `trees` for later checks."""
    # The checks are imported when first needed: a run served from the cache needs none,
    # and a run that changed one Python file not the YAML parser.
    findings: list[Finding] = []
    if source.path.endswith(PYTHON_SUFFIXES):
        from app.engine.syntax import parse_python

        errors, tree = parse_python(source.path, source.text)
        findings += errors
        if tree is not None and trees is not None:
            trees[source.path] = tree
    if source.path.lower().endswith(CONFIG_SUFFIXES):
        from app.engine.configs import check_config_file, is_config_file

        if is_config_file(source.path):
            findings += check_config_file(source.path, source.text)
    if config.secrets:
        from app.engine.secrets import scan_secrets

        findings += scan_secrets(source.path, source.text)
    return sorted(findings, key=lambda f: (f.line, f.column, f.rule))


@dataclass
class FileCheck:
    """One file's share of a run, in plain data (it crosses process boundaries and goes
    into the cache): the per-file findings (None when only the imports were wanted)
    and the file's imports (None when it is not Python or does not parse)."""

    findings: list[Finding] | None
    imports: list[ImportRecord] | None


def check_file(
    source: SourceFile, config: EngineConfig, *, imports_only: bool = False
) -> FileCheck:
    """The per-file checks and the imports of one file; with `imports_only`, only its
    imports (for the import check across a tree whose other files are not reported)."""
    python = source.path.endswith(PYTHON_SUFFIXES)
    if imports_only:
        if not python:
            return FileCheck(None, None)
        from app.engine.syntax import parse_python

        _, tree = parse_python(source.path, source.text)
        return FileCheck(None, None if tree is None else extract_imports(source.text, tree))
    trees: dict[str, ast.Module] = {}
    findings = check_source(source, config, trees)
    tree = trees.get(source.path)
    return FileCheck(findings, None if tree is None else extract_imports(source.text, tree))


def check_batch(batch: list[tuple[SourceFile, bool]], config: EngineConfig) -> list[FileCheck]:
    """`check_file` on (source, imports_only) pairs: the unit of work of a worker process."""
    with _collector_paused():
        return [check_file(source, config, imports_only=only) for source, only in batch]


def validate(
    items: Iterable[SourceFile | Skipped], config: EngineConfig | None = None
) -> list[FileReport]:
    """Check every file, then the imports across all of them (unresolved, cycles)."""
    with _collector_paused():
        return _validate(items, config or EngineConfig())


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """Syntax trees and the records taken from them are many small objects that the
    cyclic garbage collector would walk again and again (40% of a run on Django's
    source when the trees were all kept, still ~10% now that each is dropped once its
    imports are taken); they hold no cycles to find, so it rests until the run is over."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _validate(items: Iterable[SourceFile | Skipped], config: EngineConfig) -> list[FileReport]:
    reports: list[FileReport] = []
    texts: dict[str, str] = {}
    imports: dict[str, list[ImportRecord]] = {}
    for item in items:
        if isinstance(item, Skipped):
            reports.append(FileReport(item.path, skipped=item.reason))
            continue
        texts[item.path] = item.text
        check = check_file(item, config)
        reports.append(FileReport(item.path, check.findings or []))
        if check.imports is not None:  # the files that parse
            imports[item.path] = check.imports
    by_path = {report.path: report for report in reports}
    for finding in resolve_imports(imports, declared_import_names(texts)):
        by_path[finding.path].findings.append(finding)
    return reports


def merge_lint_findings(reports: list[FileReport], findings: list[Finding]) -> None:
    """Add ruff's findings to the reports, except for files with a syntax error (ruff can
    say nothing more about those than the syntax check already does)."""
    by_path = {report.path: report for report in reports}
    for finding in findings:
        report = by_path.get(finding.path)
        if report is None or any(f.rule.startswith("syntax") for f in report.findings):
            continue
        report.findings.append(finding)
    for report in reports:
        report.findings.sort(key=lambda f: (f.line, f.column, f.rule))
