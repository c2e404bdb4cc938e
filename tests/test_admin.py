"""The admin CLI (`python -m app deployments ...`, `python -m app health`) run in-process
through `app.cli.main` on a seeded SQLite database; the rollback against the fake GitHub."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app.cli import main
from app.deploy.health import HealthTally, ProbeResult
from app.deploy.store import DeploymentRecord, DeployStore
from app.installations import ACTIVE, InstallationStore
from app.logs import configure_logging
from app.store.database import Database
from tests.fakes.github import FakeGitHub

REPO = "octo-org/widgets"
SHA = {n: f"{n}" * 40 for n in "abcdef"}


def deployment(id: int, sha: str, status: str, **extra: Any) -> DeploymentRecord:
    values: dict[str, Any] = {
        "id": id,
        "repository": REPO,
        "environment": "production",
        "sha": sha,
        "ref": "main",
        "actor": "alice",
        "components": (),
        "rollback_of": None,
        "forced": False,
        "status": status,
        "pull_number": None,
        "reason": None,
        "created_at": 1_700_000_000.0 + id * 60,
    }
    values.update(extra)
    return DeploymentRecord(**values)


async def seed(url: str) -> None:
    """History: 1 success, 2 inactive (staging), 3 success, 4 failure (forced rollback of 3)
    with a watch that rolled back; 3 has a healthy watch; staging is locked."""
    db = Database(url)
    await db.migrate()
    store = DeployStore(db)
    await store.record(deployment(1, SHA["a"], "success", components=("api",)), None)
    await store.record(deployment(2, SHA["b"], "inactive", environment="staging"), None)
    await store.record(deployment(3, SHA["c"], "success", pull_number=7), None)
    await store.record(
        deployment(4, SHA["d"], "failure", rollback_of=3, forced=True, actor="bob"), None
    )
    settings = {"url": "https://example.com/healthz", "failures": 3, "interval": 30.0}
    ok = HealthTally().record(ProbeResult(True, 200, 0.05, "HTTP 200"))
    await store.start_watch(deployment(3, SHA["c"], "success"), 1001, settings, {}, time.time())
    await store.save_watch(3, {"probe": 1, "tally": ok.to_dict()}, "healthy")
    failing = HealthTally()
    for _ in range(3):
        failing = failing.record(ProbeResult(False, 503, 0.2, "HTTP 503"))
    await store.start_watch(deployment(4, SHA["d"], "failure"), 1001, settings, {}, time.time())
    await store.save_watch(4, {"probe": 3, "tally": failing.to_dict()}, "rolled_back")
    await store.lock(REPO, "staging", "carol", "release freeze")
    await db.close()


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """An empty configured database (settings come from the environment, as in production)."""
    monkeypatch.chdir(tmp_path)  # no stray .env
    url = f"sqlite:///{tmp_path}/deckhand.db"
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("LOG_LEVEL", "warning")
    monkeypatch.delenv("USER", raising=False)
    for name in ("GITHUB_APP_ID", "GITHUB_PRIVATE_KEY", "GITHUB_PRIVATE_KEY_PATH"):
        monkeypatch.delenv(name, raising=False)
    yield url
    configure_logging("info", "json")  # main() configured it for the CLI


@pytest.fixture
def seeded(database: str) -> str:
    asyncio.run(seed(database))
    return database


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def lines(text: str) -> list[list[str]]:
    return [line.split() for line in text.strip().splitlines()]


# ------------------------------------------------------------------------------ list
def test_list_is_a_table_newest_first(seeded: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = cli(capsys, "deployments", "list", "--repo", REPO)
    assert (code, err) == (0, "")
    header, *rows = lines(out)
    assert header == [
        *["ID", "ENVIRONMENT", "SHA", "ACTOR", "STATUS", "CREATED", "ROLLBACK-OF", "FORCED"]
    ]
    assert [r[0] for r in rows] == ["4", "3", "2", "1"]
    assert rows[0][:5] == ["4", "production", "ddddddd", "bob", "failure"]
    assert rows[0][-2:] == ["3", "yes"]
    assert rows[1][-2:] == ["-", "-"]
    assert "2023-11-14" in out  # created, UTC


def test_list_filters_limits_and_speaks_json(
    seeded: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = cli(
        capsys, "deployments", "list", "--repo", "Octo-Org/Widgets", "--env", "production",
        "--limit", "2", "--json",
    )  # fmt: skip
    assert code == 0
    data = json.loads(out)
    assert [d["id"] for d in data] == [4, 3]
    assert data[0] == {
        "id": 4,
        "repository": REPO,
        "environment": "production",
        "sha": SHA["d"],
        "ref": "main",
        "actor": "bob",
        "status": "failure",
        "created_at": "2023-11-14T22:17:20Z",
        "rollback_of": 3,
        "forced": True,
        "components": [],
        "pull_number": None,
        "reason": None,
    }


def test_list_of_an_unknown_repository_is_empty(
    seeded: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli(capsys, "deployments", "list", "--repo", "octo-org/other") == (
        0,
        "no deployments of octo-org/other\n",
        "",
    )
    code, out, _ = cli(capsys, "deployments", "list", "--repo", "octo-org/other", "--json")
    assert (code, json.loads(out)) == (0, [])


def test_a_terminal_gets_a_rich_table(
    seeded: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    monkeypatch.setenv("COLUMNS", "160")
    code, out, _ = cli(capsys, "deployments", "list", "--repo", REPO)
    assert code == 0
    assert "━" in out or "─" in out  # box drawing
    assert "ddddddd" in out and "ROLLBACK-OF" in out


# ------------------------------------------------------------------------------ show
def test_show_a_deployment_with_its_health_watch(
    seeded: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = cli(capsys, "deployments", "show", "4")
    assert code == 0
    assert "deployment:   4" in out
    assert f"sha:          {SHA['d']}" in out
    assert "rollback of:  3" in out
    assert "forced:       yes" in out
    assert "health:       rolled_back" in out
    assert "streak:       3 (rollback at 3)" in out
    assert "url:          https://example.com/healthz" in out
    probes = [line for line in out.splitlines() if "HTTP 503" in line]
    assert len(probes) == 3 and all("failed" in p and "200 ms" in p for p in probes)

    code, out, _ = cli(capsys, "deployments", "show", "4", "--json")
    data = json.loads(out)
    assert (code, data["id"], data["status"]) == (0, 4, "failure")
    health = data["health"]
    assert {k: health[k] for k in ("status", "probes", "failures", "streak", "ours")} == {
        "status": "rolled_back",
        "probes": 3,
        "failures": 3,
        "streak": 3,
        "ours": 0,
    }
    assert health["last"]["reason"] == "HTTP 503" and len(health["recent"]) == 3


def test_show_without_a_watch(seeded: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = cli(capsys, "deployments", "show", "1")
    assert code == 0
    assert "components:   api" in out and "health:       no health watch" in out
    code, out, _ = cli(capsys, "deployments", "show", "1", "--json")
    assert (code, json.loads(out)["health"]) == (0, None)


def test_an_unknown_deployment_fails(seeded: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli(capsys, "deployments", "show", "99") == (1, "", "no deployment 99\n")
    assert cli(capsys, "deployments", "show", "99", "--json")[0] == 1


# ------------------------------------------------------------------------ lock/unlock
def test_lock_and_unlock_print_the_previous_state(
    seeded: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, _ = cli(capsys, "deployments", "lock", "--repo", REPO, "--env", "production")
    assert code == 0
    assert out == f"production of {REPO}: locked by cli\nbefore: unlocked\n"

    monkeypatch.setenv("USER", "dave")
    code, out, _ = cli(
        capsys, "deployments", "lock", "--repo", REPO, "--env", "production",
        "--reason", "incident 42", "--json",
    )  # fmt: skip
    assert code == 0
    assert json.loads(out) == {
        "repository": REPO,
        "environment": "production",
        "locked_by": "dave",
        "lock_reason": "incident 42",
        "previous": {"locked_by": "cli", "lock_reason": None},
    }

    code, out, _ = cli(capsys, "deployments", "unlock", "--repo", REPO, "--env", "production")
    assert code == 0
    assert out == f"production of {REPO}: unlocked\nbefore: locked by dave: incident 42\n"
    code, out, _ = cli(
        capsys, "deployments", "unlock", "--repo", REPO, "--env", "production", "--json"
    )
    assert (code, json.loads(out)["previous"]) == (0, {"locked_by": None, "lock_reason": None})

    state = asyncio.run(_state(seeded, "staging"))
    assert state.locked_by == "carol"  # another environment is left alone


async def _state(url: str, environment: str) -> Any:
    db = Database(url)
    try:
        return await DeployStore(db).state(REPO, environment)
    finally:
        await db.close()


# ---------------------------------------------------------------------------- health
def test_health_lists_the_watches(seeded: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = cli(capsys, "health")
    assert code == 0
    header, *rows = lines(out)
    assert header[:6] == ["DEPLOYMENT", "REPOSITORY", "ENVIRONMENT", "SHA", "STATUS", "PROBES"]
    assert header[6:] == ["FAILURES", "STREAK", "LAST"]
    by_id = {r[0]: r for r in rows}
    assert by_id["4"][3:] == ["ddddddd", "rolled_back", "3", "3", "3/3", "failed:", "HTTP", "503"]
    assert by_id["3"][3:] == ["ccccccc", "healthy", "1", "0", "0/3", "ok:", "HTTP", "200"]

    code, out, _ = cli(capsys, "health", "--repo", REPO, "--env", "production", "--json")
    data = json.loads(out)
    assert code == 0 and {w["deployment_id"] for w in data} == {3, 4}
    assert next(w for w in data if w["deployment_id"] == 3)["last"]["status"] == 200

    code, out, _ = cli(capsys, "health", "--status", "healthy", "--json")
    assert [w["deployment_id"] for w in json.loads(out)] == [3]
    assert cli(capsys, "health", "--env", "staging") == (0, "no health watches\n", "")


# ----------------------------------------------------------------------------- usage
@pytest.mark.parametrize(
    "args",
    [
        ["deployments", "list"],
        ["deployments", "lock", "--repo", REPO],
        ["deployments", "rollback", "--env", "production"],
        ["deployments", "show", "not-a-number"],
        ["deployments"],
    ],
)
def test_usage_errors_exit_2(
    database: str, capsys: pytest.CaptureFixture[str], args: list[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(args)
    assert exited.value.code == 2
    assert "error:" in capsys.readouterr().err


def test_a_malformed_repository_is_a_usage_error(
    database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = cli(capsys, "deployments", "list", "--repo", "widgets")
    assert (code, err) == (2, "--repo must be OWNER/NAME, not 'widgets'\n")


def test_rollback_without_app_credentials_is_a_configuration_error(
    seeded: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = cli(capsys, "deployments", "rollback", "--repo", REPO, "--env", "production")
    assert code == 2
    assert "needs the App's credentials" in err and "GITHUB_APP_ID" in err


# -------------------------------------------------------------------------- rollback
@pytest.fixture
def app_env(seeded: str, fake_github: FakeGitHub, app_keys: Any, monkeypatch: Any) -> FakeGitHub:
    monkeypatch.setenv("GITHUB_API_URL", fake_github.url)
    monkeypatch.setenv("GITHUB_APP_ID", str(app_keys.app_id))
    monkeypatch.setenv("GITHUB_PRIVATE_KEY", app_keys.private_pem.replace("\n", "\\n"))
    return fake_github


async def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """main() runs its own event loop, so it runs in a thread beside the fake GitHub's."""
    code = await asyncio.to_thread(main, list(args))
    out, err = capsys.readouterr()
    return code, out, err


