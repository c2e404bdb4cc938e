"""The terminal side of the deploy API: `python -m app deploy|rollback|status`.

Sends one command to the running service (`DECKHAND_URL`) as the user of `GITHUB_TOKEN`
(e.g. `gh auth token`), then polls for the answer; the service applies the same rules
as the comment command. The repository defaults to the one `origin` points at.
"""

from __future__ import annotations

import asyncio
import os
import re
import shlex
import subprocess
import sys
import time
from typing import Any

_REMOTE = re.compile(r"(?:github\.com|[^/:@]+)[:/]([^/\s]+)/([^/\s]+?)(?:\.git)?/?$")


class RemoteError(Exception):
    """A usage or configuration problem (exit 2)."""


def repository_from_git(cwd: str | None = None) -> str:
    try:
        url = subprocess.run(
            ["git", "remote", "get-url", "origin"],  # noqa: S607 - git from PATH
            cwd=cwd,
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError) as exc:
        raise RemoteError(
            "say which repository with --repo OWNER/NAME (no git origin here)"
        ) from exc
    match = _REMOTE.search(url)
    if not match:
        raise RemoteError(f"cannot tell the repository from origin {url!r}; use --repo OWNER/NAME")
    return f"{match.group(1)}/{match.group(2)}"


def command_line(name: str, *words: str) -> str:
    return " ".join([f"/{name}", *(shlex.quote(w) for w in words if w)])


async def send(
    command: str, repository: str, ref: str | None, within: float = 300.0
) -> tuple[bool, str]:
    """(went through, the service's reply)."""
    url = os.environ.get("DECKHAND_URL", "").rstrip("/")
    token = os.environ.get("GITHUB_TOKEN", "").strip()
    if not url:
        raise RemoteError(
            "set DECKHAND_URL to the Deckhand service, e.g. https://deckhand.example.com"
        )
    if not token:
        raise RemoteError(
            "set GITHUB_TOKEN to your GitHub token, e.g. GITHUB_TOKEN=$(gh auth token)"
        )
    import aiohttp  # here, so `validate` and the other local commands start fast

    headers = {"Authorization": f"Bearer {token}"}
    body = {"repository": repository, "command": command, **({"ref": ref} if ref else {})}
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(timeout=timeout, headers=headers) as session:
        async with session.post(f"{url}/api/commands", json=body) as response:
            answer = await response.json(content_type=None)
            if response.status != 202:
                return False, str(answer.get("error") or f"the service answered {response.status}")
        job = answer["job"]
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            async with session.get(f"{url}/api/jobs/{job}") as response:
                result = await response.json(content_type=None)
            if result.get("status") == "done":
                return bool(result["ok"]), str(result["reply"])
            if result.get("status") == "failed" or response.status != 200:
                return False, str(
                    result.get("reply") or result.get("error") or "the request failed"
                )
            await asyncio.sleep(0.2)
    return False, f"no answer within {within:g} s (job {job})"


def add_parsers(commands: Any) -> None:
    """`deploy`, `rollback` and `status` subcommands (sent to the running service)."""
    deploy = commands.add_parser("deploy", help="deploy through the running service (as /deploy)")
    deploy.add_argument("environment")
    deploy.add_argument("--repo", help="OWNER/NAME (default: the git origin here)")
    deploy.add_argument("--ref", help="branch, tag or commit (default: the default branch)")
    deploy.add_argument("--components", nargs="+", default=[])
    deploy.add_argument("--force", action="store_true", help="skip required checks (admins)")
    rollback = commands.add_parser("rollback", help="roll back through the running service")
    rollback.add_argument("environment")
    rollback.add_argument("id", nargs="?", help="the deployment to go back to")
    rollback.add_argument("--repo", help="OWNER/NAME (default: the git origin here)")
    status = commands.add_parser("status", help="environments' state from the running service")
    status.add_argument("environment", nargs="?")
    status.add_argument("--repo", help="OWNER/NAME (default: the git origin here)")


def run(args: Any) -> int:
    """Exit 0 when the service did it, 1 when it refused, 2 on a usage problem."""
    if args.command == "deploy":
        words = [args.environment, *(["--components", *args.components] if args.components else [])]
        command = command_line("deploy", *words) + (" --force" if args.force else "")
        ref = args.ref
    elif args.command == "rollback":
        command, ref = command_line("rollback", args.environment, args.id or ""), None
    else:
        command, ref = command_line("status", args.environment or ""), None
    import aiohttp

    try:
        repository = args.repo or repository_from_git()
        ok, reply = asyncio.run(send(command, repository, ref))
    except RemoteError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except (aiohttp.ClientError, TimeoutError) as exc:
        print(f"error: the service did not answer ({type(exc).__name__})", file=sys.stderr)
        return 1
    print(reply)
    return 0 if ok else 1
