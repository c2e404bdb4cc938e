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

from app.engine.configs import check_config_file, is_config_file
from app.engine.files import DEFAULT_MAX_BYTES, Skipped, SourceFile
from app.engine.findings import FileReport, Finding
from app.engine.imports import check_imports, declared_import_names
from app.engine.secrets import scan_secrets
from app.engine.syntax import parse_python

PYTHON_SUFFIXES = (".py", ".pyi")


@dataclass(frozen=True)
class EngineConfig:
    max_bytes: int = DEFAULT_MAX_BYTES
    secrets: bool = True
    lint: bool = True


def check_source(
    source: SourceFile, config: EngineConfig, trees: dict[str, ast.Module] | None = None
) -> list[Finding]:
    """Every per-file check; a Python file's syntax tree is left in `trees` for later checks."""
    findings: list[Finding] = []
    if source.path.endswith(PYTHON_SUFFIXES):
        errors, tree = parse_python(source.path, source.text)
        findings += errors
        if tree is not None and trees is not None:
            trees[source.path] = tree
    if is_config_file(source.path):
        findings += check_config_file(source.path, source.text)
    if config.secrets:
        findings += scan_secrets(source.path, source.text)
    return sorted(findings, key=lambda f: (f.line, f.column, f.rule))


def validate(
    items: Iterable[SourceFile | Skipped], config: EngineConfig | None = None
) -> list[FileReport]:
    """Check every file, then the imports across all of them (unresolved, cycles)."""
    with _collector_paused():
        return _validate(items, config or EngineConfig())


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """The syntax trees kept for the import check are many small objects that the cyclic
    garbage collector would walk again and again (it cost 40% of a run on Django's
    source); they hold no cycles to find, so it rests until the run is over."""
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
    trees: dict[str, ast.Module] = {}
    for item in items:
        if isinstance(item, Skipped):
            reports.append(FileReport(item.path, skipped=item.reason))
            continue
        texts[item.path] = item.text
        reports.append(FileReport(item.path, check_source(item, config, trees)))
    by_path = {report.path: report for report in reports}
    python = {path: texts[path] for path in trees}  # the files that parse
    for finding in check_imports(python, declared_import_names(texts), trees=trees):
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
