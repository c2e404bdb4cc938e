"""`python -m app fix PATH...`: syntax repair and ruff's safe fixes on a working tree."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path


def fix(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app", "fix", ".", *args],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_the_diff_is_one_patch_git_applies(tmp_path: Path) -> None:
    (tmp_path / "syn.py").write_text("def f(x)\n    return x\n")
    (tmp_path / "lint.py").write_text("import os\nx = 1\n")
    diff = fix(tmp_path, "--diff")
    assert diff.stdout.count("--- a/") == 2 and "Would fix" not in diff.stdout
    assert "Would fix 1 error" in diff.stderr  # ruff's summary, apart from the patch
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    applied = subprocess.run(
        ["git", "apply"], input=diff.stdout, cwd=tmp_path, text=True, capture_output=True
    )
    assert applied.returncode == 0, applied.stderr
    assert (tmp_path / "syn.py").read_text() == "def f(x):\n    return x\n"
    assert (tmp_path / "lint.py").read_text() == "x = 1\n"


def test_check_and_diff_write_nothing(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("def f(x)\n    return x\n")
    checked = fix(tmp_path, "--check")
    assert checked.returncode == 1
    diff = fix(tmp_path, "--diff")
    assert diff.returncode == 0
    assert "+def f(x):" in diff.stdout
    assert (tmp_path / "a.py").read_text() == "def f(x)\n    return x\n"


def test_fix_repairs_syntax_then_applies_ruffs_safe_fixes(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_bytes(b"\xef\xbb\xbfimport os\r\n\r\nif True\r\n    x = 1\r\n")
    result = fix(tmp_path)
    assert result.returncode == 0, result.stderr
    assert "a.py: line 3: add missing ':' after 'if' header" in result.stdout
    data = (tmp_path / "a.py").read_bytes()
    assert (
        data.startswith(b"\xef\xbb\xbf")
        and b"\r\n" in data
        and b"\n" not in data.replace(b"\r\n", b"")
    )
    text = data.decode("utf-8-sig")
    assert "import os" not in text  # ruff's safe fix for the unused import
    ast.parse(text)
    assert fix(tmp_path, "--check").returncode == 0


def test_an_unrepairable_file_is_left_as_it_was(tmp_path: Path) -> None:
    broken = "x = = 1\n"
    (tmp_path / "b.py").write_text(broken)
    result = fix(tmp_path)
    assert "b.py: not repaired" in result.stdout
    assert (tmp_path / "b.py").read_text() == broken


def test_workflow_files_are_never_touched(tmp_path: Path) -> None:
    workflows = tmp_path / ".github" / "workflows"
    workflows.mkdir(parents=True)
    (workflows / "helper.py").write_text("import os\nif True\n    pass\n")
    fix(tmp_path)
    assert (workflows / "helper.py").read_text() == "import os\nif True\n    pass\n"
