"""Dispatch through the real endpoint with the fake GitHub: clients, config, error mapping."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from app.config.loader import LoadedConfig
from tests.support import plugins

INSTALLATION = 1001
REPO = "octo-org/widgets"
PLUGIN = "tests.support.plugins:router"


def repo_payload(mode: str, **extra: Any) -> dict[str, Any]:
    return {
        "mode": mode,
        "installation": {"id": INSTALLATION},
        "repository": {"full_name": REPO, "default_branch": "main", "name": "widgets"},
        **extra,
    }


@pytest.fixture
async def bot(start_deckhand, fake_github, app_keys):
    fake_github.add_installation(INSTALLATION, account="octo-org", repositories=[REPO])
    fake_github.add_issue(REPO, 1)
    return await start_deckhand(
        plugins=[PLUGIN],
        max_attempts=3,
        github_api_url=fake_github.url,
        github_app_id=app_keys.app_id,
        github_private_key=app_keys.private_pem,
    )


async def test_handlers_act_as_the_installation_with_one_cached_token(bot, fake_github) -> None:
    ids = [(await bot.post("deckhand_test", repo_payload("comment")))[2] for _ in range(5)]
    finished = await bot.wait_finished(ids)
    assert {d.status for d in finished.values()} == {"done"}
    bodies = [c.body for c in fake_github.comments.values()]
    assert sorted(bodies) == sorted(plugins.marker(i) for i in ids)
    assert fake_github.tokens_issued[INSTALLATION] == 1


async def test_config_is_read_from_the_default_branch_only(bot, fake_github) -> None:
    fake_github.add_file(REPO, ".github/deckhand.yml", "review:\n  fail_on: warning\n", ref="main")
    fake_github.add_file(REPO, ".github/deckhand.yml", "review:\n  enabled: false\n", ref="evil")
    payload = repo_payload("config")
    payload["pull_request"] = {"head": {"ref": "evil"}}
    _, _, delivery_id = await bot.post("deckhand_test", payload)
    assert (await bot.wait_finished([delivery_id]))[delivery_id].status == "done"
    loaded = plugins.ATTEMPTS[delivery_id][-1]
    assert isinstance(loaded, LoadedConfig)
    assert loaded.config.review.fail_on == "warning"
    assert loaded.config.review.enabled is True
    [request] = fake_github.requests_for("repos/get-content")
    assert request.query.get("ref") == "main"


async def test_an_invalid_config_falls_back_to_defaults_with_a_message(bot, fake_github) -> None:
    fake_github.add_file(REPO, ".github/deckhand.yml", "review:\n  fail_on: sometimes\n")
    _, _, delivery_id = await bot.post("deckhand_test", repo_payload("config"))
    assert (await bot.wait_finished([delivery_id]))[delivery_id].status == "done"
    loaded = plugins.ATTEMPTS[delivery_id][-1]
    assert loaded.config.review.fail_on == "error"
    assert "`review.fail_on`" in loaded.errors[0]


async def test_a_missing_config_file_means_defaults(bot, fake_github) -> None:
    _, _, delivery_id = await bot.post("deckhand_test", repo_payload("config"))
    assert (await bot.wait_finished([delivery_id]))[delivery_id].status == "done"
    loaded = plugins.ATTEMPTS[delivery_id][-1]
    assert loaded.found is False and loaded.errors == []


async def test_a_github_404_is_dead_lettered_without_retries(bot, fake_github) -> None:
    payload = repo_payload("comment")
    payload["repository"]["full_name"] = "octo-org/missing"
    _, _, delivery_id = await bot.post("deckhand_test", payload)
    delivery = (await bot.wait_finished([delivery_id]))[delivery_id]
    assert delivery.status == "dead"
    assert delivery.attempts == 1
    assert delivery.last_error.startswith("PermanentError: GitHub answered 404")


async def test_github_outage_is_retried_by_the_queue(bot, fake_github) -> None:
    fake_github.fail_next(
        "GET", "/repos/{owner}/{repo}/issues/{issue_number}/comments", 502, times=5
    )
    _, _, delivery_id = await bot.post("deckhand_test", repo_payload("comment"))
    delivery = (await bot.wait_finished([delivery_id]))[delivery_id]
    assert delivery.status == "done"
    assert delivery.attempts == 2  # four tries in the client, then one more in the queue
    assert len(fake_github.comments) == 1


async def test_without_app_credentials_github_work_is_dead_lettered_clearly(
    start_deckhand, fake_github
) -> None:
    bot = await start_deckhand(plugins=[PLUGIN], github_api_url=fake_github.url)
    _, _, delivery_id = await bot.post("deckhand_test", repo_payload("comment"))
    delivery = (await bot.wait_finished([delivery_id]))[delivery_id]
    assert delivery.status == "dead"
    assert "GitHub App credentials are not configured" in delivery.last_error
    assert fake_github.requests == []


async def test_installation_events_record_where_the_app_is_installed(bot, webhook_examples) -> None:
    from app.installations import InstallationStore
    from app.web.keys import SERVICE

    by_name = {group["name"]: group["examples"] for group in webhook_examples}
    created = next(e for e in by_name["installation"] if e["action"] == "created")
    added = next(e for e in by_name["installation_repositories"] if e["action"] == "added")
    ids = [
        (await bot.post("installation", created))[2],
        (await bot.post("installation_repositories", added))[2],
    ]
    await bot.wait_finished(ids)
    store = InstallationStore(bot.app[SERVICE].db)
    recorded = await store.get(created["installation"]["id"])
    assert recorded is not None and recorded["status"] == "active"
    expected = {r["full_name"] for r in created["repositories"]}
    if added["installation"]["id"] == created["installation"]["id"]:
        expected |= {r["full_name"] for r in added["repositories_added"]}
        expected -= {r["full_name"] for r in added["repositories_removed"]}
    assert set(recorded["repositories"]) == expected

    deleted = {**created, "action": "deleted"}
    await bot.wait_finished([(await bot.post("installation", deleted))[2]])
    recorded = await store.get(created["installation"]["id"])
    assert recorded is not None
    assert recorded["status"] == "deleted" and recorded["repositories"] == []


async def test_secondary_rate_limit_is_waited_out_within_the_job(bot, fake_github) -> None:
    comments = "/repos/{owner}/{repo}/issues/{issue_number}/comments"
    fake_github.secondary_rate_limit_next("POST", comments, retry_after=1)
    _, _, delivery_id = await bot.post("deckhand_test", repo_payload("comment"))
    delivery = (await bot.wait_finished([delivery_id]))[delivery_id]
    assert (delivery.status, delivery.attempts) == ("done", 1)
    assert [r.status for r in fake_github.requests_for("issues/create-comment")] == [403, 201]
    assert len(fake_github.comments) == 1


async def test_an_expired_token_is_replaced_between_deliveries(bot, fake_github) -> None:
    from datetime import timedelta

    fake_github.token_lifetime = timedelta(seconds=2)
    first = (await bot.post("deckhand_test", repo_payload("comment")))[2]
    await bot.wait_finished([first])
    await asyncio.sleep(2.1)
    second = (await bot.post("deckhand_test", repo_payload("comment")))[2]
    finished = await bot.wait_finished([second])
    assert finished[second].status == "done"
    assert fake_github.tokens_issued[INSTALLATION] == 2
    assert fake_github.auth_failures == []


async def test_a_late_repositories_event_does_not_undo_an_uninstall(bot, webhook_examples) -> None:
    from app.installations import InstallationStore
    from app.web.keys import SERVICE

    by_name = {group["name"]: group["examples"] for group in webhook_examples}
    created = next(e for e in by_name["installation"] if e["action"] == "created")
    added = next(e for e in by_name["installation_repositories"] if e["action"] == "added")
    added = {**added, "installation": created["installation"]}
    deleted = {**created, "action": "deleted"}
    await bot.wait_finished([(await bot.post("installation", deleted))[2]])
    await bot.wait_finished([(await bot.post("installation_repositories", added))[2]])
    recorded = await InstallationStore(bot.app[SERVICE].db).get(created["installation"]["id"])
    assert recorded is not None
    assert recorded["status"] == "deleted" and recorded["repositories"] == []


async def test_metrics_show_the_installations_rate_limit(bot, fake_github) -> None:
    _, _, delivery_id = await bot.post("deckhand_test", repo_payload("comment"))
    await bot.wait_finished([delivery_id])
    async with bot.session.get(bot.url + "/metrics") as response:
        text = await response.text()
    remaining = fake_github.rate_limit_for(INSTALLATION).remaining
    line = f'deckhand_github_rate_limit_remaining{{installation="{INSTALLATION}"}} {remaining}.0'
    assert line in text.splitlines()
