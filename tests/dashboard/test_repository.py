"""The repository page and a deployment's page, through the real service over HTTP:
history with links, success rate and time to recover, the latency chart of the kept
probes, open alert issues, recent reviews with their outcomes, and the same 404 for
what the person may not see."""

from __future__ import annotations

import re
import time
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import aiohttp
from sqlalchemy import insert, update

from app.deploy.health import RECENT, HealthTally, ProbeResult
from app.deploy.store import DeployStore
from app.review.store import ReviewStore, RunOutcome
from app.review.target import ReviewTarget
from app.store.schema import alerts, deployments
from app.web.keys import SERVICE
from tests.dashboard.conftest import SECRET, WIDGETS, add_dead_letter, deployment, get, sign_in


async def _deploy(db: Any, record: Any, finished: float) -> None:
    store = DeployStore(db)
    await store.record(record, None)
    await db.transaction(
        lambda conn: conn.execute(
            update(deployments).where(deployments.c.id == record.id).values(updated_at=finished)
        )
    )


async def _history(db: Any, now: float) -> None:
    await _deploy(
        db, replace(deployment(1, "success", created_at=now - 900), pull_number=7), now - 880
    )
    await _deploy(db, deployment(2, "failure", created_at=now - 800), now - 790)  # bad at -790
    await _deploy(db, deployment(3, "success", created_at=now - 700), now - 670)  # +120 s
    bad = replace(deployment(4, "success", created_at=now - 600), actor="bob")
    await _deploy(db, bad, now - 590)
    rollback = replace(
        deployment(5, "success", created_at=now - 500), rollback_of=4, actor="deckhand"
    )
    await _deploy(db, rollback, now - 440)  # bad at -500, back at -440: +60 s
    await _deploy(db, deployment(6, "success", "staging", created_at=now - 100), now - 95)
    other = replace(deployment(9, "success", created_at=now - 50), repository=SECRET)
    await _deploy(db, other, now - 40)


async def _watch(
    db: Any, deployment_id: int, latencies: list[float], *, start: float = 0.0, keep: bool = True
) -> None:
    """A finished watch of the deployment with these probes (30 s apart from `start`,
    5 minutes ago by default; 1 s or slower fails), each kept as the probe job keeps it
    unless `keep` is false (a watch from before probes were kept one by one)."""
    store = DeployStore(db)
    record = await store.get(deployment_id)
    assert record is not None
    tally = HealthTally()
    start = start or time.time() - 300
    for index, latency in enumerate(latencies):
        ok = latency < 1.0
        result = ProbeResult(ok, 200 if ok else 503, latency, "HTTP 200" if ok else "HTTP 503")
        at = start + 30 * index
        tally = tally.record(result, at=datetime.fromtimestamp(at, UTC))
        if keep:
            await store.record_probe(
                deployment_id, record.repository, record.environment, index + 1, result, at
            )
    await store.start_watch(record, 1001, {"url": "https://x"}, {}, time.time() + 60)
    state = {"probe": len(latencies), "tally": tally.to_dict()}
    await store.save_watch(deployment_id, state, "healthy")


async def _alert(db: Any, key: str, state: str, issue: int | None, count: int) -> None:
    now = time.time()
    row = {
        "repository": WIDGETS, "key": key, "source": "sentry", "fingerprint": key,
        "title": f"<{key}> exploded", "environment": "production", "state": state,
        "issue_number": issue, "count": count, "base_count": 2, "shown_count": count,
        "resolved": 0, "first_seen": now - 60, "last_seen": now, "latest": "{}",
        "updated_at": now,
    }  # fmt: skip
    await db.transaction(lambda conn: conn.execute(insert(alerts), [row]))


