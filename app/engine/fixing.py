"""Applying fixes to a working tree: syntax repair first, then ruff's safe fixes.

Syntax repair runs on the file's text and is only kept when the result parses (see
app.engine.repair); ruff applies only the fixes it marks safe, never unsafe ones. With
`write=False` nothing is written: the plan is reported (and ruff shows its own diff).
"""

from __future__ import annotations

import difflib
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from app.engine.files import SourceFile
from app.engine.lint import (
    DEFAULT_RULES,
    LintUnavailable,
    has_ruff_config,
    ruff_binary,
    ruff_env,
    ruff_failed,
)
from app.engine.repair import repair_syntax
from app.engine.syntax import check_python_syntax

PROTECTED_PREFIXES = (".github/workflows/",)


@dataclass
class FixReport:
    repaired: dict[str, str] = field(default_factory=dict)  # path -> new text
    notes: list[str] = field(default_factory=list)  # one line per change, commit-message style
    diffs: list[str] = field(default_factory=list)


def plan_repairs(sources: list[SourceFile]) -> FixReport:
    """Repairs for the Python files that do not parse; abstentions are noted, not forced."""
    report = FixReport()
    for source in sources:
        if not source.path.endswith((".py", ".pyi")) or source.path.startswith(PROTECTED_PREFIXES):
            continue
        if not check_python_syntax(source.path, source.text):
            continue
        result = repair_syntax(source.text)
        if result.text is None:
            report.notes.append(f"{source.path}: not repaired ({result.abstained})")
            continue
        report.repaired[source.path] = result.text
        report.notes += [f"{source.path}: {line}" for line in result.description.splitlines()]
        report.diffs.append(
            "".join(
                difflib.unified_diff(
                    source.text.splitlines(keepends=True),
                    result.text.splitlines(keepends=True),
                    f"a/{source.path}",
                    f"b/{source.path}",
                )
            )
        )
    return report


def write_repairs(root: Path, report: FixReport, sources: list[SourceFile]) -> None:
    """Write repaired texts back, keeping each file's BOM; line endings are in the text."""
    boms = {source.path: source.bom for source in sources}
    for path, text in report.repaired.items():
        data = text.encode("utf-8")
        (root / path).write_bytes(b"\xef\xbb\xbf" + data if boms.get(path) else data)


def ruff_fix(root: Path, paths: list[str], write: bool, safe_only: bool = False) -> str:
    """Apply ruff's fixes (or, with write=False, return the diff they would make): the
    safe ones, and the unsafe ones too only when the repository's configuration asks
    for them and not `safe_only` (the bot's commits list each fix they make, and ruff
    names only the safe ones it applies)."""
    paths = [p for p in paths if not p.startswith(PROTECTED_PREFIXES)]
    if not paths:
        return ""
    command = [ruff_binary(), "check", "--fix", "--exit-zero", "--no-cache", "--force-exclude"]
    command += ["--quiet"] if write else ["--diff"]
    if safe_only:
        command.append("--no-unsafe-fixes")
    if not has_ruff_config(root):
        command += ["--isolated", "--select", DEFAULT_RULES]
    try:
        result = subprocess.run(  # noqa: S603 - our own ruff binary, no shell
            [*command, "--", *paths],
            cwd=root,
            env=ruff_env(),
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise LintUnavailable(f"ruff did not run: {exc}") from exc
    if result.returncode not in (0, 1):
        raise ruff_failed(result.returncode, result.stderr)
    return result.stdout
