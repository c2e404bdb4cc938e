"""`attempt`: one run of a job, settled through the backend's steps, for both queues."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from typing import Any

import pytest
from prometheus_client import REGISTRY

from app.queue.outcomes import attempt
from app.store.deliveries import RUNNING, Delivery

EVENT = "outcome_test"


def delivery() -> Delivery:
    now = time.time()
    return Delivery(
        id="d-1",
        source="github",
        event=EVENT,
        action=None,
        installation_id=None,
        repository=None,
        status=RUNNING,
        attempts=1,
        run_after=now,
        last_error=None,
        received_at=now,
        started_at=now,
        finished_at=None,
        payload=b"{}",
    )


def counted(outcome: str) -> float:
    name = "deckhand_deliveries_processed_total"
    return REGISTRY.get_sample_value(name, {"event": EVENT, "outcome": outcome}) or 0.0


class Steps:
    """The backend's settling steps, recording what was called."""

    def __init__(self, *, broken: bool = False) -> None:
        self.calls: list[str] = []
        self.broken = broken  # the database is away: no step can record anything

    async def done(self) -> None:
        self.calls.append("done")
        if self.broken:
            raise ConnectionError("the database is away")

    async def failed(self, exc: Exception) -> str:
        self.calls.append(f"failed:{exc}")
        if self.broken:
            raise ConnectionError("the database is away")
        return "retry"

    async def interrupted(self) -> None:
        self.calls.append("interrupted")
        if self.broken:
            raise ConnectionError("the database is away")

    def given(self) -> dict[str, Any]:
        return {"done": self.done, "failed": self.failed, "interrupted": self.interrupted}


async def succeed(_delivery: Delivery) -> None:
    return None


async def fail(_delivery: Delivery) -> None:
    raise ValueError("boom")


async def test_a_finished_job_is_done_and_a_failed_one_names_its_outcome() -> None:
    steps = Steps()
    before = counted("done"), counted("retry")
    assert await attempt(delivery(), succeed, time_limit=5, **steps.given()) == "done"
    assert await attempt(delivery(), fail, time_limit=5, **steps.given()) == "retry"
    assert steps.calls == ["done", "failed:boom"]
    assert (counted("done"), counted("retry")) == (before[0] + 1, before[1] + 1)


async def test_a_job_over_its_time_limit_fails_with_a_timeout() -> None:
    async def hang(_delivery: Delivery) -> None:
        await asyncio.sleep(30)

    steps = Steps()
    assert await attempt(delivery(), hang, time_limit=0.05, **steps.given()) == "retry"
    assert steps.calls == ["failed:"]  # TimeoutError, which the failure step describes


@pytest.mark.parametrize("job", [succeed, fail], ids=["done", "failed"])
async def test_an_outcome_that_cannot_be_recorded_is_logged_not_raised(job: Any) -> None:
    steps = Steps(broken=True)
    before = counted("unrecorded")
    assert await attempt(delivery(), job, time_limit=5, **steps.given()) == "unrecorded"
    assert counted("unrecorded") == before + 1


@pytest.mark.parametrize("broken", [False, True], ids=["handed back", "hand-back failed"])
async def test_shutdown_hands_the_delivery_back_and_goes_on_cancelling(broken: bool) -> None:
    started = asyncio.Event()

    async def wait(_delivery: Delivery) -> None:
        started.set()
        await asyncio.sleep(30)

    steps = Steps(broken=broken)
    before = counted("interrupted")
    task = asyncio.create_task(attempt(delivery(), wait, time_limit=60, **steps.given()))
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert task.cancelled()
    assert steps.calls == ["interrupted"]
    assert counted("interrupted") == before + 1


async def test_cancelled_while_recording_counts_as_interrupted() -> None:
    recording = asyncio.Event()

    async def slow_done() -> None:
        recording.set()
        await asyncio.sleep(30)

    steps = Steps()
    before = counted("interrupted")
    given = {**steps.given(), "done": slow_done}
    task = asyncio.create_task(attempt(delivery(), succeed, time_limit=60, **given))
    await recording.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert counted("interrupted") == before + 1


async def test_queue_latency_is_observed_on_the_first_attempt_only() -> None:
    name = "deckhand_delivery_queue_seconds_count"
    before = REGISTRY.get_sample_value(name) or 0.0
    await attempt(delivery(), succeed, time_limit=5, **Steps().given())
    again = dataclasses.replace(delivery(), attempts=2)
    await attempt(again, succeed, time_limit=5, **Steps().given())
    assert REGISTRY.get_sample_value(name) == before + 1
