"""ChatOps deployments end to end: `/deploy` and its refusals, statuses, locks, the health
watch and the automatic rollback, against the fake GitHub, a real git server and a real
HTTP service standing in for the deployed app."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from aiohttp import web

from app.deploy.store import DeployStore
from app.setup.manifest import PERMISSIONS
from app.web.keys import SERVICE
from tests.fakes.git import GitServer
from tests.fakes.github import FakeGitHub
from tests.fakes.health_target import HealthTarget
from tests.support.chatops import bot_replies, deliver, say
from tests.support.waiting import eventually

INSTALLATION = 1001
REPO = "octo-org/widgets"


def config(target_url: str, failures: int = 3, window: str = "30s") -> str:
    return f"""
deploy:
  environments:
    staging: {{}}
    canary:
      confirm: true
    production:
      required_checks: ["ci/test"]
      max_per_hour: 3
      allowed: ["maintainer", "admin", "octo-org/release"]
      health:
        url: "{target_url}"
        interval: 100ms
        window: {window}
        failures: {failures}
        timeout: 500ms
"""


@pytest.fixture
async def target() -> Any:
    async with HealthTarget() as health:
        yield health


@pytest.fixture
async def setup(fake_github: FakeGitHub, git_server: GitServer, target: Any) -> dict[str, Any]:
    fake_github.add_installation(INSTALLATION, account="octo-org", permissions=PERMISSIONS)
    git_server.create_repo(
        REPO,
        {"app.py": "x = 1\n", ".github/deckhand.yml": config(target.url)},
        installation_id=INSTALLATION,
    )
    fake_github.set_collaborator(REPO, "maintainer", "write")
    fake_github.set_collaborator(REPO, "admin", "admin")
    fake_github.set_collaborator(REPO, "outsider", "write")
    head = green_head(fake_github, git_server, {"app.py": "x = 2\n"}, "Change")
    number = fake_github.open_pull_request(REPO, head="feature", base="main", user="alice")
    return {"number": number, "head": head}


@pytest.fixture
async def bot(start_deckhand: Any, fake_github: FakeGitHub, app_keys: Any, setup: Any) -> Any:
    return await start_deckhand(
        github_api_url=fake_github.url,
        github_app_id=app_keys.app_id,
        github_private_key=app_keys.private_pem,
        max_attempts=2,
        config_cache=False,
        confirm_seconds=1.5,
    )


async def report(bot: Any, fake_github: FakeGitHub, deployment_id: int, state: str) -> None:
    fake_github.report_deployment(REPO, deployment_id, state, log_url="https://ci.example/log")
    payload = fake_github.payloads.deployment_status_payload(REPO, deployment_id, INSTALLATION)
    _, _, delivery_id = await bot.post("deployment_status", payload)
    delivery = (await bot.wait_finished([delivery_id]))[delivery_id]
    assert delivery.status == "done", delivery.last_error


def green_head(
    fake_github: FakeGitHub, git_server: GitServer, files: dict[str, str], message: str
) -> str:
    """A new commit on the pull request's branch, its required check green."""
    head = git_server.commit(REPO, "feature", files, message=message)
    fake_github.add_check_run(REPO, "ci/test", head, status="completed", conclusion="success")
    return head


def deployments(fake_github: FakeGitHub) -> list[Any]:
    return sorted(fake_github.deployments.values(), key=lambda d: d.id)


