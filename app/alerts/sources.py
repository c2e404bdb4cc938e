"""Alert sources: check who sent a request, and turn its body into normalised `Alert`s.

One function pair per source (`sentry`, `alertmanager`, `grafana`, `generic`, and
`logs`, a log drain read by `app.alerts.logparse`):
`authenticate` says why a request is refused (or None), `parse` returns the alerts or
raises `ValueError` with a reason a sender can act on. Pure: no HTTP, no database, no
GitHub; the web tier calls these and the worker reads the `Alert.to_dict` form back.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

import orjson

from app.config.settings import Settings
from app.signatures import hmac_sha256, matches

SOURCES = ("sentry", "alertmanager", "grafana", "generic", "logs")
GRAFANA_MAX_AGE = 300.0  # seconds: an older signed Grafana request is a replay
MAX_TEXT = 8000
MAX_FRAMES = 50
MAX_LINKS = 10
FRACTION = re.compile(r"\.\d+")

Status = Literal["firing", "resolved"]


@dataclass(frozen=True)
class Frame:
    """One stack frame: a path as the runtime reported it, and where in it."""

    path: str
    line: int | None = None
    function: str | None = None
    in_app: bool | None = None


@dataclass(frozen=True)
class Alert:
    source: str
    fingerprint: str
    title: str
    severity: str
    status: Status
    environment: str | None
    message: str
    frames: tuple[Frame, ...] = ()
    links: tuple[tuple[str, str], ...] = ()  # (label, url)
    started_at: float = field(default_factory=time.time)

    def key(self, repository: str) -> str:
        """The fingerprint's identity in one repository: the hash in the issue marker."""
        text = f"{repository.lower()}\n{self.source}\n{self.fingerprint}"
        return hashlib.sha256(text.encode()).hexdigest()[:32]

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "fingerprint": self.fingerprint,
            "title": self.title,
            "severity": self.severity,
            "status": self.status,
            "environment": self.environment,
            "message": self.message,
            "frames": [
                {"path": f.path, "line": f.line, "function": f.function, "in_app": f.in_app}
                for f in self.frames
            ],
            "links": [list(link) for link in self.links],
            "started_at": self.started_at,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Alert:
        return cls(
            source=data["source"],
            fingerprint=data["fingerprint"],
            title=data["title"],
            severity=data["severity"],
            status=data["status"],
            environment=data.get("environment"),
            message=data.get("message") or "",
            frames=tuple(Frame(**f) for f in data.get("frames") or ()),
            links=tuple((str(a), str(b)) for a, b in data.get("links") or ()),
            started_at=float(data.get("started_at") or time.time()),
        )


# ------------------------------------------------------------------ authentication
# Each source's secrets, by the variable (and, lower-cased, the setting) that holds them.
# Grafana signs with an HMAC or sends an Authorization header, either or both (each is
# optional in its contact point); the other sources have one secret.
SECRETS = {
    "sentry": ("SENTRY_CLIENT_SECRET",),
    "alertmanager": ("ALERTMANAGER_TOKEN",),
    "grafana": ("GRAFANA_SECRET", "GRAFANA_TOKEN"),
    "generic": ("GENERIC_ALERT_SECRET",),
    "logs": ("LOG_DRAIN_TOKEN",),
}


def request_problem(
    source: str, settings: Settings, headers: Mapping[str, str], body: bytes
) -> tuple[str, str] | None:
    """(reason, message) when the request is refused: no secret configured for the
    source (`no_secret`), or one that is configured does not check out (`signature`);
    None when every configured one does."""
    secrets = {
        variable: value.get_secret_value()
        for variable in SECRETS[source]
        if (value := getattr(settings, variable.lower())) is not None
    }
    if not secrets:
        names = " or ".join(SECRETS[source])
        return "no_secret", f"{names} is not set; {source} alerts are refused"
    for variable, secret in secrets.items():
        problem = _check(
            variable,
            secret,
            headers,
            body,
            signature_header=settings.grafana_signature_header,
            timestamp_header=settings.grafana_timestamp_header,
        )
        if problem:
            return "signature", problem
    return None


