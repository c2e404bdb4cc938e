"""The engine on a working tree: the one place that reads files from disk and runs ruff.

`validate_tree` and `fix_tree` serve the CLI (and later the watcher and the bot's
checkout); the checks themselves stay pure in the other modules. Problems that do not
stop the run (ruff unavailable, say) come back as `warnings`, not exceptions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from app.engine.files import SourceFile, collect, read
from app.engine.findings import FileReport
from app.engine.fixing import plan_repairs, ruff_fix, write_repairs
from app.engine.lint import LintRun, LintUnavailable
from app.engine.validate import PYTHON_SUFFIXES, EngineConfig, merge_lint_findings, validate


@dataclass
class TreeResult:
    reports: list[FileReport] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def validate_tree(paths: list[Path], config: EngineConfig) -> TreeResult:
    """Every check on the given files and folders; ruff runs while the others do."""
    result = TreeResult()
    files = collect(paths)
    runs: dict[Path, LintRun] = {}
    for root in sorted({root for root, _ in files}) if config.lint else []:
        python = [
            f.relative_to(root).as_posix()
            for r, f in files
            if r == root and f.suffix in PYTHON_SUFFIXES and not f.is_symlink()
        ]
        try:
            runs[root] = LintRun(root, python)
        except LintUnavailable as exc:
            result.warnings.append(f"lint skipped: {exc}")
    result.reports = validate((read(root, f, config.max_bytes) for root, f in files), config)
    for root, run in runs.items():
        in_root = [rep for rep, (r, _) in zip(result.reports, files, strict=True) if r == root]
        try:
            merge_lint_findings(in_root, run.result())
        except LintUnavailable as exc:
            result.warnings.append(f"lint skipped: {exc}")
    return result


@dataclass
class FixResult:
    changed: bool = False
    notes: list[str] = field(default_factory=list)  # commit-message lines
    diff: str = ""
    warnings: list[str] = field(default_factory=list)


def fix_tree(paths: list[Path], write: bool) -> FixResult:
    """Syntax repair, then ruff's safe fixes; with write=False only the diff is made."""
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
            result.changed = True
            result.diff += ruff_output
    return result
