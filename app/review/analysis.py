"""Runs the engine over a push's changed files and works out the fixes.

The changed files (and the repository's own ruff and dependency configuration) are
written to a scratch folder, never checked out: no hook, filter or code of the
repository runs. `review.paths` chooses the code files that get the syntax, lint,
import checks and fixes; every other changed text file still gets the secrets scan and,
for YAML/JSON/TOML, the syntax check; `review.ignore` leaves a file out entirely.
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from wcmatch import glob

from app.config.repo import ReviewConfig
from app.engine.configs import check_config_file, is_config_file
from app.engine.files import DEFAULT_MAX_BYTES, SourceFile, decode
from app.engine.findings import FileReport, Finding
from app.engine.fixing import plan_repairs, ruff_fix
from app.engine.imports import check_imports, declared_import_names
from app.engine.lint import LintRun, LintUnavailable
from app.engine.secrets import scan_secrets
from app.engine.validate import PYTHON_SUFFIXES, EngineConfig, check_source, merge_lint_findings
from app.review.guards import is_protected

_GLOB_FLAGS = glob.GLOBSTAR | glob.DOTGLOB | glob.BRACE
# Files read besides the changed ones: ruff's settings and the declared dependencies.
SUPPORT_FILES = (
    "pyproject.toml",
    "ruff.toml",
    ".ruff.toml",
    "setup.cfg",
    "Pipfile",
    "requirements.txt",
    "requirements-dev.txt",
    "requirements/base.txt",
)


@dataclass
class Analysis:
    reports: list[FileReport] = field(default_factory=list)
    fixed: dict[str, bytes] = field(default_factory=dict)  # path -> new content
    notes: list[str] = field(default_factory=list)  # one line per fix, commit-message style
    warnings: list[str] = field(default_factory=list)

    @property
    def findings(self) -> list[Finding]:
        return [finding for report in self.reports for finding in report.findings]


def selection(config: ReviewConfig, paths: Sequence[str]) -> tuple[list[str], list[str]]:
    """(code files, other files) among the changed paths, per `review.paths`/`ignore`."""
    code, other = [], []
    for path in paths:
        if config.ignore and glob.globmatch(path, config.ignore, flags=_GLOB_FLAGS):
            continue
        if path.endswith(PYTHON_SUFFIXES) and glob.globmatch(path, config.paths, flags=_GLOB_FLAGS):
            code.append(path)
        else:
            other.append(path)
    return code, other


def analyse(
    changed: Mapping[str, bytes],
    support: Mapping[str, bytes],
    known_paths: Sequence[str],
    config: ReviewConfig,
    *,
    fixes: bool,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> Analysis:
    """Findings for the changed files and, with `fixes`, the fixed contents."""
    analysis = Analysis()
    code_paths, other_paths = selection(config, sorted(changed))
    with tempfile.TemporaryDirectory(prefix="deckhand-review-") as scratch:
        root = Path(scratch)
        for path, data in {**support, **changed}.items():
            target = root / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        decoded = {
            path: decode(path, changed[path], max_bytes) for path in code_paths + other_paths
        }
        sources = {path: item for path, item in decoded.items() if isinstance(item, SourceFile)}
        lint_run = _start_lint(root, [p for p in code_paths if p in sources], analysis)
        analysis.reports = _check(decoded, sources, set(code_paths), support, known_paths)
        if lint_run is not None:
            try:
                merge_lint_findings(analysis.reports, lint_run.result())
            except LintUnavailable as exc:
                analysis.warnings.append(f"lint skipped: {exc}")
        if fixes:
            _fix(root, [sources[p] for p in code_paths if p in sources], analysis)
    return analysis


def _start_lint(root: Path, paths: list[str], analysis: Analysis) -> LintRun | None:
    if not paths:
        return None
    try:
        return LintRun(root, paths)
    except LintUnavailable as exc:
        analysis.warnings.append(f"lint skipped: {exc}")
        return None


def _check(
    decoded: Mapping[str, SourceFile | object],
    sources: Mapping[str, SourceFile],
    code: set[str],
    support: Mapping[str, bytes],
    known_paths: Sequence[str],
) -> list[FileReport]:
    reports: list[FileReport] = []
    trees: dict = {}
    for path, item in decoded.items():
        if path not in sources:
            reports.append(FileReport(path, skipped=getattr(item, "reason", "not text")))
            continue
        source = sources[path]
        if path in code:
            findings = check_source(source, EngineConfig(), trees)
        else:
            findings = scan_secrets(path, source.text)
            if is_config_file(path):
                findings += check_config_file(path, source.text)
        reports.append(FileReport(path, sorted(findings, key=lambda f: (f.line, f.column))))
    texts = {path: data.decode("utf-8", "replace") for path, data in support.items()}
    python = {path: sources[path].text for path in trees}
    by_path = {report.path: report for report in reports}
    imports = check_imports(
        python, declared_import_names(texts), trees=trees, known_paths=known_paths
    )
    for finding in imports:
        if finding.path in by_path:
            by_path[finding.path].findings.append(finding)
    return reports


def _fix(root: Path, sources: list[SourceFile], analysis: Analysis) -> None:
    """Syntax repairs, then ruff's safe fixes, on the code files; never a protected path."""
    sources = [s for s in sources if not is_protected(s.path)]
    if not sources:
        return
    before = {s.path: (root / s.path).read_bytes() for s in sources}
    repairs = plan_repairs(sources)
    for path, text in repairs.repaired.items():
        bom = b"\xef\xbb\xbf" if before[path].startswith(b"\xef\xbb\xbf") else b""
        (root / path).write_bytes(bom + text.encode("utf-8"))
    analysis.notes += repairs.notes
    try:
        ruff_fix(root, [s.path for s in sources], write=True, safe_only=True)
    except LintUnavailable as exc:
        analysis.warnings.append(f"ruff fixes skipped: {exc}")
    fixable = _safe_fixes(analysis.findings)
    for path, old in before.items():
        new = (root / path).read_bytes()
        if new == old:
            continue
        analysis.fixed[path] = new
        analysis.notes += [
            f"{path}:{f.line}: {f.rule.removeprefix('ruff/')} {f.fix.description if f.fix else ''}"
            for f in fixable.get(path, [])
        ]
        if path in repairs.repaired and new != repairs.repaired[path].encode():
            analysis.notes.append(f"{path}: ruff's safe fixes after the syntax repair")


def _safe_fixes(findings: list[Finding]) -> dict[str, list[Finding]]:
    fixable: dict[str, list[Finding]] = {}
    for finding in findings:
        if finding.fix is not None and finding.fix.safe and finding.source == "ruff":
            fixable.setdefault(finding.path, []).append(finding)
    return fixable
