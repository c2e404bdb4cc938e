"""Open-loop load at a fixed rate, latency counted from each request's scheduled time.

A closed-loop generator such as wrk sends a connection's next request only after the
answer, so at saturation its latency mirrors throughput, and a stall delays the
requests that would have seen it (coordinated omission). Here request `n` is due at
`start + n / rate` whatever happened before, and its latency runs from that moment to
the full answer: a slow server shows in the tail instead of lowering the load.

Used by alerts.py (its own request bodies) and ingest.py (one signed body, a new
delivery id per request: `python benchmarks/paced.py --url ... --body FILE ...`, run as
a child process so the client's work never shares a server's CPU time accounting).
Prints one line, `RESULT {json}`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
import uuid
from collections.abc import Callable, Collection
from pathlib import Path
from typing import Any

Request = Callable[[int], tuple[bytes, dict[str, str]]]  # n -> (body, headers)


async def paced(
    url: str, rate: float, seconds: float, request_for: Request, ok: Collection[int] = (202,)
) -> dict[str, Any]:
    """Send `rate * seconds` requests at `rate` per second; latency percentiles in ms."""
    import aiohttp

    total = int(rate * seconds)
    latencies: list[float] = []
    failures: dict[str, int] = {}
    connector = aiohttp.TCPConnector(limit=512)
    async with aiohttp.ClientSession(connector=connector) as session:
        start = time.perf_counter() + 0.2

        async def one(n: int) -> None:
            due = start + n / rate
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
            body, headers = request_for(n)
            try:
                async with session.post(url, data=body, headers=headers) as answer:
                    await answer.read()
                    outcome = None if answer.status in ok else str(answer.status)
            except (aiohttp.ClientError, OSError) as exc:
                outcome = type(exc).__name__
            latencies.append(time.perf_counter() - due)
            if outcome is not None:
                failures[outcome] = failures.get(outcome, 0) + 1

        await asyncio.gather(*(one(n) for n in range(total)))
        elapsed = time.perf_counter() - start
    latencies.sort()

    def ms(p: float) -> float:
        return round(latencies[min(len(latencies) - 1, int(p / 100 * len(latencies)))] * 1000, 2)

    return {
        "sent": total,
        "failures": sum(failures.values()),
        "failed_by": failures,
        "achieved_rate": round(total / elapsed, 1),
        "p50_ms": ms(50),
        "p90_ms": ms(90),
        "p99_ms": ms(99),
        "p99.9_ms": ms(99.9),
        "max_ms": round(latencies[-1] * 1000, 2),
        "mean_ms": round(statistics.fmean(latencies) * 1000, 2),
    }


def _fixed_body(body: bytes, headers: dict[str, str], id_header: str | None) -> Request:
    run = uuid.uuid4().hex[:8]

    def request_for(n: int) -> tuple[bytes, dict[str, str]]:
        if id_header is None:
            return body, headers
        return body, {**headers, id_header: f"{run}-{n:08d}"}

    return request_for


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--rate", type=float, required=True)
    parser.add_argument("--seconds", type=float, required=True)
    parser.add_argument("--body", type=Path, required=True, help="sent verbatim every time")
    parser.add_argument("--header", action="append", default=[], help="'Name: value'")
    parser.add_argument("--id-header", help="a header given a new value for every request")
    parser.add_argument("--ok", type=int, action="append", help="statuses that count as answered")
    args = parser.parse_args()
    headers = dict(h.split(": ", 1) for h in args.header)
    request_for = _fixed_body(args.body.read_bytes(), headers, args.id_header)
    ok = set(args.ok or range(200, 300))
    result = asyncio.run(paced(args.url, args.rate, args.seconds, request_for, ok))
    print("RESULT " + json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
