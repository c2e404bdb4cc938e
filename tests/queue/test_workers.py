"""The embedded queue through the real endpoint: retries with backoff, dead letters, admin retry."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys

import pytest

from app.queue.outcomes import backoff_delay
from tests.support import plugins
from tests.support.deckhand import database_url_for_test

PLUGIN = "tests.support.plugins:router"


@pytest.fixture
async def queue_deckhand(start_deckhand):
    return await start_deckhand(plugins=[PLUGIN], max_attempts=3)


def test_backoff_grows_exponentially_with_jitter_and_a_cap() -> None:
    for attempt in range(1, 6):
        delay = backoff_delay(attempt, 2.0)
        assert 2.0 * 2 ** (attempt - 1) / 2 <= delay <= 2.0 * 2 ** (attempt - 1)
    assert backoff_delay(30, 2.0) <= 600


async def test_transient_failures_are_retried_until_success(queue_deckhand) -> None:
    status, _, delivery_id = await queue_deckhand.post(
        "deckhand_test", {"mode": "fail_times", "n": 2}
    )
    assert status == 202
    finished = await queue_deckhand.wait_finished([delivery_id])
    assert finished[delivery_id].status == "done"
    assert finished[delivery_id].attempts == 3
    assert finished[delivery_id].last_error == "RuntimeError: transient failure 2"
    times = plugins.ATTEMPTS[delivery_id]
    assert times[2] - times[1] >= 0.05  # second retry waits at least base * 2 / 2


async def test_a_delivery_that_keeps_failing_is_dead_lettered(queue_deckhand) -> None:
    _, _, delivery_id = await queue_deckhand.post("deckhand_test", {"mode": "always"})
    finished = await queue_deckhand.wait_finished([delivery_id])
    assert finished[delivery_id].status == "dead"
    assert finished[delivery_id].attempts == 3
    assert finished[delivery_id].last_error == "RuntimeError: this always fails"
    await asyncio.sleep(0.3)
    assert len(plugins.ATTEMPTS[delivery_id]) == 3


async def test_a_permanent_error_is_dead_lettered_at_once(queue_deckhand) -> None:
    _, _, delivery_id = await queue_deckhand.post("deckhand_test", {"mode": "permanent"})
    finished = await queue_deckhand.wait_finished([delivery_id])
    assert finished[delivery_id].status == "dead"
    assert finished[delivery_id].attempts == 1


def run_cli(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": database_url, "LOG_LEVEL": "warning"}
    return subprocess.run(
        [sys.executable, "-m", "app", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


async def test_dead_letters_are_listed_and_retried_from_the_cli(queue_deckhand, tmp_path) -> None:
    database_url = database_url_for_test(tmp_path)
    _, _, delivery_id = await queue_deckhand.post("deckhand_test", {"mode": "fail_times", "n": 4})
    finished = await queue_deckhand.wait_finished([delivery_id])
    assert finished[delivery_id].status == "dead"

    listing = await asyncio.to_thread(
        run_cli, database_url, "deliveries", "list", "--status", "dead", "--json"
    )
    assert listing.returncode == 0, listing.stderr
    rows = json.loads(listing.stdout)
    assert [(r["id"], r["status"], r["attempts"]) for r in rows] == [(delivery_id, "dead", 3)]
    assert rows[0]["error"] == "RuntimeError: transient failure 3"

    table = await asyncio.to_thread(run_cli, database_url, "deliveries", "list")
    assert delivery_id in table.stdout and "dead" in table.stdout

    retried = await asyncio.to_thread(run_cli, database_url, "deliveries", "retry", delivery_id)
    assert retried.returncode == 0, retried.stderr
    assert f"queued again: 1 {delivery_id}" in retried.stdout
    finished = await queue_deckhand.wait_finished([delivery_id])
    assert finished[delivery_id].status == "done"
    assert len(plugins.ATTEMPTS[delivery_id]) == 5


async def test_retrying_an_unknown_delivery_fails_clearly(tmp_path) -> None:
    database_url = f"sqlite:///{tmp_path}/empty.db"
    result = await asyncio.to_thread(run_cli, database_url, "deliveries", "retry", "nope")
    assert result.returncode == 1
    assert "not retried (unknown or not dead): nope" in result.stderr
    usage = await asyncio.to_thread(run_cli, database_url, "deliveries", "retry")
    assert usage.returncode == 2


async def test_a_job_past_its_time_limit_is_retried_then_dead_lettered(start_deckhand) -> None:
    deckhand = await start_deckhand(plugins=[PLUGIN], max_attempts=2, job_timeout_seconds=0.3)
    _, _, delivery_id = await deckhand.post("deckhand_test", {"mode": "hang"})
    delivery = (await deckhand.wait_finished([delivery_id]))[delivery_id]
    assert (delivery.status, delivery.attempts) == ("dead", 2)
    assert delivery.last_error == "TimeoutError: the job ran longer than its time limit"


def test_stored_errors_are_scrubbed_of_tokens() -> None:
    from app.queue.outcomes import describe

    token = "ghs_" + "x1Y2z3" * 6
    error = RuntimeError(f"git push https://x-access-token:{token}@github.com/o/r failed")
    assert token not in describe(error)
