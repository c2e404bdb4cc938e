"""Scaled out for real: 2 web replicas and 3 workers as processes on one Postgres, with the
procrastinate queue. Every delivery's side effect happens exactly once, through
redeliveries to the other replica and a worker killed with SIGKILL halfway; two
`/deploy production` at once through different replicas start one deployment."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from typing import Any

import aiohttp
import pytest

from app.setup.manifest import PERMISSIONS
from app.store.database import Database
from app.store.deliveries import DeliveryStore
from tests.fakes.git import GitServer
from tests.fakes.github import FakeGitHub
from tests.support import postgres
from tests.support.cluster import Cluster, cluster_env, deliver
from tests.support.waiting import eventually

INSTALLATION = 1001
REPO = "octo-org/widgets"
DELIVERIES = int(os.environ.get("DECKHAND_SCALE_DELIVERIES", "5000"))
REDELIVERED_EVERY = 10  # 10%: sent again to the other replica
ISSUES = 50

pytestmark = pytest.mark.slow


@pytest.fixture
def database_url() -> Iterator[str]:
    yield from postgres.fresh_database()


@pytest.fixture
async def cluster(
    database_url: str, fake_github: FakeGitHub, app_keys: Any, tmp_path: Any
) -> AsyncIterator[Any]:
    def make(**extra: str) -> Cluster:
        made.append(Cluster(cluster_env(database_url, fake_github, app_keys, **extra), tmp_path))
        return made[-1]

    made: list[Cluster] = []
    yield make
    for running in made:
        await running.stop()


async def settled(store: DeliveryStore) -> bool:
    counts = await store.counts()
    return counts["queued"] == counts["running"] == 0 and counts["done"] + counts["dead"] > 0


async def test_5000_deliveries_each_answered_once_through_redeliveries_and_a_killed_worker(
    cluster: Any, fake_github: FakeGitHub, database_url: str
) -> None:
    fake_github.add_installation(INSTALLATION, account="octo-org", permissions=PERMISSIONS)
    # 5,000 commands cost about 15,000 calls, more than an installation's hour allows; the
    # client's pacing near the limit is tested in tests/github, here it would only wait.
    fake_github.set_rate_limit(INSTALLATION, limit=100_000, remaining=100_000)
    # Every request is still checked against GitHub's description; checking 15,000
    # responses too would make the fake (one process) the bottleneck of the run.
    fake_github.validate_responses = False
    comments = [
        fake_github.add_issue_comment(REPO, 1 + n % ISSUES, "/help", user="octocat")
        for n in range(DELIVERIES)
    ]
    running = cluster(DECKHAND_WORKER_CONCURRENCY="16")
    await running.start(webs=2, workers=3)
    db = Database(database_url)
    store = DeliveryStore(db)

    ids = [str(uuid.uuid4()) for _ in comments]
    sends: list[tuple[int, int]] = []  # (delivery index, replica)
    for n in range(DELIVERIES):
        sends.append((n, n % 2))
        if n % REDELIVERED_EVERY == 0:  # GitHub redelivers it, and it lands on the other one
            sends.append((n, 1 - n % 2))
    statuses: Counter[int] = Counter()
    killed_at: dict[str, int] = {}

    async def kill_a_worker_halfway() -> None:
        async def halfway() -> bool:
            return (await store.counts())["done"] >= DELIVERIES // 2

        await eventually(halfway, within=240)
        killed_at["done"] = (await store.counts())["done"]
        running.workers[0].kill()

    killer = asyncio.create_task(kill_a_worker_halfway())
    limit = asyncio.Semaphore(32)
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:

        async def send(n: int, replica: int) -> None:
            payload = fake_github.payloads.issue_comment_payload(comments[n].id, INSTALLATION)
            async with limit:
                statuses[
                    await deliver(session, running.webs[replica], "issue_comment", payload, ids[n])
                ] += 1

        await asyncio.gather(*(send(n, replica) for n, replica in sends))
    try:
        await asyncio.wait_for(killer, 240)
        await eventually(lambda: settled(store), within=240)
        await asyncio.sleep(2)  # let a duplicate, if any, show itself
        counts = await store.counts()
        retaken = sum(1 for d in await store.list(limit=DELIVERIES) if d.attempts > 1)
    finally:
        await db.close()

    assert statuses[202] == len(sends), statuses
    assert counts["done"] == DELIVERIES and counts["dead"] == 0, counts
    bot = fake_github.app.bot
    replies = Counter(
        c.body.rsplit("<!-- deckhand:reply ", 1)[1]
        for c in fake_github.comments.values()
        if c.user is bot
    )
    assert len(replies) == DELIVERIES
    assert set(replies.values()) == {1}, [k for k, v in replies.items() if v > 1][:5]
    assert len(fake_github.requests_for("issues/create-comment")) == DELIVERIES
    for comment in comments:
        assert sorted(r.content for r in comment.reactions) == ["eyes", "rocket"]
    assert retaken >= 1, "the killed worker should have had jobs in flight"
    print(f"killed at {killed_at['done']} done; {retaken} deliveries taken again")


async def test_two_deploys_through_two_replicas_start_one(
    cluster: Any, fake_github: FakeGitHub, git_server: GitServer
) -> None:
    fake_github.add_installation(INSTALLATION, account="octo-org", permissions=PERMISSIONS)
    config = "deploy:\n  environments:\n    production: {}\n"
    git_server.create_repo(
        REPO, {"app.py": "x = 1\n", ".github/deckhand.yml": config}, installation_id=INSTALLATION
    )
    fake_github.set_collaborator(REPO, "maintainer", "write")
    fake_github.set_collaborator(REPO, "admin", "admin")
    head = git_server.commit(REPO, "feature", {"app.py": "x = 2\n"}, message="Change")
    fake_github.add_check_run(REPO, "ci/test", head, status="completed", conclusion="success")
    number = fake_github.open_pull_request(REPO, head="feature", base="main", user="alice")
    running = cluster(DECKHAND_CONFIG_CACHE="false")
    await running.start(webs=2, workers=3)

    seeded = [
        fake_github.add_issue_comment(REPO, number, "/deploy production", user=user)
        for user in ("maintainer", "admin")
    ]
    async with aiohttp.ClientSession() as session:
        answers = await asyncio.gather(
            *(
                deliver(
                    session,
                    web,
                    "issue_comment",
                    fake_github.payloads.issue_comment_payload(comment.id, INSTALLATION),
                    str(uuid.uuid4()),
                )
                for web, comment in zip(running.webs, seeded, strict=True)
            )
        )
    assert answers == [202, 202]

    def replies() -> list[str]:
        return [
            c.body for c in fake_github.comments_on(REPO, number) if c.user is fake_github.app.bot
        ]

    await eventually(lambda: len(replies()) == 2, within=60)
    await asyncio.sleep(1)  # a second deployment, if any, would show itself now
    assert len(fake_github.deployments) == 1, replies()
    assert len(replies()) == 2
    assert sum("in progress" in r for r in replies()) == 1, replies()
