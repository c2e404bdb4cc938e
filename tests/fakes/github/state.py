"""In-memory GitHub state behind the fake server, and the API tests use to seed it.

:class:`GitHubState` holds the app, accounts, installations, repositories (with files
per ref, issues, collaborators), issue comments, reactions, check runs, issued
installation tokens and rate-limit buckets. :class:`~fakes.github.server.FakeGitHub`
inherits from it, so tests seed state directly on the server object::

    gh.add_installation(1001, account="octo-org", repositories=["octo-org/widgets"])
    gh.add_file("octo-org/widgets", ".deckhand.yml", "enabled: true\\n")

Repository and account names are case-insensitive, as on GitHub.
"""

from __future__ import annotations

import hashlib
import itertools
import secrets
import string
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

AccountType = Literal["User", "Organization", "Bot"]
Role = Literal["admin", "maintain", "write", "triage", "read", "none"]
Level = Literal["read", "write", "admin"]

LEVELS: dict[str, int] = {"read": 1, "write": 2, "admin": 3}

DEFAULT_PERMISSIONS: dict[str, str] = {
    "checks": "write",
    "contents": "read",
    "issues": "write",
    "metadata": "read",
    "pull_requests": "write",
    "statuses": "write",
}
DEFAULT_EVENTS: list[str] = [
    "check_run",
    "check_suite",
    "issue_comment",
    "issues",
    "pull_request",
    "push",
]
_TOKEN_ALPHABET = string.ascii_letters + string.digits


def git_blob_sha(data: bytes) -> str:
    """The SHA-1 git gives a blob with this content (what the Contents API returns)."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()


def iso(ts: float) -> str:
    """Epoch seconds -> ``2024-01-02T03:04:05Z`` (GitHub's timestamp format)."""
    return datetime.fromtimestamp(int(ts), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(eq=False)
class Account:
    """A user, organization or bot account."""

    login: str
    id: int
    type: AccountType = "User"
    name: str | None = None
    email: str | None = None
    company: str | None = None
    location: str | None = None
    bio: str | None = None
    site_admin: bool = False
    created_at: float = 0.0


@dataclass(eq=False)
class App:
    id: int
    slug: str
    name: str
    owner: Account
    bot: Account  # "<slug>[bot]", the author of everything done with installation tokens
    client_id: str
    description: str = "Deckhand test app"
    external_url: str = "https://deckhand.example"
    permissions: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_PERMISSIONS))
    events: list[str] = field(default_factory=lambda: list(DEFAULT_EVENTS))
    created_at: float = 0.0


@dataclass(eq=False)
class Installation:
    id: int
    account: Account
    repository_selection: Literal["all", "selected"] = "all"
    repository_ids: set[int] = field(default_factory=set)  # when "selected"
    permissions: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_PERMISSIONS))
    events: list[str] = field(default_factory=lambda: list(DEFAULT_EVENTS))
    suspended_at: float | None = None
    created_at: float = 0.0


@dataclass(eq=False)
class Issue:
    number: int
    title: str
    user: Account
    is_pull_request: bool = False


@dataclass(eq=False)
class Repository:
    id: int
    owner: Account
    name: str
    default_branch: str = "main"
    private: bool = False
    description: str | None = None
    language: str | None = "Python"
    archived: bool = False
    files: dict[str, dict[str, bytes]] = field(default_factory=dict)  # ref -> path -> data
    issues: dict[int, Issue] = field(default_factory=dict)
    collaborators: dict[str, Role] = field(default_factory=dict)  # login (lower) -> role
    created_at: float = 0.0
    pushed_at: float = 0.0

    @property
    def full_name(self) -> str:
        return f"{self.owner.login}/{self.name}"


@dataclass(eq=False)
class Reaction:
    id: int
    user: Account
    content: str
    created_at: float


@dataclass(eq=False)
class IssueComment:
    id: int
    repo: Repository
    issue_number: int
    body: str
    user: Account
    created_at: float
    updated_at: float
    via_app: bool = False
    reactions: list[Reaction] = field(default_factory=list)