async def test_the_repository_page(dashboard: Any, browser: aiohttp.ClientSession) -> None:
    db = dashboard.app[SERVICE].db
    now = time.time()
    await _history(db, now)
    await _watch(db, 1, [0.3, 0.4], start=now - 8 * 86400)  # older than the chart's 7 days
    await _watch(db, 3, [0.12, 0.25, 1.5], start=now - 2 * 86400)
    await _watch(db, 5, [0.2])  # the chart goes across deployments
    await _alert(db, "boom", "open", 42, 9)
    await _alert(db, "fixed", "closed", 41, 3)
    reviews = ReviewStore(db)
    target = ReviewTarget(WIDGETS, "", "main", "a" * 40, "feature", "", None, pull_number=7)
    await reviews.remember_check_run(555, "delivery-1", target)
    fixed = RunOutcome("failure", errors=2, warnings=1, fix_sha="f" * 40, fixes=3)
    await reviews.record_run(555, target, fixed)
    branch = replace(target, head_sha="b" * 40, head_branch="topic", pull_number=None)
    await reviews.remember_check_run(556, "delivery-2", branch)  # still running
    await sign_in(browser, dashboard.url)

    status, page, _ = await get(browser, f"{dashboard.url}/dashboard/octo-org/widgets")
    assert status == 200 and f"<h1>{WIDGETS}</h1>" in page
    rows = re.findall(r'data-testid="deployment-row" data-deployment="(\d+)"', page)
    assert rows == ["5", "4", "3", "2", "1", "6"]  # production newest first, then staging
    production = page.split('data-environment="production"', 1)[1].split("</section>", 1)[0]
    assert "Success rate<b>80%</b>" in production  # 4 of 5 (the rollback counts as success)
    assert "Time to recover<b>1 min 30 s</b>" in production  # mean of 120 s and 60 s
    web = dashboard.app[SERVICE].settings.github_web_url.rstrip("/")
    sha = deployment(1, "success").sha
    assert f'href="{web}/{WIDGETS}/commit/{sha}"><code>{sha[:7]}</code>' in page
    assert f'href="{web}/{WIDGETS}/pull/7">#7</a>' in page
    assert f'href="/dashboard/{WIDGETS}/deployments/4">#4</a>' in page
    assert "rolled back by" in page and "rollback of" in page and ">bob<" in page
    assert '<td class="num">20 s</td>' in page  # deployment 1 took 20 s
    points = re.findall(r'<circle class="(ok|bad)" cx="[\d.]+" cy="[\d.]+"', production)
    assert points == ["ok", "ok", "bad", "ok"]
    assert "No health probes recorded." in page  # staging has none
    assert f'href="{web}/{WIDGETS}/issues/42">#42</a>' in page and "&lt;boom&gt;" in page
    assert "#41" not in page  # closed
    assert '<td class="num">7 <span class="muted">(9 in all)</span>' in page
    done, running = re.findall(r'<tr data-testid="review".*?</tr>', page, re.S)[::-1]
    assert 'data-check-run="555"' in done and f'href="{web}/{WIDGETS}/runs/555"' in done
    assert f'href="{web}/{WIDGETS}/pull/7">#7</a>' in done
    assert f'href="{web}/{WIDGETS}/commit/{"a" * 40}"><code>aaaaaaa</code>' in done
    assert 'class="failure" data-testid="review-conclusion">failure<' in done
    assert 'data-testid="review-findings">2 errors, 1 warning<' in done
    assert f'href="{web}/{WIDGETS}/commit/{"f" * 40}"><code>fffffff</code></a> (3 fixes)' in done
    assert "<td>topic</td>" in running and "not completed" in running
    assert '"review-fixes">—<' in running
    assert SECRET not in page and "deployments/9" not in page


async def test_a_deployment_page(dashboard: Any, browser: aiohttp.ClientSession) -> None:
    db = dashboard.app[SERVICE].db
    await _history(db, time.time())
    await _watch(db, 3, [0.1, 0.3])
    await _watch(db, 1, [0.2, 0.5, 0.6], keep=False)  # only its tally's samples
    await sign_in(browser, dashboard.url)
    status, page, _ = await get(browser, f"{dashboard.url}/dashboard/{WIDGETS}/deployments/3")
    assert status == 200 and "<h1>Deployment 3</h1>" in page
    assert deployment(3, "success").sha[:7] in page and "production" in page
    assert len(re.findall(r'data-testid="chart-point"', page)) == 2
    assert len(re.findall(r'data-testid="probe"', page)) == 2
    _, page, _ = await get(browser, f"{dashboard.url}/dashboard/{WIDGETS}/deployments/1")
    assert len(re.findall(r'data-testid="chart-point"', page)) == 3
    assert len(re.findall(r'data-testid="probe"', page)) == 3
    _, page, _ = await get(browser, f"{dashboard.url}/dashboard/{WIDGETS}/deployments/4")
    assert f'href="/dashboard/{WIDGETS}/deployments/5">deployment 5</a>' in page


