"""Issue texts: title template, labels, body with suspect deployment and permalinks."""

from __future__ import annotations

from app.alerts.issues import body, labels, marker, title
from app.alerts.sources import Alert, Frame
from app.alerts.suspect import Suspect, frame_path, permalinks, repo_path
from app.config.repo import AlertsConfig
from app.deploy.store import DeploymentRecord

ALERT = Alert(
    source="generic",
    fingerprint="fp",
    title="Boom",
    severity="critical",
    status="firing",
    environment="production",
    message="it broke",
    frames=(Frame("app/x.py", 3, "f", True), Frame("/usr/lib/python3.11/y.py", 9)),
    started_at=1_700_000_000.0,
)


def record(id_: int, sha: str) -> DeploymentRecord:
    return DeploymentRecord(
        id=id_, repository="o/r", environment="production", sha=sha, ref="main",
        actor="alice", components=(), rollback_of=None, forced=False, status="success",
        pull_number=7, reason=None, created_at=1_699_999_000.0,
    )  # fmt: skip


def test_title_template_and_labels() -> None:
    config = AlertsConfig(title="[{environment}] {title} ({severity}) {unknown}")
    assert title(config, ALERT, "production") == "[production] Boom (critical) {unknown}"
    assert title(AlertsConfig(), ALERT, "production") == "generic: Boom"
    assert labels(AlertsConfig(), ALERT) == ["production-error", "severity:critical"]
    assert labels(AlertsConfig(severity_labels={}), ALERT) == ["production-error"]


def test_body_with_suspect_and_permalinks() -> None:
    suspect = Suspect(record(2, "b" * 40), "bob", record(1, "a" * 40))
    text = body("k" * 32, ALERT, "production", 3, ALERT.started_at, suspect,
                "https://github.com", "o/r", 4)  # fmt: skip
    assert text.startswith(marker("k" * 32))
    assert "/rollback production 1" in text
    assert "Deployment **2** of `bbbbbbb` from #7 by @bob" in text
    assert f"https://github.com/o/r/blob/{'b' * 40}/app/x.py#L3" in text
    assert "`/usr/lib/python3.11/y.py:9`" in text
    assert "| Previously | #4 |" in text


def test_repo_paths() -> None:
    assert repo_path("app/x.py") == "app/x.py"
    assert repo_path("./app/x.py") == "app/x.py"
    for outside in (
        "/srv/app/x.py",
        "flask/../x.py",
        "venv/lib/python3.11/site-packages/flask/app.py",
        "lib/python3.11/asyncio/events.py",
        "https://cdn.example.org/app.js",
        "<frozen importlib._bootstrap>",
        "C:/app/x.py",
        "Makefile",
    ):
        assert repo_path(outside) is None, outside
    [(_frame, link)] = permalinks((Frame("app/x.py", None, None, False),), "https://g", "o/r", "s")
    assert link is None  # Sentry says it is not the app's code


def test_frames_are_matched_to_the_files_at_the_commit() -> None:
    files = frozenset({"app/x.py", "src/shop/pricing.py", "src/shop/cart.py", "README.md"})

    def found(path: str, in_app: bool | None = None) -> str | None:
        return frame_path(Frame(path, 1, None, in_app), files)

    assert found("app/x.py") == "app/x.py"
    assert found("app/gone.py") is None  # looks relative, but no such file: no broken link
    assert found("/srv/deploy/src/shop/pricing.py") == "src/shop/pricing.py"  # deploy root
    assert found("/app/app/x.py") == "app/x.py"
    assert found("shop/cart.py") == "src/shop/cart.py"  # run from src/
    assert found("/usr/lib/python3.11/json/decoder.py") is None
    assert found("/venv/lib/python3.11/site-packages/shop/cart.py") is None
    assert found("app/x.py", in_app=False) is None
    ambiguous = files | {"tests/shop/cart.py"}
    assert frame_path(Frame("shop/cart.py", 1, None, None), ambiguous) is None
    assert frame_path(Frame("app/gone.py", 1, None, None)) == "app/gone.py"  # list unknown

    [(_, link)] = permalinks(
        (Frame("/srv/src/shop/pricing.py", 4, None, None),), "https://g", "o/r", "s", files
    )
    assert link == "https://g/o/r/blob/s/src/shop/pricing.py#L4"
