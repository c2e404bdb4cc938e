"""Fixtures for the browser tests: Debian's Chromium under Playwright, a Deckhand on a
known loopback port, and screenshots saved as test artifacts under ``artifacts/browser/``.

The browser is ``/usr/bin/chromium`` (Debian's ``chromium`` package, which ``.ci/run``
installs), never one Playwright downloads. Without it the tests are skipped, unless
``DECKHAND_REQUIRE_BROWSER=1`` (as in CI), which makes a missing browser a failure. Pages
stay on loopback: a request anywhere else gets a stub page (github.com's App installation
page, where the manifest flow ends) or is aborted.

One browser serves all of them (a fresh context, so no cookies, per test); after the
last it is closed and checked gone. Playwright's objects belong to the event loop that
made them, so every test here, and every async fixture it uses (including this
directory's own `fake_github` and Deckhand server), runs on pytest-asyncio's session
loop. Nothing here sleeps: waits are on URLs and elements.
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Generator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import pytest_asyncio
from aiohttp import web
from aiohttp.test_utils import TestServer, unused_port
from playwright.async_api import (
    Browser,
    BrowserContext,
    Page,
    Request,
    Response,
    Route,
    async_playwright,
    expect,
)
from pytest_asyncio import is_async_test

from app.service import Service
from app.web import create_app
from app.web.keys import SERVICE
from tests.fakes.github import FakeGitHub
from tests.fakes.keys import AppKeys
from tests.support.deckhand import make_settings
from tests.support.waiting import eventually

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
REQUIRE_BROWSER = "DECKHAND_REQUIRE_BROWSER"
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "browser"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
TIMEOUT_MS = 10_000  # for every action, navigation and `expect` (loaded CI machines)

WIDGETS = "octo-org/widgets"  # alice administers it
TOOLS = "other-org/tools"  # another installation; alice may read it
SECRET = "octo-org/secret"  # WIDGETS' installation, alice may not see it
PRIVATE = "other-org/private"  # TOOLS' installation, alice may not see it
HIDDEN = "third-org/hidden"  # an installation with nothing for alice
PERMITTED = sorted([WIDGETS, TOOLS])
FORBIDDEN = [SECRET, PRIVATE, HIDDEN]


expect.set_options(timeout=TIMEOUT_MS)


def _browser_missing(reason: str) -> None:
    if os.environ.get(REQUIRE_BROWSER) == "1":
        pytest.fail(f"{reason}, and {REQUIRE_BROWSER}=1 requires the browser tests", pytrace=False)
    pytest.skip(f"{reason} (apt-get install chromium; .ci/run does)")


@pytest.fixture(scope="session")
def chromium() -> Path:
    """Debian's Chromium, or a skip (a failure in CI). Playwright's Python package is a
    test dependency (pyproject's ``test`` extra): without it these modules fail to import."""
    if not os.access(CHROMIUM, os.X_OK):
        _browser_missing(f"{CHROMIUM} is missing")
    return CHROMIUM


@pytest.fixture(autouse=True)
def _needs_chromium(chromium: Path) -> None:
    """Skip (or fail) before any server starts when the browser is missing."""


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Remember each phase's outcome on the item, so `page` can keep a failure screenshot."""
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


def _processes_with(*needles: str) -> list[int]:
    """Live processes whose command line holds one of `needles` (a zombie's is empty)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes()
            except OSError:  # it ended while we looked
                continue
            if any(needle.encode() in cmdline for needle in needles):
                found.append(int(entry.name))
    return found


def _browser_needles(marker: str) -> list[str]:
    """What marks this browser's processes: the marker on the main one, and the profile
    directory Playwright made for it, which every helper process (renderer, GPU, network
    service, zygote) is started with."""
    needles = [marker]
    for pid in _processes_with(marker):
        try:
            args = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
        except OSError:
            continue
        needles += [arg for arg in args if arg.startswith("--user-data-dir=")]
    return needles


async def _wait_gone(needles: list[str]) -> None:
    """Fail if the browser's processes outlive it (they end within milliseconds)."""
    try:
        await eventually(lambda: not _processes_with(*needles), within=10.0)
    except AssertionError:
        left = _processes_with(*needles)
        raise AssertionError(f"chromium processes left behind: {left}") from None


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run this directory's async tests on the session loop, where the browser lives."""
    here = Path(__file__).parent
    session_loop = pytest.mark.asyncio(loop_scope="session")
    for item in items:
        if item.path.is_relative_to(here) and is_async_test(item):
            item.add_marker(session_loop, append=False)


@pytest_asyncio.fixture(scope="package", loop_scope="session")
async def browser(chromium: Path) -> AsyncIterator[Browser]:
    """One headless Chromium for this directory's tests, closed and checked gone after
    its last one (not kept idle through the rest of the suite)."""
    marker = f"--deckhand-test-browser={uuid.uuid4().hex}"  # finds its processes in /proc
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=str(chromium), args=[*CHROMIUM_FLAGS, marker], timeout=30_000
        )
        needles = _browser_needles(marker)
        try:
            yield launched
        finally:
            await launched.close()
    await _wait_gone(needles)


@pytest.fixture
def offsite() -> list[str]:
    """Every URL the test's pages asked for outside loopback (none reaches the network)."""
    return []


