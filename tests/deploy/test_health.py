"""The health watch's pure pieces: one probe against a real target, the tally, the evidence."""

from __future__ import annotations

import errno
import json
import os
import socket
import types
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest

from app.config.repo import HealthConfig
from app.deploy.health import (
    RECENT,
    HealthSample,
    HealthTally,
    ProbeResult,
    check_expect,
    classify_error,
    evidence_markdown,
    matches,
    probe,
)
from tests.fakes.health_target import HealthTarget


@pytest.fixture
async def target() -> AsyncIterator[HealthTarget]:
    async with HealthTarget() as target:
        yield target


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def check(
    session: aiohttp.ClientSession,
    url: str,
    *,
    timeout: float = 2.0,  # noqa: ASYNC109
    max_latency: float | None = None,
    expect: dict[str, object] | None = None,
) -> ProbeResult:
    return await probe(session, url, timeout=timeout, max_latency=max_latency, expect=expect or {})


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# ---------------------------------------------------------------------- probe: successes


async def test_healthy_target_passes_with_dotted_expect(target, session):
    result = await check(session, target.url, expect={"status": "ok", "checks.db": "ok"})
    assert result == ProbeResult(True, 200, result.latency, "HTTP 200", False)
    assert 0 < result.latency < 2
    assert target.hits == 1
    assert target.requests[0].method == "GET"
    assert target.requests[0].path == "/healthz"
    assert target.requests[0].headers["Accept"] == "application/json"


async def test_probe_from_the_repository_config(target, session):
    config = HealthConfig(url=target.url, timeout="300ms", expect={"checks.db": "ok"})
    result = await probe(
        session,
        str(config.url),
        timeout=config.timeout.total_seconds(),
        max_latency=None,
        expect=config.expect,
    )
    assert result.ok, result


async def test_no_expect_does_not_parse_the_body(target, session):
    target.body("<html>fine</html>")
    assert (await check(session, target.url)).ok
    target.body("x" * (2 * 1024 * 1024))
    assert (await check(session, target.url)).ok


async def test_same_host_redirect_is_followed(target, session):
    target.redirect("/healthz", times=1)
    result = await check(session, target.url, expect={"status": "ok"})
    assert result.ok, result
    assert target.hits == 2


# ---------------------------------------------------------------------- probe: their failures


async def test_non_2xx_fails(target, session):
    target.failing(503)
    result = await check(session, target.url)
    assert (result.ok, result.status, result.reason, result.ours) == (False, 503, "HTTP 503", False)
    target.failing(404)
    assert (await check(session, target.url)).reason == "HTTP 404"


async def test_timeout_honours_the_configured_timeout(target, session):
    target.slow(5)
    result = await check(session, target.url, timeout=0.2)
    assert not result.ok and not result.ours
    assert result.status is None
    assert result.reason == "timed out after 200 ms"
    assert 0.2 <= result.latency < 1.5


async def test_timeout_reason_in_seconds(target, session):
    target.slow(5)
    result = await check(session, target.url, timeout=1.0)
    assert result.reason == "timed out after 1.0 s"


async def test_latency_over_max_latency_fails(target, session):
    target.slow(0.3)
    result = await check(session, target.url, timeout=3, max_latency=0.1)
    assert not result.ok and not result.ours
    assert result.status == 200
    assert result.reason.startswith("latency ") and result.reason.endswith(" over 100 ms")
    assert result.latency >= 0.3
    target.healthy()
    assert (await check(session, target.url, max_latency=1.0)).ok


async def test_field_mismatch_fails(target, session):
    target.body({"status": "degraded", "checks": {"db": "ok"}})
    result = await check(session, target.url, expect={"status": "ok"})
    assert (result.ok, result.status, result.ours) == (False, 200, False)
    assert result.reason == '`status` was "degraded", expected "ok"'


async def test_dotted_mismatch_and_missing(target, session):
    target.body({"status": "ok", "checks": {"db": "down", "cache": {"hit_rate": 0.5}}})
    result = await check(session, target.url, expect={"checks.db": "ok"})
    assert result.reason == '`checks.db` was "down", expected "ok"'
    result = await check(session, target.url, expect={"checks.queue": "ok"})
    assert result.reason == '`checks.queue` is missing, expected "ok"'
    result = await check(session, target.url, expect={"checks.cache.hit_rate": 0.5})
    assert result.ok
    result = await check(session, target.url, expect={"checks.db": "ok", "status": "up"})
    assert result.reason == '`checks.db` was "down", expected "ok" (and 1 more)'