async def test_deploy_happy_path(
    bot: Any, fake_github: FakeGitHub, setup: Any, target: Any
) -> None:
    reply = await say(bot, fake_github, setup["number"], "Ship it\n/deploy production")
    [deployment] = deployments(fake_github)
    assert (deployment.sha, deployment.environment) == (setup["head"], "production")
    assert deployment.payload["actor"] == "maintainer"
    [created] = fake_github.requests_for("repos/create-deployment")
    assert created.json["required_contexts"] == ["ci/test"] and created.json["auto_merge"] is False
    assert f"Deploying `{setup['head'][:7]}` to **production**" in reply
    assert [s.state for s in deployment.statuses] == ["queued"]

    await report(bot, fake_github, deployment.id, "success")
    replies = bot_replies(fake_github, setup["number"])
    assert len(replies) == 1 and "success" in replies[0]  # the one reply was edited
    await asyncio.sleep(0.5)
    assert target.hits >= 2  # the health watch is probing
    status = await say(bot, fake_github, setup["number"], "/status production")
    assert "production" in status and setup["head"][:7] in status


@pytest.mark.parametrize(
    ("body", "user", "expected"),
    [
        ("/deploy production", "reader", "needs write access"),
        ("/deploy production", "outsider", "limited to"),
        ("/deploy production --force", "maintainer", "for repository admins"),
        ("/deploy qa", "maintainer", "not a configured environment"),
    ],
)
async def test_refusals_change_nothing(
    bot: Any, fake_github: FakeGitHub, setup: Any, body: str, user: str, expected: str
) -> None:
    reply = await say(bot, fake_github, setup["number"], body, user=user)
    assert expected in reply
    assert deployments(fake_github) == []


async def test_a_team_member_may_deploy(bot: Any, fake_github: FakeGitHub, setup: Any) -> None:
    fake_github.set_collaborator(REPO, "carol", "write")
    fake_github.add_team("octo-org", "release", members=["carol"])
    reply = await say(bot, fake_github, setup["number"], "/deploy production", user="carol")
    assert "Deploying" in reply and len(deployments(fake_github)) == 1


async def test_red_checks_refuse_and_force_is_recorded(
    bot: Any, fake_github: FakeGitHub, git_server: GitServer, setup: Any
) -> None:
    head = git_server.commit(REPO, "feature", {"app.py": "x = 3\n"}, message="More")
    fake_github.add_check_run(REPO, "ci/test", head, status="completed", conclusion="failure")
    reply = await say(bot, fake_github, setup["number"], "/deploy production")
    assert "required checks are not green (failed: ci/test (failure))" in reply
    assert deployments(fake_github) == []
    forced = await say(
        bot, fake_github, setup["number"], "/deploy production --force", user="admin"
    )
    assert "forced" in forced
    [deployment] = deployments(fake_github)
    assert deployment.payload["forced"] is True and deployment.sha == head
    [created] = fake_github.requests_for("repos/create-deployment")
    assert created.json["required_contexts"] == []


async def test_commit_statuses_count_as_checks(
    bot: Any, fake_github: FakeGitHub, git_server: GitServer, setup: Any
) -> None:
    # CI that reports commit statuses, not check runs: `ci/test` is one of those here.
    head = git_server.commit(REPO, "feature", {"app.py": "x = 3\n"}, message="More")
    fake_github.add_commit_status(REPO, head, "ci/test", "pending")
    reply = await say(bot, fake_github, setup["number"], "/deploy production")
    assert "required checks are not green (still running: ci/test)" in reply
    fake_github.add_commit_status(REPO, head, "ci/test", "failure")
    reply = await say(bot, fake_github, setup["number"], "/deploy production")
    assert "required checks are not green (failed: ci/test (failure))" in reply
    # Without `required_checks`, every status must be green too.
    fake_github.add_commit_status(REPO, head, "lint", "error")
    fake_github.add_check_run(REPO, "build", head, status="completed", conclusion="success")
    reply = await say(bot, fake_github, setup["number"], "/deploy staging")
    assert "required checks are not green (failed: ci/test (failure), lint (error))" in reply
    assert deployments(fake_github) == []

    fake_github.add_commit_status(REPO, head, "ci/test", "success")
    fake_github.add_commit_status(REPO, head, "lint", "success")
    reply = await say(bot, fake_github, setup["number"], "/deploy production")
    assert f"Deploying `{head[:7]}` to **production**" in reply
    [deployment] = deployments(fake_github)
    assert deployment.sha == head