async def test_rollback_to_the_last_good_deployment(
    app_env: FakeGitHub, seeded: str, capsys: pytest.CaptureFixture[str]
) -> None:
    gh = app_env
    gh.add_installation(1001, account="octo-org", repositories=[REPO])
    code, out, err = await run_cli(
        capsys, "deployments", "rollback", "--repo", REPO, "--env", "production", "--json"
    )
    assert (code, err) == (0, "")
    data = json.loads(out)
    [created] = gh.deployments_in(REPO)
    assert created.sha == SHA["c"]  # the last good before the current (4)
    assert created.environment == "production"
    assert created.payload["actor"] == "cli" and created.payload["rollback_of"] == 4
    assert [s.state for s in created.statuses] == ["queued"]
    assert data["id"] == created.id and data["target"] == 3
    assert (data["actor"], data["rollback_of"], data["status"]) == ("cli", 4, "queued")

    db = Database(seeded)
    try:
        store = DeployStore(db)
        recorded = await store.get(created.id)
        state = await store.state(REPO, "production")
    finally:
        await db.close()
    assert recorded is not None and recorded.reason == "rollback to deployment 3"
    assert state.in_flight == created.id


async def test_rollback_to_a_given_deployment_with_a_known_installation(
    app_env: FakeGitHub, seeded: str, capsys: pytest.CaptureFixture[str]
) -> None:
    gh = app_env
    gh.add_installation(1001, account="octo-org", repositories=[REPO])
    db = Database(seeded)
    await InstallationStore(db).record(
        {"id": 1001, "account": {"login": "octo-org"}}, ACTIVE, [{"full_name": REPO, "id": 1}]
    )
    await db.close()
    code, out, err = await run_cli(
        capsys, "deployments", "rollback", "--repo", REPO, "--env", "production", "--to", "1"
    )
    assert (code, err) == (0, "")
    [created] = gh.deployments_in(REPO)
    assert created.sha == SHA["a"]
    assert out == (
        f"rolling production of {REPO} back to aaaaaaa (deployment 1): "
        f"deployment {created.id} (queued)\n"
    )
    assert not gh.requests_for("apps/get-repo-installation")  # known from the database


