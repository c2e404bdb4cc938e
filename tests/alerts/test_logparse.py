"""The `logs` source on real tracebacks: a small program in a temporary package raises
nested and chained exceptions, and its stderr is fed to the parser as a drain would send
it (plain, interleaved between processes, split into JSON records, with timestamps)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime

import pytest

from app.alerts.logparse import extract, in_repository, normalise, parse_logs
from app.alerts.sources import authenticate, delivery_key, parse

PRICING = """\
def unit_price(total, n):
    return total / n


def lookup(prices, name):
    try:
        return prices[name]
    except KeyError as exc:
        raise ValueError(f"no price for {name}") from exc


def checkout(cart):
    return sum(unit_price(item["total"], item["n"]) for item in cart)
"""
VIEWS = """\
import json

from shop import pricing


def handle(kind):
    if kind == "zero":
        return pricing.checkout([{"total": 1, "n": 0}])
    if kind == "chain":
        return pricing.lookup({}, "tea")
    try:
        pricing.unit_price(1, 0)
    except ZeroDivisionError:
        return json.loads("{")
"""
# The frames point at paths relative to the repository root, as in a deployment that
# runs from it: each module is compiled under its relative path.
RUNNER = """\
import logging, sys, types

def load(name, path):
    module = types.ModuleType(name)
    module.__file__ = path
    sys.modules[name] = module
    exec(compile(open(path).read(), path, "exec"), module.__dict__)
    return module

sys.modules["shop"] = types.ModuleType("shop")
sys.modules["shop"].pricing = load("shop.pricing", "shop/pricing.py")
views = load("shop.views", "shop/views.py")
logging.basicConfig(format="%(levelname)s:%(name)s:%(message)s")
for kind in sys.argv[1:]:
    try:
        views.handle(kind)
    except Exception:
        logging.getLogger("shop").exception("request failed for order 12345")