async def test_statuses_unreadable_leave_the_check_to_github(
    start_deckhand: Any,
    fake_github: FakeGitHub,
    git_server: GitServer,
    app_keys: Any,
    setup: Any,
) -> None:
    # An installation that has not granted `statuses: read`: Deckhand goes by the check
    # runs and leaves the statuses to GitHub's own check when it creates the deployment.
    permissions = {k: v for k, v in PERMISSIONS.items() if k != "statuses"}
    fake_github.add_installation(INSTALLATION, account="octo-org", permissions=permissions)
    bot = await start_deckhand(
        github_api_url=fake_github.url,
        github_app_id=app_keys.app_id,
        github_private_key=app_keys.private_pem,
        config_cache=False,
    )
    fake_github.add_commit_status(REPO, setup["head"], "lint", "failure")
    reply = await say(bot, fake_github, setup["number"], "/deploy staging")
    assert "GitHub refused the deployment" in reply, reply
    assert deployments(fake_github) == []
    [created] = fake_github.requests_for("repos/create-deployment")
    assert "required_contexts" not in created.json  # GitHub checks every context
    fake_github.add_commit_status(REPO, setup["head"], "lint", "success")
    reply = await say(bot, fake_github, setup["number"], "/deploy staging")
    assert "Deploying" in reply, reply
    # A required check reported only as a status: the refusal says why it is not seen.
    fake_github.add_commit_status(REPO, setup["head"], "e2e", "success")
    ordered = config("http://127.0.0.1:9").replace('["ci/test"]', '["ci/test", "e2e"]')
    git_server.commit(REPO, "main", {".github/deckhand.yml": ordered}, message="Require e2e")
    reply = await say(bot, fake_github, setup["number"], "/deploy production")
    assert "not reported: e2e" in reply and "needs `statuses: read`" in reply, reply


async def test_a_head_newer_than_the_comment_is_refused(
    bot: Any, fake_github: FakeGitHub, setup: Any
) -> None:
    seeded = fake_github.add_issue_comment(
        REPO,
        setup["number"],
        "/deploy production",
        user="maintainer",
        created_at=time.time() - 3600,
    )
    await deliver(bot, fake_github, seeded)
    [reply] = bot_replies(fake_github, setup["number"])
    assert "newer than your comment" in reply and deployments(fake_github) == []


async def test_an_old_commit_pushed_after_the_comment_is_refused(
    bot: Any, fake_github: FakeGitHub, git_server: GitServer, setup: Any
) -> None:
    # Committed an hour ago, pushed after the comment: its commit date is older than the
    # comment, but the commenter never saw it. The repository's activity tells.
    seeded = fake_github.add_issue_comment(
        REPO, setup["number"], "/deploy production", user="maintainer", created_at=time.time() - 60
    )
    head = git_server.commit(
        REPO, "feature", {"app.py": "x = 9\n"}, message="Late", date=int(time.time()) - 3600
    )
    fake_github.add_check_run(REPO, "ci/test", head, status="completed", conclusion="success")
    await deliver(bot, fake_github, seeded)
    [reply] = bot_replies(fake_github, setup["number"])
    assert "newer than your comment" in reply and deployments(fake_github) == []
    [asked] = fake_github.requests_for("repos/list-activities")
    assert asked.query["ref"] == "refs/heads/feature"


async def test_a_push_too_fresh_for_the_activity_list_is_refused(
    bot: Any, fake_github: FakeGitHub, git_server: GitServer, setup: Any
) -> None:
    head = green_head(fake_github, git_server, {"app.py": "x = 9\n"}, "Fresh")
    listed = fake_github.activities.pop()  # GitHub has not listed this push yet
    reply = await say(bot, fake_github, setup["number"], "/deploy production")
    assert "newer than your comment" in reply and deployments(fake_github) == []
    fake_github.activities.append(listed)
    reply = await say(bot, fake_github, setup["number"], "/deploy production")
    assert f"Deploying `{head[:7]}`" in reply


