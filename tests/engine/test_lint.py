"""ruff's lint and security findings on real files in a temporary working tree."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.engine.findings import FileReport, Severity
from app.engine.lint import LintUnavailable, lint
from app.engine.validate import merge_lint_findings

RISKY = (
    "import os\n"
    "import subprocess\n\n\n"
    "def run(command):\n"
    "    assert command\n"
    "    subprocess.call(command, shell=True)\n"
    "    return undefined_name\n"
)


def by_rule(findings):
    return {f.rule: f for f in findings}


def test_without_a_config_the_default_rules_and_security_apply(tmp_path: Path) -> None:
    (tmp_path / "risky.py").write_text(RISKY)
    found = by_rule(lint(tmp_path, ["risky.py"]))
    assert {"ruff/F401", "ruff/S602", "ruff/F821", "ruff/S101"} <= set(found)
    unused = found["ruff/F401"]
    assert (unused.path, unused.line, unused.column, unused.end_column) == ("risky.py", 1, 8, 10)
    assert unused.severity is Severity.WARNING and unused.source == "ruff"
    assert unused.fix is not None and unused.fix.safe
    assert found["ruff/F821"].severity is Severity.ERROR
    assert found["ruff/S602"].message.startswith("`subprocess` call with `shell=True`")


def test_the_repository_config_is_respected_and_security_added(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        "[tool.ruff.lint]\n"
        'select = ["E", "F"]\n'
        'ignore = ["F401", "S101"]\n'
        '[tool.ruff.lint.per-file-ignores]\n"scripts/*" = ["S602"]\n'
    )
    (tmp_path / "scripts").mkdir()
    (tmp_path / "risky.py").write_text(RISKY)
    (tmp_path / "scripts" / "tool.py").write_text(RISKY)
    found = lint(tmp_path, ["risky.py", "scripts/tool.py"])
    rules = {(f.path, f.rule) for f in found}
    assert ("risky.py", "ruff/S602") in rules  # security added to the repo's own set
    assert ("scripts/tool.py", "ruff/S602") not in rules  # its per-file ignore kept
    assert not {r for _, r in rules} & {"ruff/F401", "ruff/S101"}  # its ignores kept
    assert ("risky.py", "ruff/F821") in rules


def test_files_with_syntax_errors_are_left_to_the_syntax_check(tmp_path: Path) -> None:
    from app.engine.findings import Finding

    (tmp_path / "broken.py").write_text("import os\ndef f(:\n")
    syntax = Finding("broken.py", 2, 7, "syntax", Severity.ERROR, "invalid syntax")
    reports = [FileReport("broken.py", [syntax])]
    merge_lint_findings(reports, lint(tmp_path, ["broken.py"]))
    assert reports[0].findings == [syntax]


def test_a_broken_ruff_config_is_reported_not_ignored(tmp_path: Path) -> None:
    (tmp_path / "ruff.toml").write_text("[lint]\nselect = 42\n")
    (tmp_path / "a.py").write_text("x = 1\n")
    with pytest.raises(LintUnavailable, match="ruff failed"):
        lint(tmp_path, ["a.py"])
