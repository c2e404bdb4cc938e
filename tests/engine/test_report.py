"""Text, JSON and SARIF 2.1.0 output of the engine's findings."""

from __future__ import annotations

import json

from app.engine.findings import FileReport, Finding, Severity
from app.engine.report import as_json, as_sarif, as_text

REPORTS = [
    FileReport(
        "pkg/mod.py",
        [
            Finding("pkg/mod.py", 3, 9, "syntax", Severity.ERROR, "expected ':'", 3, 10),
            Finding("pkg/mod.py", 7, 1, "secrets/high-entropy", Severity.WARNING, "secret"),
        ],
    ),
    FileReport("ok.yml"),
    FileReport("logo.png", skipped="binary file"),
]


def test_text_lists_findings_skips_and_a_summary() -> None:
    assert as_text(REPORTS).splitlines() == [
        "pkg/mod.py:3:9: error [syntax] expected ':'",
        "pkg/mod.py:7:1: warning [secrets/high-entropy] secret",
        "logo.png: skipped: binary file",
        "3 files checked: 2 findings (1 error, 1 warning)",
    ]
    assert as_text([FileReport("a.py")]).strip() == "1 files checked: no findings"


def test_json_has_every_field_of_a_finding() -> None:
    body = json.loads(as_json(REPORTS))
    assert body["summary"]["by_severity"] == {"error": 1, "warning": 1}
    assert body["findings"][0] == {
        "path": "pkg/mod.py",
        "line": 3,
        "column": 9,
        "rule": "syntax",
        "severity": "error",
        "message": "expected ':'",
        "end_line": 3,
        "end_column": 10,
        "fix": None,
        "source": "deckhand",
    }
    assert body["skipped"] == [{"path": "logo.png", "reason": "binary file"}]


def test_sarif_has_the_shape_github_code_scanning_takes() -> None:
    sarif = json.loads(as_sarif(REPORTS))
    assert sarif["version"] == "2.1.0"
    [run] = sarif["runs"]
    rules = [rule["id"] for rule in run["tool"]["driver"]["rules"]]
    assert rules == ["secrets/high-entropy", "syntax"]
    first, second = run["results"]
    assert first["ruleId"] == "syntax" and rules[first["ruleIndex"]] == "syntax"
    assert first["level"] == "error" and second["level"] == "warning"
    location = first["locations"][0]["physicalLocation"]
    assert location["artifactLocation"] == {"uri": "pkg/mod.py", "uriBaseId": "%SRCROOT%"}
    assert location["region"] == {"startLine": 3, "startColumn": 9, "endLine": 3, "endColumn": 10}
    assert "endLine" not in second["locations"][0]["physicalLocation"]["region"]
    notes = run["invocations"][0]["toolExecutionNotifications"]
    assert notes[0]["message"]["text"] == "skipped: binary file"
