"""`python -m app commit [-m MESSAGE]` on a real repository in a temporary folder."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from app.cli import main
from app.workflow.model import MessageModel, model_message
from tests.fakes.openai_server import FakeOpenAI
from tests.workflow.gitrepo import git, subjects

CHANGED = (
    "def greet(name):\n    return 'hi ' + name\n\n\ndef wave(times)\n    return 'o/' * times\n"
)


def test_without_m_the_summary_names_changed_functions_and_the_fix(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (repo / "a.py").write_text(CHANGED)
    (repo / "b.txt").write_text("notes\n")
    git(repo, "add", "a.py", "b.txt")
    assert main(["commit", "--no-lint"]) == 0
    out = capsys.readouterr().out
    assert "a.py: line 5: add missing ':'" in out
    assert "fixed and staged again: a.py" in out
    message = git(repo, "log", "-1", "--format=%B")
    assert message.splitlines()[0] == "Update 2 files: add wave; change greet"
    assert "Added: b.txt\nModified: a.py" in message
    assert "- add function wave\n- change function greet" in message
    assert "Fixes applied by Deckhand:\n- a.py: line 5: add missing ':'" in message
    assert git(repo, "show", "HEAD:a.py").startswith(CHANGED.replace("(times)", "(times):")[:60])
    assert git(repo, "status", "--porcelain") == ""  # the fix was committed, nothing left


def test_with_m_the_message_is_used_as_given(repo: Path) -> None:
    (repo / "c.py").write_text("x = 1\n")
    git(repo, "add", "c.py")
    assert main(["commit", "--no-lint", "-m", "Add c\n\nBecause."]) == 0
    assert git(repo, "log", "-1", "--format=%B") == "Add c\n\nBecause."


def test_errors_that_cannot_be_fixed_are_listed_and_nothing_is_committed(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (repo / "bad.py").write_text("x = = 1\n")
    (repo / "bad.json").write_text('{"a": 1,}')
    git(repo, "add", "bad.py", "bad.json")
    assert main(["commit", "--no-lint"]) == 1
    err = capsys.readouterr().err
    assert "bad.py:1:5: error [syntax]" in err
    assert "bad.json:1:" in err and "error [config/json]" in err
    assert "not committed: 2 errors left that could not be fixed" in err
    assert subjects(repo) == ["First"]
    assert git(repo, "diff", "--cached", "--name-only").splitlines() == ["bad.json", "bad.py"]


def test_nothing_staged_fails_and_outside_a_repository_is_a_usage_error(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert main(["commit", "--no-lint"]) == 1
    outside = tmp_path / "plain"
    outside.mkdir()
    monkeypatch.chdir(outside)
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    assert main(["commit", "--no-lint"]) == 2


def test_a_partly_staged_file_is_not_fixed_and_its_unstaged_part_stays_unstaged(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (repo / "a.py").write_text(CHANGED.replace("(times)", "(times):"))
    git(repo, "add", "a.py")
    (repo / "a.py").write_text(CHANGED.replace("(times)", "(times):") + "# local note\n")
    assert main(["commit", "--no-lint"]) == 0
    assert "has unstaged changes" in capsys.readouterr().out
    assert "# local note" not in git(repo, "show", "HEAD:a.py")
    assert git(repo, "status", "--porcelain") == "M a.py"


def test_a_model_writes_the_message_when_configured(
    repo: Path, fake_openai: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", fake_openai.api_key)
    monkeypatch.setenv("OPENAI_BASE_URL", fake_openai.url)
    monkeypatch.setenv("OPENAI_MODEL", "commit-writer")
    fake_openai.reply(
        "Say hi instead of hello in greet\n\nThe greeting is shorter and friendlier, which "
        "is what the new onboarding screens want to show to first-time visitors."
    )
    (repo / "a.py").write_text("def greet(name):\n    return 'hi ' + name\n")
    git(repo, "add", "a.py")
    assert main(["commit", "--no-lint"]) == 0
    subject, blank, *body = git(repo, "log", "-1", "--format=%B").splitlines()
    assert (subject, blank) == ("Say hi instead of hello in greet", "")
    assert len(body) >= 2 and all(len(line) <= 72 for line in body)  # wrapped at 72
    sent = fake_openai.requests[-1].json
    assert sent["model"] == "commit-writer"
    prompt = sent["messages"][-1]["content"]
    assert "+    return 'hi ' + name" in prompt
    assert "- change function greet" in prompt


def test_a_failing_model_falls_back_to_the_summary(
    repo: Path,
    fake_openai: FakeOpenAI,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", fake_openai.api_key)
    monkeypatch.setenv("OPENAI_BASE_URL", fake_openai.url)
    fake_openai.status(500)
    (repo / "a.py").write_text("def greet(name):\n    return 'hi ' + name\n")
    git(repo, "add", "a.py")
    assert main(["commit", "--no-lint"]) == 0
    assert "model message not used (the model's API answered HTTP 500)" in capsys.readouterr().err
    assert subjects(repo)[0] == "Update a.py: change greet"


@pytest.mark.parametrize(
    ("script", "reason"),
    [
        ("slow", "did not answer within"),
        ("malformed_subject", "no usable subject"),
        ("refusal", "no message"),
        ("no_choices", "no answer"),
        ("truncated", "cut off"),
    ],
)
def test_model_failures_are_reasons_never_exceptions(
    fake_openai: FakeOpenAI, script: str, reason: str
) -> None:
    if script == "slow":
        fake_openai.slow(5)
    elif script == "malformed_subject":
        fake_openai.reply("x" * 300)
    else:
        getattr(fake_openai, script)()
    model = MessageModel(fake_openai.api_key, fake_openai.url, "m", timeout=0.5)
    message, why = model_message(model, "diff --git a/x b/x\n", "Update x")
    assert message is None
    assert reason in why


def test_the_command_runs_as_a_process_without_a_traceback(repo: Path) -> None:
    (repo / "d.py").write_text("def d():\n    return 4\n")
    git(repo, "add", "d.py")
    result = subprocess.run(
        [sys.executable, "-m", "app", "commit"],  # with ruff lint, the default
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "LOG_LEVEL": "warning"},
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("Add d.py: add d")
    assert subjects(repo)[0] == "Add d.py: add d"
