"""Production alerts end to end: signed requests to the real `POST /webhooks/alerts/...`,
the real queue and worker, the fake GitHub (issues, comments, labels, deployments), a
real git server for `/rollback`, and the fake OpenAI server for triage."""

from __future__ import annotations

import asyncio
import copy
import dataclasses
import hashlib
import hmac
import json
import time
import uuid
from pathlib import Path
from typing import Any, Protocol

import pytest
from sqlalchemy import func, select

from app.alerts.store import AlertStore
from app.alerts.tracker import ALERT_EVENT
from app.deploy.store import DeploymentRecord, DeployStore
from app.installations import InstallationStore
from app.setup.manifest import PERMISSIONS
from app.store.schema import deliveries
from app.web.keys import SERVICE
from tests.fakes.git import GitServer
from tests.fakes.github import FakeGitHub
from tests.fakes.openai_server import FakeOpenAI
from tests.support.chatops import bot_replies
from tests.support.waiting import eventually

FIXTURES = Path(__file__).parents[1] / "fixtures" / "alerts"
INSTALLATION = 1001
REPO = "octo-org/widgets"
SECRETS = {
    "sentry_client_secret": "sentry-client-secret-0123",
    "alertmanager_token": "am-token-0123456789",
    "grafana_secret": "grafana-secret-0123",
    "generic_alert_secret": "generic-secret-0123",
}
CONFIG = """
alerts:
  labels: ["production-error"]
  assignees: ["alice"]
  update_interval: 200ms
  reopen_window: 7d
  auto_close: {auto_close}
deploy:
  environments:
    production:
      required_checks: []
"""


def fixture(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / f"{name}.json").read_text())


def signed(source: str, body: bytes, timestamp: str | None = None) -> dict[str, str]:
    def mac(secret: str, data: bytes) -> str:
        return hmac.new(secret.encode(), data, hashlib.sha256).hexdigest()

    if source == "sentry":
        return {"Sentry-Hook-Signature": mac(SECRETS["sentry_client_secret"], body)}
    if source == "alertmanager":
        return {"Authorization": f"Bearer {SECRETS['alertmanager_token']}"}
    if source == "grafana":
        if timestamp is None:
            return {"X-Grafana-Alerting-Signature": mac(SECRETS["grafana_secret"], body)}
        data = timestamp.encode() + b":" + body
        return {
            "X-Grafana-Alerting-Signature": mac(SECRETS["grafana_secret"], data),
            "X-Grafana-Alerting-Signature-Timestamp": timestamp,
        }
    return {"X-Deckhand-Signature": "sha256=" + mac(SECRETS["generic_alert_secret"], body)}


class AlertClient:
    """Posts alerts to the running Deckhand like each source would."""

    def __init__(self, bot: Any) -> None:
        self.bot = bot

    @property
    def db(self) -> Any:
        return self.bot.app[SERVICE].db

    async def send(
        self,
        source: str,
        payload: Any,
        *,
        repo: str = REPO,
        headers: dict[str, str] | None = None,
        sign: bool = True,
        body: bytes | None = None,
    ) -> tuple[int, dict[str, Any]]:
        data = body if body is not None else json.dumps(payload).encode()
        sent = {"Content-Type": "application/json"}
        if sign:
            sent.update(signed(source, data))
        sent.update(headers or {})
        url = f"{self.bot.url}/webhooks/alerts/{source}?repo={repo}"
        async with self.bot.session.post(url, data=data, headers=sent) as response:
            return response.status, await response.json(content_type=None)

    async def deliver(self, source: str, payload: Any, **kw: Any) -> dict[str, Any]:
        """Send, expect 202, and wait for the job to finish."""
        status, answer = await self.send(source, payload, **kw)
        assert status == 202, answer
        if answer["status"] == "queued":
            finished = await self.bot.wait_finished([answer["delivery"]])
            job = finished[answer["delivery"]]
            assert job.status == "done", job.last_error
        return answer


def generic(fingerprint: str = "checkout-none", **extra: Any) -> dict[str, Any]:
    payload = fixture("generic")
    payload.update({"fingerprint": fingerprint, "started_at": time.time(), **extra})
    return payload


