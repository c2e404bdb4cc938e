"""Deploy commands from the terminal: `python -m app deploy ...` through the service's
HTTP API, as the user of a GitHub token, with the same rules as the comment command."""

from __future__ import annotations

from typing import Any

import pytest

from app.api.client import RemoteError, command_line, send
from app.installations import ACTIVE, InstallationStore
from app.web.keys import SERVICE
from tests.fakes.git import GitServer
from tests.fakes.github import FakeGitHub

INSTALLATION = 1001
REPO = "octo-org/widgets"
CONFIG = "deploy:\n  environments:\n    staging: {}\n    production:\n      confirm: true\n"


@pytest.fixture
async def bot(
    start_deckhand: Any, fake_github: FakeGitHub, git_server: GitServer, app_keys: Any
) -> Any:
    fake_github.add_installation(INSTALLATION, account="octo-org")
    head = git_server.create_repo(
        REPO, {"app.py": "x = 1\n", ".github/deckhand.yml": CONFIG}, installation_id=INSTALLATION
    )
    fake_github.add_check_run(REPO, "ci", head, status="completed", conclusion="success")
    fake_github.set_collaborator(REPO, "maintainer", "write")
    harness = await start_deckhand(
        github_api_url=fake_github.url,
        github_app_id=app_keys.app_id,
        github_private_key=app_keys.private_pem,
    )
    store = InstallationStore(harness.app[SERVICE].db)
    await store.record(
        {"id": INSTALLATION, "account": {"login": "octo-org"}},
        ACTIVE,
        [{"full_name": REPO, "id": 1}],
    )
    return harness


async def remote(
    monkeypatch: Any, bot: Any, token: str, command: str, ref: str | None = None
) -> tuple[bool, str]:
    monkeypatch.setenv("DECKHAND_URL", bot.url)
    monkeypatch.setenv("GITHUB_TOKEN", token)
    return await send(command, REPO, ref, within=20)


async def test_deploy_from_the_terminal(
    bot: Any, fake_github: FakeGitHub, git_server: GitServer, monkeypatch: Any
) -> None:
    token = fake_github.add_user_token("maintainer")
    ok, reply = await remote(monkeypatch, bot, token, command_line("deploy", "staging"))
    assert ok, reply
    [deployment] = fake_github.deployments.values()
    assert deployment.sha == git_server.head(REPO, "main") and deployment.environment == "staging"
    assert deployment.payload["actor"] == "maintainer"
    ok, status = await remote(monkeypatch, bot, token, command_line("status", "staging"))
    assert ok and "staging" in status


async def test_the_same_rules_apply(bot: Any, fake_github: FakeGitHub, monkeypatch: Any) -> None:
    reader = fake_github.add_user_token("someone")
    ok, reply = await remote(monkeypatch, bot, reader, "/deploy staging")
    assert not ok and "needs write access" in reply
    writer = fake_github.add_user_token("maintainer")
    ok, reply = await remote(monkeypatch, bot, writer, "/deploy production")
    assert not ok and "needs a 👍 on a comment" in reply
    assert fake_github.deployments == {}


async def test_bad_tokens_and_requests_are_refused(
    bot: Any, fake_github: FakeGitHub, monkeypatch: Any
) -> None:
    ok, reply = await remote(monkeypatch, bot, "gho_not_a_token", "/deploy staging")
    assert not ok and "does not accept this token" in reply
    token = fake_github.add_user_token("maintainer")
    ok, reply = await remote(monkeypatch, bot, token, "/deplyo staging")
    assert not ok and "did you mean /deploy" in reply
    ok, reply = await remote(monkeypatch, bot, token, "/fix")
    assert not ok and "not a deploy command" in reply
    monkeypatch.delenv("DECKHAND_URL")
    with pytest.raises(RemoteError):
        await send("/status", REPO, None)


async def test_another_user_cannot_read_the_answer(bot: Any, fake_github: FakeGitHub) -> None:
    token = fake_github.add_user_token("maintainer")
    other = fake_github.add_user_token("mallory")
    headers = {"Authorization": f"Bearer {token}"}
    async with bot.session.post(
        f"{bot.url}/api/commands", json={"repository": REPO, "command": "/status"}, headers=headers
    ) as response:
        job = (await response.json())["job"]
    async with bot.session.get(
        f"{bot.url}/api/jobs/{job}", headers={"Authorization": f"Bearer {other}"}
    ) as response:
        assert response.status == 404
    async with bot.session.post(
        f"{bot.url}/api/commands",
        json={"repository": "octo-org/unknown", "command": "/status"},
        headers=headers,
    ) as response:
        assert response.status == 404


async def test_the_repositorys_deploy_backend_is_used(
    bot: Any, fake_github: FakeGitHub, git_server: GitServer, monkeypatch: Any
) -> None:
    config = CONFIG.replace("deploy:\n", "deploy:\n  backend: railway\n")
    head = git_server.commit(REPO, "main", {".github/deckhand.yml": config}, message="railway")
    fake_github.add_check_run(REPO, "ci", head, status="completed", conclusion="success")
    token = fake_github.add_user_token("maintainer")
    ok, reply = await remote(monkeypatch, bot, token, "/deploy staging")
    assert not ok and "could not start" in reply and "railway" in reply
    [deployment] = fake_github.deployments.values()
    assert deployment.statuses[-1].state == "error"