def _hmac_error(secret: str, body: bytes, given: str | None, header: str) -> str | None:
    if not given:
        return f"missing {header} header"
    digest = given.split("=", 1)[1] if given.startswith("sha256=") else given
    if not matches(hmac_sha256(secret, body), digest):
        return f"{header} does not match the body"
    return None


def authenticate(
    source: str, secret: str, headers: Mapping[str, str], body: bytes, now: float | None = None
) -> str | None:
    """Why the request is not from the configured sender, by the source's first secret
    (see `request_problem` for all of them), or None when it is."""
    return _check(SECRETS[source][0], secret, headers, body, now)


BEARER_TOKENS = frozenset({"ALERTMANAGER_TOKEN", "LOG_DRAIN_TOKEN", "GRAFANA_TOKEN"})
SIGNATURE_HEADERS = {
    "SENTRY_CLIENT_SECRET": "Sentry-Hook-Signature",
    "GRAFANA_SECRET": "X-Grafana-Alerting-Signature",
    "GENERIC_ALERT_SECRET": "X-Deckhand-Signature",
}


GRAFANA_TIMESTAMP = "X-Grafana-Alerting-Signature-Timestamp"  # read when none is configured


def _check(
    variable: str,
    secret: str,
    headers: Mapping[str, str],
    body: bytes,
    now: float | None = None,
    *,
    signature_header: str | None = None,
    timestamp_header: str | None = None,
) -> str | None:
    """Why the request does not carry what the secret in `variable` asks for, or None.

    Grafana's contact point names its own signature and timestamp headers; these are
    `signature_header` and `timestamp_header` (`GRAFANA_SIGNATURE_HEADER`,
    `GRAFANA_TIMESTAMP_HEADER`). With a timestamp header configured, a request without
    it is refused; without one, `X-Grafana-Alerting-Signature-Timestamp` is checked when
    it is sent."""
    if variable in BEARER_TOKENS:
        scheme, _, token = (headers.get("Authorization") or "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            return f"missing Authorization: Bearer <{variable}> header"
        if not hmac.compare_digest(token.strip().encode(), secret.encode()):
            return f"the bearer token is not {variable}"
        return None
    signed, header = body, SIGNATURE_HEADERS[variable]
    if variable == "GRAFANA_SECRET":
        header = signature_header or header
        name = timestamp_header or GRAFANA_TIMESTAMP
        stamp = headers.get(name)
        if stamp is None and timestamp_header:
            return f"missing {name} header"
        if stamp is not None:
            try:
                age = (now or time.time()) - float(stamp)
            except ValueError:
                return f"{name} is not a UNIX time"
            if abs(age) > GRAFANA_MAX_AGE:
                return f"{name} is more than 5 minutes away from now"
            signed = stamp.encode() + b":" + body
    return _hmac_error(secret, signed, headers.get(header), header)


# ------------------------------------------------------------------------- helpers
def _text(value: Any, limit: int = MAX_TEXT) -> str:
    return value[:limit] if isinstance(value, str) else ""


def epoch_seconds(value: Any) -> float | None:
    """Epoch seconds from an ISO 8601 string or a number; None when absent or zero."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value) or None
    if isinstance(value, str) and value and not value.startswith("0001-"):
        text = value.replace("Z", "+00:00").replace("z", "+00:00")
        # Go writes nanoseconds; Python reads up to microseconds.
        text = FRACTION.sub(lambda m: m.group(0)[:7], text)
        try:
            return datetime.fromisoformat(text).timestamp()
        except ValueError:
            return None
    return None


def _object(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ValueError(f"{what} must be a JSON object")
    return value


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _links(pairs: list[tuple[str, Any]]) -> tuple[tuple[str, str], ...]:
    out = []
    for label, url in pairs:
        if isinstance(url, str) and url.startswith(("https://", "http://")):
            out.append((label, url[:2000]))
    return tuple(out[:MAX_LINKS])


def _sentry_frames(data: dict[str, Any]) -> tuple[Frame, ...]:
    """Frames of the event's exceptions, innermost first (Sentry lists them outermost first)."""
    frames: list[Frame] = []
    exception = data.get("exception") or {}
    values = exception.get("values") if isinstance(exception, dict) else None
    for value in reversed(values or []):
        stack = (value or {}).get("stacktrace") or {}
        for frame in reversed(stack.get("frames") or []):
            if not isinstance(frame, dict):
                continue
            path = frame.get("filename") or frame.get("abs_path")
            line = frame.get("lineno")
            if isinstance(path, str) and path:
                frames.append(
                    Frame(
                        path=path[:500],
                        line=line if isinstance(line, int) and line > 0 else None,
                        function=_text(frame.get("function"), 200) or None,
                        in_app=frame.get("in_app")
                        if isinstance(frame.get("in_app"), bool)
                        else None,
                    )
                )
    return tuple(frames[:MAX_FRAMES])


def _sentry_environment(data: dict[str, Any]) -> str | None:
    if isinstance(data.get("environment"), str):
        return data["environment"]
    for tag in data.get("tags") or []:
        if isinstance(tag, list) and len(tag) == 2 and tag[0] == "environment":
            return str(tag[1])
    return None


# -------------------------------------------------------------------------- parsers
def parse_sentry(data: dict[str, Any], headers: Mapping[str, str]) -> list[Alert]:
    resource = headers.get("Sentry-Hook-Resource", "")
    action = data.get("action")
    body = _object(data.get("data"), "data")
    if resource in ("error", "event_alert"):
        event = _object(body.get("error" if resource == "error" else "event"), resource)
        issue_id = event.get("issue_id")
        if issue_id in (None, ""):
            raise ValueError(f"{resource} has no issue_id")
        title = _text(event.get("title"), 300) or _text(event.get("message"), 300)
        rule = body.get("triggered_rule")
        message = _text(event.get("culprit")) or _text(event.get("message"))
        if isinstance(rule, str) and rule:
            message = f"Alert rule: {rule}\n\n{message}".strip()
        return [
            Alert(
                source="sentry",
                fingerprint=f"issue:{issue_id}",
                title=title or "Sentry error",
                severity=_text(event.get("level"), 20) or "error",
                status="firing",
                environment=_sentry_environment(event),
                message=message,
                frames=_sentry_frames(event),
                links=_links(
                    [
                        ("Sentry event", event.get("web_url")),
                        ("Sentry issue", event.get("issue_url")),
                    ]
                ),
                started_at=epoch_seconds(event.get("datetime")) or time.time(),
            )
        ]
    if resource == "issue":
        if action not in ("created", "resolved", "unresolved"):
            return []
        issue = _object(body.get("issue"), "data.issue")
        if issue.get("id") in (None, ""):
            raise ValueError("data.issue has no id")
        return [
            Alert(
                source="sentry",
                fingerprint=f"issue:{issue['id']}",
                title=_text(issue.get("title"), 300) or "Sentry issue",
                severity=_text(issue.get("level"), 20) or "error",
                status="resolved" if action == "resolved" else "firing",
                environment=None,
                message=_text(issue.get("culprit")),
                links=_links(
                    [
                        (
                            "Sentry issue",
                            issue.get("web_url") or issue.get("permalink") or issue.get("url"),
                        )
                    ]
                ),
                started_at=epoch_seconds(issue.get("firstSeen")) or time.time(),
            )
        ]
    if resource == "metric_alert":
        metric = _object(body.get("metric_alert"), "data.metric_alert")
        rule = _dict(metric.get("alert_rule"))
        rule_id = rule.get("id") or metric.get("id")
        if rule_id in (None, ""):
            raise ValueError("data.metric_alert has no alert_rule.id")
        title = _text(body.get("description_title"), 300) or _text(rule.get("name"), 300)
        return [
            Alert(
                source="sentry",
                fingerprint=f"metric:{rule_id}",
                title=title or "Sentry metric alert",
                severity="warning" if action == "warning" else "critical",
                status="resolved" if action == "resolved" else "firing",
                environment=_text(rule.get("environment"), 100) or None,
                message=_text(body.get("description_text")),
                links=_links([("Sentry alert", body.get("web_url"))]),
                started_at=epoch_seconds(metric.get("date_started")) or time.time(),
            )
        ]
    if resource in ("installation", "comment"):
        return []
    raise ValueError(f"unknown Sentry-Hook-Resource {resource!r}")


def _grouped(data: dict[str, Any], source: str) -> list[Alert]:
    """Alertmanager's webhook payload (version 4), which Grafana's contact point extends."""
    if source == "alertmanager" and str(data.get("version")) != "4":
        raise ValueError("only Alertmanager webhook payload version 4 is understood")
    alerts = data.get("alerts")
    if not isinstance(alerts, list) or not alerts:
        raise ValueError("alerts must be a non-empty list")
    group_key = data.get("groupKey")
    if not isinstance(group_key, str):
        raise ValueError("groupKey must be a string")
    external = data.get("externalURL")
    out = []
    for n, item in enumerate(alerts):
        alert = _object(item, f"alerts[{n}]")
        labels, notes = _dict(alert.get("labels")), _dict(alert.get("annotations"))
        fingerprint = alert.get("fingerprint")
        if not isinstance(fingerprint, str) or not fingerprint:
            raise ValueError(f"alerts[{n}].fingerprint must be a non-empty string")
        status = alert.get("status")
        if status not in ("firing", "resolved"):
            raise ValueError(f"alerts[{n}].status must be firing or resolved")
        title = _text(notes.get("summary"), 300) or _text(labels.get("alertname"), 300)
        if not title:
            title = _text(data.get("title"), 300) or "Alert"
        message = _text(notes.get("description")) or _text(data.get("message"))
        links = [
            ("Source", alert.get("generatorURL")),
            ("Runbook", notes.get("runbook_url")),
            ("Dashboard", alert.get("dashboardURL")),
            ("Panel", alert.get("panelURL")),
            ("Alertmanager" if source == "alertmanager" else "Grafana", external),
        ]
        out.append(
            Alert(
                source=source,
                fingerprint=f"{group_key}/{fingerprint}"[:1000],
                title=title,
                severity=_text(labels.get("severity"), 20) or "error",
                status=status,
                environment=_text(labels.get("environment") or labels.get("env"), 100) or None,
                message=message,
                links=_links(links),
                started_at=epoch_seconds(alert.get("startsAt")) or time.time(),
            )
        )
    return out


def parse_alertmanager(data: dict[str, Any], headers: Mapping[str, str]) -> list[Alert]:
    return _grouped(data, "alertmanager")


def parse_grafana(data: dict[str, Any], headers: Mapping[str, str]) -> list[Alert]:
    return _grouped(data, "grafana")


def _generic_one(item: Any, where: str) -> Alert:
    alert = _object(item, where)
    title, fingerprint = alert.get("title"), alert.get("fingerprint")
    if not isinstance(title, str) or not title.strip():
        raise ValueError(f"{where}.title must be a non-empty string")
    if not isinstance(fingerprint, str) or not fingerprint.strip() or len(fingerprint) > 200:
        raise ValueError(
            f"{where}.fingerprint must be a non-empty string of at most 200 characters"
        )
    status = alert.get("status", "firing")
    if status not in ("firing", "resolved"):
        raise ValueError(f"{where}.status must be firing or resolved")
    frames = []
    for n, frame in enumerate(alert.get("stacktrace") or []):
        frame = _object(frame, f"{where}.stacktrace[{n}]")
        path = frame.get("path") or frame.get("filename")
        if not isinstance(path, str) or not path:
            raise ValueError(f"{where}.stacktrace[{n}].path must be a string")
        line = frame.get("line") or frame.get("lineno")
        frames.append(
            Frame(
                path[:500],
                line if isinstance(line, int) and line > 0 else None,
                _text(frame.get("function"), 200) or None,
                frame.get("in_app") if isinstance(frame.get("in_app"), bool) else None,
            )
        )
    raw_links = alert.get("links") or []
    if isinstance(raw_links, dict):
        pairs = list(raw_links.items())
    elif isinstance(raw_links, list):
        pairs = [
            (str(link.get("title") or link.get("url")), link.get("url"))
            for link in raw_links
            if isinstance(link, dict)
        ]
    else:
        raise ValueError(f"{where}.links must be a list or an object")
    return Alert(
        source="generic",
        fingerprint=fingerprint.strip(),
        title=title.strip()[:300],
        severity=_text(alert.get("severity"), 20) or "error",
        status=status,
        environment=_text(alert.get("environment"), 100) or None,
        message=_text(alert.get("message")),
        frames=tuple(frames[:MAX_FRAMES]),
        links=_links(pairs),
        started_at=epoch_seconds(alert.get("started_at")) or time.time(),
    )


def parse_generic(data: dict[str, Any], headers: Mapping[str, str]) -> list[Alert]:
    """`{"title", "fingerprint", ...}` or `{"alerts": [...]}` (see README: Alerts)."""
    if "alerts" in data:
        items = data["alerts"]
        if not isinstance(items, list) or not items:
            raise ValueError("alerts must be a non-empty list")
        return [_generic_one(item, f"alerts[{n}]") for n, item in enumerate(items[:1000])]
    return [_generic_one(data, "body")]


PARSERS: dict[str, Callable[[dict[str, Any], Mapping[str, str]], list[Alert]]] = {
    "sentry": parse_sentry,
    "alertmanager": parse_alertmanager,
    "grafana": parse_grafana,
    "generic": parse_generic,
}


def parse(source: str, body: bytes, headers: Mapping[str, str]) -> list[Alert]:
    """The body's alerts (an empty list: nothing to act on); ValueError when malformed."""
    if source == "logs":  # lines, not one JSON document
        from app.alerts.logparse import parse_logs  # it builds on this module

        return parse_logs(body)
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise ValueError(f"the body is not JSON ({exc})") from None
    return PARSERS[source](_object(data, "the body"), headers)


UNNAMED_RETRY_WINDOW = 600.0  # seconds: a sender's retries come well within it


def delivery_key(
    source: str,
    repository: str,
    body: bytes,
    headers: Mapping[str, str],
    now: float | None = None,
) -> str:
    """A stable id for one request, so a redelivery is recognised and not counted twice.

    Sentry names each request (`Request-ID`), Heroku's log drains each frame
    (`Logplex-Frame-Id`); any sender may (`X-Deckhand-Delivery`). Otherwise the same bytes
    to the same repository within `UNNAMED_RETRY_WINDOW` are one delivery sent again:
    later, they are the alert firing again (Alertmanager and Grafana repeat a
    notification unchanged while it fires), so they count.
    """
    given = headers.get("Request-ID") if source == "sentry" else None
    if source == "logs":  # Heroku's drains number each frame; identical lines may recur
        given = headers.get("Logplex-Frame-Id")
    given = given or headers.get("X-Deckhand-Delivery")
    if given:
        named = given.encode()
    else:
        window = int((time.time() if now is None else now) // UNNAMED_RETRY_WINDOW)
        named = b"%d\n" % window + body
    material = f"{source}\n{repository.lower()}\n".encode() + named
    return f"alert:{source}:{hashlib.sha256(material).hexdigest()[:40]}"
