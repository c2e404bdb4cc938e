"""Health watch after a deployment: one probe, the tally of probes, and the evidence.

The pure pieces; scheduling the probes and rolling back live elsewhere.

`probe()` GETs the environment's health URL once and never raises (except on
cancellation). A probe fails, as the environment's fault, on: a non-2xx answer, a
timeout, connection refused/reset/closed without an answer, a TLS error, a host name
that does not exist (NXDOMAIN), a redirect to another host or more than
`MAX_REDIRECTS` redirects, a latency over `max_latency`, a body that is not JSON (or is
over `MAX_BODY` when it must be parsed), or an `expect` field that is missing or differs.

Failures on *our* side (`ProbeResult.ours`) say nothing about the environment: an invalid
URL, our HTTP session closed, local resource exhaustion (too many open files, no buffer
space, no free local port, no route out of our network), a DNS lookup our resolver could
not complete (anything but "name does not exist"), or an exception inside our code.

`HealthTally` is an immutable state machine: `record()` returns a new tally.
`streak` counts consecutive environment failures. A success resets it; a failure on our
side neither resets nor advances it (we learnt nothing about the environment, so it
cannot hide an outage nor cause a rollback). `verdict()` says "rollback" once the streak
reaches the configured number of failures, "healthy" when the window is over without
that, otherwise "watch".
"""

from __future__ import annotations

import asyncio
import errno
import json
import math
import socket
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Literal

import aiohttp
from yarl import URL

MAX_BODY = 1024 * 1024
MAX_REDIRECTS = 3
RECENT = 10
USER_AGENT = "Deckhand-health/1"

Verdict = Literal["watch", "rollback", "healthy"]

# errno values that mean the problem is on our machine, not in the environment.
_LOCAL_ERRNOS = frozenset(
    code
    for name in ("EMFILE", "ENFILE", "ENOBUFS", "ENOMEM", "EADDRNOTAVAIL", "ENETUNREACH")
    if (code := getattr(errno, name, None)) is not None
)
# getaddrinfo errors that mean "this name does not exist": the environment's problem.
_NO_SUCH_NAME = frozenset(
    code
    for name in ("EAI_NONAME", "EAI_NODATA")
    if (code := getattr(socket, name, None)) is not None
)
_REDIRECTS = frozenset({301, 302, 303, 307, 308})


@dataclass(frozen=True)
class ProbeResult:
    """One health check. `ours`: the check could not be made because of us (see module doc)."""

    ok: bool
    status: int | None
    latency: float
    reason: str
    ours: bool = False


def format_seconds(seconds: float) -> str:
    """`2.3 s`, `5.0 s`, or `250 ms` under a second."""
    if seconds >= 1 or seconds == 0:
        return f"{seconds:.1f} s"
    return f"{seconds * 1000:.0f} ms"


def _show(value: object, limit: int = 60) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 1] + "…"


async def probe(
    session: aiohttp.ClientSession,
    url: str,
    *,
    timeout: float,  # noqa: ASYNC109 - the configured budget, enforced with asyncio.timeout
    max_latency: float | None,
    expect: Mapping[str, object],
) -> ProbeResult:
    """GET `url` once and judge the answer. Never raises, except `CancelledError`.

    `timeout` bounds the whole check (connect, redirects, body). Latency is measured from
    the request to the end of the body. Redirects are followed on the same host only, at
    most `MAX_REDIRECTS`.
    """
    start = time.perf_counter()

    def result(ok: bool, status: int | None, reason: str, ours: bool = False) -> ProbeResult:
        return ProbeResult(ok, status, time.perf_counter() - start, reason, ours)

    try:
        target = URL(url)
        if target.scheme not in ("http", "https") or not target.host:
            raise ValueError
    except (ValueError, TypeError):
        return result(False, None, f"invalid URL {str(url)[:100]!r}", ours=True)
    if session.closed:
        return result(False, None, "our HTTP session is closed", ours=True)

    try:
        async with asyncio.timeout(timeout):
            status, body, truncated = await _fetch(session, target, timeout, bool(expect))
    except TimeoutError:
        return result(False, None, f"timed out after {format_seconds(timeout)}")
    except _Refused as refused:
        return result(False, refused.status, refused.reason)
    except Exception as exc:
        reason, ours = classify_error(exc)
        return result(False, None, reason, ours)

    latency = time.perf_counter() - start
    if not 200 <= status < 300:
        return ProbeResult(False, status, latency, f"HTTP {status}", False)
    if max_latency is not None and latency > max_latency:
        reason = f"latency {format_seconds(latency)} over {format_seconds(max_latency)}"
        return ProbeResult(False, status, latency, reason, False)
    if expect:
        try:
            mismatch = check_expect(body, expect, truncated=truncated)
        except Exception as exc:  # a bug of ours must not count against the environment
            return ProbeResult(False, status, latency, _internal(exc), True)
        if mismatch:
            return ProbeResult(False, status, latency, mismatch, False)
    return ProbeResult(True, status, latency, f"HTTP {status}", False)


