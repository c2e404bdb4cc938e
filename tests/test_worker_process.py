"""`python -m app worker` as its own process, sharing the database with a web-only process."""

from __future__ import annotations

import pytest

from tests.support.deckhand import database_url_for_test
from tests.support.process import DeckhandProcess


@pytest.mark.slow
async def test_a_separate_worker_process_handles_what_the_web_process_stored(
    start_deckhand, tmp_path
) -> None:
    web = await start_deckhand(worker=False)
    ids = [(await web.post("ping", {"zen": str(i)}))[2] for i in range(20)]
    assert {(await web.store.get(i)).status for i in ids} == {"queued"}

    env = {"DATABASE_URL": database_url_for_test(tmp_path), "DECKHAND_POLL_SECONDS": "0.1"}
    worker = DeckhandProcess(env, tmp_path / "worker.log", "worker")
    await worker.start_without_http()
    try:
        finished = await web.wait_finished(ids)
    finally:
        assert await worker.stop() == 0
    assert {d.status for d in finished.values()} == {"done"}
