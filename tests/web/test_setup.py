"""The GitHub App manifest flow through the real server and the fake GitHub:
`GET /` (setup page) -> github.com (played by `gh.manifests`) -> `GET /setup?code&state`."""

from __future__ import annotations

import html
import json
import re
import stat
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from app.config.settings import Settings
from app.setup.envfile import merge
from app.setup.manifest import EVENTS, PERMISSIONS
from tests.fakes.github import FakeGitHub
from tests.support.deckhand import DeckhandHarness

PUBLIC_URL = "https://deckhand.example.com"
WEB_URL = "https://github.example"
README = Path(__file__).resolve().parents[2] / "README.md"


async def start(start_deckhand: Any, gh: FakeGitHub, tmp_path: Path, **overrides: Any) -> Any:
    values: dict[str, Any] = {
        "public_url": PUBLIC_URL,
        "github_api_url": gh.url,
        "github_web_url": WEB_URL,
        "setup_env_file": tmp_path / "conf" / ".env",
        "worker": False,
    }
    values.update(overrides)
    return await start_deckhand(**values)


async def get(deckhand: DeckhandHarness, path: str) -> tuple[int, str, Any]:
    async with deckhand.session.get(deckhand.url + path, allow_redirects=False) as response:
        return response.status, await response.text(), response.headers


def form(page: str) -> tuple[str, dict[str, Any]]:
    """The registration form's action and its manifest, as a browser would post them."""
    action = re.search(r'<form method="post" action="([^"]+)"', page)
    manifest = re.search(r'<input type="hidden" name="manifest" value="([^"]+)"', page)
    assert action and manifest, page
    return html.unescape(action.group(1)), json.loads(html.unescape(manifest.group(1)))


async def register(deckhand: DeckhandHarness, gh: FakeGitHub) -> tuple[str, str]:
    """Open the setup page and "click" through github.com: returns (code, state)."""
    status, page, _ = await get(deckhand, "/")
    assert status == 200
    action, manifest = form(page)
    [state] = parse_qs(urlsplit(action).query)["state"]
    return gh.manifests.submit(manifest), state


async def test_setup_page_posts_the_manifest_with_the_public_url(
    start_deckhand: Any, fake_github: FakeGitHub, tmp_path: Path
) -> None:
    deckhand = await start(start_deckhand, fake_github, tmp_path)
    status, page, headers = await get(deckhand, "/")
    assert status == 200
    assert "setup mode" in page and "GITHUB_APP_ID" in page
    assert "Register GitHub App" in page
    assert headers["Cache-Control"] == "no-store"
    action, manifest = form(page)
    assert action.startswith(f"{WEB_URL}/settings/apps/new?state=")
    assert manifest["hook_attributes"]["url"] == f"{PUBLIC_URL}/webhooks/github"
    assert manifest["redirect_url"] == f"{PUBLIC_URL}/setup"
    assert manifest["callback_urls"] == [f"{PUBLIC_URL}/login/callback"]
    assert manifest["url"] == PUBLIC_URL
    assert manifest["public"] is False
    assert manifest["default_permissions"] == PERMISSIONS
    assert manifest["default_events"] == EVENTS
    assert re.fullmatch(r"Deckhand [0-9a-f]{6}", manifest["name"])
    fake_github.manifests.submit(manifest)  # github.com's form accepts it

    _, page, _ = await get(deckhand, "/?name=Acme+Bot&org=acme")
    action, manifest = form(page)
    assert action.startswith(f"{WEB_URL}/organizations/acme/settings/apps/new?state=")
    assert manifest["name"] == "Acme Bot"
    status, page, _ = await get(deckhand, "/?org=not%20an%20org")
    assert status == 400 and "organization" in page


