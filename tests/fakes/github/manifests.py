"""GitHub's App manifest flow, for the fake GitHub: ``gh.manifests``.

On github.com a person posts Deckhand's setup form (a JSON ``manifest``) to
``/settings/apps/new?state=...``, clicks "Create", and GitHub redirects the browser to
the manifest's ``redirect_url`` with ``?code=...&state=...``. Tests play that part with
:meth:`ManifestFlow.submit` (which checks the manifest the way GitHub's form does and
returns the code) and :meth:`ManifestFlow.callback_url`; a real browser plays it through
:func:`answer_new_app`, the fake's ``POST [/organizations/{org}]/settings/apps/new``
(a "Create GitHub App" page whose button submits the manifest and redirects back, owned
by ``gh.oauth_login`` or ``octocat``). The code is then exchanged by
``POST /app-manifests/{code}/conversions`` (no authentication; once per code, within an
hour; unknown or used codes are 404), which creates the App with a fresh key pair.
"""

from __future__ import annotations

import json
import re
import secrets
from dataclasses import dataclass
from html import escape
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from aiohttp import web

from ..keys import generate_app_keys
from .state import App

if TYPE_CHECKING:
    from .server import FakeGitHub

CODE_LIFETIME = 3600.0
LEVELS = ("read", "write", "admin")
NEW_APP_PATH = re.compile(r"(?:/organizations/(?P<org>[A-Za-z0-9-]+))?/settings/apps/new")


@dataclass
class PendingCode:
    code: str
    manifest: dict[str, Any]
    owner: str
    organization: bool
    expires_at: float


@dataclass
class CreatedApp:
    """An App made from a manifest, with the secrets GitHub hands out once."""

    app: App
    manifest: dict[str, Any]
    pem: str
    public_pem: str
    webhook_secret: str
    client_secret: str


class ManifestFlow:
    def __init__(self, gh: FakeGitHub) -> None:
        self.gh = gh
        self.codes: dict[str, PendingCode] = {}
        self.created: list[CreatedApp] = []

    def submit(
        self, manifest: str | dict[str, Any], *, owner: str = "octocat", org: str | None = None
    ) -> str:
        """Play github.com's "Create GitHub App" form; returns the temporary code.

        Raises ``ValueError`` (with GitHub's kind of complaint) for a manifest GitHub's
        form would refuse.
        """
        data = json.loads(manifest) if isinstance(manifest, str) else dict(manifest)
        check_manifest(data)
        code = secrets.token_hex(10)
        self.codes[code] = PendingCode(
            code, data, org or owner, org is not None, self.gh.clock() + CODE_LIFETIME
        )
        return code

    def callback_url(self, code: str, state: str) -> str:
        """Where github.com sends the browser back: the manifest's ``redirect_url``."""
        redirect = self.codes[code].manifest["redirect_url"]
        return f"{redirect}?{urlencode({'code': code, 'state': state})}"

    def convert(self, code: str) -> CreatedApp | None:
        """Create the App for ``code`` (usable once, before it expires); None if unknown."""
        pending = self.codes.pop(code, None)
        if pending is None or pending.expires_at <= self.gh.clock():
            return None
        manifest = pending.manifest
        slug = re.sub(r"[^a-z0-9]+", "-", manifest["name"].lower()).strip("-")
        owner = self.gh.add_account(
            pending.owner, type="Organization" if pending.organization else "User"
        )
        app_id = self.gh.next_id(900_000)
        keys = generate_app_keys(app_id)
        app = App(
            id=app_id,
            slug=slug,
            name=manifest["name"],
            owner=owner,
            bot=self.gh.add_account(f"{slug}[bot]", type="Bot"),
            client_id="Iv23" + secrets.token_hex(8),
            description=manifest.get("description") or "",
            external_url=manifest["url"],
            permissions={**manifest.get("default_permissions", {}), "metadata": "read"},
            events=list(manifest.get("default_events", [])),
            created_at=self.gh.clock(),
        )
        created = CreatedApp(
            app,
            manifest,
            keys.private_pem,
            keys.public_pem,
            webhook_secret=secrets.token_hex(20),
            client_secret=secrets.token_hex(20),
        )
        self.created.append(created)
        return created

    def shape(self, created: CreatedApp) -> dict[str, Any]:
        """The documented 201 answer: the integration plus its one-time secrets."""
        return {
            **self.gh.shapes.integration(created.app),
            "client_secret": created.client_secret,
            "webhook_secret": created.webhook_secret,
            "pem": created.pem,
        }