async def test_locks_and_the_hourly_limit(bot: Any, fake_github: FakeGitHub, setup: Any) -> None:
    number = setup["number"]
    assert "is locked by @admin: db migration" in await say(
        bot, fake_github, number, '/lock production --reason "db migration"', user="admin"
    )
    assert "locked by admin: db migration" in await say(
        bot, fake_github, number, "/deploy production"
    )
    assert "unlocked" in await say(bot, fake_github, number, "/unlock production")
    for _ in range(3):
        assert "Deploying" in await say(bot, fake_github, number, "/deploy production")
        await report(bot, fake_github, deployments(fake_github)[-1].id, "failure")
    assert "3 deployments an hour" in await say(bot, fake_github, number, "/deploy production")
    assert len(deployments(fake_github)) == 3


async def test_force_never_passes_someone_elses_lock(
    bot: Any, fake_github: FakeGitHub, setup: Any
) -> None:
    number = setup["number"]
    await say(bot, fake_github, number, "/lock production", user="maintainer")
    reply = await say(bot, fake_github, number, "/deploy production --force", user="admin")
    assert "locked by maintainer" in reply and deployments(fake_github) == []
    reply = await say(bot, fake_github, number, "/deploy production", user="maintainer")
    assert "Deploying" in reply  # the lock's holder may deploy


async def test_an_edited_comment_is_not_run_again(
    bot: Any, fake_github: FakeGitHub, setup: Any
) -> None:
    seeded = fake_github.add_issue_comment(
        REPO, setup["number"], "/deploy production", user="maintainer"
    )
    await deliver(bot, fake_github, seeded, "edited")
    assert bot_replies(fake_github, setup["number"]) == []
    assert deployments(fake_github) == []
    assert seeded.reactions == []


async def test_after_takes_only_commits_already_good_there(
    bot: Any, fake_github: FakeGitHub, git_server: GitServer, setup: Any, target: Any
) -> None:
    ordered = config(target.url).replace(
        '      required_checks: ["ci/test"]\n',
        '      required_checks: ["ci/test"]\n      after: staging\n',
    )
    git_server.commit(REPO, "main", {".github/deckhand.yml": ordered}, message="Order")
    number = setup["number"]
    reply = await say(bot, fake_github, number, "/deploy production")
    assert "takes only commits already deployed successfully to `staging`" in reply
    await say(bot, fake_github, number, "/deploy staging")
    staging = deployments(fake_github)[-1]
    await report(bot, fake_github, staging.id, "failure")
    reply = await say(bot, fake_github, number, "/deploy production")
    assert "takes only commits already deployed successfully" in reply  # failed there
    await say(bot, fake_github, number, "/deploy staging")
    await report(bot, fake_github, deployments(fake_github)[-1].id, "success")
    reply = await say(bot, fake_github, number, "/deploy production")
    assert f"Deploying `{setup['head'][:7]}` to **production**" in reply


async def test_a_slot_held_by_a_deployment_github_shows_finished_is_freed(
    bot: Any, fake_github: FakeGitHub, git_server: GitServer, setup: Any
) -> None:
    await say(bot, fake_github, setup["number"], "/deploy production")
    first = deployments(fake_github)[-1]
    reply = await say(bot, fake_github, setup["number"], "/deploy production")
    assert f"a deployment to `production` is in progress (deployment {first.id})" in reply
    # Its workflow reports success, but the webhook never reaches Deckhand.
    fake_github.report_deployment(REPO, first.id, "success")
    reply = await say(bot, fake_github, setup["number"], "/deploy production")
    assert "Deploying" in reply, reply
    assert (await DeployStore(bot.app[SERVICE].db).get(first.id)).status == "success"  # type: ignore[union-attr]