async def test_without_public_url_the_page_says_what_to_set(
    start_deckhand: Any, fake_github: FakeGitHub, tmp_path: Path
) -> None:
    deckhand = await start(start_deckhand, fake_github, tmp_path, public_url=None)
    status, page, _ = await get(deckhand, "/")
    assert status == 200
    assert "PUBLIC_URL" in page and "restart" in page
    assert "Register GitHub App" not in page and "<form" not in page


async def test_the_exchange_writes_a_private_env_file_and_goes_on_to_install(
    start_deckhand: Any, fake_github: FakeGitHub, tmp_path: Path, caplog: Any
) -> None:
    env_file = tmp_path / "conf" / ".env"
    env_file.parent.mkdir()
    env_file.write_text("# mine\nDATABASE_URL=sqlite:///x.db\nGITHUB_APP_ID=1\nPORT=8080\n")
    deckhand = await start(start_deckhand, fake_github, tmp_path)
    code, state = await register(deckhand, fake_github)

    status, _, headers = await get(deckhand, f"/setup?code={code}&state={state}")

    [created] = fake_github.manifests.created
    assert status == 302
    assert headers["Location"] == f"https://github.com/apps/{created.app.slug}/installations/new"
    assert [r.auth for r in fake_github.requests_for("apps/create-from-manifest")] == ["none"]
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
    text = env_file.read_text()
    assert text.startswith("# mine\nDATABASE_URL=sqlite:///x.db\nGITHUB_APP_ID=")
    assert "PORT=8080\n" in text and text.count("GITHUB_APP_ID") == 1
    assert "-----BEGIN PRIVATE KEY-----\\n" in text  # one line, literal \n
    loaded = Settings(_env_file=env_file)  # type: ignore[call-arg]
    assert loaded.github_app_id == created.app.id
    assert loaded.private_key_pem() == created.pem.strip()
    assert loaded.github_webhook_secret is not None
    assert loaded.github_webhook_secret.get_secret_value() == created.webhook_secret
    assert loaded.github_client_id == created.app.client_id
    assert loaded.github_client_secret is not None
    assert loaded.github_client_secret.get_secret_value() == created.client_secret
    assert loaded.database_url == "sqlite:///x.db" and loaded.port == 8080
    for secret in (created.webhook_secret, created.client_secret, created.pem.split("\n")[1]):
        assert secret not in caplog.text
    assert "setup_app_registered" in caplog.text

    status, page, _ = await get(deckhand, "/")  # this process still has no credentials
    assert created.app.slug in page and "restart" in page and "<form" not in page
    status, page, _ = await get(deckhand, f"/setup?code={code}&state={state}")  # a replay
    assert status == 400 and "state does not match" in page
    assert len(fake_github.requests_for("apps/create-from-manifest")) == 1


async def test_a_wrong_state_is_refused_before_github_is_asked(
    start_deckhand: Any, fake_github: FakeGitHub, tmp_path: Path
) -> None:
    deckhand = await start(start_deckhand, fake_github, tmp_path)
    code, _state = await register(deckhand, fake_github)
    for query in (f"code={code}&state=forged", f"code={code}", "state=x"):
        status, page, _ = await get(deckhand, f"/setup?{query}")
        assert status == 400, query
        assert "Start the registration again" in page
    assert fake_github.requests_for("apps/create-from-manifest") == []
    assert not (tmp_path / "conf").exists()


async def test_a_used_or_unknown_code_is_a_clear_error_and_writes_nothing(
    start_deckhand: Any, fake_github: FakeGitHub, tmp_path: Path
) -> None:
    deckhand = await start(start_deckhand, fake_github, tmp_path)
    code, state = await register(deckhand, fake_github)
    assert fake_github.manifests.convert(code) is not None  # someone used it already
    status, page, _ = await get(deckhand, f"/setup?code={code}&state={state}")
    assert status == 400
    assert "already used" in page and "Nothing was written" in page

    _, state = await register(deckhand, fake_github)
    fake_github.fail_next("POST", "/app-manifests/{code}/conversions", 502)
    status, page, _ = await get(deckhand, f"/setup?code=whatever&state={state}")
    assert status == 502 and "GitHub answered 502" in page

    deckhand_down = await start(
        start_deckhand, fake_github, tmp_path, github_api_url="http://127.0.0.1:9"
    )
    _, state = await register(deckhand_down, fake_github)
    status, page, _ = await get(deckhand_down, f"/setup?code=whatever&state={state}")
    assert status == 502 and "Could not reach GitHub" in page
    assert not (tmp_path / "conf").exists()