async def unfinished_alert_jobs(db: Any) -> bool:
    """True when no alert job waits or runs (one query, not one per delivery)."""
    query = (
        select(func.count())
        .select_from(deliveries)
        .where(deliveries.c.event == ALERT_EVENT, deliveries.c.status.in_(("queued", "running")))
    )
    return not await db.read(lambda conn: conn.execute(query).scalar())


async def quiet(db: Any) -> bool:
    """True when no job at all (alert, flush, triage) waits or runs."""
    query = (
        select(func.count())
        .select_from(deliveries)
        .where(deliveries.c.status.in_(("queued", "running")))
    )
    return not await db.read(lambda conn: conn.execute(query).scalar())


@pytest.fixture
def auto_close() -> bool:
    return False


@pytest.fixture
async def repo(fake_github: FakeGitHub, git_server: GitServer, auto_close: bool) -> dict[str, str]:
    fake_github.add_installation(INSTALLATION, account="octo-org", permissions=PERMISSIONS)
    base = git_server.create_repo(
        REPO,
        {
            "app/pricing.py": "def unit_price(total, n):\n    return total / n\n",
            ".github/deckhand.yml": CONFIG.format(auto_close=str(auto_close).lower()),
        },
        installation_id=INSTALLATION,
    )
    fake_github.set_collaborator(REPO, "maintainer", "write")
    fake_github.add_account("alice")
    head = git_server.commit(REPO, "main", {"app/pricing.py": "x = 2\n"}, message="Change")
    return {"base": base, "head": head}


async def started(
    start_deckhand: Any, fake_github: FakeGitHub, app_keys: Any, **settings: Any
) -> AlertClient:
    """Deckhand with every source's secret and the repository's installation known."""
    bot = await start_deckhand(
        github_api_url=fake_github.url,
        github_app_id=app_keys.app_id,
        github_private_key=app_keys.private_pem,
        **{**SECRETS, **settings},
    )
    installed = {"id": INSTALLATION, "account": {"login": "octo-org", "type": "Organization"}}
    await InstallationStore(bot.app[SERVICE].db).record(
        installed, "active", [{"full_name": REPO, "id": 1}]
    )
    return AlertClient(bot)


@pytest.fixture
async def alerts(
    start_deckhand: Any, fake_github: FakeGitHub, app_keys: Any, repo: Any
) -> AlertClient:
    return await started(start_deckhand, fake_github, app_keys, max_attempts=3)


# ------------------------------------------------------------------ each source
@pytest.mark.parametrize(
    ("source", "name", "headers", "title"),
    [
        ("sentry", "sentry_error", {"Sentry-Hook-Resource": "error"}, "ZeroDivisionError"),
        ("sentry", "sentry_event_alert", {"Sentry-Hook-Resource": "event_alert"}, "KeyError"),
        ("sentry", "sentry_issue_created", {"Sentry-Hook-Resource": "issue"}, "ZeroDivision"),
        ("sentry", "sentry_metric_alert", {"Sentry-Hook-Resource": "metric_alert"}, "p95"),
        ("alertmanager", "alertmanager_firing", {}, "5xx rate above 5% on web-1"),
        ("grafana", "grafana_firing", {}, "Memory above 90%"),
        ("generic", "generic", {}, "NoneType"),
    ],
)
async def test_each_source_opens_an_issue(
    alerts: AlertClient,
    fake_github: FakeGitHub,
    source: str,
    name: str,
    headers: dict[str, str],
    title: str,
) -> None:
    answer = await alerts.deliver(source, fixture(name), headers=headers)
    assert answer["status"] == "queued"
    opened = fake_github.issues_in(REPO)
    assert opened and title in opened[0].title
    assert opened[0].title.startswith(f"{source}: ")
    assert "<!-- deckhand:alert:" in (opened[0].body or "")
    assert "production-error" in opened[0].labels
    assert [a.login for a in opened[0].assignees] == ["alice"]
    if source == "alertmanager":  # a group of two alerts: two fingerprints, two issues
        assert len(opened) == 2