async def test_two_deploys_at_the_same_moment_start_one(
    bot: Any, fake_github: FakeGitHub, setup: Any
) -> None:
    ids = []
    for user in ("maintainer", "admin"):
        seeded = fake_github.add_issue_comment(
            REPO, setup["number"], "/deploy production", user=user
        )
        payload = fake_github.payloads.issue_comment_payload(seeded.id, INSTALLATION)
        ids.append((await bot.post("issue_comment", payload))[2])
    await bot.wait_finished(ids)
    assert len(deployments(fake_github)) == 1
    replies = bot_replies(fake_github, setup["number"])
    assert sum("in progress" in r for r in replies) == 1


async def deploy_and_succeed(bot: Any, fake_github: FakeGitHub, number: int) -> Any:
    await say(bot, fake_github, number, "/deploy production")
    deployment = deployments(fake_github)[-1]
    await report(bot, fake_github, deployment.id, "success")
    return deployment


async def test_slack_hears_of_finished_deployments_and_rollbacks(
    start_deckhand: Any, fake_github: FakeGitHub, app_keys: Any, setup: Any, aiohttp_server: Any
) -> None:
    heard: list[str] = []

    async def hook(request: web.Request) -> web.Response:
        heard.append((await request.json())["text"])
        return web.Response(text="ok")

    slack = web.Application()
    slack.router.add_post("/hook", hook)
    server = await aiohttp_server(slack)
    bot = await start_deckhand(
        github_api_url=fake_github.url,
        github_app_id=app_keys.app_id,
        github_private_key=app_keys.private_pem,
        config_cache=False,
        slack_webhook_url=str(server.make_url("/hook")),
    )
    first = await deploy_and_succeed(bot, fake_github, setup["number"])
    await say(bot, fake_github, setup["number"], "/deploy production")
    second = deployments(fake_github)[-1]
    await report(bot, fake_github, second.id, "failure")
    await report(bot, fake_github, second.id, "failure")  # told once
    assert heard == [
        f"Deckhand: {REPO} production: deployment {first.id} of {first.sha[:7]} by maintainer: "
        "success.",
        f"Deckhand: {REPO} production: deployment {second.id} of {second.sha[:7]} by "
        "maintainer: failure.",
    ]


async def test_a_retried_deploy_is_not_refused_for_its_own_deployment(
    bot: Any, fake_github: FakeGitHub, setup: Any
) -> None:
    await deploy_and_succeed(bot, fake_github, setup["number"])
    await deploy_and_succeed(bot, fake_github, setup["number"])  # 2 of 3 an hour
    # the third is recorded, then GitHub fails its "queued" status: the job runs again
    statuses = "/repos/{owner}/{repo}/deployments/{deployment_id}/statuses"
    fake_github.fail_next("POST", statuses, 502, times=1)
    reply = await say(bot, fake_github, setup["number"], "/deploy production")
    assert "Deploying" in reply and "an hour" not in reply
    assert len(deployments(fake_github)) == 3


async def test_rollback_after_exactly_n_failed_probes(
    bot: Any, fake_github: FakeGitHub, git_server: GitServer, setup: Any, target: Any
) -> None:
    good = await deploy_and_succeed(bot, fake_github, setup["number"])
    green_head(fake_github, git_server, {"app.py": "x = 4\n"}, "Newer")
    target.fail_next(2)  # N-1 failures, then healthy again: no rollback
    bad = await deploy_and_succeed(bot, fake_github, setup["number"])
    await eventually(lambda: target.hits >= 6)
    assert len(deployments(fake_github)) == 2

    target.failing(503)  # now N in a row
    await eventually(lambda: len(deployments(fake_github)) == 3)
    rollback = deployments(fake_github)[-1]
    assert rollback.sha == good.sha and rollback.payload["rollback_of"] == bad.id
    await eventually(lambda: fake_github.issues_in(REPO) != [])
    [issue] = fake_github.issues_in(REPO)
    assert issue.body is not None
    assert "rolled back production" in issue.title and "HTTP 503" in issue.body
    reply = await say(bot, fake_github, setup["number"], "/deploy production")
    assert "locked by deckhand" in reply
    # A person whose login is "deckhand" does not hold the rollback's lock either.
    fake_github.set_collaborator(REPO, "Deckhand", "admin")
    allowing = config(target.url).replace('"admin",', '"admin", "Deckhand",')
    git_server.commit(REPO, "main", {".github/deckhand.yml": allowing}, message="Allow")
    reply = await say(bot, fake_github, setup["number"], "/deploy production", user="Deckhand")
    assert "locked by deckhand" in reply and len(deployments(fake_github)) == 3


