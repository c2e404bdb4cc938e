"""Lint and security findings from ruff, run as a subprocess on files in a working tree.

ruff reads the repository's own configuration (`pyproject.toml`, `ruff.toml`) as it
would for its developers; without one, a default set is used (pyflakes, pycodestyle
errors, bugbear). The bandit rules (`S`) are always added: they are Deckhand's security
check. ruff only reads code; nothing here imports or runs it. Syntax errors are left to
app.engine.syntax, which reports them with Python's own message.
"""

from __future__ import annotations

import fnmatch
import json
import os
import subprocess
import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from app.engine.findings import Edit, Finding, Fix, Severity

DEFAULT_RULES = "F,E4,E7,E9,B,S"
RUFF_CONFIG_FILES = ("ruff.toml", ".ruff.toml")
TIMEOUT_SECONDS = 300
# Rules whose findings are bugs (the code will fail), not style: errors.
ERROR_PREFIXES = ("F82", "F63", "F70", "F72", "F50", "F52", "E9", "B012")


class LintUnavailable(RuntimeError):
    """ruff could not be run or its answer could not be read.

    The message is fit to show anyone. `detail` holds ruff's own words, which may quote
    any file the repository's configuration points ruff at (`extend = "/etc/..."`): for
    whoever runs the check on their own machine, never for a check run or a comment.
    """

    def __init__(self, message: str, detail: str = "") -> None:
        super().__init__(message)
        self.detail = detail


def ruff_env() -> dict[str, str]:
    """ruff's whole environment: nothing of this process's, since a repository's
    configuration can make ruff read and quote files, `/proc/self/environ` included."""
    return {"PATH": os.defpath, "LC_ALL": "C.UTF-8"}


def ruff_failed(returncode: int, stderr: str) -> LintUnavailable:
    return LintUnavailable(
        f"ruff failed (exit {returncode}); is the repository's ruff configuration valid?",
        detail=stderr.strip()[:2000],
    )


def ruff_binary() -> str:
    from ruff.__main__ import find_ruff_bin

    return str(find_ruff_bin())


def ruff_settings(root: Path) -> dict[str, Any] | None:
    """The repository's ruff settings (the `lint` table merged over the top level), if any."""
    for name in RUFF_CONFIG_FILES:
        if (root / name).is_file():
            data = _toml(root / name)
            break
    else:
        data = _toml(root / "pyproject.toml").get("tool", {}).get("ruff")
        if data is None:
            return None
    return {**data, **data.get("lint", {})}


def _toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(errors="replace")) if path.is_file() else {}
    except tomllib.TOMLDecodeError:
        return {}


def has_ruff_config(root: Path) -> bool:
    return ruff_settings(root) is not None


def ignored_by_repo(settings: dict[str, Any], path: str, code: str) -> bool:
    """Whether the repository's own config ignores `code` in `path`.

    Adding the security rules on the command line would otherwise switch back on what
    the repository chose to ignore (ruff lets command-line selections win).
    """
    ignored = [*settings.get("ignore", []), *settings.get("extend-ignore", [])]
    per_file = {
        **settings.get("per-file-ignores", {}),
        **settings.get("extend-per-file-ignores", {}),
    }
    for pattern, codes in per_file.items():
        if fnmatch.fnmatch(path, pattern) or fnmatch.fnmatch(Path(path).name, pattern):
            ignored += codes
    return any(code.startswith(prefix) for prefix in ignored if isinstance(prefix, str))


def ruff_command(root: Path, paths: Sequence[str]) -> list[str]:
    command = [ruff_binary(), "check", "--output-format", "json", "--exit-zero", "--no-fix"]
    command += ["--no-cache", "--force-exclude"]
    if has_ruff_config(root):
        command += ["--extend-select", "S"]
    else:
        command += ["--isolated", "--select", DEFAULT_RULES]
    return [*command, "--", *paths]


def severity_of(code: str) -> Severity:
    return Severity.ERROR if code.startswith(ERROR_PREFIXES) else Severity.WARNING


def _fix(raw: dict[str, Any] | None) -> Fix | None:
    if not raw or not raw.get("edits"):
        return None
    edits = tuple(
        Edit(
            line=e["location"]["row"],
            column=e["location"]["column"],
            end_line=e["end_location"]["row"],
            end_column=e["end_location"]["column"],
            replacement=e["content"],
        )
        for e in raw["edits"]
    )
    return Fix(raw.get("message") or "ruff fix", edits, safe=raw.get("applicability") == "safe")


def parse_ruff_output(root: Path, output: str) -> list[Finding]:
    findings = []
    for item in json.loads(output or "[]"):
        code = item.get("code")
        if not code or code == "E999":  # syntax errors: reported by the syntax check
            continue
        path = Path(item["filename"])
        relative = path.relative_to(root) if path.is_relative_to(root) else path
        findings.append(
            Finding(
                path=relative.as_posix(),
                line=item["location"]["row"],
                column=item["location"]["column"],
                end_line=item["end_location"]["row"],
                end_column=item["end_location"]["column"],
                rule=f"ruff/{code}",
                severity=severity_of(code),
                message=item["message"],
                fix=_fix(item.get("fix")),
                source="ruff",
            )
        )
    return findings


class LintRun:
    """ruff started in the background over `paths` (relative to `root`), so the engine's
    own checks run meanwhile; `result()` waits for it and returns its findings."""

    def __init__(self, root: Path, paths: Sequence[str]) -> None:
        self.root = root.absolute()
        self.settings = ruff_settings(self.root)
        self.process: subprocess.Popen[str] | None = None
        if not paths:
            return
        try:
            self.process = subprocess.Popen(  # noqa: S603 - our own ruff binary, no shell
                ruff_command(self.root, paths),
                cwd=self.root,
                env=ruff_env(),
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        except OSError as exc:
            raise LintUnavailable(f"ruff did not run: {exc}") from exc

    def result(self) -> list[Finding]:
        if self.process is None:
            return []
        try:
            stdout, stderr = self.process.communicate(timeout=TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired as exc:
            self.process.kill()
            self.process.communicate()
            raise LintUnavailable(f"ruff did not finish: {exc}") from exc
        if self.process.returncode != 0:
            raise ruff_failed(self.process.returncode, stderr)
        try:
            findings = parse_ruff_output(self.root, stdout)
        except (ValueError, KeyError, TypeError) as exc:
            raise LintUnavailable(f"unreadable ruff output: {exc}") from exc
        settings = self.settings
        if settings is None:
            return findings
        return [
            f
            for f in findings
            if not ignored_by_repo(settings, f.path, f.rule.removeprefix("ruff/"))
        ]


def lint(root: Path, paths: Sequence[str]) -> list[Finding]:
    """ruff's findings for `paths` (relative to `root`), in one run over all of them."""
    return LintRun(root, paths).result()
