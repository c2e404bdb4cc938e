"""The check run's conclusion, summary, annotations (50 a request) and button."""

from __future__ import annotations

from app.engine.findings import FileReport, Finding, Severity
from app.review.checkrun import APPLY_FIXES_ACTION, Outcome, completion_requests, summary, title


def finding(line: int, severity: Severity = Severity.ERROR, rule: str = "syntax") -> Finding:
    return Finding("app.py", line, 5, rule, severity, f"problem {line}", line, 9)


def test_conclusion_follows_fail_on() -> None:
    warnings = Outcome([FileReport("app.py", [finding(1, Severity.WARNING, "ruff/B006")])])
    assert warnings.conclusion == "success"
    assert Outcome(warnings.reports, fail_on="warning").conclusion == "failure"
    assert Outcome([FileReport("app.py", [finding(1)])]).conclusion == "failure"
    assert Outcome([], superseded_by="f" * 40).conclusion == "cancelled"


def test_summary_counts_by_severity_and_rule_and_lists_fixes() -> None:
    outcome = Outcome(
        [
            FileReport(
                "app.py", [finding(1), finding(2), finding(3, Severity.WARNING, "ruff/F401")]
            ),
            FileReport("blob.bin", skipped="binary file"),
        ],
        fixed_in="abc1234def",
        fix_notes=["app.py: line 1: inserted ':'"],
    )
    assert title(outcome) == "2 errors, 1 warning; fixed in abc1234"
    text = summary(outcome)
    assert "| error | `syntax` | 2 |" in text and "| warning | `ruff/F401` | 1 |" in text
    assert "### Fixed in abc1234def" in text and "inserted ':'" in text
    assert "`blob.bin`: binary file" in text


def test_annotations_go_fifty_a_request_with_the_conclusion_last() -> None:
    outcome = Outcome([FileReport("app.py", [finding(n) for n in range(1, 121)])])
    requests = completion_requests(outcome, limit=200, offer_fixes=True)
    assert [len(r["output"]["annotations"]) for r in requests] == [50, 20, 50]
    assert all("conclusion" not in r for r in requests[:-1])
    final = requests[-1]
    assert final["conclusion"] == "failure" and final["actions"] == [APPLY_FIXES_ACTION]
    first = final["output"]["annotations"][0]
    assert first == {
        "path": "app.py",
        "start_line": 1,
        "end_line": 1,
        "annotation_level": "failure",
        "message": "problem 1",
        "title": "syntax",
        "start_column": 5,
        "end_column": 9,
    }


def test_annotation_limit_and_no_button_without_fixes() -> None:
    outcome = Outcome([FileReport("app.py", [finding(n) for n in range(1, 11)])])
    [only] = completion_requests(outcome, limit=3, offer_fixes=False)
    assert len(only["output"]["annotations"]) == 3 and "actions" not in only
    assert title(Outcome([FileReport("app.py")])) == "No problems found"
