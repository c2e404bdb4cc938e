"""POST /webhooks/github through the real server: signatures, bad input, examples, duplicates."""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from urllib.parse import urlencode

from app.config.settings import MAX_WEBHOOK_BYTES
from tests.support.deckhand import WEBHOOK_SECRET, DeckhandHarness

PING = {"zen": "Keep it logically awesome.", "hook_id": 1, "hook": {"type": "App"}}


async def test_signed_delivery_is_accepted_and_processed(deckhand: DeckhandHarness) -> None:
    status, body, delivery_id = await deckhand.post("ping", PING)
    assert status == 202
    assert body == {"delivery": delivery_id, "status": "queued"}
    finished = await deckhand.wait_finished([delivery_id])
    assert finished[delivery_id].status == "done"
    assert finished[delivery_id].attempts == 1


async def test_wrong_signature_is_401_and_stores_nothing(deckhand: DeckhandHarness) -> None:
    status, body, delivery_id = await deckhand.post("ping", PING, secret="not-the-secret")
    assert status == 401
    assert body == {"error": "signature does not match the payload"}
    assert await deckhand.store.get(delivery_id) is None


async def test_missing_signature_is_401(deckhand: DeckhandHarness) -> None:
    status, body, delivery_id = await deckhand.post("ping", PING, secret=None)
    assert status == 401
    assert "missing X-Hub-Signature-256" in body["error"]
    assert await deckhand.store.get(delivery_id) is None


async def test_legacy_sha1_signature_alone_is_refused(deckhand: DeckhandHarness) -> None:
    data = json.dumps(PING).encode()
    sha1 = "sha1=" + hmac.new(WEBHOOK_SECRET.encode(), data, hashlib.sha1).hexdigest()
    status, _body, delivery_id = await deckhand.post(
        "ping", None, body=data, secret=None, headers={"X-Hub-Signature": sha1}
    )
    assert status == 401
    assert await deckhand.store.get(delivery_id) is None


async def test_signature_with_wrong_algorithm_prefix_is_refused(deckhand: DeckhandHarness) -> None:
    data = json.dumps(PING).encode()
    digest = hmac.new(WEBHOOK_SECRET.encode(), data, hashlib.sha256).hexdigest()
    status, body, _ = await deckhand.post(
        "ping", None, body=data, secret=None, headers={"X-Hub-Signature-256": "sha1=" + digest}
    )
    assert status == 401
    assert body["error"] == "X-Hub-Signature-256 must be sha256=<hex digest>"


async def test_unsigned_deliveries_refused_without_a_secret(start_deckhand) -> None:
    deckhand = await start_deckhand(github_webhook_secret=None)
    status, body, _ = await deckhand.post("ping", PING, secret=None)
    assert status == 401
    assert "GITHUB_WEBHOOK_SECRET is not set" in body["error"]


async def test_insecure_mode_accepts_unsigned_deliveries(start_deckhand, caplog) -> None:
    deckhand = await start_deckhand(github_webhook_secret=None, insecure_no_secret=True)
    assert "webhook_signatures_not_checked" in caplog.text  # said loudly at start
    status, _, delivery_id = await deckhand.post("ping", PING, secret=None)
    assert status == 202
    await deckhand.wait_finished([delivery_id])


async def test_malformed_json_is_400(deckhand: DeckhandHarness) -> None:
    status, body, delivery_id = await deckhand.post("ping", None, body=b'{"zen": ')
    assert status == 400
    assert body["error"].startswith("malformed payload")
    assert await deckhand.store.get(delivery_id) is None


async def test_json_that_is_not_an_object_is_400(deckhand: DeckhandHarness) -> None:
    status, body, _ = await deckhand.post("ping", None, body=b"[1, 2, 3]")
    assert status == 400
    assert "not a JSON object" in body["error"]


async def test_binary_body_is_400(deckhand: DeckhandHarness) -> None:
    status, _body, _ = await deckhand.post("ping", None, body=bytes(range(256)))
    assert status == 400


async def test_missing_event_header_is_400(deckhand: DeckhandHarness) -> None:
    data = json.dumps(PING).encode()
    status, body, _ = await deckhand.post("ping", None, body=data, headers={"X-GitHub-Event": ""})
    assert status == 400
    assert "X-GitHub-Event" in body["error"]