async def test_body_not_json_fails(target, session):
    target.body("<html>Bad gateway</html>")
    result = await check(session, target.url, expect={"status": "ok"})
    assert (result.ok, result.status, result.reason, result.ours) == (
        False,
        200,
        "body is not JSON",
        False,
    )
    target.body(b"\xff\xfe\x00garbage")
    assert (await check(session, target.url, expect={"status": "ok"})).reason == "body is not JSON"


async def test_body_over_one_megabyte_fails_when_it_must_be_parsed(target, session):
    target.body({"status": "ok", "padding": "x" * (1024 * 1024)})
    result = await check(session, target.url, expect={"status": "ok"})
    assert result.reason == "body is over 1 MB"
    assert not result.ours


async def test_non_2xx_is_reported_before_the_body(target, session):
    target.body({"status": "ok"}, status=500)
    assert (await check(session, target.url, expect={"status": "ok"})).reason == "HTTP 500"


async def test_dropped_connection_fails(target, session):
    target.drop()
    result = await check(session, target.url)
    assert not result.ok and not result.ours
    assert result.reason == "connection closed without an answer"
    assert target.hits in (1, 2)  # aiohttp retries an idempotent request once on a drop


async def test_connection_refused_fails():
    async with aiohttp.ClientSession() as session:
        result = await check(session, f"http://127.0.0.1:{free_port()}/healthz")
    assert (result.ok, result.status, result.reason, result.ours) == (
        False,
        None,
        "connection refused",
        False,
    )


async def test_redirect_to_another_host_is_not_followed(target, session):
    target.redirect(f"http://localhost:{target.port}/healthz")
    result = await check(session, target.url)
    assert (result.ok, result.status, result.ours) == (False, 302, False)
    assert result.reason == "redirected to another host (http://localhost)"
    assert target.hits == 1


async def test_redirect_loop_stops_after_three(target, session):
    target.redirect("/again")
    result = await check(session, target.url)
    assert (result.ok, result.status, result.reason) == (False, 302, "more than 3 redirects")
    assert target.hits == 4


async def test_fail_next_then_back_to_the_mode(target, session):
    target.fail_next(2, status=502)
    results = [await check(session, target.url) for _ in range(3)]
    assert [r.reason for r in results] == ["HTTP 502", "HTTP 502", "HTTP 200"]
    assert target.hits == 3


# ---------------------------------------------------------------------- probe: our failures


async def test_invalid_url_is_ours(session):
    for url in ("not a url", "ftp://example.com/health", "http:///nohost"):
        result = await check(session, url)
        assert (result.ok, result.ours) == (False, True), url
        assert result.reason.startswith("invalid URL"), result.reason


async def test_closed_session_is_ours(target):
    session = aiohttp.ClientSession()
    await session.close()
    result = await check(session, target.url)
    assert (result.ok, result.ours, result.reason) == (False, True, "our HTTP session is closed")
    assert target.hits == 0


class RaisingSession:
    """Stands in for a ClientSession whose request fails before reaching the network."""

    closed = False

    def __init__(self, exc: BaseException) -> None:
        self.exc = exc

    def get(self, *args: Any, **kwargs: Any) -> Any:
        raise self.exc


async def test_local_resource_errors_are_ours():
    emfile = OSError(errno.EMFILE, os.strerror(errno.EMFILE))
    result = await check(RaisingSession(emfile), "http://example.com/healthz")  # type: ignore[arg-type]
    assert (result.ok, result.ours) == (False, True)
    assert "Too many open files" in result.reason


async def test_a_bug_in_our_code_is_ours_and_never_raises():
    result = await check(RaisingSession(TypeError("oops")), "http://example.com/h")  # type: ignore[arg-type]
    assert (result.ok, result.ours) == (False, True)
    assert result.reason == "internal error: TypeError: oops"


KEY: Any = types.SimpleNamespace(host="app.example.com", port=443, ssl=True, is_ssl=True)