"""
KINDS = ["zero", "chain", "context", "zero"]
ZERO = "traceback:ZeroDivisionError:shop/pricing.py:unit_price"
CHAIN = "traceback:ValueError:shop/pricing.py:lookup"
CONTEXT = "traceback:json.decoder.JSONDecodeError:shop/views.py:handle"


@pytest.fixture(scope="module")
def stderr(tmp_path_factory: pytest.TempPathFactory) -> str:
    root = tmp_path_factory.mktemp("repo")
    (root / "shop").mkdir()
    (root / "shop" / "pricing.py").write_text(PRICING)
    (root / "shop" / "views.py").write_text(VIEWS)
    (root / "run.py").write_text(RUNNER)
    done = subprocess.run(
        [sys.executable, "run.py", *KINDS], cwd=root, capture_output=True, text=True, check=True
    )
    assert done.stderr.count("Traceback (most recent call last):") == 6
    return done.stderr


def counts(body: bytes) -> Counter[str]:
    return Counter(o.fingerprint for o in extract(body))


def test_plain_stderr_groups_by_type_and_innermost_repository_frame(stderr: str) -> None:
    found = extract(stderr.encode())
    assert Counter(o.fingerprint for o in found) == {ZERO: 2, CHAIN: 1, CONTEXT: 1}
    zero = found[0]
    assert [(f.path, f.function) for f in zero.frames[:3]] == [
        ("shop/pricing.py", "unit_price"),
        ("shop/pricing.py", "<genexpr>"),
        ("shop/pricing.py", "checkout"),
    ]
    assert zero.frames[0].line == 2 and zero.frames[0].in_app
    assert "request failed for order 12345" in zero.message  # logger.exception's line
    chain = found[1]
    assert "The above exception was the direct cause" in chain.message
    assert [f.path for f in chain.frames][:2] == ["shop/pricing.py", "shop/views.py"]
    assert any(f.function == "lookup" and f.line == 7 for f in chain.frames)  # the cause
    context = found[2]
    assert context.frames[0].in_app is False  # the standard library's json decoder
    assert "During handling of the above exception" in context.message


def test_interleaved_processes_in_plain_text_with_timestamps(stderr: str) -> None:
    one = [
        f"2026-11-21T16:00:0{n % 10}.123Z [101] {line}"
        for n, line in enumerate(stderr.splitlines())
    ]
    two = [f"2026-11-21 16:00:01,5 web[202]: {line}" for line in stderr.splitlines()]
    mixed = [line for pair in zip(one, two, strict=False) for line in pair]
    mixed += one[len(two) :] + two[len(one) :]
    assert counts("\n".join(mixed).encode()) == {ZERO: 4, CHAIN: 2, CONTEXT: 2}
    first = extract("\n".join(mixed).encode())[0]
    header = datetime(2026, 11, 21, 16, 0, 1, 123000, tzinfo=UTC).timestamp()
    assert first.at == pytest.approx(header)  # when its `Traceback` line was logged


def test_json_records_one_line_each_interleaved(stderr: str) -> None:
    def records(instance: str) -> list[str]:
        return [
            json.dumps(
                {
                    "message": line,
                    "severity": "error",  # every stderr line, as Railway marks them
                    "timestamp": "2026-11-21T16:00:00.000000000Z",
                    "deploymentInstanceId": instance,
                }
            )
            for line in stderr.splitlines()
        ]

    a, b = records("a1"), records("b2")
    mixed = [x for pair in zip(a, b, strict=True) for x in pair]
    assert counts("\n".join(mixed).encode()) == {ZERO: 4, CHAIN: 2, CONTEXT: 2}


def test_a_json_record_may_carry_the_whole_traceback(stderr: str) -> None:
    tracebacks = [t for t in stderr.split("ERROR:shop:request failed for order 12345\n") if t]
    assert len(tracebacks) == len(KINDS)
    body = "\n".join(
        line
        for text in tracebacks
        for line in (
            json.dumps({"msg": "request failed", "level": "error", "exc_info": text}),
            json.dumps({"log": "GET / 200", "level": "info", "pid": 7}),
        )
    )
    found = extract(body.encode())
    assert Counter(o.fingerprint for o in found) == {ZERO: 2, CHAIN: 1, CONTEXT: 1}
    assert found[0].message.startswith("request failed\nTraceback")


def test_error_records_without_traceback_are_grouped_by_normalised_message() -> None:
    body = "\n".join(
        [
            json.dumps({"message": "payment 1234 failed for 0xdeadbeef", "level": "error"}),
            json.dumps({"message": "payment 99 failed for 0xfeed", "level": "ERROR"}),
            json.dumps({"message": "all good", "level": "info"}),
            json.dumps({"message": "disk almost full", "level": 60}),  # pino: fatal
            "2026-11-21T16:00:00Z [3] ERROR worker 7 lost its lease 3f2a9c1e77",
            "2026-11-21T16:00:01Z [4] ERROR worker 12 lost its lease 0b1c2d3e4f5a",
            "an error happened but lowercase is not a level",
            "CRITICAL: out of memory",
        ]
    )
    found = counts(body.encode())
    assert found == {
        "error:payment <n> failed for <hex>": 2,
        "error:disk almost full": 1,
        "error:ERROR worker <n> lost its lease <hex>": 2,
        "error:CRITICAL: out of memory": 1,
    }
    severities = {o.fingerprint: o.severity for o in extract(body.encode())}
    assert severities["error:disk almost full"] == "critical"
    assert severities["error:payment <n> failed for <hex>"] == "error"
    assert severities["error:CRITICAL: out of memory"] == "critical"
    assert normalise("id 3f2a9c1e-0000-4000-8000-00000000abcd at 12.5s") == "id <id> at <n>s"


def test_a_cut_traceback_is_reported_from_what_it_shows(stderr: str) -> None:
    lines = stderr.splitlines()
    head = lines[: lines.index("ZeroDivisionError: division by zero")]
    [cut] = extract("\n".join(head[1:]).encode())  # also without the logged error line
    assert cut.fingerprint == "traceback:<incomplete>:shop/pricing.py:unit_price"
    assert cut.frames[0].path == "shop/pricing.py"
    tail = lines[len(head) - 3 :]  # starts inside the traceback: no header
    assert extract("\n".join(tail).encode())[0].frames[0].path == "shop/pricing.py"


def test_deployment_roots_are_the_repository_and_libraries_are_not() -> None:
    assert in_repository("/app/shop/pricing.py") == "shop/pricing.py"
    assert in_repository("/usr/src/app/shop/views.py") == "shop/views.py"
    assert in_repository("/app/.venv/lib/python3.11/site-packages/flask/app.py") is None
    assert in_repository("/usr/lib/python3.11/json/decoder.py") is None
    assert in_repository("<frozen runpy>") is None


def test_alerts_one_per_occurrence_the_newest_with_the_detail(stderr: str) -> None:
    alerts = parse_logs(stderr.encode())
    assert Counter(a.fingerprint for a in alerts) == {ZERO: 2, CHAIN: 1, CONTEXT: 1}
    light, full = [a for a in alerts if a.fingerprint == ZERO]
    assert light.frames == () and light.message == ""
    assert full.frames[0].path == "shop/pricing.py" and "2 times" in full.message
    assert {a.source for a in alerts} == {"logs"} and {a.status for a in alerts} == {"firing"}
    assert full.title.startswith("ZeroDivisionError: division by zero")
    parsed = parse("logs", stderr.encode(), {})  # the web tier's entry point
    assert [a.fingerprint for a in parsed] == [a.fingerprint for a in alerts]
    assert parse("logs", b"", {}) == [] and parse("logs", b"INFO all good\n", {}) == []


def test_bearer_token() -> None:
    assert authenticate("logs", "tok-123456", {"Authorization": "Bearer tok-123456"}, b"") is None
    assert "LOG_DRAIN_TOKEN" in (authenticate("logs", "tok-123456", {}, b"") or "")
    wrong = authenticate("logs", "tok-123456", {"Authorization": "Bearer nope"}, b"")
    assert wrong == "the bearer token is not LOG_DRAIN_TOKEN"


def test_heroku_frames_are_deliveries_of_their_own() -> None:
    body = b"ERROR db down"
    first = delivery_key("logs", "o/r", body, {"Logplex-Frame-Id": "f1"})
    second = delivery_key("logs", "o/r", body, {"Logplex-Frame-Id": "f2"})
    assert first != second and first == delivery_key(
        "logs", "o/r", body, {"Logplex-Frame-Id": "f1"}
    )
