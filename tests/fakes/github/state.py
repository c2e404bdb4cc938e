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
from typing import TYPE_CHECKING, Any, Literal

from ..git.repo import ZERO_SHA

if TYPE_CHECKING:
    from ..git.repo import BareRepo

AccountType = Literal["User", "Organization", "Bot"]
Role = Literal["admin", "maintain", "write", "triage", "read", "none"]
Level = Literal["read", "write", "admin"]

LEVELS: dict[str, int] = {"read": 1, "write": 2, "admin": 3}

DEFAULT_PERMISSIONS: dict[str, str] = {
    "checks": "write",
    "contents": "read",
    "deployments": "write",
    "issues": "write",
    "members": "read",  # organization permission: team memberships
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
GITHUB_ACTIONS_LOGIN = "github-actions[bot]"
GITHUB_ACTIONS_ID = 41898282  # the real github-actions[bot] account id
DeploymentState = Literal[
    "error", "failure", "inactive", "in_progress", "queued", "pending", "success"
]
DEPLOYMENT_STATES: tuple[str, ...] = (
    "error",
    "failure",
    "inactive",
    "in_progress",
    "queued",
    "pending",
    "success",
)


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
    body: str | None = None
    labels: list[str] = field(default_factory=list)
    assignees: list[Account] = field(default_factory=list)
    state: Literal["open", "closed"] = "open"
    id: int = 0  # 0: derived from the number when rendered
    created_at: float = 0.0
    updated_at: float = 0.0
    via_app: bool = False  # created through the API with an installation token
    closed_at: float | None = None


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
    # Set when the repository lives in a GitServer: files, branches and pull requests
    # then come from git, and ``clone_url`` points at the git server.
    git: BareRepo | None = None
    clone_url: str | None = None
    parent: Repository | None = None  # the repository this one is a fork of
    pulls: dict[int, PullRequest] = field(default_factory=dict)

    @property
    def full_name(self) -> str:
        return f"{self.owner.login}/{self.name}"

    @property
    def fork(self) -> bool:
        return self.parent is not None


@dataclass(eq=False)
class PullRequest:
    """A pull request backed by git: head/base shas are read from git when asked."""

    number: int
    id: int
    repo: Repository  # the base repository
    head_repo: Repository  # the same repository, or a fork of it
    head_ref: str
    base_ref: str
    user: Account
    title: str
    body: str | None = None
    state: Literal["open", "closed"] = "open"
    draft: bool = False
    maintainer_can_modify: bool = False
    merged: bool = False
    created_at: float = 0.0
    updated_at: float = 0.0
    closed_at: float | None = None
    frozen_head: str | None = None  # last head sha seen (kept once the PR is closed)
    frozen_base: str | None = None
    reviews: list[Review] = field(default_factory=list)
    review_comments: list[ReviewComment] = field(default_factory=list)

    @property
    def head_sha(self) -> str:
        """The head branch's current sha (mirrored to ``refs/pull/N/head``, as on GitHub)."""
        if self.state == "closed" and self.frozen_head:
            return self.frozen_head
        assert self.head_repo.git is not None and self.repo.git is not None
        sha = self.head_repo.git.resolve(f"refs/heads/{self.head_ref}") or self.frozen_head
        if sha is None:
            raise KeyError(f"head branch {self.head_ref!r} does not exist")
        if (
            sha != self.frozen_head
            or self.repo.git.resolve(f"refs/pull/{self.number}/head") is None
        ):
            ref = f"refs/pull/{self.number}/head"
            if self.head_repo is self.repo:
                self.repo.git.git("update-ref", ref, sha)
            else:
                self.repo.git.git("fetch", "--quiet", str(self.head_repo.git.path), f"+{sha}:{ref}")
            self.frozen_head = sha
        return sha

    @property
    def base_sha(self) -> str:
        if self.state == "closed" and self.frozen_base:
            return self.frozen_base
        assert self.repo.git is not None
        sha = self.repo.git.resolve(f"refs/heads/{self.base_ref}") or self.frozen_base
        if sha is None:
            raise KeyError(f"base branch {self.base_ref!r} does not exist")
        self.frozen_base = sha
        return sha

    def merge_base(self) -> str:
        assert self.repo.git is not None
        head, base = self.head_sha, self.base_sha
        return self.repo.git.merge_base(base, head) or base


@dataclass(eq=False)
class Review:
    id: int
    pull: PullRequest
    user: Account
    body: str
    state: str  # APPROVED, CHANGES_REQUESTED, COMMENTED, PENDING
    commit_id: str
    submitted_at: float | None


@dataclass(eq=False)
class ReviewComment:
    id: int
    review: Review
    path: str
    body: str
    commit_id: str
    line: int | None
    side: str
    start_line: int | None
    start_side: str | None
    diff_hunk: str
    position: int | None
    user: Account
    created_at: float


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
class CommitStatus:
    """A commit status (``POST /statuses/{sha}``), the signal older CI systems report."""

    id: int
    repo: Repository
    sha: str
    context: str
    state: str  # error | failure | pending | success
    description: str | None = None
    target_url: str | None = None
    created_at: float = 0.0


@dataclass(eq=False)
class Activity:
    """A ref change (``GET /repos/{owner}/{repo}/activity``): who moved it, and when."""

    id: int
    repo: Repository
    ref: str  # "refs/heads/feature"
    before: str  # 40 zeros when the ref was created
    after: str  # 40 zeros when it was deleted
    actor: Account | None
    timestamp: float

    @property
    def activity_type(self) -> str:
        if self.before == ZERO_SHA:
            return "branch_creation"
        return "branch_deletion" if self.after == ZERO_SHA else "push"


@dataclass(eq=False)
class DeploymentStatus:
    id: int
    state: str  # one of DEPLOYMENT_STATES
    description: str
    environment_url: str
    log_url: str
    creator: Account
    created_at: float
    environment: str = "production"
    via_app: bool = False  # created by the App (performed_via_github_app)


@dataclass(eq=False)
class Deployment:
    id: int
    repo: Repository
    sha: str
    ref: str
    task: str = "deploy"
    environment: str = "production"
    description: str | None = None
    payload: dict[str, Any] = field(default_factory=dict)
    creator: Account | None = None
    production_environment: bool = True
    transient_environment: bool = False
    created_at: float = 0.0
    updated_at: float = 0.0
    statuses: list[DeploymentStatus] = field(default_factory=list)  # oldest first
    original_environment: str = "production"
    via_app: bool = False

    @property
    def state(self) -> str | None:
        """The latest status's state (None before the first status)."""
        return self.statuses[-1].state if self.statuses else None


@dataclass(eq=False)
class Team:
    org: Account
    slug: str
    id: int
    members: dict[str, Literal["member", "maintainer"]] = field(default_factory=dict)


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
        self.check_suites: dict[tuple[int, str], int] = {}  # (repo id, head sha) -> suite id
        self.commit_statuses: list[CommitStatus] = []  # oldest first
        self.activities: list[Activity] = []  # oldest first
        self.tokens: dict[str, IssuedToken] = {}
        self.user_tokens: dict[str, str] = {}  # a person's token -> login (GET /user)
        # The App's OAuth web flow (oauth.py): who "signs in" at /login/oauth/authorize,
        # the App's client secret, and the codes handed out (code -> (login, redirect_uri)).
        self.oauth_login: str | None = None
        self.oauth_prompt: bool = False  # True: show the "Authorize" page before redirecting
        self.oauth_client_secret: str = "fake-client-secret-" + secrets.token_hex(8)
        self.oauth_codes: dict[str, tuple[str, str]] = {}
        self.tokens_issued: Counter[int] = Counter()
        self.token_lifetime: timedelta = timedelta(hours=1)
        self.rate_limits: dict[str, RateLimit] = {}
        self.deployments: dict[int, Deployment] = {}
        self.teams: dict[tuple[str, str], Team] = {}  # (org lower, slug lower) -> team

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

    def user_can_access(self, login: str, repo: Repository) -> bool:
        """Whether person ``login`` can see ``repo``: its owner or a collaborator."""
        return repo.owner.login.lower() == login.lower() or login.lower() in repo.collaborators

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
            now = self.clock()
            issue = Issue(
                number,
                title,
                self.add_account(user),
                is_pull_request=pull_request,
                id=self.next_id(3_000_000_000),
                created_at=now,
                updated_at=now,
            )
            repo.issues[number] = issue
        return issue

    def issue(self, repo_full_name: str, number: int) -> Issue:
        """Issue ``number`` of a repository (KeyError if there is none)."""
        return self._require_repo(repo_full_name).issues[number]

    def issues_in(self, repo_full_name: str, *, pulls: bool = False) -> list[Issue]:
        """A repository's issues (seeded or created through the API), by number;
        pull requests only with ``pulls=True``."""
        repo = self._require_repo(repo_full_name)
        return [i for _, i in sorted(repo.issues.items()) if pulls or not i.is_pull_request]

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

    def add_reaction(self, comment_id: int, user: str, content: str = "+1") -> Reaction:
        """``user`` reacts to issue comment ``comment_id`` (``"+1"`` is 👍); one reaction
        per user and content, as on GitHub (the existing one is returned)."""
        comment = self.comments[comment_id]
        account = self.add_account(user)
        for existing in comment.reactions:
            if existing.user is account and existing.content == content:
                return existing
        reaction = Reaction(
            id=self.next_id(100_000_000), user=account, content=content, created_at=self.clock()
        )
        comment.reactions.append(reaction)
        return reaction

    # -------------------------------------------------------------- pull requests
    def open_pull_request(
        self,
        full_name: str,
        head: str = "feature",
        base: str = "main",
        *,
        user: str = "alice",
        head_repo: str | None = None,
        maintainer_can_modify: bool = False,
        draft: bool = False,
        title: str = "A pull request",
        body: str | None = None,
    ) -> int:
        """Open a pull request from ``head`` (a branch of ``head_repo``, a fork, or of
        ``full_name``) into ``base``; both repositories must live in the git server.

        Returns the number (shared with issues). Head and base shas are read from git
        whenever the API is asked, so later commits to the head branch show up.
        """
        repo = self._require_repo(full_name)
        source = self._require_repo(head_repo) if head_repo else repo
        if repo.git is None or source.git is None:
            raise ValueError("pull requests need repositories created with GitServer.create_repo")
        if source.git.resolve(f"refs/heads/{head}") is None:
            raise KeyError(f"{source.full_name} has no branch {head!r}")
        if repo.git.resolve(f"refs/heads/{base}") is None:
            raise KeyError(f"{repo.full_name} has no branch {base!r}")
        number = max([0, *repo.issues], default=0) + 1
        now = self.clock()
        author = self.add_account(user)
        pr = PullRequest(
            number=number,
            id=self.next_id(2_000_000_000),
            repo=repo,
            head_repo=source,
            head_ref=head,
            base_ref=base,
            user=author,
            title=title,
            body=body,
            draft=draft,
            maintainer_can_modify=maintainer_can_modify,
            created_at=now,
            updated_at=now,
        )
        repo.issues[number] = Issue(number, title, author, is_pull_request=True)
        repo.pulls[number] = pr
        _ = pr.head_sha, pr.base_sha  # mirror refs/pull/N/head now
        return number

    def pull_request(self, full_name: str, number: int) -> PullRequest:
        return self._require_repo(full_name).pulls[number]

    def close_pull_request(self, full_name: str, number: int, *, merged: bool = False) -> None:
        """Close a pull request (its head and base shas are frozen from now on)."""
        pr = self.pull_request(full_name, number)
        _ = pr.head_sha, pr.base_sha
        pr.state = "closed"
        pr.merged = merged
        pr.closed_at = pr.updated_at = self.clock()

    def reopen_pull_request(self, full_name: str, number: int) -> None:
        pr = self.pull_request(full_name, number)
        pr.state, pr.merged, pr.closed_at = "open", False, None
        pr.updated_at = self.clock()

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

    def add_commit_status(
        self,
        repo_full_name: str,
        sha: str,
        context: str,
        state: str,
        *,
        description: str | None = None,
        target_url: str | None = None,
    ) -> CommitStatus:
        """Report a status on ``sha``, as a CI system does; the newest per context counts."""
        status = CommitStatus(
            id=self.next_id(40_000_000_000),
            repo=self.add_repo(repo_full_name),
            sha=sha,
            context=context,
            state=state,
            description=description,
            target_url=target_url,
            created_at=self.clock(),
        )
        self.commit_statuses.append(status)
        return status

    def record_activity(
        self, full_name: str, ref: str, before: str, after: str, actor: Account | None = None
    ) -> Activity:
        """A ref moved (the git server reports every push and helper commit), now."""
        activity = Activity(
            id=self.next_id(60_000_000),
            repo=self.add_repo(full_name),
            ref=ref,
            before=before,
            after=after,
            actor=actor,
            timestamp=self.clock(),
        )
        self.activities.append(activity)
        return activity

    def suite_id_for(self, repo: Repository, head_sha: str) -> int:
        for run in self.check_runs.values():
            if run.repo is repo and run.head_sha == head_sha:
                return run.check_suite_id
        key = (repo.id, head_sha)
        if key not in self.check_suites:
            self.check_suites[key] = self.next_id(30_000_000_000)
        return self.check_suites[key]

    # ---------------------------------------------------------------- deployments
    @property
    def github_actions_bot(self) -> Account:
        """The ``github-actions[bot]`` account (creator of statuses from workflows)."""
        return self.add_account(GITHUB_ACTIONS_LOGIN, type="Bot", id=GITHUB_ACTIONS_ID)

    def add_deployment(
        self,
        repo_full_name: str,
        sha: str,
        *,
        ref: str | None = None,
        environment: str = "production",
        task: str = "deploy",
        description: str | None = None,
        payload: dict[str, Any] | None = None,
        creator: str | None = None,
        production_environment: bool | None = None,
        transient_environment: bool = False,
        via_app: bool = False,
    ) -> Deployment:
        """Seed a deployment of ``sha`` (what ``POST .../deployments`` creates).

        ``creator`` defaults to the App's bot (``via_app`` then defaults to True).
        """
        repo = self.add_repo(repo_full_name)
        now = self.clock()
        account = self.add_account(creator) if creator else self.app.bot
        deployment = Deployment(
            id=self.next_id(40_000_000),
            repo=repo,
            sha=sha,
            ref=ref or sha,
            task=task,
            environment=environment,
            original_environment=environment,
            description=description,
            payload=dict(payload or {}),
            creator=account,
            production_environment=(
                environment == "production"
                if production_environment is None
                else production_environment
            ),
            transient_environment=transient_environment,
            created_at=now,
            updated_at=now,
            via_app=via_app or creator is None,
        )
        self.deployments[deployment.id] = deployment
        return deployment

    def deployment(self, deployment_id: int) -> Deployment:
        return self.deployments[deployment_id]

    def deployments_in(
        self, repo_full_name: str, *, environment: str | None = None
    ) -> list[Deployment]:
        """A repository's deployments, oldest first (optionally of one environment)."""
        repo = self.repo(repo_full_name)
        return [
            d
            for d in sorted(self.deployments.values(), key=lambda d: d.id)
            if d.repo is repo and environment in (None, d.environment)
        ]

    def add_deployment_status(
        self,
        deployment_id: int,
        state: str,
        *,
        creator: Account | str | None = None,
        description: str = "",
        log_url: str | None = None,
        environment_url: str | None = None,
        environment: str | None = None,
        auto_inactive: bool = True,
        via_app: bool = False,
    ) -> DeploymentStatus:
        """Append a status to a deployment, with GitHub's side effects.

        ``environment`` moves the deployment to another environment. A ``success``
        status with ``auto_inactive`` appends an ``inactive`` status to every earlier
        deployment of the same repository and environment whose state is ``success``,
        unless it is a production or transient environment's deployment (GitHub's
        documented rule: production deployments are never marked inactive for you).
        ``creator`` defaults to the App's bot.
        """
        if state not in DEPLOYMENT_STATES:
            raise ValueError(f"deployment state must be one of {DEPLOYMENT_STATES}, not {state!r}")
        deployment = self.deployments[deployment_id]
        if isinstance(creator, str):
            account = self.add_account(creator)
        else:
            account = creator or self.app.bot
        if environment:
            deployment.environment = environment
        now = self.clock()
        status = DeploymentStatus(
            id=self.next_id(50_000_000),
            state=state,
            description=description,
            environment_url=environment_url or "",
            log_url=log_url or "",
            creator=account,
            created_at=now,
            environment=deployment.environment,
            via_app=via_app,
        )
        deployment.statuses.append(status)
        deployment.updated_at = now
        if state == "success" and auto_inactive:
            for earlier in self.deployments.values():
                if (
                    earlier.repo is deployment.repo
                    and earlier.environment == deployment.environment
                    and earlier.id < deployment.id
                    and earlier.state == "success"
                    and not earlier.production_environment
                    and not earlier.transient_environment
                ):
                    earlier.statuses.append(
                        DeploymentStatus(
                            id=self.next_id(50_000_000),
                            state="inactive",
                            description="",
                            environment_url="",
                            log_url="",
                            creator=account,
                            created_at=now,
                            environment=earlier.environment,
                            via_app=via_app,
                        )
                    )
                    earlier.updated_at = now
        return status

    def report_deployment(
        self,
        full_name: str,
        deployment_id: int,
        state: str,
        *,
        log_url: str | None = None,
        description: str = "",
        environment_url: str | None = None,
        auto_inactive: bool = True,
    ) -> DeploymentStatus:
        """The repository's CI (GitHub Actions) reports a deployment status.

        The status's creator is ``github-actions[bot]``; ``success`` applies
        ``auto_inactive`` like the API does. Returns the new status.
        """
        deployment = self.deployments[deployment_id]
        if deployment.repo is not self.repo(full_name):
            raise KeyError(f"deployment {deployment_id} is not a deployment of {full_name!r}")
        return self.add_deployment_status(
            deployment_id,
            state,
            creator=self.github_actions_bot,
            description=description,
            log_url=log_url,
            environment_url=environment_url,
            auto_inactive=auto_inactive,
        )

    # ---------------------------------------------------------------------- teams
    def add_team(
        self,
        org: str,
        slug: str,
        *,
        members: Iterable[str] = (),
        maintainers: Iterable[str] = (),
    ) -> Team:
        """Create (or extend) team ``slug`` of organization ``org`` with members."""
        owner = self.add_account(org, type="Organization")
        key = (org.lower(), slug.lower())
        team = self.teams.get(key)
        if team is None:
            team = Team(org=owner, slug=slug, id=self.next_id(60_000_000))
            self.teams[key] = team
        for login in members:
            team.members[self.add_account(login).login.lower()] = "member"
        for login in maintainers:
            team.members[self.add_account(login).login.lower()] = "maintainer"
        return team

    def team(self, org: str, slug: str) -> Team | None:
        return self.teams.get((org.lower(), slug.lower()))

    # --------------------------------------------------------------------- tokens
    def add_user_token(self, login: str) -> str:
        """A token for person ``login`` (what `gh auth token` gives), for `GET /user`."""
        self.add_account(login)
        token = "gho_" + "".join(secrets.choice(_TOKEN_ALPHABET) for _ in range(36))
        self.user_tokens[token] = login
        return token

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
