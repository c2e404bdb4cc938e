"""Finding and Fix: what every check returns, in one shape for text, JSON and SARIF.

Positions are 1-based lines and 1-based columns counted in characters (what editors and
GitHub annotations show); `end_line`/`end_column` are inclusive of the last character's
line and exclusive of its column, as in SARIF regions.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"
    NOTICE = "notice"

    @property
    def rank(self) -> int:
        return {"error": 3, "warning": 2, "notice": 1}[self.value]


@dataclass(frozen=True)
class Edit:
    """Replace the text between two positions (same conventions as a Finding's range)."""

    line: int
    column: int
    end_line: int
    end_column: int
    replacement: str


@dataclass(frozen=True)
class Fix:
    description: str
    edits: tuple[Edit, ...]
    safe: bool = True


@dataclass(frozen=True)
class Finding:
    path: str
    line: int
    column: int
    rule: str  # e.g. "syntax", "secrets/github-token", "ruff/F401", "config/yaml"
    severity: Severity
    message: str
    end_line: int | None = None
    end_column: int | None = None
    fix: Fix | None = None
    source: str = "deckhand"  # the tool that found it: deckhand, ruff

    @classmethod
    def error(
        cls,
        path: str,
        rule: str,
        message: str,
        line: int,
        column: int,
        end: tuple[int, int] | None = None,
    ) -> Finding:
        """An error finding; without `end` it covers one character."""
        end_line, end_column = end or (line, column + 1)
        return cls(path, line, column, rule, Severity.ERROR, message, end_line, end_column)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["severity"] = self.severity.value
        return data


@dataclass
class FileReport:
    """What the engine says about one file: its findings, or why it was skipped."""

    path: str
    findings: list[Finding] = field(default_factory=list)
    skipped: str | None = None


def clamp_position(lines: list[str], line: int, column: int) -> tuple[int, int]:
    """Move a position onto a real place: an existing line, a column up to its end
    (one past the last character means the end of the line)."""
    if not lines:
        return 1, 1
    if line < 1:
        return 1, 1
    if line > len(lines):  # e.g. "unexpected EOF": the end of the last line
        return len(lines), len(lines[-1]) + 1
    return line, min(max(column, 1), len(lines[line - 1]) + 1)