async def test_a_rollback_that_failed_half_way_is_finished_by_its_retry(
    bot: Any, fake_github: FakeGitHub, git_server: GitServer, setup: Any, target: Any
) -> None:
    await deploy_and_succeed(bot, fake_github, setup["number"])
    green_head(fake_github, git_server, {"app.py": "x = 6\n"}, "Newer")
    await deploy_and_succeed(bot, fake_github, setup["number"])
    # GitHub fails the rollback's issue: the redeploy and the PR comment already happened
    fake_github.fail_next("POST", "/repos/{owner}/{repo}/issues", 502, times=1)
    target.failing(503)
    await eventually(lambda: fake_github.issues_in(REPO) != [], within=30)
    assert [r.status for r in fake_github.requests_for("issues/create")] == [502, 201]
    assert len(deployments(fake_github)) == 3  # the retry adopted the rollback deployment
    notices = [
        c for c in fake_github.comments_on(REPO, setup["number"]) if "deckhand:rollback" in c.body
    ]
    assert len(notices) == 1  # and found its PR comment
    assert (await DeployStore(bot.app[SERVICE].db).state(REPO, "production")).locked_by


async def test_rollback_command_redeploys_the_previous_good_commit(
    bot: Any, fake_github: FakeGitHub, git_server: GitServer, setup: Any
) -> None:
    first = await deploy_and_succeed(bot, fake_github, setup["number"])
    green_head(fake_github, git_server, {"app.py": "x = 5\n"}, "Newer")
    second = await deploy_and_succeed(bot, fake_github, setup["number"])
    reply = await say(bot, fake_github, setup["number"], "/rollback production")
    assert f"back to `{first.sha[:7]}`" in reply
    rollback = deployments(fake_github)[-1]
    assert rollback.sha == first.sha and rollback.payload["rollback_of"] == second.id
    await report(bot, fake_github, rollback.id, "success")  # the reply follows, as /deploy's
    replies = [r for r in bot_replies(fake_github, setup["number"]) if "ollback" in r]
    assert len(replies) == 1  # the /rollback reply, edited in place
    assert f"Rollback {rollback.id} of `{first.sha[:7]}` to **production**: success" in replies[0]
    history = await say(bot, fake_github, setup["number"], "/history production")
    assert f"rollback of {second.id}" in history


async def test_a_success_marks_the_deployments_it_supersedes_inactive(
    bot: Any, fake_github: FakeGitHub, git_server: GitServer, setup: Any
) -> None:
    store = DeployStore(bot.app[SERVICE].db)
    first = await deploy_and_succeed(bot, fake_github, setup["number"])
    green_head(fake_github, git_server, {"app.py": "x = 5\n"}, "Newer")
    second = await deploy_and_succeed(bot, fake_github, setup["number"])
    # GitHub leaves production deployments alone; Deckhand marks the superseded one.
    assert [s.state for s in first.statuses] == ["queued", "success", "inactive"]
    assert first.statuses[-1].creator is fake_github.app.bot
    assert first.statuses[-1].description == f"superseded by deployment {second.id}"
    assert (await store.get(first.id)).status == "inactive"  # type: ignore[union-attr]
    await report(bot, fake_github, second.id, "success")  # a repeated report changes nothing
    assert [s.state for s in first.statuses] == ["queued", "success", "inactive"]
    assert second.state == "success"

    # Outside production GitHub's auto_inactive does it; Deckhand only records it.
    await say(bot, fake_github, setup["number"], "/deploy staging")
    staging = deployments(fake_github)[-1]
    await report(bot, fake_github, staging.id, "success")
    green_head(fake_github, git_server, {"app.py": "x = 6\n"}, "Newest")
    await say(bot, fake_github, setup["number"], "/deploy staging")
    await report(bot, fake_github, deployments(fake_github)[-1].id, "success")
    assert [s.state for s in staging.statuses] == ["queued", "success", "inactive"]
    assert staging.statuses[-1].creator is not fake_github.app.bot
    assert (await store.get(staging.id)).status == "inactive"  # type: ignore[union-attr]