async def test_grafana_timestamped_signature_and_replay(alerts: AlertClient) -> None:
    body = json.dumps(fixture("grafana_firing")).encode()
    fresh = signed("grafana", body, timestamp=str(int(time.time())))
    status, answer = await alerts.send("grafana", None, body=body, sign=False, headers=fresh)
    assert status == 202 and answer["status"] == "queued"
    old = signed("grafana", body, timestamp=str(int(time.time()) - 600))
    status, answer = await alerts.send("grafana", None, body=body, sign=False, headers=old)
    assert status == 401 and "more than 5 minutes away" in answer["error"]


async def test_grafana_headers_as_its_contact_point_names_them(
    start_deckhand: Any, fake_github: FakeGitHub, app_keys: Any, repo: Any
) -> None:
    client = await started(
        start_deckhand,
        fake_github,
        app_keys,
        grafana_signature_header="X-Sig",
        grafana_timestamp_header="X-Sig-Time",
    )
    body = json.dumps(fixture("grafana_firing")).encode()
    stamp = str(int(time.time()))
    default = signed("grafana", body, timestamp=stamp)  # the default header names
    named = {
        "X-Sig": default["X-Grafana-Alerting-Signature"],
        "X-Sig-Time": default["X-Grafana-Alerting-Signature-Timestamp"],
    }
    status, answer = await client.send("grafana", None, body=body, sign=False, headers=default)
    assert status == 401 and answer["error"] == "missing X-Sig-Time header"
    status, answer = await client.send("grafana", None, body=body, sign=False, headers=named)
    assert status == 202 and answer["status"] == "queued", answer
    unstamped = {"X-Sig": signed("grafana", body)["X-Grafana-Alerting-Signature"]}
    status, answer = await client.send("grafana", None, body=body, sign=False, headers=unstamped)
    assert status == 401 and answer["error"] == "missing X-Sig-Time header"


# -------------------------------------------------------------- refused requests
@pytest.mark.parametrize(
    ("case", "status", "reason"),
    [
        ("bad_signature", 401, "does not match"),
        ("unsigned", 401, "missing X-Deckhand-Signature"),
        ("unknown_repo", 404, "not installed on octo-org/other"),
        ("malformed", 400, "fingerprint"),
        ("not_json", 400, "not JSON"),
        ("no_repo", 400, "?repo=OWNER/NAME"),
        ("too_large", 413, "larger than"),
        ("unknown_source", 404, "unknown alert source"),
        ("wrong_token", 401, "bearer token"),
    ],
)
async def test_refused_requests_store_nothing(
    alerts: AlertClient, fake_github: FakeGitHub, case: str, status: int, reason: str
) -> None:
    source, payload = "generic", generic()
    kw: dict[str, Any] = {}
    if case == "bad_signature":
        kw = {"headers": {"X-Deckhand-Signature": "sha256=" + "0" * 64}}
    elif case == "unsigned":
        kw = {"sign": False}
    elif case == "unknown_repo":
        kw = {"repo": "octo-org/other"}
    elif case == "malformed":
        payload = {"title": "no fingerprint"}
    elif case == "not_json":
        kw = {"body": b"{not json"}
    elif case == "no_repo":
        kw = {"repo": "nonsense"}
    elif case == "too_large":
        payload = generic(message="x" * (25 * 1024 * 1024 + 10))
    elif case == "unknown_source":
        source = "pagerduty"
    elif case == "wrong_token":
        source, payload = "alertmanager", fixture("alertmanager_firing")
        kw = {"sign": False, "headers": {"Authorization": "Bearer nope"}}
    got, answer = await alerts.send(source, payload, **kw)
    assert got == status and reason in answer["error"], answer
    assert "Traceback" not in json.dumps(answer)
    assert await alerts.bot.store.list() == []
    assert fake_github.issues_in(REPO) == []


async def test_a_source_without_its_secret_is_refused(
    start_deckhand: Any, fake_github: FakeGitHub, app_keys: Any
) -> None:
    bot = await start_deckhand(github_api_url=fake_github.url)
    client = AlertClient(bot)
    status, answer = await client.send("sentry", fixture("sentry_error"))
    assert status == 401 and "SENTRY_CLIENT_SECRET is not set" in answer["error"]


