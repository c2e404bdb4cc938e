"""GitHub's App manifest flow, for the fake GitHub: ``gh.manifests``.

On github.com a person posts Deckhand's setup form (a JSON ``manifest``) to
``/settings/apps/new?state=...``, clicks "Create", and GitHub redirects the browser to
the manifest's ``redirect_url`` with ``?code=...&state=...``. Tests play that part with
:meth:`ManifestFlow.submit` (which checks the manifest the way GitHub's form does and
returns the code) and :meth:`ManifestFlow.callback_url`. The code is then exchanged by
``POST /app-manifests/{code}/conversions`` (no authentication; once per code, within an
hour; unknown or used codes are 404), which creates the App with a fresh key pair.
"""

from __future__ import annotations

import json
import re
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from ..keys import generate_app_keys
from .state import App

if TYPE_CHECKING:
    from .server import FakeGitHub

CODE_LIFETIME = 3600.0
LEVELS = ("read", "write", "admin")


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
