"""Health probe latency over time, as a small server-rendered SVG chart (no JavaScript).

The deploy code keeps every probe (`app.deploy.store.ProbeRecord`: time, ok, HTTP
status, latency, reason) for 30 days, and, per health watch, the last
`app.deploy.health.RECENT` of them in the watch's tally. `latency_chart` turns either into the
coordinates the template draws: a polyline through the measured latencies and one dot
per probe (green ok, red failed; a probe that got no answer has no latency and is drawn
on the top edge). Both are pure.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from app.deploy.health import format_seconds

WIDTH, HEIGHT = 600, 160
LEFT, RIGHT, TOP, BOTTOM = 44, 8, 10, 22


class Sample(Protocol):
    """A probe to draw: a `HealthSample` or a stored `ProbeRecord`."""

    @property
    def at(self) -> datetime: ...

    @property
    def ok(self) -> bool: ...

    @property
    def latency(self) -> float | None: ...

    @property
    def reason(self) -> str: ...


@dataclass(frozen=True)
class Point:
    x: float
    y: float
    ok: bool
    label: str  # shown as the dot's tooltip
    measured: bool = True  # False: no answer, so no latency (drawn on the top edge)


@dataclass(frozen=True)
class Chart:
    points: tuple[Point, ...]
    max_latency: float
    start: str
    end: str
    width: int = WIDTH
    height: int = HEIGHT

    @property
    def polyline(self) -> str:
        return " ".join(f"{p.x:.1f},{p.y:.1f}" for p in self.points if p.measured)

    @property
    def measured(self) -> int:
        return sum(1 for p in self.points if p.measured)

    @property
    def max_label(self) -> str:
        return format_seconds(self.max_latency)

    @property
    def baseline(self) -> float:
        return HEIGHT - BOTTOM

    @property
    def left(self) -> int:
        return LEFT


def latency_chart(
    points: Sequence[Sample], start: datetime | None = None, end: datetime | None = None
) -> Chart | None:
    """The chart of these probes (oldest first); None when there is nothing to draw.

    The time axis runs from `start` to `end` when given (a fixed window, such as the
    last 7 days), otherwise from the first probe to the last.
    """
    if not points:
        return None
    first = (start or points[0].at).timestamp()
    last = (end or points[-1].at).timestamp()
    duration = last - first
    latencies = [p.latency for p in points if p.latency is not None]
    top = max(max(latencies, default=0.0), 0.001)
    inner_w, inner_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    drawn = []
    for index, sample in enumerate(points):
        if duration > 0:
            fraction = min(max((sample.at.timestamp() - first) / duration, 0.0), 1.0)
        else:
            fraction = index / (len(points) - 1) if len(points) > 1 else 0.5
        x = LEFT + fraction * inner_w
        latency = sample.latency
        y = TOP + inner_h * (1 - min(latency, top) / top) if latency is not None else TOP
        when = sample.at.strftime("%Y-%m-%d %H:%M:%S UTC")
        result = "ok" if sample.ok else f"failed: {sample.reason}"
        shown = format_seconds(latency) if latency is not None else "no answer"
        label = f"{when}: {shown}, {result}"
        drawn.append(Point(round(x, 1), round(y, 1), sample.ok, label, latency is not None))
    return Chart(
        points=tuple(drawn),
        max_latency=top,
        start=datetime.fromtimestamp(first, points[0].at.tzinfo).strftime("%m-%d %H:%M"),
        end=datetime.fromtimestamp(last, points[-1].at.tzinfo).strftime("%m-%d %H:%M"),
    )
