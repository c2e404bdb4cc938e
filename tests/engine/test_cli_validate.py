"""`python -m app validate PATH...` end to end on a small working tree."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

GITHUB_TOKEN = "ghp_" + "Ab12Cd34Ef56Gh78Ij90" + "Kl12Mn34Op56Qr78St90"[:16]


def run(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app", "validate", *map(str, args)],
        cwd=cwd,
        env={**os.environ, "PORT": "not-needed-here"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def make_tree(root: Path) -> None:
    (root / "pkg").mkdir()
    (root / "pkg" / "good.py").write_text("def f(x):\n    return x\n")
    (root / "pkg" / "bad.py").write_text("def f(x)\n    return x\n")
    (root / "settings.yml").write_text("a: [1, 2\n")
    (root / "deploy.env").write_text(f"GITHUB_TOKEN={GITHUB_TOKEN}\n")
    (root / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n\0\0")


def test_a_clean_tree_exits_0(tmp_path: Path) -> None:
    (tmp_path / "ok.py").write_text("x = 1\n")
    result = run(tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "1 files checked: no findings"


def test_any_finding_exits_1_unless_fail_on_raises_the_bar(tmp_path: Path) -> None:
    (tmp_path / "lint.py").write_text("import os\n")  # an unused import: a warning
    (tmp_path / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n\0\0")  # skipped, not a finding
    result = run(tmp_path)
    assert result.returncode == 1 and "warning [ruff/F401]" in result.stdout
    assert run(tmp_path, "--fail-on", "warning").returncode == 1
    assert run(tmp_path, "--fail-on", "error").returncode == 0
    assert run(tmp_path, "--fail-on", "fatal").returncode == 2


def test_errors_exit_1_with_positions_and_no_secret_in_the_output(tmp_path: Path) -> None:
    make_tree(tmp_path)
    result = run(".", cwd=tmp_path)
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert any(line.startswith("pkg/bad.py:1:9: error [syntax") for line in lines), lines
    assert any(line.startswith("settings.yml:") and "config/yaml" in line for line in lines)
    assert any(line.startswith("deploy.env:1:14:") and "secrets/" in line for line in lines)
    assert "logo.png: skipped: binary file" in lines
    assert GITHUB_TOKEN not in result.stdout


def test_sarif_and_json_formats(tmp_path: Path) -> None:
    make_tree(tmp_path)
    sarif = json.loads(run(tmp_path, "--format", "sarif").stdout)
    assert sarif["version"] == "2.1.0" and sarif["runs"][0]["results"]
    body = json.loads(run(tmp_path, "--format", "json").stdout)
    assert body["summary"]["files"] == 5


def test_a_missing_path_is_a_usage_error(tmp_path: Path) -> None:
    result = run(tmp_path / "nope")
    assert result.returncode == 2
    assert "no such file or directory" in result.stderr


def git(root: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        cwd=root,
        check=True,
        capture_output=True,
    )


def test_since_checks_only_what_changed(tmp_path: Path) -> None:
    git(tmp_path, "init", "-q")
    (tmp_path / "old.py").write_text("def f(x)\n    return x\n")  # broken, but committed
    (tmp_path / "lib.py").write_text("X = 1\n")
    git(tmp_path, "add", "-A")
    git(tmp_path, "commit", "-q", "-m", "one")
    (tmp_path / "lib.py").write_text("X = 2\n")
    (tmp_path / "new.py").write_text("from lib import X\n\nprint(X)\n")
    result = run(".", "--since", "HEAD", "--format", "json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    body = json.loads(result.stdout)
    assert body["summary"]["files"] == 2 and body["findings"] == []
    assert run(".", cwd=tmp_path).returncode == 1  # old.py's syntax error, without --since


def test_since_outside_a_repository_or_with_an_unknown_revision_is_a_usage_error(
    tmp_path: Path,
) -> None:
    (tmp_path / "ok.py").write_text("x = 1\n")
    outside = run(tmp_path, "--since", "HEAD")
    assert outside.returncode == 2
    assert "needs a git repository" in outside.stderr and "Traceback" not in outside.stderr
    git(tmp_path, "init", "-q")
    unknown = run(tmp_path, "--since", "no-such-branch")
    assert unknown.returncode == 2
    assert "unknown revision 'no-such-branch'" in unknown.stderr


def test_the_cache_directory_options(tmp_path: Path) -> None:
    (tmp_path / "ok.py").write_text("x = 1\n")
    assert run(tmp_path, "--no-cache").returncode == 0
    assert not (tmp_path / ".deckhand_cache").exists()
    assert run(tmp_path, "--cache-dir", tmp_path / "elsewhere").returncode == 0
    assert list((tmp_path / "elsewhere").glob("*.json"))
    assert not (tmp_path / ".deckhand_cache").exists()
    first = run(tmp_path)
    assert list((tmp_path / ".deckhand_cache").glob("*.json"))
    second = run(tmp_path)
    assert second.stdout == first.stdout == "1 files checked: no findings\n"


def test_no_progress_bar_when_stderr_is_piped(tmp_path: Path) -> None:
    for i in range(50):
        (tmp_path / f"m{i}.py").write_text("x = 1\n")
    result = run(tmp_path, "--no-cache", "--jobs", "1")
    assert result.returncode == 0 and result.stderr == ""
    assert run(tmp_path, "--jobs", "0").returncode == 2
