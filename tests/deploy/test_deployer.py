"""`start` against the fake GitHub and a real database, when a job is killed midway and run
again with the same command key: the retry resumes its own reservation and adopts the
deployment its earlier run created, so there is exactly one deployment per command, and
other commands are still refused while the slot is held."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from app.deploy.deployer import DeployRefused, DeployRequest, start
from app.deploy.store import AUTOMATIC, DeploymentRecord, DeployStore, Reservation
from app.github.app import GitHubApp
from app.setup.manifest import PERMISSIONS
from app.store.database import Database
from tests.support.deckhand import make_settings

INSTALLATION = 1001
REPO = "octo-org/widgets"
SHA = "c0ffee" + "0" * 34
KEY = "5001:1"  # "<comment id>:<line>"


class Killed(Exception):
    """The worker was killed here: nothing after this point ran."""


class DiesAroundCreating:
    """A client whose process dies right before (`before=True`) or right after GitHub
    created a deployment."""

    def __init__(self, gh: Any, *, before: bool = False) -> None:
        self.gh = gh
        self.before = before

    def __getattr__(self, name: str) -> Any:
        return getattr(self.gh, name)

    async def post(self, url: str, **kwargs: Any) -> Any:
        if url.endswith("/deployments") and self.before:
            raise Killed("before the deployment was created")
        answer = await self.gh.post(url, **kwargs)
        if url.endswith("/deployments"):
            raise Killed("after the deployment was created")
        return answer


class DyingStore(DeployStore):
    """A store in a process that dies at `dies_at` (once); a dying process releases
    nothing on its way out."""

    def __init__(self, db: Database, dies_at: str | None = None) -> None:
        super().__init__(db)
        self.dies_at = dies_at

    async def record(self, record: DeploymentRecord, command_key: str | None) -> None:
        self._maybe_die("record")
        await super().record(record, command_key)

    async def attach(self, repository: str, environment: str, deployment_id: int) -> None:
        self._maybe_die("attach")
        await super().attach(repository, environment, deployment_id)

    async def release(self, *args: Any, **kwargs: Any) -> None:
        if self.dies_at != "release":
            await super().release(*args, **kwargs)

    def _maybe_die(self, where: str) -> None:
        if self.dies_at == where:
            self.dies_at = None
            raise Killed(f"at {where}")


@pytest.fixture
async def parts(
    fake_github: Any, app_keys: Any, tmp_path: Any
) -> AsyncIterator[tuple[Any, Database]]:
    fake_github.add_installation(
        INSTALLATION, account="octo-org", repositories=[REPO], permissions=PERMISSIONS
    )
    settings = make_settings(
        tmp_path,
        github_api_url=fake_github.url,
        github_app_id=app_keys.app_id,
        github_private_key=app_keys.private_pem,
    )
    github_app = GitHubApp(settings)
    db = Database(f"sqlite:///{tmp_path}/deploy.db")
    await db.migrate()
    yield github_app.installation_client(INSTALLATION), db
    await github_app.close()
    await db.close()


def request(key: str | None = KEY, **changes: Any) -> DeployRequest:
    values: dict[str, Any] = {
        "repository": REPO,
        "environment": "production",
        "sha": SHA,
        "ref": "feature",
        "actor": "maintainer",
        "pull_number": 7,
        "command_key": key,
    }
    values.update(changes)
    return DeployRequest(**values)


def deployments(fake_github: Any) -> list[Any]:
    return sorted(fake_github.deployments.values(), key=lambda d: d.id)


async def assert_deployed_once(fake_github: Any, store: DeployStore, record: Any) -> None:
    [deployment] = deployments(fake_github)
    assert record.id == deployment.id
    assert [s.state for s in deployment.statuses] == ["queued"]
    assert await store.by_command(KEY) == await store.get(deployment.id) is not None
    state = await store.state(REPO, "production")
    assert state.in_flight == deployment.id  # attached: the slot is the deployment's
    assert state.in_flight_key == KEY and deployment.payload["command"] == KEY


async def test_a_retry_adopts_the_deployment_created_before_the_worker_died(
    parts: Any, fake_github: Any
) -> None:
    gh, db = parts
    store = DeployStore(db)
    with pytest.raises(Killed):
        await start(DiesAroundCreating(gh), store, request())
    assert len(deployments(fake_github)) == 1  # created on GitHub, never recorded
    assert await store.by_command(KEY) is None

    record = await start(gh, store, request())
    await assert_deployed_once(fake_github, store, record)
    assert len(fake_github.requests_for("repos/create-deployment")) == 1
    [listed] = fake_github.requests_for("repos/list-deployments")
    assert (listed.query["sha"], listed.query["environment"]) == (SHA, "production")

    assert await start(gh, store, request()) == record  # a third run changes nothing
    await assert_deployed_once(fake_github, store, record)


async def test_a_retry_adopts_the_deployment_when_recording_it_failed(
    parts: Any, fake_github: Any
) -> None:
    gh, db = parts
    store = DyingStore(db, dies_at="record")
    with pytest.raises(Killed):
        await start(gh, store, request())

    record = await start(gh, store, request())
    await assert_deployed_once(fake_github, store, record)


async def test_a_retry_after_dying_before_attaching_attaches_and_queues(
    parts: Any, fake_github: Any
) -> None:
    gh, db = parts
    store = DyingStore(db, dies_at="attach")
    with pytest.raises(Killed):
        await start(gh, store, request())
    [deployment] = deployments(fake_github)
    assert deployment.statuses == []  # recorded, but never attached nor queued

    record = await start(gh, store, request())
    await assert_deployed_once(fake_github, store, record)


async def test_a_retry_adopts_a_deployment_that_already_finished(
    parts: Any, fake_github: Any
) -> None:
    gh, db = parts
    store = DeployStore(db)
    with pytest.raises(Killed):
        await start(DiesAroundCreating(gh), store, request())
    [deployment] = deployments(fake_github)
    fake_github.report_deployment(REPO, deployment.id, "success")  # the workflow ran

    record = await start(gh, store, request())
    assert (record.id, record.status) == (deployment.id, "success")
    assert [s.state for s in deployment.statuses] == ["success"]  # no late "queued"
    assert len(deployments(fake_github)) == 1
    assert (await store.state(REPO, "production")).in_flight is None  # it is over


async def test_a_retry_after_dying_right_after_reserving_deploys_once(
    parts: Any, fake_github: Any
) -> None:
    gh, db = parts
    with pytest.raises(Killed):
        await start(DiesAroundCreating(gh, before=True), DyingStore(db, "release"), request())
    assert deployments(fake_github) == []
    assert (await DeployStore(db).state(REPO, "production")).in_flight == 0  # left reserved

    store = DeployStore(db)
    record = await start(gh, store, request())
    await assert_deployed_once(fake_github, store, record)


async def test_another_command_is_refused_while_the_slot_is_held(
    parts: Any, fake_github: Any
) -> None:
    gh, db = parts
    store = DeployStore(db)
    with pytest.raises(Killed):
        await start(DiesAroundCreating(gh), store, request())

    with pytest.raises(DeployRefused, match="in progress"):
        await start(gh, store, request("5002:1"))
    with pytest.raises(DeployRefused, match="in progress"):
        await start(gh, store, request(None))
    record = await start(gh, store, request())
    with pytest.raises(DeployRefused, match=f"in progress \\(deployment {record.id}\\)"):
        await start(gh, store, request("5002:1"))
    await assert_deployed_once(fake_github, store, record)


async def test_a_refused_creation_frees_the_slot(parts: Any, fake_github: Any) -> None:
    gh, db = parts
    store = DeployStore(db)
    with pytest.raises(DeployRefused, match="GitHub refused"):
        await start(gh, store, request(ref="nope", sha="no-such-ref"))
    state = await store.state(REPO, "production")
    assert (state.in_flight, state.in_flight_key) == (None, None)
    assert deployments(fake_github) == []


async def test_a_lock_taken_while_a_command_waited_still_holds(parts: Any) -> None:
    _, db = parts
    store = DeployStore(db)
    await store.lock(REPO, "production", "Bob", "incident")  # after alice's own check
    reserved = await store.reserve(REPO, "production", "c:1", actor="alice")
    assert reserved is Reservation.LOCKED and not reserved
    assert (await store.state(REPO, "production")).in_flight is None  # nothing taken
    assert await store.reserve(REPO, "production", "c:2", actor="bob") is Reservation.TAKEN
    await store.release(REPO, "production", None, "c:2")
    # an automatic rollback names no actor: the lock does not stop it
    assert await store.reserve(REPO, "production", "auto-rollback:1") is Reservation.TAKEN

    # the lock an automatic rollback takes is no one's own, whatever their login
    await store.release(REPO, "production", None, "auto-rollback:1")
    await store.lock(REPO, "production", AUTOMATIC, "3 failed health checks")
    assert await store.reserve(REPO, "production", "c:3", actor="Deckhand") is Reservation.LOCKED


async def test_reservations_remember_their_command(parts: Any) -> None:
    _, db = parts
    store = DeployStore(db)
    assert await store.reserve(REPO, "production", "a:1") is Reservation.TAKEN
    assert await store.reserve(REPO, "production", "a:1") is Reservation.RESUMED
    assert await store.reserve(REPO, "production", "b:1") is Reservation.REFUSED
    assert await store.reserve(REPO, "production") is Reservation.REFUSED
    await store.release(REPO, "production", None, "b:1")  # not b's to free
    assert (await store.state(REPO, "production")).in_flight_key == "a:1"
    await store.attach(REPO, "production", 77)
    assert await store.reserve(REPO, "production", "a:1") is Reservation.RESUMED
    assert (await store.state(REPO, "production")).in_flight == 77  # still attached
    await store.release(REPO, "production", 77)
    state = await store.state(REPO, "production")
    assert (state.in_flight, state.in_flight_key) == (None, None)
    assert await store.reserve(REPO, "production") is Reservation.TAKEN
    assert await store.reserve(REPO, "production") is Reservation.REFUSED  # no key: no resume