def check_manifest(data: dict[str, Any]) -> None:
    """What GitHub's form refuses (a subset: the fields Deckhand sends)."""
    name = data.get("name")
    if not isinstance(name, str) or not 0 < len(name) <= 34:
        raise ValueError("Name is too long (maximum is 34 characters) or missing")
    if not isinstance(data.get("url"), str) or not data["url"].startswith(("http://", "https://")):
        raise ValueError("Homepage URL is not a valid URL")
    hook = data.get("hook_attributes")
    if hook is not None and not str(hook.get("url", "")).startswith(("http://", "https://")):
        raise ValueError("Hook url is not a valid URL")
    for key in ("redirect_url", "setup_url"):
        if key in data and not str(data[key]).startswith(("http://", "https://")):
            raise ValueError(f"{key} is not a valid URL")
    for permission, level in (data.get("default_permissions") or {}).items():
        if level not in LEVELS:
            raise ValueError(f"Default permission {permission}: {level!r} is not a level")
    events = data.get("default_events") or []
    if not all(isinstance(event, str) for event in events):
        raise ValueError("Default events must be event names")


async def answer_new_app(gh: FakeGitHub, request: web.Request) -> web.Response:
    """github.com's new-App page for a posted manifest: first a "Create GitHub App" page,
    then (its button posts again with ``create``) the redirect to ``redirect_url``."""
    match = NEW_APP_PATH.fullmatch(request.path)
    if match is None or request.method != "POST":
        return web.Response(status=404, text="post a manifest to /settings/apps/new")
    form = await request.post()
    manifest, state = str(form.get("manifest", "")), request.query.get("state", "")
    org = match.group("org")
    try:
        data = json.loads(manifest)
        if not isinstance(data, dict):
            raise ValueError("the manifest is not a JSON object")
        check_manifest(data)
    except ValueError as exc:
        return _page("Invalid GitHub App manifest", f"<p>{escape(str(exc))}</p>", status=422)
    owner = org or gh.oauth_login or "octocat"
    if "create" not in form:
        fields = f'<input type="hidden" name="manifest" value="{escape(manifest)}">'
        body = (
            f"<p>Create <strong>{escape(data['name'])}</strong> owned by "
            f"<strong>{escape(owner)}</strong>, with a webhook at "
            f"<code>{escape(str((data.get('hook_attributes') or {}).get('url', '')))}</code>."
            f'</p><form method="post" action="{escape(str(request.rel_url))}">{fields}'
            f'<button type="submit" name="create" value="1">Create GitHub App for '
            f"{escape(owner)}</button></form>"
        )
        return _page("Create GitHub App", body)
    code = gh.manifests.submit(data, owner=gh.oauth_login or "octocat", org=org)
    raise web.HTTPFound(gh.manifests.callback_url(code, state))


def _page(title: str, body: str, *, status: int = 200) -> web.Response:
    return web.Response(
        text=(
            '<!doctype html><html lang="en"><head><meta charset="utf-8">'
            f"<title>{escape(title)}</title></head>"
            '<body style="font:16px/1.5 system-ui,sans-serif;max-width:36rem;margin:2rem auto">'
            f"<h1>{escape(title)}</h1>{body}</body></html>"
        ),
        status=status,
        content_type="text/html",
    )
