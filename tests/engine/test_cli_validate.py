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