async def test_missing_delivery_header_is_400(deckhand: DeckhandHarness) -> None:
    data = json.dumps(PING).encode()
    status, body, _ = await deckhand.post(
        "ping", None, body=data, headers={"X-GitHub-Delivery": ""}
    )
    assert status == 400
    assert "X-GitHub-Delivery" in body["error"]


async def test_oversized_body_is_413(deckhand: DeckhandHarness) -> None:
    padding = "x" * (MAX_WEBHOOK_BYTES + 10)
    status, _body, delivery_id = await deckhand.post("ping", {"zen": padding})
    assert status == 413
    assert await deckhand.store.get(delivery_id) is None


async def test_body_just_under_the_limit_is_accepted(deckhand: DeckhandHarness) -> None:
    overhead = len(json.dumps({"zen": ""}))
    status, _, delivery_id = await deckhand.post(
        "ping", {"zen": "x" * (MAX_WEBHOOK_BYTES - overhead)}
    )
    assert status == 202
    assert (await deckhand.wait_finished([delivery_id]))[delivery_id].status == "done"


async def test_form_encoded_payload_is_accepted(deckhand: DeckhandHarness) -> None:
    data = urlencode({"payload": json.dumps(PING)}).encode()
    status, _, delivery_id = await deckhand.post(
        "ping",
        None,
        body=data,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert status == 202
    stored = await deckhand.store.get(delivery_id)
    assert stored is not None and json.loads(stored.payload) == PING


async def test_redelivery_is_acknowledged_but_not_processed_twice(
    deckhand: DeckhandHarness,
) -> None:
    delivery_id = str(uuid.uuid4())
    first = await deckhand.post("ping", PING, delivery_id=delivery_id)
    await deckhand.wait_finished([delivery_id])
    second = await deckhand.post("ping", PING, delivery_id=delivery_id)
    assert first[0] == second[0] == 202
    assert second[1]["status"] == "duplicate"
    stored = await deckhand.store.get(delivery_id)
    assert stored is not None and stored.status == "done" and stored.attempts == 1


async def test_simultaneous_duplicates_store_one_delivery(deckhand: DeckhandHarness) -> None:
    import asyncio

    delivery_id = str(uuid.uuid4())
    answers = await asyncio.gather(
        *(deckhand.post("ping", PING, delivery_id=delivery_id) for _ in range(10))
    )
    statuses = sorted(body["status"] for _, body, _ in answers)
    assert statuses == ["duplicate"] * 9 + ["queued"]
    finished = await deckhand.wait_finished([delivery_id])
    assert finished[delivery_id].attempts == 1


async def test_every_real_github_example_is_accepted_and_finished(
    deckhand: DeckhandHarness, webhook_examples
) -> None:
    sent: dict[str, str] = {}
    for group in webhook_examples:
        for payload in group["examples"]:
            status, body, delivery_id = await deckhand.post(group["name"], payload)
            assert status == 202, (group["name"], body)
            sent[delivery_id] = group["name"]
    assert len(sent) > 300
    finished = await deckhand.wait_finished(list(sent), within=60)
    dead = {sent[i]: d.last_error for i, d in finished.items() if d.status != "done"}
    assert dead == {}


async def test_an_event_no_handler_wants_is_stored_but_not_queued(
    deckhand: DeckhandHarness,
) -> None:
    status, body, delivery_id = await deckhand.post("star", {"action": "created"})
    assert status == 202
    assert body == {"delivery": delivery_id, "status": "ignored"}
    stored = await deckhand.store.get(delivery_id)
    assert stored is not None
    assert (stored.status, stored.attempts) == ("done", 0)
    assert json.loads(stored.payload) == {"action": "created"}


async def test_an_empty_secret_counts_as_no_secret(start_deckhand) -> None:
    deckhand = await start_deckhand(github_webhook_secret="")
    status, body, _ = await deckhand.post("ping", PING, secret="")
    assert status == 401
    assert "GITHUB_WEBHOOK_SECRET is not set" in body["error"]
