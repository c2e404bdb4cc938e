"""The engine over a push's changed files: selection, findings and fixes (ruff runs)."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.config.repo import ReviewConfig
from app.review.analysis import analyse, selection

AWS_KEY = "AKIA" + "Q3EGUJ5SZXM2NV7P"


def test_selection_by_paths_and_ignore() -> None:
    config = ReviewConfig(paths=["src/**/*.py"], ignore=["src/migrations/**"])
    code, other = selection(config, ["src/a.py", "src/migrations/0001.py", "tools/b.py", "x.yml"])
    assert code == ["src/a.py"]
    assert other == ["tools/b.py", "x.yml"]


def test_missing_colon_is_reported_and_repaired() -> None:
    changed = {"app.py": b"def main()\n    return 1\n"}
    analysis = analyse(changed, {}, ["app.py"], ReviewConfig(), fixes=True)
    [finding] = analysis.findings
    assert finding.rule == "syntax" and finding.line == 1
    assert analysis.fixed == {"app.py": b"def main():\n    return 1\n"}
    assert any("app.py" in note for note in analysis.notes)


def test_safe_lint_fix_is_applied_and_listed() -> None:
    changed = {"app.py": b"import os\n\n\ndef main():\n    return 1\n"}
    analysis = analyse(changed, {}, ["app.py"], ReviewConfig(), fixes=True)
    assert [f.rule for f in analysis.findings] == ["ruff/F401"]
    assert analysis.fixed["app.py"] == b"\n\ndef main():\n    return 1\n"
    assert analysis.notes == ["app.py:1: F401 Remove unused import: `os`"]


def test_the_repositorys_ruff_settings_apply() -> None:
    changed = {"app.py": b"import os\n"}
    support = {"pyproject.toml": b"[tool.ruff.lint]\nselect = ['E']\n"}
    analysis = analyse(changed, support, ["app.py", "pyproject.toml"], ReviewConfig(), fixes=True)
    assert analysis.findings == [] and analysis.fixed == {}


def test_every_changed_text_file_gets_the_secrets_scan() -> None:
    changed = {"deploy/.env": f"AWS_ACCESS_KEY_ID={AWS_KEY}\n".encode(), "conf.json": b"{,}"}
    analysis = analyse(changed, {}, list(changed), ReviewConfig(), fixes=True)
    rules = sorted(f.rule for f in analysis.findings)
    assert rules[0].startswith("config/") and rules[1].startswith("secrets/")
    assert all(AWS_KEY not in f.message for f in analysis.findings)
    assert analysis.fixed == {}


def test_imports_resolve_against_the_whole_tree() -> None:
    changed = {"app/main.py": b"import requests\nimport pkg.b\nimport yaml\n"}
    support = {"pyproject.toml": b"[project]\nname = 'x'\ndependencies = ['requests']\n"}
    known = ["pkg/__init__.py", "pkg/b.py", "app/main.py", "pyproject.toml"]
    analysis = analyse(changed, support, known, ReviewConfig(), fixes=False)
    unresolved = [f for f in analysis.findings if f.rule == "imports/unresolved"]
    assert [f.line for f in unresolved] == [3]


def test_workflows_and_binary_files_are_never_changed() -> None:
    changed = {".github/workflows/x.py": b"def f()\n    pass\n", "logo.png": b"\x89PNG\0\0"}
    analysis = analyse(changed, {}, list(changed), ReviewConfig(paths=["**/*.py"]), fixes=True)
    assert analysis.fixed == {}
    skipped = [r for r in analysis.reports if r.skipped]
    assert [r.path for r in skipped] == ["logo.png"]


def test_a_ruff_configuration_cannot_show_the_services_environment_or_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DECKHAND_TEST_SECRET", "hunter2-do-not-show")
    private = tmp_path / "service.env"
    private.write_text("GITHUB_WEBHOOK_SECRET=file-secret-do-not-show\n")
    changed = {"app.py": b"import os\n"}
    for target in ("/proc/self/environ", str(private)):
        support = {"pyproject.toml": f'[tool.ruff]\nextend = "{target}"\n'.encode()}
        analysis = analyse(changed, support, ["app.py"], ReviewConfig(), fixes=True)
        shown = "\n".join(analysis.warnings + analysis.notes)
        assert "do-not-show" not in shown
        assert all("do-not-show" not in f.message for f in analysis.findings)


def test_the_bot_commits_only_safe_fixes_even_when_the_config_allows_unsafe_ones() -> None:
    changed = {"app.py": b"def f():\n    x = 1\n    return 2\n"}  # F841: an unsafe fix
    support = {
        "pyproject.toml": b"[tool.ruff]\nunsafe-fixes = true\n[tool.ruff.lint]\nselect = ['F']\n"
    }
    analysis = analyse(changed, support, ["app.py"], ReviewConfig(), fixes=True)
    assert [f.rule for f in analysis.findings] == ["ruff/F841"]
    assert analysis.fixed == {} and analysis.notes == []  # nothing changed unannounced