# ----------------------------------------------- dedup, recurrence, duplicates
async def test_recurrence_edits_one_occurrence_comment(
    alerts: AlertClient, fake_github: FakeGitHub
) -> None:
    for n in range(3):
        await alerts.deliver("generic", generic(), headers={"X-Deckhand-Delivery": f"d{n}"})
    [issue] = fake_github.issues_in(REPO)

    def counted(times: int) -> bool:
        comments = bot_replies(fake_github, issue.number)
        return len(comments) == 1 and f"Fired {times} times" in comments[0]

    await eventually(lambda: counted(3))
    await alerts.deliver("generic", generic(), headers={"X-Deckhand-Delivery": "d3"})
    await eventually(lambda: counted(4))
    assert len(fake_github.issues_in(REPO)) == 1
    [row] = await AlertStore(alerts.db).rows(REPO)
    assert (row.count, row.shown_count, row.issue_number) == (4, 4, issue.number)


async def test_a_duplicate_delivery_is_counted_once(
    alerts: AlertClient, fake_github: FakeGitHub
) -> None:
    payload = fixture("sentry_error")
    headers = {"Sentry-Hook-Resource": "error", "Request-ID": str(uuid.uuid4())}
    first = await alerts.deliver("sentry", payload, headers=headers)
    second = await alerts.deliver("sentry", payload, headers=headers)
    assert (first["status"], second["status"]) == ("queued", "duplicate")
    [row] = await AlertStore(alerts.db).rows(REPO)
    assert row.count == 1 and len(fake_github.issues_in(REPO)) == 1


async def test_a_large_alert_under_the_limit_is_taken(
    alerts: AlertClient, fake_github: FakeGitHub
) -> None:
    answer = await alerts.deliver("generic", generic(message="x" * (2 * 1024 * 1024)))
    assert answer["status"] == "queued"
    [issue] = fake_github.issues_in(REPO)
    body = issue.body or ""
    assert "x" * 4000 in body and "x" * 4001 not in body  # the message is clipped in the issue


async def test_sentry_error_and_issue_webhooks_share_the_issue(
    alerts: AlertClient, fake_github: FakeGitHub
) -> None:
    await alerts.deliver(
        "sentry", fixture("sentry_error"), headers={"Sentry-Hook-Resource": "error"}
    )
    await alerts.deliver(
        "sentry", fixture("sentry_issue_created"), headers={"Sentry-Hook-Resource": "issue"}
    )
    assert len(fake_github.issues_in(REPO)) == 1


# ------------------------------------------------------------ resolve and reopen
@pytest.mark.parametrize("auto_close", [False, True])
async def test_resolved_labels_and_auto_close(
    alerts: AlertClient, fake_github: FakeGitHub, auto_close: bool
) -> None:
    await alerts.deliver("alertmanager", fixture("alertmanager_firing"))
    await alerts.deliver("alertmanager", fixture("alertmanager_resolved"))
    opened = fake_github.issues_in(REPO)
    assert len(opened) == 2
    for issue in opened:
        assert "resolved" in issue.labels
        assert issue.state == ("closed" if auto_close else "open")


async def test_sentry_issue_resolved_then_unresolved(
    alerts: AlertClient, fake_github: FakeGitHub
) -> None:
    headers = {"Sentry-Hook-Resource": "issue"}
    await alerts.deliver("sentry", fixture("sentry_issue_created"), headers=headers)
    await alerts.deliver("sentry", fixture("sentry_issue_resolved"), headers=headers)
    [issue] = fake_github.issues_in(REPO)
    assert "resolved" in issue.labels and issue.state == "open"
    await alerts.deliver("sentry", fixture("sentry_issue_unresolved"), headers=headers)
    await eventually(lambda: "resolved" not in issue.labels)  # firing again, at the flush
    assert len(fake_github.issues_in(REPO)) == 1


async def test_grafana_resolved(alerts: AlertClient, fake_github: FakeGitHub) -> None:
    await alerts.deliver("grafana", fixture("grafana_firing"))
    await alerts.deliver("grafana", fixture("grafana_resolved"))
    [issue] = fake_github.issues_in(REPO)
    assert "resolved" in issue.labels