async def test_rollback_refusals(
    app_env: FakeGitHub, seeded: str, capsys: pytest.CaptureFixture[str]
) -> None:
    gh = app_env
    rollback = ("deployments", "rollback", "--repo", REPO)
    code, _, err = await run_cli(capsys, *rollback, "--env", "production")
    assert (code, err) == (1, f"the App is not installed on {REPO}\n")

    gh.add_installation(1001, account="octo-org", repositories=[REPO])
    code, _, err = await run_cli(capsys, *rollback, "--env", "production", "--to", "2")
    assert (code, err) == (1, f"deployment 2 is not one of production of {REPO}\n")
    code, _, err = await run_cli(capsys, *rollback, "--env", "staging")
    assert code == 1 and "release freeze" in err and "--force" in err
    code, _, err = await run_cli(capsys, *rollback, "--env", "staging", "--force")
    assert code == 1
    assert err == f"staging of {REPO} has no earlier successful deployment to go back to\n"
    assert not gh.deployments_in(REPO)

    code, _, _ = await run_cli(capsys, *rollback, "--env", "production")
    assert code == 0
    code, _, err = await run_cli(capsys, *rollback, "--env", "production")
    assert code == 1 and "rollback refused" in err and "in progress" in err
    assert len(gh.deployments_in(REPO)) == 1