async def _stay_local(offsite: list[str], route: Route) -> None:
    url = urlsplit(route.request.url)
    if url.path == "/favicon.ico":  # not the fake GitHub's API: do not let it record one
        await route.fulfill(status=404, body="")
    elif url.hostname == "127.0.0.1":
        await route.continue_()
    elif url.hostname == "github.com" and re.fullmatch(r"/apps/[^/]+/installations/new", url.path):
        offsite.append(route.request.url)
        await route.fulfill(
            content_type="text/html",
            body="<!doctype html><title>Install</title><h1>Install the App (github.com)</h1>",
        )
    else:
        offsite.append(route.request.url)
        await route.abort("blockedbyclient")


async def new_context(browser: Browser, offsite: list[str], **options: Any) -> BrowserContext:
    """A fresh profile (no cookies) whose requests stay on loopback."""
    context = await browser.new_context(**{"viewport": DESKTOP, **options})
    context.set_default_timeout(TIMEOUT_MS)
    context.set_default_navigation_timeout(TIMEOUT_MS)

    async def route(route: Route) -> None:
        await _stay_local(offsite, route)

    await context.route("**/*", route)
    return context


@pytest_asyncio.fixture(loop_scope="session")
async def context(browser: Browser, offsite: list[str]) -> AsyncIterator[BrowserContext]:
    made = await new_context(browser, offsite)
    yield made
    await made.close()


Shoot = Callable[[Page, str], Awaitable[Path]]


@pytest.fixture
def shoot(request: pytest.FixtureRequest) -> Shoot:
    """``await shoot(page, "step")`` saves artifacts/browser/<test>--<step>.png."""
    name = re.sub(r"[^A-Za-z0-9_.-]+", "-", request.node.name)

    async def save(page: Page, step: str) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{name}--{step}.png"
        await page.screenshot(path=str(path), full_page=True)
        return path

    return save


@pytest_asyncio.fixture(loop_scope="session")
async def page(
    context: BrowserContext, request: pytest.FixtureRequest, shoot: Shoot
) -> AsyncIterator[Page]:
    """The test's tab; if the test fails, its last view is kept as ``--failure.png``."""
    tab = await context.new_page()
    yield tab
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed and not tab.is_closed():
        await shoot(tab, "failure")


@dataclass
class Deckhand:
    """A Deckhand serving on ``url`` (also its PUBLIC_URL), with no embedded workers."""

    url: str
    app: web.Application

    @property
    def service(self) -> Service:
        return self.app[SERVICE]


@pytest_asyncio.fixture(loop_scope="session")
async def fake_github(app_keys: AppKeys) -> AsyncIterator[FakeGitHub]:
    """tests/conftest.py's `fake_github` (failing the test on any request GitHub would
    refuse), started on the session loop."""
    async with FakeGitHub(app_id=app_keys.app_id, public_key_pem=app_keys.public_pem) as gh:
        yield gh
    if problems := gh.problems():
        pytest.fail("fake GitHub saw problems:\n" + "\n".join(problems), pytrace=False)


@pytest_asyncio.fixture(loop_scope="session")
async def serve_deckhand(tmp_path: Path) -> AsyncIterator[Callable[..., Awaitable[Deckhand]]]:
    """Start Deckhand on a port chosen first, so ``PUBLIC_URL`` can name it (GitHub sends
    the browser back there in the manifest flow). Workers stay off: a delivery stays where
    a test puts it."""
    servers: list[TestServer] = []

    async def start(**overrides: Any) -> Deckhand:
        port = unused_port()
        url = f"http://127.0.0.1:{port}"
        settings = make_settings(tmp_path, **{"public_url": url, **overrides})
        app = create_app(settings, worker=False)
        server = TestServer(app, host="127.0.0.1", port=port)
        await server.start_server()
        servers.append(server)
        return Deckhand(url, app)

    yield start
    for server in reversed(servers):
        await server.close()


@pytest_asyncio.fixture(loop_scope="session")
async def dashboard(
    serve_deckhand: Callable[..., Awaitable[Deckhand]], fake_github: FakeGitHub, app_keys: AppKeys
) -> Deckhand:
    """Deckhand with its dashboard on; alice signs in to the fake GitHub and, on the App's
    installations, may see `PERMITTED` (and administer WIDGETS) but not `FORBIDDEN`."""
    gh = fake_github
    gh.add_installation(1001, account="octo-org", repositories=[WIDGETS, SECRET])
    gh.add_installation(1002, account="other-org", repositories=[TOOLS, PRIVATE])
    gh.add_installation(1003, account="third-org", repositories=[HIDDEN])
    gh.set_collaborator(WIDGETS, "alice", "admin")
    gh.set_collaborator(TOOLS, "alice", "read")
    for repo in FORBIDDEN:
        gh.set_collaborator(repo, "bob", "write")
    gh.oauth_login = "alice"
    gh.oauth_prompt = True  # the browser presses "Authorize" on the fake github.com
    return await serve_deckhand(
        github_api_url=gh.url,
        github_web_url=gh.url,
        github_app_id=app_keys.app_id,
        github_private_key=app_keys.private_pem,
        github_client_id=gh.app.client_id,
        github_client_secret=gh.oauth_client_secret,
    )


async def sign_in(page: Page, deckhand: Deckhand) -> None:
    """Sign in as alice the way a person does: Deckhand -> GitHub's Authorize -> back."""
    await page.goto(f"{deckhand.url}/login")
    await page.get_by_role("button", name=re.compile(r"^Authorize ")).click()
    await page.wait_for_url(f"{deckhand.url}/dashboard")


def redirects(response: Response | None) -> list[str]:
    """The URLs a navigation went through, first to last (the last one answered)."""
    assert response is not None
    chain: list[str] = []
    request: Request | None = response.request
    while request is not None:
        chain.append(request.url)
        request = request.redirected_from
    return chain[::-1]