async def test_closed_issue_reopens_within_the_window_and_is_replaced_after(
    alerts: AlertClient, fake_github: FakeGitHub
) -> None:
    await alerts.deliver("generic", generic(), headers={"X-Deckhand-Delivery": "a"})
    [issue] = fake_github.issues_in(REPO)
    # The issue is closed "a day ago" only after every occurrence so far was flushed:
    # an occurrence is a recurrence only when it is newer than the close.
    await eventually(lambda: quiet(alerts.db))
    issue.state, issue.closed_at = "closed", time.time() - 86400
    await alerts.deliver("generic", generic(), headers={"X-Deckhand-Delivery": "b"})
    await eventually(lambda: issue.state == "open")
    assert len(fake_github.issues_in(REPO)) == 1

    await eventually(lambda: quiet(alerts.db))
    issue.state, issue.closed_at = "closed", time.time() - 8 * 86400  # beyond 7d
    await alerts.deliver("generic", generic(), headers={"X-Deckhand-Delivery": "c"})
    await eventually(lambda: len(fake_github.issues_in(REPO)) == 2)
    await eventually(lambda: quiet(alerts.db))
    old, new = fake_github.issues_in(REPO)
    assert old.state == "closed" and new.state == "open"
    assert f"| Previously | #{old.number} |" in (new.body or "")
    await alerts.deliver("generic", generic(), headers={"X-Deckhand-Delivery": "d"})
    await eventually(
        lambda: any("Fired 2 times" in c for c in bot_replies(fake_github, new.number))
    )
    assert len(fake_github.issues_in(REPO)) == 2


async def test_a_replacement_issue_names_the_deployment_before_its_recurrence(
    alerts: AlertClient, fake_github: FakeGitHub, git_server: GitServer, repo: Any
) -> None:
    _, first_suspect = await seed_deployments(alerts, fake_github, git_server, repo)
    await alerts.deliver("generic", generic(), headers={"X-Deckhand-Delivery": "a"})
    [old] = fake_github.issues_in(REPO)
    assert f"Deployment **{first_suspect.id}**" in (old.body or "")
    await eventually(lambda: quiet(alerts.db))
    old.state, old.closed_at = "closed", time.time() - 8 * 86400
    # deployed after the first sighting, before it fires again
    seeded = fake_github.add_deployment(REPO, repo["head"], ref="main", environment="production")
    later = dataclasses.replace(first_suspect, id=seeded.id, created_at=time.time())
    await DeployStore(alerts.db).record(later, None)
    await alerts.deliver("generic", generic(), headers={"X-Deckhand-Delivery": "b"})
    await eventually(lambda: len(fake_github.issues_in(REPO)) == 2)
    new = fake_github.issues_in(REPO)[1]
    assert f"Deployment **{later.id}**" in (new.body or "")


async def test_firing_again_removes_the_resolved_label(
    alerts: AlertClient, fake_github: FakeGitHub
) -> None:
    await alerts.deliver("generic", generic(), headers={"X-Deckhand-Delivery": "a"})
    await alerts.deliver(
        "generic", generic(status="resolved"), headers={"X-Deckhand-Delivery": "b"}
    )
    [issue] = fake_github.issues_in(REPO)
    assert "resolved" in issue.labels
    await alerts.deliver("generic", generic(), headers={"X-Deckhand-Delivery": "c"})
    await eventually(lambda: "resolved" not in issue.labels)
    assert issue.state == "open"


# ------------------------------------------------ suspect deployment and rollback
class _HasDb(Protocol):
    @property
    def db(self) -> Any: ...


async def seed_deployments(
    alerts: _HasDb, fake_github: FakeGitHub, git_server: GitServer, repo: Any
) -> list[Any]:
    store = DeployStore(alerts.db)
    git_server.commit(REPO, "faster", {"app/pricing.py": "x = 3\n"}, message="Faster")
    number = fake_github.open_pull_request(REPO, head="faster", base="main", user="bob")
    records = []
    for sha, status, age, pull in (
        (repo["base"], "inactive", 3600, None),
        (repo["head"], "success", 600, number),
    ):
        seeded = fake_github.add_deployment(REPO, sha, ref="main", environment="production")
        record = DeploymentRecord(
            id=seeded.id,
            repository=REPO,
            environment="production",
            sha=sha,
            ref="main",
            actor="maintainer",
            components=(),
            rollback_of=None,
            forced=False,
            status=status,
            pull_number=pull,
            reason=None,
            created_at=time.time() - age,
        )
        await store.record(record, None)
        records.append(record)
    return records