async def test_marking_superseded_ones_inactive_never_costs_the_rest(
    bot: Any, fake_github: FakeGitHub, git_server: GitServer, setup: Any, target: Any
) -> None:
    store = DeployStore(bot.app[SERVICE].db)
    first = await deploy_and_succeed(bot, fake_github, setup["number"])
    head = green_head(fake_github, git_server, {"app.py": "x = 5\n"}, "Newer")
    await say(bot, fake_github, setup["number"], "/deploy production")
    second = deployments(fake_github)[-1]
    # GitHub fails the "inactive" status once: the job is retried and finishes it.
    statuses = "/repos/{owner}/{repo}/deployments/{deployment_id}/statuses"
    fake_github.fail_next("POST", statuses, 502, times=1)
    hits = target.hits
    await report(bot, fake_github, second.id, "success")
    assert [s.state for s in first.statuses] == ["queued", "success", "inactive"]
    replies = [c.body for c in fake_github.comments_on(REPO, setup["number"])]
    assert any(
        f"Deployment {second.id} of `{head[:7]}` to **production**: success" in r for r in replies
    )
    await eventually(lambda: target.hits > hits)  # the health watch began
    assert (await store.get(first.id)).status == "inactive"  # type: ignore[union-attr]

    # GitHub refusing it (a deleted deployment) is logged; the record is inactive all the same.
    green_head(fake_github, git_server, {"app.py": "x = 6\n"}, "Newest")
    await say(bot, fake_github, setup["number"], "/deploy production")
    fake_github.fail_next("POST", statuses, 404, times=1)
    await report(bot, fake_github, deployments(fake_github)[-1].id, "success")
    assert second.state == "success"  # on GitHub: it refused
    assert (await store.get(second.id)).status == "inactive"  # type: ignore[union-attr]


async def test_a_health_watch_survives_a_restart(
    start_deckhand: Any, bot: Any, fake_github: FakeGitHub, app_keys: Any, setup: Any, target: Any
) -> None:
    target.failing(503)
    await say(bot, fake_github, setup["number"], "/deploy production")
    await report(bot, fake_github, deployments(fake_github)[-1].id, "success")
    await bot.server.close()  # the service stops with probes still to come
    hits = target.hits
    await asyncio.sleep(0.3)
    assert target.hits == hits
    await start_deckhand(
        github_api_url=fake_github.url,
        github_app_id=app_keys.app_id,
        github_private_key=app_keys.private_pem,
        config_cache=False,
    )
    await eventually(
        lambda: fake_github.issues_in(REPO) != []
    )  # no earlier good deploy: lock + issue
    assert target.hits >= 3


