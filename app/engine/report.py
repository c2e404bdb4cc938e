"""Findings as text for people, JSON for tools and SARIF 2.1.0 for GitHub code scanning."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from typing import Any

from app.engine.findings import FileReport, Finding, Severity

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
SARIF_LEVEL = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.NOTICE: "note"}
TOOL_NAME = "Deckhand"
TOOL_URI = "https://github.com/apps/deckhand"


def _all(reports: Sequence[FileReport]) -> list[Finding]:
    return [finding for report in reports for finding in report.findings]


def summary(reports: Sequence[FileReport]) -> dict[str, Any]:
    findings = _all(reports)
    return {
        "files": len(reports),
        "skipped": sum(1 for r in reports if r.skipped),
        "by_severity": dict(Counter(f.severity.value for f in findings)),
        "by_rule": dict(sorted(Counter(f.rule for f in findings).items())),
    }


def as_text(reports: Sequence[FileReport]) -> str:
    lines = []
    for report in reports:
        if report.skipped:
            lines.append(f"{report.path}: skipped: {report.skipped}")
        for f in report.findings:
            lines.append(f"{f.path}:{f.line}:{f.column}: {f.severity.value} [{f.rule}] {f.message}")
    counts = summary(reports)["by_severity"]
    total = sum(counts.values())
    detail = ", ".join(f"{counts[s.value]} {s.value}" for s in Severity if counts.get(s.value))
    lines.append(
        f"{len(reports)} files checked: "
        + (f"{total} finding{'s' if total != 1 else ''} ({detail})" if total else "no findings")
    )
    return "\n".join(lines) + "\n"


def as_json(reports: Sequence[FileReport]) -> str:
    body = {
        "summary": summary(reports),
        "findings": [f.to_dict() for f in _all(reports)],
        "skipped": [{"path": r.path, "reason": r.skipped} for r in reports if r.skipped],
    }
    return json.dumps(body, indent=2) + "\n"


def _region(f: Finding) -> dict[str, int]:
    region = {"startLine": f.line, "startColumn": f.column}
    if f.end_line is not None and f.end_column is not None:
        region |= {"endLine": f.end_line, "endColumn": f.end_column}
    return region


def as_sarif(reports: Sequence[FileReport], version: str = "0.1.0") -> str:
    findings = _all(reports)
    rules = sorted({f.rule for f in findings})
    index = {rule: i for i, rule in enumerate(rules)}
    results = [
        {
            "ruleId": f.rule,
            "ruleIndex": index[f.rule],
            "level": SARIF_LEVEL[f.severity],
            "message": {"text": f.message},
            "locations": [
                {
                    "physicalLocation": {
                        "artifactLocation": {"uri": f.path, "uriBaseId": "%SRCROOT%"},
                        "region": _region(f),
                    }
                }
            ],
        }
        for f in findings
    ]
    notifications = [
        {
            "level": "note",
            "message": {"text": f"skipped: {r.skipped}"},
            "locations": [{"physicalLocation": {"artifactLocation": {"uri": r.path}}}],
        }
        for r in reports
        if r.skipped
    ]
    run: dict[str, Any] = {
        "tool": {
            "driver": {
                "name": TOOL_NAME,
                "informationUri": TOOL_URI,
                "version": version,
                "rules": [{"id": rule, "shortDescription": {"text": rule}} for rule in rules],
            }
        },
        "results": results,
        "invocations": [{"executionSuccessful": True, "toolExecutionNotifications": notifications}],
    }
    return json.dumps({"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [run]}, indent=2) + "\n"


FORMATS = {"text": as_text, "json": as_json, "sarif": as_sarif}
