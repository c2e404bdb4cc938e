"""The GitHub App manifest Deckhand registers itself with: the one list of its permissions
and events (the README's registration section must match it; a test checks).

Pure data and URL building: no HTTP, no settings lookups beyond the values passed in.
"""

from __future__ import annotations

import re
import secrets
from typing import Any
from urllib.parse import quote, urlencode

# What the App may do. Repository permissions, then the organization's `members`.
PERMISSIONS: dict[str, str] = {
    "checks": "write",  # review check runs, annotations, "Apply fixes" actions
    "contents": "write",  # read config and changed files; push fix commits
    "pull_requests": "write",  # reviews and suggestions on pull requests
    "issues": "write",  # ChatOps replies, alert issues
    "deployments": "write",  # deployments and their statuses
    "statuses": "read",  # required commit statuses before a deploy
    "actions": "write",  # the `github` deploy backend's workflows
    "metadata": "read",  # always granted; listed for clarity
    "members": "read",  # team-restricted deploys (organization permission)
}

# The webhook events the App subscribes to (`installation` and
# `installation_repositories` are always sent to every App).
EVENTS: list[str] = [
    "check_run",
    "check_suite",
    "issue_comment",
    "issues",
    "pull_request",
    "pull_request_review",
    "push",
    "deployment",
    "deployment_status",
    "status",
    "workflow_run",
]

DEFAULT_NAME = "Deckhand"
MAX_NAME_LENGTH = 34  # GitHub's limit for an App's name
_LOGIN = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})")


def default_name() -> str:
    """`Deckhand` plus a short random suffix: App names are unique across all of GitHub."""
    return f"{DEFAULT_NAME} {secrets.token_hex(3)}"


def valid_name(name: str) -> bool:
    return 0 < len(name) <= MAX_NAME_LENGTH and name.isprintable()


def valid_org(org: str) -> bool:
    return _LOGIN.fullmatch(org) is not None


def build_manifest(public_url: str, name: str) -> dict[str, Any]:
    """The manifest posted to GitHub; `public_url` is where GitHub reaches this service."""
    base = public_url.rstrip("/")
    return {
        "name": name,
        "url": base,
        "description": "Reviews pushes and pull requests, deploys from comments, "
        "turns production alerts into issues.",
        "hook_attributes": {"url": f"{base}/webhooks/github", "active": True},
        "redirect_url": f"{base}/setup",
        "callback_urls": [f"{base}/login/callback"],
        "setup_url": f"{base}/",
        "public": False,
        "default_permissions": dict(PERMISSIONS),
        "default_events": list(EVENTS),
    }


def registration_url(web_url: str, state: str, org: str | None = None) -> str:
    """Where the form posts the manifest: the user's or an organization's new-App page."""
    base = web_url.rstrip("/")
    owner = f"/organizations/{quote(org, safe='')}" if org else ""
    path = f"{owner}/settings/apps/new"
    return f"{base}{path}?{urlencode({'state': state})}"
