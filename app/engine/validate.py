"""Runs the checks that apply to each file and gathers their findings.

Per file: Python syntax for `.py`/`.pyi`, syntax of JSON, YAML and TOML files, and the
secrets scan on every text file. Pure: contents in, findings out.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from app.engine.configs import check_config_file, is_config_file
from app.engine.files import DEFAULT_MAX_BYTES, Skipped, SourceFile
from app.engine.findings import FileReport, Finding
from app.engine.secrets import scan_secrets
from app.engine.syntax import check_python_syntax

PYTHON_SUFFIXES = (".py", ".pyi")


@dataclass(frozen=True)
class EngineConfig:
    max_bytes: int = DEFAULT_MAX_BYTES
    secrets: bool = True


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
    config = config or EngineConfig()
    reports = []
    for item in items:
        if isinstance(item, Skipped):
            reports.append(FileReport(item.path, skipped=item.reason))
        else:
            reports.append(FileReport(item.path, check_source(item, config)))
    return reports