async def test_suspect_deployment_permalinks_and_rollback_from_the_issue(
    alerts: AlertClient, fake_github: FakeGitHub, git_server: GitServer, repo: Any
) -> None:
    good, suspect = await seed_deployments(alerts, fake_github, git_server, repo)
    payload = copy.deepcopy(fixture("sentry_error"))
    payload["data"]["error"]["datetime"] = time.time()
    await alerts.deliver("sentry", payload, headers={"Sentry-Hook-Resource": "error"})
    [issue] = fake_github.issues_in(REPO)
    body = issue.body or ""
    assert f"Deployment **{suspect.id}** of `{repo['head'][:7]}` from #1 by @bob" in body
    assert f"/rollback production {good.id}" in body
    link = f"https://github.com/{REPO}/blob/{repo['head']}/app/pricing.py#L7"
    assert link in body
    assert "blob/" not in body.split("flask/app.py")[0].rsplit("\n", 1)[-1]  # library frame

    before = {d.id for d in fake_github.deployments.values()}
    comment = fake_github.add_issue_comment(
        REPO, issue.number, f"/rollback production {good.id}", user="maintainer"
    )
    payload = fake_github.payloads.issue_comment_payload(comment.id, INSTALLATION)
    _, _, delivery_id = await alerts.bot.post("issue_comment", payload)
    job = (await alerts.bot.wait_finished([delivery_id]))[delivery_id]
    assert job.status == "done", job.last_error
    [rollback] = [d for d in fake_github.deployments.values() if d.id not in before]
    assert rollback.sha == repo["base"]
    assert any("Rolling **production** back" in c for c in bot_replies(fake_github, issue.number))


async def test_frames_link_to_the_files_at_the_deployed_commit(
    alerts: AlertClient, fake_github: FakeGitHub, git_server: GitServer, repo: Any
) -> None:
    _, suspect = await seed_deployments(alerts, fake_github, git_server, repo)
    stack = [
        {"path": "/srv/releases/42/app/pricing.py", "line": 2, "function": "unit_price"},
        {"path": "app/removed.py", "line": 5, "function": "gone"},
    ]
    await alerts.deliver("generic", generic(stacktrace=stack))
    [issue] = fake_github.issues_in(REPO)
    body = issue.body or ""
    assert (
        f"[`/srv/releases/42/app/pricing.py:2`](https://github.com/{REPO}/blob/{suspect.sha}/app/pricing.py#L2)"
        in body
    )
    assert "- `app/removed.py:5` in `gone`" in body  # no such file there: no broken link
    [tree] = fake_github.requests_for("git/get-tree")
    assert tree.path_params["tree_sha"] == suspect.sha


async def test_an_alert_without_frames_reads_no_tree(
    alerts: AlertClient, fake_github: FakeGitHub, git_server: GitServer, repo: Any
) -> None:
    _, suspect = await seed_deployments(alerts, fake_github, git_server, repo)
    await alerts.deliver("generic", generic(stacktrace=[]))
    [issue] = fake_github.issues_in(REPO)
    assert f"Deployment **{suspect.id}**" in (issue.body or "")
    assert fake_github.requests_for("git/get-tree") == []


async def test_a_deployment_another_tool_made_is_the_suspect(
    alerts: AlertClient, fake_github: FakeGitHub, git_server: GitServer, repo: Any
) -> None:
    _, ours = await seed_deployments(alerts, fake_github, git_server, repo)
    # The repository's CI deploys through GitHub's Deployments API on its own: once with
    # success (pull request #1's commit), then a failed one, which never ran, and two that
    # had not started.
    faster = git_server.head(REPO, "faster")
    ci = fake_github.add_deployment(REPO, faster, ref="faster", creator="ci-deployer")
    fake_github.report_deployment(REPO, ci.id, "success")
    failed = fake_github.add_deployment(REPO, repo["base"], ref="main", creator="ci-deployer")
    fake_github.report_deployment(REPO, failed.id, "failure")
    waiting = fake_github.add_deployment(REPO, repo["base"], ref="main", creator="ci-deployer")
    fake_github.report_deployment(REPO, waiting.id, "queued")  # had not started
    fake_github.add_deployment(REPO, repo["base"], ref="main", creator="ci-deployer")  # no status
    payload = copy.deepcopy(fixture("sentry_error"))
    payload["data"]["error"]["datetime"] = time.time() + 1
    await alerts.deliver("sentry", payload, headers={"Sentry-Hook-Resource": "error"})
    [issue] = fake_github.issues_in(REPO)
    body = issue.body or ""
    assert f"Deployment **{ci.id}** of `{faster[:7]}` from #1 by @bob to `production`" in body
    assert "deployed by @ci-deployer" in body and "(success)" in body
    assert f"/rollback production {ours.id}" in body  # what Deckhand can redeploy
    assert f"https://github.com/{REPO}/blob/{faster}/app/pricing.py#L7" in body