async def test_confirmation_needs_the_commenters_thumbs_up(
    bot: Any, fake_github: FakeGitHub, setup: Any
) -> None:
    reply = await say(bot, fake_github, setup["number"], "/deploy canary")
    assert "not confirmed: no 👍 from @maintainer within 1.5 s" in reply
    assert deployments(fake_github) == []

    seeded = fake_github.add_issue_comment(
        REPO, setup["number"], "/deploy canary", user="maintainer"
    )
    fake_github.add_reaction(seeded.id, "someone-else", "+1")
    payload = fake_github.payloads.issue_comment_payload(seeded.id, INSTALLATION)
    _, _, delivery_id = await bot.post("issue_comment", payload)
    await asyncio.sleep(0.4)
    waiting = bot_replies(fake_github, setup["number"])
    assert "React with 👍" in waiting[-1]
    fake_github.add_reaction(seeded.id, "maintainer", "+1")
    await bot.wait_finished([delivery_id])
    [deployment] = deployments(fake_github)
    assert deployment.environment == "canary"


COMPONENTS = """
deploy:
  components:
    api: ["api/**"]
    core: ["core/**"]
    database: ["db/**"]
  environments:
    staging: {}
"""


async def test_components_follow_changed_files_and_their_importers(
    bot: Any, fake_github: FakeGitHub, git_server: GitServer
) -> None:
    git_server.commit(
        REPO,
        "main",
        {
            ".github/deckhand.yml": COMPONENTS,
            "api/__init__.py": "",
            "api/views.py": "from core import service\n",
            "core/__init__.py": "",
            "core/service.py": "from core.models import User\n",
            "core/models.py": "class User: ...\n",
            "db/schema.sql": "create table users (id int);\n",
        },
        message="layout",
    )
    head = git_server.commit(REPO, "comp", {"README.md": "hi\n"}, message="start", parent="main")
    fake_github.add_check_run(REPO, "ci/test", head, status="completed", conclusion="success")
    number = fake_github.open_pull_request(REPO, head="comp", base="main", user="alice")
    first = await say(bot, fake_github, number, "/deploy staging")
    assert "components: api, core, database" in first  # never deployed there: all of them
    await report(bot, fake_github, deployments(fake_github)[-1].id, "success")

    newer = git_server.commit(
        REPO, "comp", {"core/models.py": "class User:\n    id = 1\n"}, message="m"
    )
    fake_github.add_check_run(REPO, "ci/test", newer, status="completed", conclusion="success")
    second = await say(bot, fake_github, number, "/deploy staging")
    assert "components: api, core." in second
    assert "`api/views.py` → `core/service.py` → `core/models.py`" in second
    assert deployments(fake_github)[-1].payload["components"] == ["api", "core"]
    await report(bot, fake_github, deployments(fake_github)[-1].id, "success")
    typo = await say(bot, fake_github, number, "/deploy staging --components api cor")
    assert "no component named `cor`" in typo and "`api`, `core`, `database`" in typo
    assert len(deployments(fake_github)) == 2  # nothing started


async def test_a_deployed_components_health_url_is_watched_too(
    bot: Any, fake_github: FakeGitHub, git_server: GitServer, target: Any
) -> None:
    async with HealthTarget() as api_health:
        git_server.commit(
            REPO,
            "main",
            {
                ".github/deckhand.yml": f"""
deploy:
  components:
    api: ["api/**"]
  environments:
    staging:
      health:
        url: "{target.url}"
        interval: 100ms
        failures: 2
        components: {{api: "{api_health.url}"}}
""",
                "api/main.py": "x = 1\n",
            },
            message="api",
        )
        head = git_server.commit(
            REPO, "api-pr", {"api/main.py": "x = 2\n"}, message="a", parent="main"
        )
        fake_github.add_check_run(REPO, "ci/test", head, status="completed", conclusion="success")
        number = fake_github.open_pull_request(REPO, head="api-pr", base="main", user="alice")
        await say(bot, fake_github, number, "/deploy staging")
        api_health.failing(500)
        await report(bot, fake_github, deployments(fake_github)[-1].id, "success")
        await eventually(lambda: fake_github.issues_in(REPO) != [])
        [issue] = fake_github.issues_in(REPO)
        assert issue.body is not None
        assert api_health.url in issue.body and "HTTP 500" in issue.body
        assert target.hits >= 2  # the environment's own URL was probed alongside
