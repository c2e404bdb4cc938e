"""A real `python -m app` killed with SIGKILL mid-burst: every acknowledged delivery is
handled exactly once after a restart, and no token or secret reached its logs."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections import Counter

import aiohttp
import pytest

from app.store.database import Database
from app.store.deliveries import DeliveryStore
from tests.support.deckhand import WEBHOOK_SECRET, sign
from tests.support.plugins import marker
from tests.support.process import DeckhandProcess

INSTALLATION = 1001
REPO = "octo-org/widgets"
BURST = 240
KILL_AFTER_ACKS = 120


async def send(session: aiohttp.ClientSession, url: str, delivery_id: str) -> bool:
    """POST one signed delivery; True when Deckhand acknowledged it (202)."""
    body = json.dumps(
        {
            "mode": "comment",
            "sleep": 0.03,
            "installation": {"id": INSTALLATION},
            "repository": {"full_name": REPO, "default_branch": "main"},
        }
    ).encode()
    headers = {
        "Content-Type": "application/json",
        "X-GitHub-Event": "deckhand_test",
        "X-GitHub-Delivery": delivery_id,
        "X-Hub-Signature-256": sign(body),
    }
    try:
        async with session.post(f"{url}/webhooks/github", data=body, headers=headers) as response:
            return response.status == 202
    except (TimeoutError, aiohttp.ClientError):
        return False


@pytest.mark.slow
async def test_sigkill_mid_burst_then_restart_handles_each_ack_exactly_once(
    fake_github, app_keys, tmp_path
) -> None:
    fake_github.add_installation(INSTALLATION, account="octo-org", repositories=[REPO])
    fake_github.add_issue(REPO, 1)
    database_url = f"sqlite:///{tmp_path}/deckhand.db"
    env = {
        "DATABASE_URL": database_url,
        "GITHUB_APP_ID": str(app_keys.app_id),
        "GITHUB_PRIVATE_KEY": app_keys.private_pem.replace("\n", "\\n"),
        "GITHUB_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "GITHUB_API_URL": fake_github.url,
        "DECKHAND_PLUGINS": "tests.support.plugins:router",
        "DECKHAND_LEASE_SECONDS": "2",
        "DECKHAND_POLL_SECONDS": "0.1",
        "DECKHAND_WORKER_CONCURRENCY": "4",
        "LOG_LEVEL": "debug",
    }
    log_path = tmp_path / "deckhand.log"
    first = DeckhandProcess(env, log_path)
    await first.start()

    acked: list[str] = []
    killed = asyncio.Event()
    comments_at_kill = 0

    async def sender(ids: list[str], session: aiohttp.ClientSession) -> None:
        nonlocal comments_at_kill
        for delivery_id in ids:
            if await send(session, first.url, delivery_id):
                acked.append(delivery_id)
            if len(acked) >= KILL_AFTER_ACKS and not killed.is_set():
                comments_at_kill = len(fake_github.comments)
                first.kill()
                killed.set()

    ids = [str(uuid.uuid4()) for _ in range(BURST)]
    timeout = aiohttp.ClientTimeout(total=5)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        await asyncio.gather(*(sender(ids[i::8], session) for i in range(8)))
    await first.wait()
    assert killed.is_set()
    assert comments_at_kill < len(acked), "the kill should land while work is still queued"
    acked_before_kill = list(acked)

    second = DeckhandProcess(env, log_path)
    await second.start()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        seen = {c.body for c in fake_github.comments.values()}
        if all(marker(i) in seen for i in acked_before_kill):
            break
        await asyncio.sleep(0.2)
    await asyncio.sleep(1.0)  # let any duplicate show itself
    assert await second.stop() == 0

    counts = Counter(c.body for c in fake_github.comments.values())
    missing = [i for i in acked_before_kill if counts[marker(i)] == 0]
    duplicated = [body for body, n in counts.items() if n > 1]
    assert missing == []
    assert duplicated == []

    db = Database(database_url)
    try:
        store = DeliveryStore(db)
        stored = [await store.get(i) for i in acked_before_kill]
        statuses = Counter(d.status for d in stored if d is not None)
        taken_again = sum(1 for d in stored if d is not None and d.attempts > 1)
    finally:
        await db.close()
    assert statuses == Counter({"done": len(acked_before_kill)})
    assert taken_again >= 1, "some job should have been running when the process was killed"
    print(
        f"acked {len(acked_before_kill)}, done before kill {comments_at_kill}, "
        f"taken again after the kill {taken_again}"
    )

    logs = log_path.read_text()
    assert "delivery_handled" in logs  # debug logging was on, so there was much to leak
    for token in fake_github.tokens:
        assert token not in logs
    assert WEBHOOK_SECRET not in logs
    assert "PRIVATE KEY" not in logs