async def test_no_deployment_before_the_alert(alerts: AlertClient, fake_github: FakeGitHub) -> None:
    await alerts.deliver("generic", generic(started_at=time.time() - 86400 * 30))
    [issue] = fake_github.issues_in(REPO)
    assert "No deployment to `production` before this alert started." in (issue.body or "")


# ------------------------------------------------------------------------- storm
async def test_a_storm_makes_one_issue_per_fingerprint_and_counts_add_up(
    alerts: AlertClient, fake_github: FakeGitHub
) -> None:
    total, fingerprints = 2000, 20
    semaphore = asyncio.Semaphore(64)
    deliveries: list[str] = []

    async def one(n: int) -> None:
        async with semaphore:
            payload = generic(
                fingerprint=f"storm-{n % fingerprints}", title=f"Storm {n % fingerprints}"
            )
            status, answer = await alerts.send(
                "generic", payload, headers={"X-Deckhand-Delivery": f"storm-{n}"}
            )
            assert status == 202 and answer["status"] == "queued", answer
            deliveries.append(answer["delivery"])

    await asyncio.gather(*(one(n) for n in range(total)))
    assert len(set(deliveries)) == total
    await eventually(lambda: unfinished_alert_jobs(alerts.db), within=120)
    counts = await alerts.bot.store.counts()
    assert counts["dead"] == 0
    opened = fake_github.issues_in(REPO)
    assert len(opened) == fingerprints
    rows = await AlertStore(alerts.db).rows(REPO)
    assert sum(r.count for r in rows) == total
    assert {r.count for r in rows} == {total // fingerprints}

    def all_shown() -> bool:
        return all(
            any(
                f"Fired {total // fingerprints} times" in c
                for c in bot_replies(fake_github, i.number)
            )
            for i in opened
        )

    await eventually(all_shown, within=30)
    for issue in opened:
        assert len(bot_replies(fake_github, issue.number)) == 1  # edited, never repeated


async def test_github_errors_while_creating_never_duplicate(
    alerts: AlertClient, fake_github: FakeGitHub
) -> None:
    fake_github.fail_next("POST", "/repos/{owner}/{repo}/issues", 502, times=1)
    await alerts.deliver("generic", generic(), headers={"X-Deckhand-Delivery": "x"})
    await alerts.deliver("generic", generic(), headers={"X-Deckhand-Delivery": "y"})
    assert len(fake_github.issues_in(REPO)) == 1


async def test_an_issue_created_whose_answer_was_lost_is_not_created_again(
    alerts: AlertClient, fake_github: FakeGitHub
) -> None:
    fake_github.lose_answer_next("POST", "/repos/{owner}/{repo}/issues", 502)
    await alerts.deliver("generic", generic(), headers={"X-Deckhand-Delivery": "x"})
    await alerts.deliver("generic", generic(), headers={"X-Deckhand-Delivery": "y"})
    assert len(fake_github.requests_for("issues/create")) == 1  # the retry found it
    [issue] = fake_github.issues_in(REPO)
    [row] = await AlertStore(alerts.db).rows(REPO)
    assert row.issue_number == issue.number


async def test_a_resolve_before_the_issue_could_be_opened_is_kept(
    alerts: AlertClient, fake_github: FakeGitHub
) -> None:
    fake_github.fail_next("POST", "/repos/{owner}/{repo}/issues", 502, times=1)
    status, answer = await alerts.send("generic", generic(), headers={"X-Deckhand-Delivery": "x"})
    assert status == 202
    await eventually(lambda: fake_github.requests_for("issues/create"))  # failed: a retry waits
    resolved = generic(status="resolved")
    await alerts.deliver("generic", resolved, headers={"X-Deckhand-Delivery": "y"})
    await alerts.bot.wait_finished([answer["delivery"]])
    [issue] = fake_github.issues_in(REPO)  # opened by the retry, and at once resolved
    assert "resolved" in issue.labels


async def test_a_lost_claim_finds_the_issue_by_its_marker(
    alerts: AlertClient, fake_github: FakeGitHub
) -> None:
    await alerts.deliver("generic", generic(), headers={"X-Deckhand-Delivery": "x"})
    store = AlertStore(alerts.db)
    [row] = await store.rows(REPO)
    # As if the job died after GitHub created the issue, before the row said so.
    await store.update(REPO, row.key, state="creating", issue_number=None, claimed_until=0.0)
    await alerts.deliver("generic", generic(), headers={"X-Deckhand-Delivery": "y"})
    assert len(fake_github.issues_in(REPO)) == 1
    [row] = await store.rows(REPO)
    assert row.issue_number == fake_github.issues_in(REPO)[0].number


# ----------------------------------------------------------------------- triage
async def test_ai_triage_comments_and_never_blocks(
    start_deckhand: Any, fake_github: FakeGitHub, git_server: GitServer, app_keys: Any, repo: Any
) -> None:
    checkout = "".join(f"# line {n}\n" for n in range(1, 12)) + "    return cart['items']\n"
    git_server.commit(REPO, "main", {"app/checkout.py": checkout}, message="Checkout")
    async with FakeOpenAI() as ai:
        client = await started(
            start_deckhand, fake_github, app_keys, openai_api_key=ai.api_key, openai_base_url=ai.url
        )
        ai.reply(json.dumps({"cause": "unit_price divides by a zero count.", "confidence": "high"}))
        await client.deliver("generic", generic("one"))
        [first] = fake_github.issues_in(REPO)
        found = await eventually(lambda: bot_replies(fake_github, first.number))
        assert "AI triage" in found[0] and "divides by a zero count" in found[0]
        assert "app/checkout.py:12" in ai.requests[-1].text
        # the code at the frame, read at the default branch (no deployment yet)
        asked = ai.requests[-1].json["messages"][1]["content"]
        assert "===== app/checkout.py, lines 1-12, at the default branch =====" in asked
        assert ">    12 |     return cart['items']" in asked and "     11 | # line 11" in asked

        ai.status(500)
        await client.deliver("generic", generic("two"))
        second = fake_github.issues_in(REPO)[1]
        await eventually(lambda: len(ai.requests) >= 3)
        await asyncio.sleep(0.3)
        assert bot_replies(fake_github, second.number) == []


async def test_ai_triage_reads_the_code_at_the_suspect_deployment(
    start_deckhand: Any, fake_github: FakeGitHub, git_server: GitServer, app_keys: Any, repo: Any
) -> None:
    async with FakeOpenAI() as ai:
        client = await started(
            start_deckhand, fake_github, app_keys, openai_api_key=ai.api_key, openai_base_url=ai.url
        )
        _, suspect = await seed_deployments(client, fake_github, git_server, repo)
        # main moved on since the deployment: the triage must show what runs
        git_server.commit(REPO, "main", {"app/pricing.py": "x = 99\n"}, message="Later")
        ai.reply(json.dumps({"cause": "x is 2.", "confidence": "low"}))
        frame = {"path": "app/pricing.py", "line": 1, "function": "unit_price"}
        await client.deliver("generic", generic("priced", stacktrace=[frame]))
        [issue] = fake_github.issues_in(REPO)
        await eventually(lambda: bot_replies(fake_github, issue.number))
        asked = ai.requests[-1].json["messages"][1]["content"]
        assert f"===== app/pricing.py, lines 1-1, at commit {suspect.sha[:7]} =====" in asked
        assert ">     1 | x = 2" in asked and "x = 99" not in asked
        # the triage job is told the issue's commit: the suspect is not looked for again
        assert len(fake_github.requests_for("repos/list-deployments")) == 1
