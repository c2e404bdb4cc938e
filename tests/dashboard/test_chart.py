"""The latency chart's coordinates, from stored health probes (pure functions)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from app.dashboard.chart import BOTTOM, HEIGHT, LEFT, RIGHT, TOP, WIDTH, latency_chart
from app.deploy.health import HealthSample
from app.deploy.store import ProbeRecord

START = datetime(2026, 1, 1, tzinfo=UTC)


def _sample(seconds: int, latency: float, ok: bool = True) -> HealthSample:
    return HealthSample(START + timedelta(seconds=seconds), ok, 200 if ok else 503, latency, "x")


def test_points_spread_over_time_and_scale_to_the_slowest_probe() -> None:
    chart = latency_chart([_sample(0, 0.5), _sample(50, 1.0, ok=False), _sample(100, 0.0)])
    assert chart is not None
    xs = [p.x for p in chart.points]
    ys = [p.y for p in chart.points]
    assert xs == [LEFT, LEFT + (WIDTH - LEFT - RIGHT) / 2, WIDTH - RIGHT]
    assert ys == [TOP + (HEIGHT - TOP - BOTTOM) / 2, TOP, HEIGHT - BOTTOM]
    assert [p.ok for p in chart.points] == [True, False, True]
    assert chart.polyline.startswith(f"{LEFT:.1f},") and chart.max_label == "1.0 s"
    assert "failed" in chart.points[1].label and "1.0 s" in chart.points[1].label


def test_nothing_to_draw_and_one_point() -> None:
    assert latency_chart([]) is None
    one = latency_chart([_sample(0, 0.2)])
    assert one is not None and len(one.points) == 1
    assert one.points[0].x == LEFT + (WIDTH - LEFT - RIGHT) / 2


def _probe(seconds: int, latency: float | None, ok: bool = True) -> ProbeRecord:
    at = START + timedelta(seconds=seconds)
    status = None if latency is None else (200 if ok else 503)
    return ProbeRecord(1, seconds, "production", at, ok, latency, status, "" if ok else "down")


def test_stored_probes_over_a_fixed_window_with_unanswered_ones_on_the_top_edge() -> None:
    probes = [_probe(3600, 0.5), _probe(7200, None, ok=False), _probe(10800, 1.0, ok=False)]
    chart = latency_chart(probes, START, START + timedelta(seconds=14400))
    assert chart is not None
    inner = WIDTH - LEFT - RIGHT
    assert [p.x for p in chart.points] == [LEFT + inner / 4, LEFT + inner / 2, LEFT + inner * 3 / 4]
    assert [p.y for p in chart.points] == [TOP + (HEIGHT - TOP - BOTTOM) / 2, TOP, TOP]
    assert [p.ok for p in chart.points] == [True, False, False]
    assert [p.measured for p in chart.points] == [True, False, True]
    assert chart.measured == 2 and len(chart.polyline.split()) == 2  # the line skips no-answer
    assert "no answer, failed: down" in chart.points[1].label
    assert (chart.start, chart.end, chart.max_label) == ("01-01 00:00", "01-01 04:00", "1.0 s")


def test_only_unanswered_probes_still_draw() -> None:
    chart = latency_chart([_probe(0, None, ok=False)])
    assert chart is not None and chart.measured == 0 and chart.points[0].y == TOP
