"""Runs the checks that apply to each file and gathers their findings.

Per file: Python syntax for `.py`/`.pyi`, syntax of JSON, YAML and TOML files, and the
secrets scan on every text file; across files, imports that resolve to nothing and
import cycles. Pure, contents in, findings out. ruff's lint and
security findings need the files on disk and are merged by `add_lint_findings`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from app.engine.configs import check_config_file, is_config_file
from app.engine.files import DEFAULT_MAX_BYTES, Skipped, SourceFile
from app.engine.findings import FileReport, Finding
from app.engine.imports import check_imports, declared_import_names
from app.engine.lint import lint
from app.engine.secrets import scan_secrets
from app.engine.syntax import check_python_syntax

PYTHON_SUFFIXES = (".py", ".pyi")


@dataclass(frozen=True)
class EngineConfig:
    max_bytes: int = DEFAULT_MAX_BYTES
    secrets: bool = True
    lint: bool = True


def check_source(source: SourceFile, config: EngineConfig) -> list[Finding]:
    findings: list[Finding] = []
    if source.path.endswith(PYTHON_SUFFIXES):
        findings += check_python_syntax(source.path, source.text)
    if is_config_file(source.path):
        findings += check_config_file(source.path, source.text)
    if config.secrets:
        findings += scan_secrets(source.path, source.text)
    return sorted(findings, key=lambda f: (f.line, f.column, f.rule))


def validate(
    items: Iterable[SourceFile | Skipped], config: EngineConfig | None = None
) -> list[FileReport]:
    """Check every file, then the imports across all of them (unresolved, cycles)."""
    config = config or EngineConfig()
    reports: list[FileReport] = []
    texts: dict[str, str] = {}
    for item in items:
        if isinstance(item, Skipped):
            reports.append(FileReport(item.path, skipped=item.reason))
            continue
        texts[item.path] = item.text
        reports.append(FileReport(item.path, check_source(item, config)))
    by_path = {report.path: report for report in reports}
    broken = {r.path for r in reports if any(f.rule.startswith("syntax") for f in r.findings)}
    python = {path: text for path, text in texts.items() if path not in broken}
    for finding in check_imports(python, declared_import_names(texts)):
        by_path[finding.path].findings.append(finding)
    return reports


def add_lint_findings(reports: list[FileReport], root: Path) -> None:
    """Run ruff once over the reports' Python files under `root` and merge its findings.

    Files with a syntax error are left out: ruff cannot say more about them.
    """
    by_path = {report.path: report for report in reports}
    python = [
        report.path
        for report in reports
        if report.path.endswith(PYTHON_SUFFIXES)
        and not report.skipped
        and not any(f.rule.startswith("syntax") for f in report.findings)
    ]
    for finding in lint(root, python):
        report = by_path.get(finding.path)
        if report is not None:
            report.findings.append(finding)
    for report in reports:
        report.findings.sort(key=lambda f: (f.line, f.column, f.rule))