@pytest.mark.parametrize(
    ("exc", "ours", "reason"),
    [
        (
            aiohttp.ClientConnectorDNSError(KEY, socket.gaierror(socket.EAI_NONAME, "unknown")),
            False,
            "DNS: app.example.com does not exist",
        ),
        (
            aiohttp.ClientConnectorDNSError(KEY, socket.gaierror(socket.EAI_AGAIN, "try again")),
            True,
            "DNS lookup of app.example.com failed on our side",
        ),
        (
            aiohttp.ClientConnectorError(KEY, OSError(errno.EMFILE, "Too many open files")),
            True,
            "cannot connect on our side",
        ),
        (
            aiohttp.ClientConnectorError(KEY, OSError(errno.ENETUNREACH, "Network unreachable")),
            True,
            "cannot connect on our side",
        ),
        (
            aiohttp.ClientConnectorError(KEY, ConnectionRefusedError(errno.ECONNREFUSED, "no")),
            False,
            "connection refused",
        ),
        (
            aiohttp.ClientConnectorError(KEY, OSError(errno.EHOSTUNREACH, "No route to host")),
            False,
            "cannot connect (No route to host)",
        ),
        (aiohttp.ClientOSError(errno.ECONNRESET, "reset"), False, "connection reset"),
        (aiohttp.ServerDisconnectedError(), False, "connection closed without an answer"),
        (aiohttp.ClientPayloadError("cut"), False, "response body cut short"),
        (OSError(errno.ENFILE, "Too many open files in system"), True, "local resource error"),
        (RuntimeError("Session is closed"), True, "internal error: RuntimeError"),
    ],
)
def test_classify_error(exc, ours, reason):
    got_reason, got_ours = classify_error(exc)
    assert got_ours is ours
    assert got_reason.startswith(reason), got_reason


# ---------------------------------------------------------------------- expect matching


@pytest.mark.parametrize(
    ("actual", "expected", "result"),
    [
        ("ok", "ok", True),
        ("OK", "ok", False),
        (2, 2, True),
        (2.0, 2, True),
        (2, 2.0, True),
        ("2", 2, True),
        (2, "2", True),
        ("2", "2.0", False),  # two strings compare as strings
        (2.5, 2, False),
        (True, True, True),
        (False, True, False),
        (1, True, False),
        ("true", True, False),
        (True, "true", False),
        (True, 1, False),
        (None, "ok", False),
        ({"a": 1}, "ok", False),
    ],
)
def test_matches(actual, expected, result):
    assert matches(actual, expected) is result


def test_check_expect_paths():
    body = json.dumps(
        {"a.b": 1, "x": {"y": {"z": True}}, "items": [{"ok": "yes"}], "v": None}
    ).encode()
    assert check_expect(body, {"a.b": 1, "x.y.z": True, "items.0.ok": "yes"}) == ""
    assert check_expect(body, {"items.1.ok": "yes"}).startswith("`items.1.ok` is missing")
    assert check_expect(body, {"v": "ok"}) == '`v` was null, expected "ok"'
    assert check_expect(b"[1, 2]", {"status": "ok"}).startswith("`status` is missing")


# ---------------------------------------------------------------------- tally


def fail(reason: str = "HTTP 503") -> ProbeResult:
    return ProbeResult(False, 503, 0.01, reason, False)


def ours(reason: str = "our HTTP session is closed") -> ProbeResult:
    return ProbeResult(False, None, 0.0, reason, True)


OK = ProbeResult(True, 200, 0.02, "HTTP 200", False)


def run(*results: ProbeResult) -> HealthTally:
    tally = HealthTally()
    for result in results:
        tally = tally.record(result)
    return tally


@pytest.mark.parametrize("needed", [1, 2, 3, 5])
def test_rollback_exactly_after_n_consecutive_failures(needed):
    tally = HealthTally()
    for _ in range(needed - 1):
        tally = tally.record(fail())
        assert tally.verdict(needed, window_over=False) == "watch"
    tally = tally.record(fail())
    assert tally.streak == needed
    assert tally.verdict(needed, window_over=False) == "rollback"
    assert tally.verdict(needed, window_over=True) == "rollback"


def test_a_success_resets_the_streak():
    tally = run(fail(), fail(), OK, fail(), fail())
    assert tally.streak == 2
    assert tally.failures == 4
    assert tally.probes == 5
    assert tally.verdict(3, window_over=False) == "watch"
    assert tally.record(fail()).verdict(3, window_over=False) == "rollback"


def test_ours_neither_advance_nor_reset_the_streak():
    tally = run(ours(), ours(), ours(), ours())
    assert (tally.streak, tally.ours, tally.ours_streak, tally.checked) == (0, 4, 4, 0)
    assert tally.verdict(3, window_over=False) == "watch"

    tally = run(fail(), ours(), fail(), ours(), ours())
    assert tally.streak == 2
    assert tally.verdict(3, window_over=False) == "watch"
    tally = tally.record(fail())
    assert tally.verdict(3, window_over=False) == "rollback"
    assert (tally.probes, tally.failures, tally.ours, tally.ours_streak) == (6, 3, 3, 0)