class _Refused(Exception):
    """The environment answered in a way we do not follow (redirect off-host, too many)."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


async def _fetch(
    session: aiohttp.ClientSession, url: URL, budget: float, want_body: bool
) -> tuple[int, bytes, bool]:
    """(final status, body up to MAX_BODY, whether the body was longer)."""
    headers = {
        "User-Agent": USER_AGENT,
        "Accept": "application/json" if want_body else "*/*",
        "Cache-Control": "no-cache",
    }
    client_timeout = aiohttp.ClientTimeout(total=budget + 1)  # the caller's asyncio.timeout decides
    host = (url.host or "").lower()
    for hop in range(MAX_REDIRECTS + 1):
        async with session.get(
            url, headers=headers, allow_redirects=False, timeout=client_timeout
        ) as response:
            location = response.headers.get("Location")
            if response.status in _REDIRECTS and location:
                if hop == MAX_REDIRECTS:
                    raise _Refused(response.status, f"more than {MAX_REDIRECTS} redirects")
                try:
                    next_url = response.url.join(URL(location))
                except ValueError:
                    raise _Refused(response.status, "redirected to an invalid URL") from None
                if next_url.scheme not in ("http", "https") or (
                    (next_url.host or "").lower() != host
                ):
                    shown = f"{next_url.scheme}://{next_url.host}"
                    raise _Refused(response.status, f"redirected to another host ({shown})")
                url = next_url
                continue
            body, truncated = await _read_body(response)
            return response.status, body, truncated
    raise AssertionError("unreachable")  # pragma: no cover


async def _read_body(response: aiohttp.ClientResponse) -> tuple[bytes, bool]:
    chunks: list[bytes] = []
    size = 0
    while size <= MAX_BODY:
        chunk = await response.content.read(MAX_BODY + 1 - size)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    body = b"".join(chunks)
    return body[:MAX_BODY], len(body) > MAX_BODY


def _internal(exc: BaseException) -> str:
    return f"internal error: {type(exc).__name__}: {exc}"[:200]


def classify_error(exc: BaseException) -> tuple[str, bool]:
    """A short reason for a failed request, and whether the failure is ours."""
    if isinstance(exc, aiohttp.ClientConnectorDNSError):
        code = getattr(exc.os_error, "errno", None)
        if code in _NO_SUCH_NAME:
            return f"DNS: {exc.host} does not exist", False
        return f"DNS lookup of {exc.host} failed on our side ({exc.os_error})", True
    if isinstance(exc, aiohttp.ClientConnectorCertificateError):
        return f"TLS certificate rejected ({exc.certificate_error})"[:200], False
    if isinstance(exc, aiohttp.ClientSSLError):
        return "TLS handshake failed", False
    if isinstance(exc, aiohttp.ClientConnectorError):
        code = exc.os_error.errno
        if code in _LOCAL_ERRNOS:
            return f"cannot connect on our side ({exc.os_error.strerror or exc})", True
        if code == errno.ECONNREFUSED:
            return "connection refused", False
        return f"cannot connect ({exc.os_error.strerror or exc.os_error})"[:200], False
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return "connection closed without an answer", False
    if isinstance(exc, aiohttp.ClientPayloadError):
        return "response body cut short", False
    if isinstance(exc, aiohttp.ClientResponseError):
        return f"invalid HTTP response ({exc.message})"[:200], False
    if isinstance(exc, aiohttp.InvalidURL | aiohttp.NonHttpUrlClientError):
        return f"invalid URL {str(exc)[:100]!r}", True
    if isinstance(exc, OSError):  # includes ClientOSError
        code = exc.errno
        if code in _LOCAL_ERRNOS:
            return f"local resource error ({exc.strerror or exc})", True
        if code in (errno.ECONNRESET, errno.EPIPE, errno.ECONNABORTED):
            return "connection reset", False
        if isinstance(exc, aiohttp.ClientError):
            return f"connection error ({exc})"[:200], False
        return _internal(exc), True
    if isinstance(exc, aiohttp.ClientError):
        return f"HTTP client error ({type(exc).__name__}: {exc})"[:200], False
    return _internal(exc), True


# ------------------------------------------------------------------------ expect


_MISSING = object()


def lookup(document: object, path: str) -> object:
    """The value at a dotted path (`checks.db`, `items.0.ok`); `_MISSING` if absent.

    A key that itself contains dots is matched whole before the path is split.
    """
    if isinstance(document, Mapping):
        if path in document:
            return document[path]
        head, dot, rest = path.partition(".")
        while dot:
            if head in document:
                found = lookup(document[head], rest)
                if found is not _MISSING:
                    return found
            more, dot, rest = rest.partition(".")
            head = f"{head}.{more}"
        return _MISSING
    if isinstance(document, list):
        head, dot, rest = path.partition(".")
        if head.isdigit() and int(head) < len(document):
            item = document[int(head)]
            return lookup(item, rest) if dot else item
    return _MISSING


def _number(value: object) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            return None
        return number if math.isfinite(number) else None
    return None


def matches(actual: object, expected: object) -> bool:
    """Booleans strictly; numbers numerically (a numeric string on either side counts, as
    long as one side is a real number); strings exactly; anything else by equality."""
    if isinstance(expected, bool) or isinstance(actual, bool):
        return isinstance(expected, bool) and isinstance(actual, bool) and actual == expected
    if isinstance(expected, int | float) or isinstance(actual, int | float):
        left, right = _number(actual), _number(expected)
        return left is not None and right is not None and left == right
    return actual == expected


def check_expect(body: bytes, expect: Mapping[str, object], *, truncated: bool = False) -> str:
    """'' when every expected field matches, else a short reason for the first mismatch."""
    if truncated:
        return f"body is over {MAX_BODY // 1024 // 1024} MB"
    try:
        document = json.loads(body)
    except ValueError:  # includes UnicodeDecodeError
        return "body is not JSON"
    problems: list[str] = []
    for key, expected in expect.items():
        actual = lookup(document, key)
        if actual is _MISSING:
            problems.append(f"`{key}` is missing, expected {_show(expected)}")
        elif not matches(actual, expected):
            problems.append(f"`{key}` was {_show(actual)}, expected {_show(expected)}")
    if not problems:
        return ""
    more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
    return problems[0] + more


# ------------------------------------------------------------------------ tally


@dataclass(frozen=True)
class HealthSample:
    """One recorded probe, kept as evidence."""

    at: datetime
    ok: bool
    status: int | None
    latency: float
    reason: str
    ours: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "at": self.at.isoformat(),
            "ok": self.ok,
            "status": self.status,
            "latency": round(self.latency, 6),
            "reason": self.reason,
            "ours": self.ours,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> HealthSample:
        at = datetime.fromisoformat(str(data["at"]))
        if at.tzinfo is None:
            at = at.replace(tzinfo=UTC)
        status = data.get("status")
        return cls(
            at=at,
            ok=bool(data["ok"]),
            status=None if status is None else int(status),
            latency=float(data.get("latency", 0.0)),
            reason=str(data.get("reason", "")),
            ours=bool(data.get("ours", False)),
        )


@dataclass(frozen=True)
class HealthTally:
    """Counts of a health watch; immutable, `record()` returns the next tally.

    streak: consecutive environment failures (a success resets it; ours leave it alone).
    probes: every probe recorded; failures: environment failures; ours: failures on our
    side; ours_streak: consecutive failures on our side (the watch is blind while > 0).
    recent: the last `RECENT` samples, oldest first.
    """

    streak: int = 0
    probes: int = 0
    failures: int = 0
    ours: int = 0
    ours_streak: int = 0
    recent: tuple[HealthSample, ...] = field(default_factory=tuple)

    VERSION = 1

    @property
    def checked(self) -> int:
        """Probes that told us something about the environment (not failed on our side)."""
        return self.probes - self.ours

    def record(self, result: ProbeResult, at: datetime | None = None) -> HealthTally:
        sample = HealthSample(
            at=at or datetime.now(UTC),
            ok=result.ok,
            status=result.status,
            latency=result.latency,
            reason=result.reason,
            ours=result.ours and not result.ok,
        )
        recent = (*self.recent, sample)[-RECENT:]
        if sample.ours:
            return replace(
                self,
                probes=self.probes + 1,
                ours=self.ours + 1,
                ours_streak=self.ours_streak + 1,
                recent=recent,
            )
        if result.ok:
            return replace(self, streak=0, probes=self.probes + 1, ours_streak=0, recent=recent)
        return replace(
            self,
            streak=self.streak + 1,
            probes=self.probes + 1,
            failures=self.failures + 1,
            ours_streak=0,
            recent=recent,
        )

    def verdict(self, failures_needed: int, window_over: bool) -> Verdict:
        if self.streak >= max(failures_needed, 1):
            return "rollback"
        if window_over:
            return "healthy"
        return "watch"

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": self.VERSION,
            "streak": self.streak,
            "probes": self.probes,
            "failures": self.failures,
            "ours": self.ours,
            "ours_streak": self.ours_streak,
            "recent": [sample.to_dict() for sample in self.recent],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> HealthTally:
        """The inverse of `to_dict()`; `None` or `{}` gives a fresh tally."""
        if not data:
            return cls()
        return cls(
            streak=int(data.get("streak", 0)),
            probes=int(data.get("probes", 0)),
            failures=int(data.get("failures", 0)),
            ours=int(data.get("ours", 0)),
            ours_streak=int(data.get("ours_streak", 0)),
            recent=tuple(HealthSample.from_dict(item) for item in data.get("recent", []))[-RECENT:],
        )


# ------------------------------------------------------------------------ evidence


def _cell(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\r", " ").replace("\n", " ")


def evidence_markdown(tally: HealthTally, url: str) -> str:
    """The last probes as a markdown table, with a one-line summary above it."""
    summary = (
        f"Health checks of `{_cell(url).replace('`', '')}`: "
        f"{tally.streak} consecutive failure{'s' if tally.streak != 1 else ''} "
        f"({tally.probes} probe{'s' if tally.probes != 1 else ''}, "
        f"{tally.failures} failed, {tally.ours} not made because of an error on our side)."
    )
    if not tally.recent:
        return summary + "\n\nNo probes recorded yet.\n"
    shown = len(tally.recent)
    lines = [
        summary,
        "",
        f"Last {shown} probe{'s' if shown != 1 else ''}, oldest first:",
        "",
        "| time (UTC) | result | status | latency | reason |",
        "| --- | --- | --- | --- | --- |",
    ]
    for sample in tally.recent:
        when = sample.at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
        result = "✅ ok" if sample.ok else ("⚠️ our error" if sample.ours else "❌ failed")
        status = "—" if sample.status is None else str(sample.status)
        latency = format_seconds(sample.latency)
        lines.append(f"| {when} | {result} | {status} | {latency} | {_cell(sample.reason)} |")
    return "\n".join(lines) + "\n"
