"""GET /healthz and GET /metrics through the real server."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from app.web.keys import SERVICE
from tests.support import postgres
from tests.support.deckhand import DeckhandHarness


async def get(deckhand: DeckhandHarness, path: str) -> tuple[int, str]:
    async with deckhand.session.get(deckhand.url + path) as response:
        return response.status, await response.text()


def metric(text: str, name: str, **labels: str) -> float:
    label_text = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    pattern = (
        re.escape(name) + (r"\{" + re.escape(label_text) + r"\}" if labels else "") + r" (\S+)"
    )
    match = re.search(pattern, text)
    return float(match.group(1)) if match else 0.0


async def test_healthz_reports_database_queue_and_setup_mode(deckhand: DeckhandHarness) -> None:
    async with deckhand.session.get(deckhand.url + "/healthz") as response:
        assert response.status == 200
        body = await response.json()
    assert body["status"] == "ok"
    assert body["database"] == "ok"
    assert body["workers"] == "running"
    assert body["queue"] == {
        "queued": 0,
        "running": 0,
        "done": 0,
        "dead": 0,
        "oldest_queued_seconds": 0.0,
    }
    assert body["github_app"]["setup_mode"] is True
    assert "GITHUB_APP_ID" in body["github_app"]["missing"]


@pytest.mark.skipif(postgres.selected(), reason="replaces the SQLite file under the service")
async def test_healthz_is_503_when_the_database_is_gone(
    deckhand: DeckhandHarness, tmp_path: Path
) -> None:
    service = deckhand.app[SERVICE]  # type: ignore[attr-defined]
    await service.pool.stop()  # no worker may reopen the file while it is replaced
    service.db.reset()
    for name in os.listdir(tmp_path):
        if name.startswith("deckhand.db"):
            os.remove(tmp_path / name)
    (tmp_path / "deckhand.db").write_bytes(b"this is not a database" * 100)
    async with deckhand.session.get(deckhand.url + "/healthz") as response:
        assert response.status == 503
        body = await response.json()
    assert body["status"] == "unavailable"
    assert body["database"].startswith("error")


async def test_healthz_is_503_when_the_workers_stopped(deckhand: DeckhandHarness) -> None:
    service = deckhand.app[SERVICE]  # type: ignore[attr-defined]
    await service.pool.stop()
    status, text = await get(deckhand, "/healthz")
    assert status == 503
    assert '"workers": "stopped"' in text


async def test_metrics_count_deliveries_and_show_queue_depth(deckhand: DeckhandHarness) -> None:
    _, before = await get(deckhand, "/metrics")
    _, _, delivery_id = await deckhand.post("ping", {"zen": "z"})
    await deckhand.post("ping", {"zen": "z"}, secret="wrong")
    await deckhand.wait_finished([delivery_id])
    status, after = await get(deckhand, "/metrics")
    assert status == 200
    received = "deckhand_deliveries_received_total"
    assert (
        metric(after, received, event="ping", source="github")
        == metric(before, received, event="ping", source="github") + 1
    )
    rejected = "deckhand_deliveries_rejected_total"
    assert (
        metric(after, rejected, reason="signature")
        == metric(before, rejected, reason="signature") + 1
    )
    assert metric(after, "deckhand_queue_depth", status="done") == 1
    assert "deckhand_delivery_processing_seconds_bucket" in after
    # storing the delivery waited for at least one durable commit
    commits = "deckhand_database_commit_seconds_count"
    assert metric(after, commits, mode="durable") > metric(before, commits, mode="durable")
    waits = "deckhand_database_wait_seconds_count"
    assert metric(after, waits) > metric(before, waits)


async def test_front_page_explains_setup_mode(deckhand: DeckhandHarness) -> None:
    status, text = await get(deckhand, "/")
    assert status == 200
    assert "setup mode" in text and "GITHUB_APP_ID" in text


async def test_unknown_path_is_a_json_404(deckhand: DeckhandHarness) -> None:
    async with deckhand.session.get(deckhand.url + "/nope") as response:
        assert response.status == 404
        assert await response.json() == {"error": "Not Found"}