@dataclass(eq=False)
class CheckRun:
    id: int
    repo: Repository
    name: str
    head_sha: str
    status: str = "queued"
    conclusion: str | None = None
    started_at: float | None = None
    completed_at: float | None = None
    external_id: str = ""
    details_url: str | None = None
    output: dict[str, Any] = field(
        default_factory=lambda: {"title": None, "summary": None, "text": None}
    )
    annotations: list[dict[str, Any]] = field(default_factory=list)
    actions: list[dict[str, Any]] = field(default_factory=list)
    check_suite_id: int = 0


@dataclass(eq=False)
class IssuedToken:
    token: str
    installation_id: int
    expires_at: float
    permissions: dict[str, str]
    repository_ids: set[int] | None  # None: everything the installation can reach
    revoked: bool = False


@dataclass(eq=False)
class RateLimit:
    """One rate-limit bucket (GitHub keeps one per installation, and one for the app)."""

    limit: int = 5000
    remaining: int = 5000
    used: int = 0
    reset: int = 0  # epoch seconds
    resource: str = "core"

    def refresh(self, now: float, window: float = 3600) -> None:
        if now >= self.reset:
            self.remaining, self.used, self.reset = self.limit, 0, int(now + window)


class GitHubState:
    """Everything the fake GitHub knows. Seed it from tests with the ``add_*`` methods."""

    def __init__(
        self,
        *,
        app_id: int,
        app_slug: str = "deckhand-test",
        app_name: str = "Deckhand Test",
        app_owner: str = "deckhand-dev",
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.clock = clock
        self._ids = itertools.count(1)
        now = clock()
        self.accounts: dict[str, Account] = {}
        owner = self.add_account(app_owner, type="Organization")
        bot = self.add_account(f"{app_slug}[bot]", type="Bot")
        self.app = App(
            id=app_id,
            slug=app_slug,
            name=app_name,
            owner=owner,
            bot=bot,
            client_id="Iv1." + secrets.token_hex(8),
            created_at=now - 86400 * 30,
        )
        self.installations: dict[int, Installation] = {}
        self.repositories: dict[str, Repository] = {}  # full_name.lower() -> repo
        self.comments: dict[int, IssueComment] = {}
        self.check_runs: dict[int, CheckRun] = {}
        self.tokens: dict[str, IssuedToken] = {}
        self.tokens_issued: Counter[int] = Counter()
        self.token_lifetime: timedelta = timedelta(hours=1)
        self.rate_limits: dict[str, RateLimit] = {}

    # ------------------------------------------------------------------ id helpers
    def next_id(self, base: int) -> int:
        return base + next(self._ids)

    # ------------------------------------------------------------------- accounts
    def add_account(
        self, login: str, *, type: AccountType = "User", id: int | None = None, **extra: Any
    ) -> Account:
        """Create (or return the existing) user/organization/bot account ``login``."""
        existing = self.accounts.get(login.lower())
        if existing is not None:
            return existing
        account = Account(
            login=login,
            id=id if id is not None else self.next_id(10_000),
            type=type,
            created_at=self.clock() - 86400 * 365,
            **extra,
        )
        self.accounts[login.lower()] = account
        return account

    add_user = add_account

    def account(self, login: str) -> Account | None:
        return self.accounts.get(login.lower())

    # -------------------------------------------------------------- installations
    def add_installation(
        self,
        installation_id: int,
        *,
        account: str = "octo-org",
        account_type: AccountType = "Organization",
        repositories: Iterable[str] | None = None,
        permissions: dict[str, str] | None = None,
        events: list[str] | None = None,
        suspended: bool = False,
    ) -> Installation:
        """Install the app on ``account``.

        ``repositories`` (full names, created if missing) makes the installation
        "selected"; without it the installation covers all of the account's repos.
        """
        owner = self.add_account(account, type=account_type)
        inst = Installation(
            id=installation_id,
            account=owner,
            permissions=dict(permissions if permissions is not None else self.app.permissions),
            events=list(events if events is not None else self.app.events),
            suspended_at=self.clock() if suspended else None,
            created_at=self.clock() - 86400,
        )
        if repositories is not None:
            inst.repository_selection = "selected"
            for full_name in repositories:
                inst.repository_ids.add(self.add_repo(full_name).id)
        self.installations[installation_id] = inst
        return inst

    def installation_repos(self, inst: Installation) -> list[Repository]:
        """Repositories an installation can access, ordered by full name."""
        if inst.repository_selection == "selected":
            repos = [r for r in self.repositories.values() if r.id in inst.repository_ids]
        else:
            repos = [r for r in self.repositories.values() if r.owner is inst.account]
        return sorted(repos, key=lambda r: r.full_name.lower())

    # --------------------------------------------------------------- repositories
    def add_repo(
        self,
        full_name: str,
        *,
        default_branch: str = "main",
        private: bool = False,
        installation_id: int | None = None,
        owner_type: AccountType | None = None,
        **extra: Any,
    ) -> Repository:
        """Create (or return the existing) repository ``owner/name``.

        ``installation_id`` adds it to a "selected" installation's repositories.
        """
        existing = self.repositories.get(full_name.lower())
        if existing is None:
            owner_login, _, name = full_name.partition("/")
            if not owner_login or not name or "/" in name:
                raise ValueError(f"repository name must be 'owner/name', got {full_name!r}")
            if owner_type is None:
                known = self.account(owner_login)
                owner_type = known.type if known else "Organization"
            now = self.clock()
            existing = Repository(
                id=self.next_id(500_000_000),
                owner=self.add_account(owner_login, type=owner_type),
                name=name,
                default_branch=default_branch,
                private=private,
                created_at=now - 86400 * 100,
                pushed_at=now - 3600,
                **extra,
            )
            self.repositories[full_name.lower()] = existing
        if installation_id is not None:
            inst = self.installations[installation_id]
            if inst.repository_selection == "selected":
                inst.repository_ids.add(existing.id)
        return existing

    def repo(self, full_name: str) -> Repository | None:
        return self.repositories.get(full_name.lower())

    def _require_repo(self, full_name: str) -> Repository:
        repo = self.repo(full_name)
        if repo is None:
            raise KeyError(f"unknown repository {full_name!r}; seed it with add_repo() first")
        return repo

    def add_file(
        self, repo_full_name: str, path: str, content: str | bytes, ref: str | None = None
    ) -> str:
        """Put a file at ``path`` on ``ref`` (default: the default branch); returns its sha.

        The repository is created if it does not exist yet.
        """
        repo = self.add_repo(repo_full_name)
        data = content.encode() if isinstance(content, str) else bytes(content)
        repo.files.setdefault(ref or repo.default_branch, {})[path.strip("/")] = data
        return git_blob_sha(data)

    def remove_file(self, repo_full_name: str, path: str, ref: str | None = None) -> None:
        repo = self._require_repo(repo_full_name)
        repo.files.get(ref or repo.default_branch, {}).pop(path.strip("/"), None)

    def set_collaborator(self, repo_full_name: str, login: str, role: Role = "write") -> None:
        """Give ``login`` a role on a repository (what the permission endpoint reports)."""
        repo = self._require_repo(repo_full_name)
        self.add_account(login)
        repo.collaborators[login.lower()] = role

    # -------------------------------------------------------- issues and comments
    def add_issue(
        self,
        repo_full_name: str,
        number: int,
        *,
        title: str = "An issue",
        user: str = "octocat",
        pull_request: bool = False,
    ) -> Issue:
        """Create issue (or pull request, with ``pull_request=True``) ``number``."""
        repo = self.add_repo(repo_full_name)
        issue = repo.issues.get(number)
        if issue is None:
            issue = Issue(number, title, self.add_account(user), is_pull_request=pull_request)
            repo.issues[number] = issue
        return issue

    def add_issue_comment(
        self,
        repo_full_name: str,
        issue_number: int,
        body: str,
        *,
        user: str = "octocat",
        created_at: float | None = None,
    ) -> IssueComment:
        """Seed a comment (the issue is created if needed); returns it (``.id``)."""
        repo = self.add_repo(repo_full_name)
        self.add_issue(repo_full_name, issue_number)
        ts = self.clock() if created_at is None else created_at
        comment = IssueComment(
            id=self.next_id(1_000_000_000),
            repo=repo,
            issue_number=issue_number,
            body=body,
            user=self.add_account(user),
            created_at=ts,
            updated_at=ts,
        )
        self.comments[comment.id] = comment
        return comment

    def comments_on(self, repo_full_name: str, issue_number: int) -> list[IssueComment]:
        """All comments on one issue, oldest first."""
        repo = self.repo(repo_full_name)
        return [
            c for c in self.comments.values() if c.repo is repo and c.issue_number == issue_number
        ]

    # ----------------------------------------------------------------- check runs
    def add_check_run(
        self,
        repo_full_name: str,
        name: str,
        head_sha: str,
        *,
        status: str = "queued",
        conclusion: str | None = None,
    ) -> CheckRun:
        repo = self.add_repo(repo_full_name)
        now = self.clock()
        run = CheckRun(
            id=self.next_id(20_000_000_000),
            repo=repo,
            name=name,
            head_sha=head_sha,
            status="completed" if conclusion else status,
            conclusion=conclusion,
            started_at=now,
            completed_at=now if conclusion else None,
            check_suite_id=self.suite_id_for(repo, head_sha),
        )
        self.check_runs[run.id] = run
        return run

    def suite_id_for(self, repo: Repository, head_sha: str) -> int:
        for run in self.check_runs.values():
            if run.repo is repo and run.head_sha == head_sha:
                return run.check_suite_id
        return self.next_id(30_000_000_000)

    # --------------------------------------------------------------------- tokens
    def issue_token(
        self,
        installation_id: int,
        *,
        permissions: dict[str, str] | None = None,
        repository_ids: set[int] | None = None,
    ) -> IssuedToken:
        """Mint an installation token directly (what the access_tokens endpoint does)."""
        inst = self.installations[installation_id]
        token = IssuedToken(
            token="ghs_" + "".join(secrets.choice(_TOKEN_ALPHABET) for _ in range(36)),
            installation_id=installation_id,
            expires_at=self.clock() + self.token_lifetime.total_seconds(),
            permissions=dict(permissions if permissions is not None else inst.permissions),
            repository_ids=repository_ids,
        )
        self.tokens[token.token] = token
        self.tokens_issued[installation_id] += 1
        return token

    def revoke_tokens(self, installation_id: int | None = None) -> int:
        """Invalidate every issued token (or one installation's); returns how many."""
        count = 0
        for token in self.tokens.values():
            if not token.revoked and installation_id in (None, token.installation_id):
                token.revoked = True
                count += 1
        return count

    def expire_tokens(self, installation_id: int | None = None) -> None:
        """Make issued tokens expired (as if their hour had passed)."""
        now = self.clock()
        for token in self.tokens.values():
            if installation_id in (None, token.installation_id):
                token.expires_at = min(token.expires_at, now - 1)

    # ---------------------------------------------------------------- rate limits
    def rate_limit_for(self, installation_id: int | None = None) -> RateLimit:
        """The core rate-limit bucket of an installation (``None``: the app's JWT bucket).

        Mutate it to script scenarios, e.g. ``gh.rate_limit_for(1001).remaining = 0``.
        """
        key = "app" if installation_id is None else f"installation:{installation_id}"
        bucket = self.rate_limits.get(key)
        if bucket is None:
            bucket = RateLimit(reset=int(self.clock() + 3600))
            self.rate_limits[key] = bucket
        return bucket

    def set_rate_limit(
        self,
        installation_id: int | None = None,
        *,
        remaining: int | None = None,
        limit: int | None = None,
        reset_in: float | None = None,
    ) -> RateLimit:
        bucket = self.rate_limit_for(installation_id)
        if limit is not None:
            bucket.limit = limit
        if remaining is not None:
            bucket.remaining = remaining
            bucket.used = max(bucket.limit - remaining, 0)
        if reset_in is not None:
            bucket.reset = int(self.clock() + reset_in)
        return bucket