async def test_print_mode_shows_the_credentials_once_and_writes_nothing(
    start_deckhand: Any, fake_github: FakeGitHub, tmp_path: Path
) -> None:
    deckhand = await start(start_deckhand, fake_github, tmp_path, setup_print=True)
    code, state = await register(deckhand, fake_github)
    status, page, headers = await get(deckhand, f"/setup?code={code}&state={state}")
    [created] = fake_github.manifests.created
    assert status == 200
    assert headers["Cache-Control"] == "no-store"
    text = html.unescape(page)
    assert f"GITHUB_APP_ID={created.app.id}" in text
    assert "GITHUB_PRIVATE_KEY=" + created.pem.strip().replace("\n", "\\n") in text
    assert f"GITHUB_WEBHOOK_SECRET={created.webhook_secret}" in text
    assert f"GITHUB_CLIENT_ID={created.app.client_id}" in text
    assert f"GITHUB_CLIENT_SECRET={created.client_secret}" in text
    assert "shown only once" in text and "restart" in text
    assert f"https://github.com/apps/{created.app.slug}/installations/new" in text
    assert not (tmp_path / "conf").exists()


async def test_with_an_app_configured_there_is_no_registration(
    start_deckhand: Any, fake_github: FakeGitHub, tmp_path: Path, app_keys: Any
) -> None:
    deckhand = await start(
        start_deckhand,
        fake_github,
        tmp_path,
        github_app_id=app_keys.app_id,
        github_private_key=app_keys.private_pem,
    )
    status, page, _ = await get(deckhand, "/")
    assert status == 200
    assert f"GitHub App <code>{app_keys.app_id}</code>" in page
    assert "Register GitHub App" not in page
    status, _, _ = await get(deckhand, "/setup?code=abc&state=def")
    assert status == 409


def test_merge_replaces_a_multi_line_key_and_keeps_the_rest() -> None:
    existing = 'A=1\nGITHUB_PRIVATE_KEY="-----BEGIN\nabc\n-----END"\nB=2\nexport GITHUB_APP_ID=7\n'
    merged = merge(existing, {"GITHUB_PRIVATE_KEY": "k\\nv", "GITHUB_APP_ID": "9", "C": "it's"})
    assert merged == ("A=1\nGITHUB_PRIVATE_KEY='k\\nv'\nB=2\nGITHUB_APP_ID='9'\nC='it\\'s'\n")


def readme_section() -> str:
    text = README.read_text()
    start = text.index("## Registering the GitHub App")
    end = text.index("\n## ", start + 1)
    return text[start:end]


def test_readme_lists_the_manifest_permissions_and_events() -> None:
    section = readme_section()
    permissions = dict(
        re.findall(r"^\|[^|\n]*\(`([a-z_]+)`[^)]*\)\s*\|\s*(read|write)\s*\|", section, re.M)
    )
    assert permissions == PERMISSIONS
    [events_line] = [line for line in section.splitlines() if line.startswith("Events:")]
    assert re.findall(r"`([a-z_]+)`", events_line.split(" (")[0]) == EVENTS


@pytest.mark.parametrize("name", ["", "x" * 35])
async def test_a_bad_app_name_is_refused(
    start_deckhand: Any, fake_github: FakeGitHub, tmp_path: Path, name: str
) -> None:
    deckhand = await start(start_deckhand, fake_github, tmp_path)
    status, _, _ = await get(deckhand, f"/?name={name}")
    assert status == (200 if name == "" else 400)