def test_healthy_when_the_window_is_over_without_enough_failures():
    assert HealthTally().verdict(3, window_over=True) == "healthy"
    tally = run(OK, fail(), fail())
    assert tally.verdict(3, window_over=False) == "watch"
    assert tally.verdict(3, window_over=True) == "healthy"


def test_record_is_pure():
    tally = HealthTally()
    after = tally.record(fail())
    assert tally == HealthTally()
    assert after.streak == 1


def test_keeps_the_last_results():
    start = datetime(2026, 1, 1, tzinfo=UTC)
    tally = HealthTally()
    for i in range(RECENT + 5):
        tally = tally.record(fail(f"HTTP {500 + i}"), at=start + timedelta(seconds=30 * i))
    assert len(tally.recent) == RECENT
    assert tally.recent[0].reason == "HTTP 505"
    assert tally.recent[-1].reason == f"HTTP {500 + RECENT + 4}"
    assert tally.recent[-1].at == start + timedelta(seconds=30 * (RECENT + 4))


def test_round_trip_through_json():
    start = datetime(2026, 11, 21, 15, 0, tzinfo=UTC)
    tally = HealthTally()
    for i, result in enumerate([OK, fail(), ours(), fail('`status` was "down"')]):
        tally = tally.record(result, at=start + timedelta(seconds=i))
    data = json.loads(json.dumps(tally.to_dict()))
    assert data["version"] == 1
    restored = HealthTally.from_dict(data)
    assert restored == tally
    assert restored.recent[2] == HealthSample(
        start + timedelta(seconds=2), False, None, 0.0, "our HTTP session is closed", True
    )
    # and it goes on where it stopped
    assert restored.record(fail()).verdict(3, window_over=False) == "rollback"
    assert HealthTally.from_dict({}) == HealthTally.from_dict(None) == HealthTally()


# ---------------------------------------------------------------------- end to end


async def test_watch_against_the_target_rolls_back_on_the_third_failure(target, session):
    tally = HealthTally()
    verdicts = []
    target.fail_next(1)
    for _ in range(2):  # fail, ok
        tally = tally.record(await check(session, target.url, expect={"status": "ok"}))
        verdicts.append(tally.verdict(3, window_over=False))
    target.failing(503)
    for _ in range(3):
        tally = tally.record(await check(session, target.url, expect={"status": "ok"}))
        verdicts.append(tally.verdict(3, window_over=False))
    assert verdicts == ["watch", "watch", "watch", "watch", "rollback"]
    assert target.hits == 5


# ---------------------------------------------------------------------- evidence


def test_evidence_markdown():
    start = datetime(2026, 11, 21, 15, 0, tzinfo=UTC)
    tally = HealthTally()
    results = [
        OK,
        ours(),
        ProbeResult(False, None, 5.0, "timed out after 5.0 s", False),
        ProbeResult(False, 200, 0.12, '`status` was "a|b", expected "ok"', False),
        ProbeResult(False, 503, 2.345, "HTTP 503", False),
    ]
    for i, result in enumerate(results):
        tally = tally.record(result, at=start + timedelta(seconds=30 * i))
    text = evidence_markdown(tally, "https://app.example.com/healthz")
    lines = text.splitlines()
    assert lines[0] == (
        "Health checks of `https://app.example.com/healthz`: 3 consecutive failures "
        "(5 probes, 3 failed, 1 not made because of an error on our side)."
    )
    assert "| time (UTC) | result | status | latency | reason |" in lines
    rows = [line for line in lines if line.startswith("| 2026-")]
    assert rows == [
        "| 2026-11-21 15:00:00 | ✅ ok | 200 | 20 ms | HTTP 200 |",
        "| 2026-11-21 15:00:30 | ⚠️ our error | — | 0.0 s | our HTTP session is closed |",
        "| 2026-11-21 15:01:00 | ❌ failed | — | 5.0 s | timed out after 5.0 s |",
        '| 2026-11-21 15:01:30 | ❌ failed | 200 | 120 ms | `status` was "a\\|b", expected "ok" |',
        "| 2026-11-21 15:02:00 | ❌ failed | 503 | 2.3 s | HTTP 503 |",
    ]
    assert text.endswith("\n")


def test_evidence_markdown_without_probes():
    text = evidence_markdown(HealthTally(), "https://app.example.com/healthz")
    assert "No probes recorded yet." in text
