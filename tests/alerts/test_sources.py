"""Each source's authentication and parsing, on payloads shaped like the senders' docs."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from app.alerts.sources import (
    UNNAMED_RETRY_WINDOW,
    Alert,
    authenticate,
    delivery_key,
    epoch_seconds,
    parse,
    request_problem,
)
from tests.support.deckhand import make_settings

FIXTURES = Path(__file__).parents[1] / "fixtures" / "alerts"


def body(name: str) -> bytes:
    return (FIXTURES / f"{name}.json").read_bytes()


def mac(secret: str, data: bytes) -> str:
    return hmac.new(secret.encode(), data, hashlib.sha256).hexdigest()


def test_sentry_error_frames_innermost_first() -> None:
    [alert] = parse("sentry", body("sentry_error"), {"Sentry-Hook-Resource": "error"})
    assert alert.fingerprint == "issue:1170820242"
    assert (alert.status, alert.severity, alert.environment) == ("firing", "error", "production")
    assert [f.path for f in alert.frames] == ["app/pricing.py", "app/views.py", "flask/app.py"]
    assert alert.frames[0].line == 7 and alert.frames[2].in_app is False
    assert alert.started_at == pytest.approx(1795255117.391, abs=1)
    assert [label for label, _ in alert.links] == ["Sentry event", "Sentry issue"]


def test_sentry_resources_share_the_issue_fingerprint() -> None:
    error = parse("sentry", body("sentry_error"), {"Sentry-Hook-Resource": "error"})
    issue = parse("sentry", body("sentry_issue_created"), {"Sentry-Hook-Resource": "issue"})
    resolved = parse("sentry", body("sentry_issue_resolved"), {"Sentry-Hook-Resource": "issue"})
    assert error[0].fingerprint == issue[0].fingerprint == resolved[0].fingerprint
    assert resolved[0].status == "resolved"


def test_sentry_event_alert_and_metric_alert() -> None:
    [event] = parse("sentry", body("sentry_event_alert"), {"Sentry-Hook-Resource": "event_alert"})
    assert event.environment == "staging" and "Alert rule" in event.message
    [metric] = parse(
        "sentry", body("sentry_metric_alert"), {"Sentry-Hook-Resource": "metric_alert"}
    )
    assert metric.fingerprint == "metric:12" and metric.severity == "critical"
    assert metric.environment == "production"


def test_sentry_ignores_what_it_cannot_act_on() -> None:
    data = json.loads(body("sentry_issue_created"))
    data["action"] = "assigned"
    assert parse("sentry", json.dumps(data).encode(), {"Sentry-Hook-Resource": "issue"}) == []
    with pytest.raises(ValueError, match="unknown Sentry-Hook-Resource"):
        parse("sentry", body("sentry_error"), {"Sentry-Hook-Resource": "nope"})


def test_alertmanager_group() -> None:
    alerts = parse("alertmanager", body("alertmanager_firing"), {})
    assert len(alerts) == 2
    assert alerts[0].fingerprint.endswith("/1a30ba71cca2921f")
    assert alerts[0].fingerprint.startswith('{}/{severity="critical"}')
    assert alerts[0].severity == "critical" and alerts[0].environment == "production"
    assert ("Runbook", "https://runbooks.example.org/high-error-rate") in alerts[0].links
    resolved = parse("alertmanager", body("alertmanager_resolved"), {})
    assert {a.status for a in resolved} == {"resolved"}
    assert [a.fingerprint for a in resolved] == [a.fingerprint for a in alerts]


def test_alertmanager_version_must_be_4() -> None:
    data = json.loads(body("alertmanager_firing"))
    data["version"] = "3"
    with pytest.raises(ValueError, match="version 4"):
        parse("alertmanager", json.dumps(data).encode(), {})


def test_grafana_with_nanosecond_times() -> None:
    [alert] = parse("grafana", body("grafana_firing"), {})
    assert alert.source == "grafana" and alert.severity == "warning"
    assert alert.title == "Memory above 90% on web-1"
    expected = datetime.fromisoformat("2026-11-21T08:12:03.157076+00:00").timestamp()
    assert alert.started_at == pytest.approx(expected)
    nanos = epoch_seconds("2018-08-03T09:52:26.739266876+02:00")
    assert nanos == pytest.approx(datetime(2018, 8, 3, 7, 52, 26, 739266, UTC).timestamp())
    assert epoch_seconds("0001-01-01T00:00:00Z") is None


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"title": ""}, "title"),
        ({"fingerprint": 3}, "fingerprint"),
        ({"status": "maybe"}, "status"),
        ({"stacktrace": [{"line": 3}]}, "stacktrace"),
        ({"links": "nope"}, "links"),
    ],
)
def test_generic_reasons(change: dict[str, Any], reason: str) -> None:
    data = {**json.loads(body("generic")), **change}
    with pytest.raises(ValueError, match=reason):
        parse("generic", json.dumps(data).encode(), {})


def test_generic_round_trip() -> None:
    [alert] = parse("generic", body("generic"), {})
    assert Alert.from_dict(json.loads(json.dumps(alert.to_dict()))) == alert
    assert alert.links == (("Logs", "https://logs.example.org/q?id=42"),)


def test_not_json_or_not_an_object() -> None:
    with pytest.raises(ValueError, match="not JSON"):
        parse("generic", b"{", {})
    with pytest.raises(ValueError, match="JSON object"):
        parse("generic", b"[]", {})


def test_authentication() -> None:
    data = b'{"a": 1}'
    assert authenticate("sentry", "s", {"Sentry-Hook-Signature": mac("s", data)}, data) is None
    assert "does not match" in str(
        authenticate("sentry", "s", {"Sentry-Hook-Signature": mac("t", data)}, data)
    )
    assert authenticate("alertmanager", "tok", {"Authorization": "Bearer tok"}, data) is None
    assert authenticate("alertmanager", "tok", {}, data) is not None
    ok = {"X-Deckhand-Signature": "sha256=" + mac("g", data)}
    assert authenticate("generic", "g", ok, data) is None
    assert (
        authenticate("grafana", "k", {"X-Grafana-Alerting-Signature": mac("k", data)}, data) is None
    )
    now = time.time()
    stamp = str(int(now))
    signed = {
        "X-Grafana-Alerting-Signature": mac("k", stamp.encode() + b":" + data),
        "X-Grafana-Alerting-Signature-Timestamp": stamp,
    }
    assert authenticate("grafana", "k", signed, data, now=now) is None
    assert "more than 5 minutes away" in str(
        authenticate("grafana", "k", signed, data, now=now + 301)
    )


@pytest.mark.parametrize(
    ("configured", "headers", "refused"),
    [
        ({}, {}, "no_secret"),
        ({"grafana_token": "tok"}, {"Authorization": "Bearer tok"}, None),
        ({"grafana_token": "tok"}, {"Authorization": "Bearer nope"}, "signature"),
        ({"grafana_secret": "k"}, {"X-Grafana-Alerting-Signature": "sig"}, None),
        ({"grafana_secret": "k"}, {"Authorization": "Bearer tok"}, "signature"),
        (  # both configured: both must check out
            {"grafana_secret": "k", "grafana_token": "tok"},
            {"X-Grafana-Alerting-Signature": "sig"},
            "signature",
        ),
        (
            {"grafana_secret": "k", "grafana_token": "tok"},
            {"X-Grafana-Alerting-Signature": "sig", "Authorization": "Bearer tok"},
            None,
        ),
    ],
)
def test_grafana_signs_or_sends_a_token_or_both(
    tmp_path: Path, configured: dict[str, str], headers: dict[str, str], refused: str | None
) -> None:
    data = b'{"a": 1}'
    headers = {k: mac("k", data) if v == "sig" else v for k, v in headers.items()}
    problem = request_problem("grafana", make_settings(tmp_path, **configured), headers, data)
    assert (problem[0] if problem else None) == refused
    if refused == "no_secret":
        assert problem is not None and "GRAFANA_SECRET or GRAFANA_TOKEN" in problem[1]


def test_grafana_headers_are_the_ones_its_contact_point_names(tmp_path: Path) -> None:
    data, now = b'{"a": 1}', time.time()
    stamp = str(int(now))
    settings = make_settings(
        tmp_path,
        grafana_secret="k",
        grafana_signature_header="X-Sig",
        grafana_timestamp_header="X-Sig-Time",
    )
    signed = {"X-Sig": mac("k", stamp.encode() + b":" + data), "X-Sig-Time": stamp}
    assert request_problem("grafana", settings, signed, data) is None
    # The default names mean nothing here, and a configured timestamp is required.
    default_name = {
        "X-Grafana-Alerting-Signature": mac("k", stamp.encode() + b":" + data),
        "X-Sig-Time": stamp,
    }
    assert request_problem("grafana", settings, default_name, data) == (
        "signature",
        "missing X-Sig header",
    )
    bare = {"X-Sig": mac("k", data)}
    assert request_problem("grafana", settings, bare, data) == (
        "signature",
        "missing X-Sig-Time header",
    )
    stale = {"X-Sig": mac("k", b"1:" + data), "X-Sig-Time": "1"}
    problem = request_problem("grafana", settings, stale, data)
    assert problem is not None and "X-Sig-Time is more than 5 minutes away" in problem[1]
    # Without a configured timestamp header, a body-only signature is enough.
    plain = make_settings(tmp_path, grafana_secret="k", grafana_signature_header="X-Sig")
    assert request_problem("grafana", plain, bare, data) is None


def test_delivery_key() -> None:
    one = delivery_key("generic", "o/r", b"x", {})
    assert one == delivery_key("generic", "O/R", b"x", {})
    assert one != delivery_key("generic", "o/r", b"y", {})
    assert delivery_key("sentry", "o/r", b"x", {"Request-ID": "1"}) != delivery_key(
        "sentry", "o/r", b"x", {"Request-ID": "2"}
    )
    assert len(one) <= 100


def test_the_same_unnamed_body_later_is_the_alert_firing_again() -> None:
    start = 1_800_000_000.0 - 1_800_000_000.0 % UNNAMED_RETRY_WINDOW
    first = delivery_key("alertmanager", "o/r", b"x", {}, now=start)
    assert first == delivery_key("alertmanager", "o/r", b"x", {}, now=start + 30)  # a retry
    assert first != delivery_key("alertmanager", "o/r", b"x", {}, now=start + UNNAMED_RETRY_WINDOW)
    named = {"X-Deckhand-Delivery": "n-1"}
    assert delivery_key("generic", "o/r", b"x", named, now=start) == delivery_key(
        "generic", "o/r", b"x", named, now=start + 10 * UNNAMED_RETRY_WINDOW
    )  # a named request is the same request whenever it comes