async def test_deployment_pages_are_404_without_access(
    dashboard: Any, browser: aiohttp.ClientSession
) -> None:
    db = dashboard.app[SERVICE].db
    await _history(db, time.time())
    await sign_in(browser, dashboard.url)
    not_found = [
        f"/dashboard/{SECRET}/deployments/9",  # exists, in a repository alice cannot see
        f"/dashboard/{WIDGETS}/deployments/9",  # exists, but in another repository
        f"/dashboard/{WIDGETS}/deployments/999",  # does not exist
        f"/dashboard/{WIDGETS}/deployments/abc",
        f"/dashboard/{SECRET}",
        "/dashboard/nobody/nothing",
    ]
    pages = set()
    for path in not_found:
        status, page, _ = await get(browser, f"{dashboard.url}{path}")
        assert status == 404, path
        pages.add(page)
    assert len(pages) == 1
    async with aiohttp.ClientSession() as stranger:
        status, _, location = await get(
            stranger, f"{dashboard.url}/dashboard/{WIDGETS}/deployments/3"
        )
    assert (status, location) == (302, "/login")


async def test_navigation_and_stable_headings(
    dashboard: Any, browser: aiohttp.ClientSession
) -> None:
    await sign_in(browser, dashboard.url)
    _, page, _ = await get(browser, f"{dashboard.url}/dashboard")
    assert "<h1>Your repositories</h1>" in page
    assert f'<a href="/dashboard/{WIDGETS}" data-testid="repo-link">{WIDGETS}</a>' in page
    assert 'href="/dashboard/queue" data-testid="nav-queue"' in page
    _, page, _ = await get(browser, f"{dashboard.url}/dashboard/{WIDGETS}")
    assert '<a href="/dashboard">Repositories</a>' in page and "No deployments yet." in page


async def test_the_repository_list_gives_a_glance(
    dashboard: Any, browser: aiohttp.ClientSession
) -> None:
    db = dashboard.app[SERVICE].db
    await _history(db, time.time())
    await _alert(db, "boom", "open", 42, 9)
    await _alert(db, "fixed", "closed", 41, 3)
    await add_dead_letter(db, "dead-1", WIDGETS)
    await add_dead_letter(db, "dead-2", SECRET)  # not alice's
    await sign_in(browser, dashboard.url)
    _, page, _ = await get(browser, f"{dashboard.url}/dashboard")
    assert 'production: <span class="success">success</span>' in page  # deployment 5
    assert 'staging: <span class="success">success</span>' in page
    assert ">1 open alert</a>" in page and ">1 dead letter</a>" in page


async def test_a_deployment_page_lists_every_kept_probe(
    dashboard: Any, browser: aiohttp.ClientSession
) -> None:
    """More probes than the watch's tally keeps, one of them without an answer."""
    db = dashboard.app[SERVICE].db
    await _history(db, time.time())
    await _watch(db, 3, [0.1] * (RECENT + 2))
    timed_out = ProbeResult(False, None, 5.0, "timed out after 5.0 s")
    at = time.time() + 60  # after the others
    await DeployStore(db).record_probe(3, WIDGETS, "production", RECENT + 3, timed_out, at)
    await sign_in(browser, dashboard.url)
    _, page, _ = await get(browser, f"{dashboard.url}/dashboard/{WIDGETS}/deployments/3")
    probes = re.findall(r'<tr data-testid="probe">.*?</tr>', page, re.S)
    assert len(probes) == RECENT + 3
    assert '<td class="failure">failed</td>' in probes[-1] and "timed out after 5.0 s" in probes[-1]
    assert '<td class="num">—</td>' in probes[-1]
    points = re.findall(r'<circle class="(ok|bad)"', page)
    assert points == ["ok"] * (RECENT + 2) + ["bad"]
