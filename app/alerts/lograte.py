"""The error spike of the `logs` source: errors per repository and minute, and the one
alert (fingerprint `logs-spike:<repo>`) a minute over `alerts.logs.max_errors_per_minute`
adds to its batch.

The per-minute counts are rows of the alert store (source `logs-rate`, one per minute
with errors), counted once per job like any batch; they never get an issue of their own.
The spike alert fires once per minute that crosses the threshold, so its issue counts
the spiking minutes. Nothing here talks to GitHub.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from app.alerts.sources import Alert
from app.alerts.store import AlertStore

RATE_SOURCE = "logs-rate"


async def spike(
    store: AlertStore, repository: str, batch_id: str, alerts: Sequence[Alert], limit: int
) -> list[Alert]:
    """The spike alert to add to the batch (one, or none)."""
    per_minute = Counter(int(a.started_at // 60) for a in alerts if a.status == "firing")
    if not per_minute:
        return []
    counters = [
        Alert(
            RATE_SOURCE,
            str(minute),
            "log errors per minute",
            "info",
            "firing",
            None,
            "",
            started_at=minute * 60.0,
        )
        for minute, n in per_minute.items()
        for _ in range(n)
    ]
    recorded = await store.record(repository, f"{batch_id}:rate"[:100], counters)
    crossed = []
    for row in recorded.rows.values():
        added = per_minute[int(row.fingerprint)]
        if row.count > limit and (row.count - added <= limit or not recorded.counted):
            crossed.append((int(row.fingerprint), row.count))
    if not crossed:
        return []
    minute, count = max(crossed)
    groups = Counter(a.fingerprint for a in alerts if int(a.started_at // 60) == minute)
    top = groups.most_common(1)[0][0]
    example = next(a for a in reversed(alerts) if a.fingerprint == top)
    lines = [f"{n}x {fingerprint}" for fingerprint, n in groups.most_common(10)]
    return [
        Alert(
            source="logs",
            fingerprint=f"logs-spike:{repository.lower()}",
            title=f"Error spike: more than {limit} errors per minute in the logs",
            severity="critical",
            status="firing",
            environment=example.environment,
            message=(
                f"{count} errors in the minute from {minute * 60:.0f} (UNIX time), over the "
                f"limit of {limit} (alerts.logs.max_errors_per_minute).\n\n"
                "Most frequent in this batch:\n"
                + "\n".join(lines)
                + (f"\n\nNewest example:\n{example.message}" if example.message else "")
            )[:8000],
            frames=example.frames,
            started_at=minute * 60.0,
        )
    ]
