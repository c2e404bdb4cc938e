"""Behaviour of each vendored GitHub operation, keyed by OpenAPI ``operationId``.

The server has already routed, validated and authenticated the request when a handler
runs; handlers implement GitHub's semantics on top of :class:`GitHubState` (404 for
things that do not exist or that the token cannot see, 403 "Resource not accessible by
integration" for missing permissions, 422 for semantic errors) and return a
:class:`Reply`. To support a new endpoint: vendor it (``tests/fakes/openapi/vendor.py``),
then add a function here decorated with ``@handles("<operationId>")``.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from aiohttp import web

from ..openapi.validator import Operation, Violation
from .auth import AppIdentity, Identity, InstallationIdentity, UserIdentity
from .errors import NOT_ACCESSIBLE_MESSAGE, GitHubError
from .faults import RecordedRequest
from .shapes import Shapes
from .state import (
    LEVELS,
    CheckRun,
    CommitStatus,
    Deployment,
    Issue,
    IssueComment,
    PullRequest,
    Reaction,
    Repository,
    Review,
    ReviewComment,
    iso,
)

if TYPE_CHECKING:
    from .server import FakeGitHub

MAX_INLINE_CONTENT = 1024 * 1024  # the Contents API inlines files up to 1 MB
MAX_CONTENT = 100 * 1024 * 1024
_SHA = re.compile(r"[0-9a-f]{40}")
MAX_ANNOTATIONS = 50  # per create/update request; they accumulate across updates
MAX_ACTIONS = 3
ACTION_LIMITS = {"label": 20, "description": 40, "identifier": 20}
MAX_PR_FILES = 3000
REVIEW_STATES = {
    "APPROVE": "APPROVED",
    "REQUEST_CHANGES": "CHANGES_REQUESTED",
    "COMMENT": "COMMENTED",
}


@dataclass
class Reply:
    """A handler's answer: JSON ``body`` (or ``raw`` bytes) with a status and headers."""

    body: Any = None
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    raw: bytes | None = None
    content_type: str = "application/json; charset=utf-8"
    media_type: str = "application/json"  # which documented response schema applies


@dataclass
class Context:
    gh: FakeGitHub
    request: web.Request
    record: RecordedRequest
    op: Operation
    path_params: dict[str, Any]
    query: dict[str, Any]
    body: Any
    identity: Identity

    @property
    def shapes(self) -> Shapes:
        return self.gh.shapes

    @property
    def token_installation_id(self) -> int:
        if not isinstance(self.identity, InstallationIdentity):  # pragma: no cover
            raise GitHubError(401)
        return self.identity.installation_id

    def violation(self, message: str, status: int = 422) -> GitHubError:
        """Record a semantic violation (bot bug GitHub would reject) and build the error."""
        self.gh.record_violation(
            Violation("semantic", f"{self.op.key} ({self.op.operation_id}): {message}", status),
            self.record,
        )
        return GitHubError(status, message, documentation_url=self.op.documentation_url)

    def not_found(self) -> GitHubError:
        return GitHubError(404, documentation_url=self.op.documentation_url)

    # ---------------------------------------------------------------- permissions
    def repo(self, permission: str | tuple[str, ...], level: str = "read") -> Repository:
        """The addressed repository, if the token may use it with ``permission:level``.

        Like GitHub: a repository the token cannot see is "Not Found"; a visible one
        without the permission is 403 "Resource not accessible by integration".
        ``permission`` may be a tuple of alternatives (e.g. issues or pull_requests).
        """
        full_name = f"{self.path_params['owner']}/{self.path_params['repo']}"
        repo = self.gh.repo(full_name)
        if repo is None:
            raise self.not_found()
        if not isinstance(self.identity, InstallationIdentity):
            raise self.not_found()
        token = self.identity.token
        inst = self.gh.installations.get(token.installation_id)
        reachable = (
            inst is not None
            and any(r is repo for r in self.gh.installation_repos(inst))
            and (token.repository_ids is None or repo.id in token.repository_ids)
        )
        alternatives = (permission,) if isinstance(permission, str) else permission
        accepted = "; ".join(f"{p}={level}" for p in alternatives)
        if not reachable:
            if repo.private:
                raise self.not_found()
            if level != "read":  # anyone may read a public repository
                raise self.not_accessible(accepted)
            return repo
        granted = any(
            LEVELS.get(token.permissions.get(p, ""), 0) >= LEVELS[level] for p in alternatives
        )
        if not granted:
            raise self.not_accessible(accepted)
        return repo

    def not_accessible(self, accepted: str) -> GitHubError:
        """GitHub's 403 for a token that lacks the permission, naming the ones accepted."""
        return GitHubError(
            403,
            NOT_ACCESSIBLE_MESSAGE,
            documentation_url=self.op.documentation_url,
            headers={"x-accepted-github-permissions": accepted},
        )

    def org_permission(self, org: str, permission: str, level: str = "read") -> None:
        """Check an organization endpoint: the token's installation must be on ``org``
        (otherwise "Not Found") and hold ``permission:level`` (otherwise 403)."""
        if not isinstance(self.identity, InstallationIdentity):
            raise self.not_found()
        token = self.identity.token
        inst = self.gh.installations.get(token.installation_id)
        if inst is None or inst.account.login.lower() != org.lower():
            raise self.not_found()
        if LEVELS.get(token.permissions.get(permission, ""), 0) < LEVELS[level]:
            raise self.not_accessible(f"{permission}={level}")

    def issue_repo(self, issue_number: int, level: str) -> Repository:
        """Repository for an issue endpoint: issues, or pull_requests for a PR."""
        repo = self.repo(("issues", "pull_requests"), level)
        issue = repo.issues.get(issue_number)
        if issue is None:
            raise self.not_found()
        needed = "pull_requests" if issue.is_pull_request else "issues"
        return self.repo(needed, level)

    # ----------------------------------------------------------------- pagination
    def paginate(self, items: list[Any]) -> tuple[list[Any], dict[str, str]]:
        """Slice ``items`` by ``page``/``per_page`` and build GitHub's ``Link`` header."""
        per_page = max(1, min(int(self.query.get("per_page", 30)), 100))
        page = max(1, int(self.query.get("page", 1)))
        last = max(1, -(-len(items) // per_page))
        chunk = items[(page - 1) * per_page : page * per_page]
        if last == 1:
            return chunk, {}

        def link(p: int) -> str:
            params = [(k, v) for k, v in self.request.query.items() if k != "page"]
            params.append(("page", str(p)))
            return f"<{self.gh.url}{self.request.path}?{urlencode(params)}>"

        rels = []
        if page > 1:
            rels.append(f'{link(page - 1)}; rel="prev"')
        if page < last:
            rels.append(f'{link(page + 1)}; rel="next"')
        rels.append(f'{link(last)}; rel="last"')
        if page > 1:
            rels.append(f'{link(1)}; rel="first"')
        return chunk, {"Link": ", ".join(rels)}


Handler = Callable[[Context], Awaitable[Reply]]
HANDLERS: dict[str, Handler] = {}


def handles(operation_id: str) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        HANDLERS[operation_id] = fn
        return fn

    return register


# ============================================================================== apps
@handles("apps/get-authenticated")
async def get_app(ctx: Context) -> Reply:
    return Reply(ctx.shapes.integration(ctx.gh.app, with_count=True))


@handles("apps/list-installations")
async def list_installations(ctx: Context) -> Reply:
    installs = sorted(ctx.gh.installations.values(), key=lambda i: i.id)
    page, headers = ctx.paginate([ctx.shapes.installation(i) for i in installs])
    return Reply(page, headers=headers)


@handles("apps/create-from-manifest")
async def create_app_from_manifest(ctx: Context) -> Reply:
    """The manifest flow's code exchange (no auth; each code works once): see manifests.py."""
    created = ctx.gh.manifests.convert(ctx.path_params["code"])
    if created is None:
        raise ctx.not_found()
    return Reply(ctx.gh.manifests.shape(created), status=201)


@handles("apps/get-installation")
async def get_installation(ctx: Context) -> Reply:
    inst = ctx.gh.installations.get(ctx.path_params["installation_id"])
    if inst is None:
        raise ctx.not_found()
    return Reply(ctx.shapes.installation(inst))


@handles("apps/get-repo-installation")
async def get_repo_installation(ctx: Context) -> Reply:
    """The installation that covers a repository (JWT only, like GitHub)."""
    if not isinstance(ctx.identity, AppIdentity):
        raise GitHubError(401, "A JSON web token could not be decoded")
    repo = ctx.gh.repo(f"{ctx.path_params['owner']}/{ctx.path_params['repo']}")
    if repo is not None:
        for inst in sorted(ctx.gh.installations.values(), key=lambda i: i.id):
            if any(r is repo for r in ctx.gh.installation_repos(inst)):
                return Reply(ctx.shapes.installation(inst))
    raise ctx.not_found()


@handles("apps/create-installation-access-token")
async def create_access_token(ctx: Context) -> Reply:
    inst = ctx.gh.installations.get(ctx.path_params["installation_id"])
    if inst is None:
        raise ctx.not_found()
    if inst.suspended_at is not None:
        raise GitHubError(403, "This installation has been suspended")
    body = ctx.body if isinstance(ctx.body, dict) else {}

    permissions = None
    if body.get("permissions"):
        requested = body["permissions"]
        for name, level in requested.items():
            if LEVELS.get(inst.permissions.get(name, ""), 0) < LEVELS.get(level, 99):
                raise GitHubError(
                    422,
                    "The permissions requested are not granted to this installation.",
                    documentation_url=ctx.op.documentation_url,
                )
        permissions = dict(requested)

    repository_ids = None
    names, ids = body.get("repositories"), body.get("repository_ids")
    if names or ids:
        available = ctx.gh.installation_repos(inst)
        chosen = set()
        for name in names or []:
            match = next((r for r in available if r.name.lower() == name.lower()), None)
            if match is None:
                raise GitHubError(
                    422,
                    "There is at least one repository that does not exist or is not "
                    "accessible to the parent installation.",
                    documentation_url=ctx.op.documentation_url,
                )
            chosen.add(match.id)
        for repo_id in ids or []:
            if not any(r.id == repo_id for r in available):
                raise GitHubError(
                    422,
                    "There is at least one repository that does not exist or is not "
                    "accessible to the parent installation.",
                    documentation_url=ctx.op.documentation_url,
                )
            chosen.add(repo_id)
        repository_ids = chosen

    token = ctx.gh.issue_token(inst.id, permissions=permissions, repository_ids=repository_ids)
    out: dict[str, Any] = {
        "token": token.token,
        "expires_at": iso(token.expires_at),
        "permissions": dict(token.permissions),
        "repository_selection": "selected"
        if repository_ids is not None
        else inst.repository_selection,
    }
    if repository_ids is not None:
        out["repositories"] = [
            ctx.shapes.repository(r)
            for r in ctx.gh.installation_repos(inst)
            if r.id in repository_ids
        ]
    return Reply(out, status=201)


@handles("apps/list-repos-accessible-to-installation")
async def list_installation_repos(ctx: Context) -> Reply:
    token = ctx.identity.token if isinstance(ctx.identity, InstallationIdentity) else None
    inst = ctx.gh.installations.get(ctx.token_installation_id)
    if inst is None or token is None:
        raise GitHubError(401)
    repos = [
        r
        for r in ctx.gh.installation_repos(inst)
        if token.repository_ids is None or r.id in token.repository_ids
    ]
    page, headers = ctx.paginate(repos)
    selection = "selected" if token.repository_ids is not None else inst.repository_selection
    return Reply(
        {
            "total_count": len(repos),
            "repository_selection": selection,
            "repositories": [ctx.shapes.repository(r) for r in page],
        },
        headers=headers,
    )


# ====================================================================== repositories
@handles("repos/get")
async def get_repo(ctx: Context) -> Reply:
    repo = ctx.repo("metadata")
    return Reply(ctx.shapes.full_repository(repo))


@handles("repos/get-content")
async def get_content(ctx: Context) -> Reply:
    repo = ctx.repo("contents")
    ref = ctx.query.get("ref") or repo.default_branch
    path = str(ctx.path_params["path"]).strip("/")
    if repo.git is not None:
        data, children = _git_content(ctx, repo, ref, path)
    else:
        data, children = _seeded_content(ctx, repo, ref, path)
    accept = ctx.request.headers.get("Accept", "")
    raw_wanted = ".raw" in accept
    object_wanted = ".object" in accept

    if data is not None:
        if len(data) > MAX_CONTENT:
            raise GitHubError(403, "This API returns blobs up to 100 MB in size.")
        if raw_wanted:
            return Reply(
                raw=data,
                content_type="text/plain; charset=utf-8",
                media_type="application/vnd.github.raw",
                headers={"x-github-media-type": "github.v3; param=raw"},
            )
        if len(data) > MAX_INLINE_CONTENT and not object_wanted:
            raise GitHubError(
                403,
                "This API returns blobs up to 1 MB in size. The requested blob is too large "
                "to fetch via the API, but you can use the Git Data API to request blobs up "
                "to 100 MB in size.",
                errors=[{"resource": "Blob", "field": "data", "code": "too_large"}],
                documentation_url=ctx.op.documentation_url,
            )
        body = ctx.shapes.content_file(
            repo, path, ref, data, include_content=len(data) <= MAX_INLINE_CONTENT
        )
        media = "application/vnd.github.object" if object_wanted else "application/json"
        return Reply(body, media_type=media)

    if not children:
        raise ctx.not_found()
    if raw_wanted:
        raise GitHubError(415, "Unsupported 'Accept' header for a directory")
    entries = [ctx.shapes.content_entry(repo, p, ref, d) for p, d in sorted(children.items())]
    if object_wanted:
        tree = ctx.shapes.content_entry(repo, path, ref, None)
        tree["entries"] = entries
        return Reply(tree, media_type="application/vnd.github.object")
    return Reply(entries)


def _no_commit(ctx: Context, ref: str) -> GitHubError:
    return GitHubError(
        404, f"No commit found for the ref {ref}", documentation_url=ctx.op.documentation_url
    )


def _seeded_content(
    ctx: Context, repo: Repository, ref: str, path: str
) -> tuple[bytes | None, dict[str, bytes | None]]:
    """(file data, directory children) of ``path`` in a repository seeded with add_file."""
    files = repo.files.get(ref)
    if files is None:
        raise _no_commit(ctx, ref)
    data = files.get(path)
    prefix = f"{path}/" if path else ""
    children: dict[str, bytes | None] = {}
    if data is None:
        for file_path, file_data in files.items():
            if file_path.startswith(prefix):
                head, sep, _ = file_path[len(prefix) :].partition("/")
                children[prefix + head] = None if sep else file_data
    return data, children


def _git_content(
    ctx: Context, repo: Repository, ref: str, path: str
) -> tuple[bytes | None, dict[str, bytes | None]]:
    """(file data, directory children) of ``path`` at ``ref``, read from git."""
    assert repo.git is not None
    sha = repo.git.resolve(ref)
    if sha is None:
        raise _no_commit(ctx, ref)
    kind = repo.git.object_type(f"{sha}:{path}") if path else "tree"
    if kind == "blob":
        return repo.git.show(sha, path), {}
    children: dict[str, bytes | None] = {}
    for entry_kind, entry_path, _ in repo.git.tree_entries(sha, path) or []:
        children[entry_path] = repo.git.show(sha, entry_path) if entry_kind == "file" else None
    return None, children


@handles("repos/get-collaborator-permission-level")
async def get_collaborator_permission(ctx: Context) -> Reply:
    repo = ctx.repo("metadata")
    user = ctx.gh.account(ctx.path_params["username"])
    if user is None:
        raise GitHubError(
            404,
            f"{ctx.path_params['username']} is not a user",
            documentation_url=ctx.op.documentation_url,
        )
    role = repo.collaborators.get(user.login.lower())
    if role is None:
        if user is repo.owner:
            role = "admin"
        else:
            role = "none" if repo.private else "read"
    legacy = {"maintain": "write", "triage": "read"}.get(role, role)
    return Reply(
        {
            "permission": legacy,
            "role_name": role,
            "user": ctx.shapes.collaborator(user, role),
        }
    )


# ============================================================ issue comments, reactions
@handles("issues/list-comments")
async def list_comments(ctx: Context) -> Reply:
    number = ctx.path_params["issue_number"]
    repo = ctx.issue_repo(number, "read")
    comments = ctx.gh.comments_on(repo.full_name, number)
    if "since" in ctx.query:
        since = _parse_iso(ctx.query["since"])
        comments = [c for c in comments if c.updated_at >= since]
    page, headers = ctx.paginate(comments)
    return Reply([ctx.shapes.issue_comment(c) for c in page], headers=headers)


@handles("issues/create-comment")
async def create_comment(ctx: Context) -> Reply:
    number = ctx.path_params["issue_number"]
    repo = ctx.issue_repo(number, "write")
    body = ctx.body["body"]
    if len(body) > 65536:
        raise ctx.violation("Body is too long (maximum is 65536 characters)")
    now = ctx.gh.clock()
    comment = IssueComment(
        id=ctx.gh.next_id(1_000_000_000),
        repo=repo,
        issue_number=number,
        body=body,
        user=ctx.gh.app.bot,
        created_at=now,
        updated_at=now,
        via_app=True,
    )
    ctx.gh.comments[comment.id] = comment
    url = ctx.shapes.comment_url(comment)
    return Reply(ctx.shapes.issue_comment(comment), status=201, headers={"Location": url})


def _comment(ctx: Context, level: str) -> IssueComment:
    repo = ctx.repo(("issues", "pull_requests"), level)
    comment = ctx.gh.comments.get(ctx.path_params["comment_id"])
    if comment is None or comment.repo is not repo:
        raise ctx.not_found()
    ctx.issue_repo(comment.issue_number, level)
    return comment


@handles("issues/update-comment")
async def update_comment(ctx: Context) -> Reply:
    comment = _comment(ctx, "write")
    body = ctx.body["body"]
    if len(body) > 65536:
        raise ctx.violation("Body is too long (maximum is 65536 characters)")
    comment.body = body
    comment.updated_at = ctx.gh.clock()
    return Reply(ctx.shapes.issue_comment(comment))


@handles("reactions/create-for-issue-comment")
async def create_comment_reaction(ctx: Context) -> Reply:
    comment = _comment(ctx, "write")
    content = ctx.body["content"]
    bot = ctx.gh.app.bot
    existing = next((r for r in comment.reactions if r.user is bot and r.content == content), None)
    if existing is not None:
        return Reply(ctx.shapes.reaction(existing), status=200)
    reaction = Reaction(
        id=ctx.gh.next_id(100_000_000), user=bot, content=content, created_at=ctx.gh.clock()
    )
    comment.reactions.append(reaction)
    return Reply(ctx.shapes.reaction(reaction), status=201)


@handles("reactions/list-for-issue-comment")
async def list_comment_reactions(ctx: Context) -> Reply:
    comment = _comment(ctx, "read")
    reactions = list(comment.reactions)
    if "content" in ctx.query:
        reactions = [r for r in reactions if r.content == ctx.query["content"]]
    page, headers = ctx.paginate(reactions)
    return Reply([ctx.shapes.reaction(r) for r in page], headers=headers)


# ============================================================================= issues
@handles("issues/create")
async def create_issue(ctx: Context) -> Reply:
    repo = ctx.repo("issues", "write")
    body = ctx.body
    title = str(body["title"])
    if not title.strip():
        raise ctx.violation("Validation Failed: title can't be blank")
    text = body.get("body")
    if text is not None and len(text) > 65536:
        raise ctx.violation("Body is too long (maximum is 65536 characters)")
    labels: list[str] = []
    for label in body.get("labels") or []:
        name = label if isinstance(label, str) else label.get("name")
        if name and name not in labels:
            labels.append(str(name))
    logins = list(body.get("assignees") or [])
    if body.get("assignee"):
        logins.insert(0, body["assignee"])
    assignees = []
    for login in logins:
        account = ctx.gh.account(login)
        if account is not None and account not in assignees:  # unknown ones are dropped
            assignees.append(account)
    now = ctx.gh.clock()
    number = max([0, *repo.issues], default=0) + 1
    issue = Issue(
        number,
        title,
        ctx.gh.app.bot,
        body=text,
        labels=labels,
        assignees=assignees,
        id=ctx.gh.next_id(3_000_000_000),
        created_at=now,
        updated_at=now,
        via_app=True,
    )
    repo.issues[number] = issue
    shown = ctx.shapes.issue(repo, issue)
    return Reply(shown, status=201, headers={"Location": shown["url"]})


@handles("issues/get")
async def get_issue(ctx: Context) -> Reply:
    number = ctx.path_params["issue_number"]
    repo = ctx.issue_repo(number, "read")
    return Reply(ctx.shapes.issue(repo, repo.issues[number]))


def _label_names(given: Any) -> list[str]:
    names: list[str] = []
    for label in given or []:
        name = label if isinstance(label, str) else (label or {}).get("name")
        if name and str(name) not in names:
            names.append(str(name))
    return names


@handles("issues/update")
async def update_issue(ctx: Context) -> Reply:
    """Title, body, state (closing stamps ``closed_at``), labels (replaced) and assignees."""
    number = ctx.path_params["issue_number"]
    repo = ctx.issue_repo(number, "write")
    issue = repo.issues[number]
    body = ctx.body
    if "title" in body and body["title"] is not None:
        if not str(body["title"]).strip():
            raise ctx.violation("Validation Failed: title can't be blank")
        issue.title = str(body["title"])
    if "body" in body:
        text = body["body"]
        if text is not None and len(text) > 65536:
            raise ctx.violation("Body is too long (maximum is 65536 characters)")
        issue.body = text
    state = body.get("state")
    if state == "closed" and issue.state != "closed":
        issue.state, issue.closed_at = "closed", ctx.gh.clock()
    elif state == "open" and issue.state != "open":
        issue.state, issue.closed_at = "open", None
    if "labels" in body:
        issue.labels = _label_names(body["labels"])
    if "assignees" in body:
        accounts = [ctx.gh.account(login) for login in body["assignees"] or []]
        issue.assignees = [a for a in accounts if a is not None]
    issue.updated_at = ctx.gh.clock()
    return Reply(ctx.shapes.issue(repo, issue))


@handles("issues/list-for-repo")
async def list_repo_issues(ctx: Context) -> Reply:
    """Issues and pull requests, newest first by default; ``state``, ``creator``,
    ``labels``, ``sort`` (created/updated) and ``direction`` filters."""
    repo = ctx.repo(("issues", "pull_requests"), "read")
    state = ctx.query.get("state", "open")
    items = [i for i in repo.issues.values() if state == "all" or i.state == state]
    if "creator" in ctx.query:
        items = [i for i in items if i.user.login.lower() == ctx.query["creator"].lower()]
    if ctx.query.get("labels"):
        wanted = set(ctx.query["labels"].split(","))
        items = [i for i in items if wanted <= set(i.labels)]
    key = "updated_at" if ctx.query.get("sort") == "updated" else "created_at"
    reverse = ctx.query.get("direction", "desc") == "desc"
    items.sort(key=lambda i: (getattr(i, key), i.number), reverse=reverse)
    page, headers = ctx.paginate(items)
    return Reply([ctx.shapes.issue(repo, i) for i in page], headers=headers)


@handles("issues/add-labels")
async def add_issue_labels(ctx: Context) -> Reply:
    number = ctx.path_params["issue_number"]
    repo = ctx.issue_repo(number, "write")
    issue = repo.issues[number]
    body = ctx.body
    given = body.get("labels") if isinstance(body, dict) else body
    for name in _label_names(given):
        if name not in issue.labels:
            issue.labels.append(name)
    issue.updated_at = ctx.gh.clock()
    return Reply([ctx.shapes.label(repo, name) for name in issue.labels])


# ======================================================================= deployments
_SUCCESSFUL = ("success", "neutral", "skipped")


def _deploy_sha(ctx: Context, repo: Repository, ref: str) -> str:
    """The commit a deployment of ``ref`` (sha, branch or tag) points at."""
    sha: str | None = None
    if repo.git is not None:
        sha = repo.git.resolve(ref)
    elif _SHA.fullmatch(ref):
        sha = ref
    elif ref in repo.files or ref == repo.default_branch:  # seeded without git
        sha = hashlib.sha1(f"{repo.id}:{ref}".encode(), usedforsecurity=False).hexdigest()
    if sha is None:
        raise GitHubError(
            422, f"No ref found for: {ref}", documentation_url=ctx.op.documentation_url
        )
    return sha


def _newest_by_name(runs: list[CheckRun]) -> dict[str, CheckRun]:
    """The newest check run of each name (GitHub's `filter=latest`)."""
    latest: dict[str, CheckRun] = {}
    for run in sorted(runs, key=lambda r: r.id):
        latest[run.name] = run
    return latest


def _latest_statuses(ctx: Context, repo: Repository, sha: str) -> dict[str, CommitStatus]:
    """The newest commit status per context on ``sha``."""
    return {s.context: s for s in ctx.gh.commit_statuses if s.repo is repo and s.sha == sha}


def _check_contexts(ctx: Context, repo: Repository, sha: str, ref: str, required: Any) -> None:
    """GitHub's commit status verification before creating a deployment (409 if any
    required context is not successful). Contexts are the check runs on ``sha`` and its
    commit statuses."""
    states: dict[str, str] = {c: s.state for c, s in _latest_statuses(ctx, repo, sha).items()}
    on_sha = [r for r in ctx.gh.check_runs.values() if r.repo is repo and r.head_sha == sha]
    for name, run in _newest_by_name(on_sha).items():
        if run.status != "completed":
            states[name] = "pending"
        else:
            states[name] = "success" if run.conclusion in _SUCCESSFUL else str(run.conclusion)

    names = list(required) if required is not None else sorted(states)
    contexts = [{"context": n, "state": states.get(n, "missing")} for n in names]
    if all(c["state"] == "success" for c in contexts):
        return
    raise GitHubError(
        409,
        f"Conflict: Commit status checks failed for {ref}.",
        errors=[
            {
                "contexts": contexts,
                "resource": "Deployment",
                "field": "required_contexts",
                "code": "invalid",
            }
        ],
        documentation_url=ctx.op.documentation_url,
    )


def _deployment(ctx: Context, level: str) -> Deployment:
    repo = ctx.repo("deployments", level)
    deployment = ctx.gh.deployments.get(ctx.path_params["deployment_id"])
    if deployment is None or deployment.repo is not repo:
        raise ctx.not_found()
    return deployment


@handles("repos/create-deployment")
async def create_deployment(ctx: Context) -> Reply:
    repo = ctx.repo("deployments", "write")
    body = ctx.body
    ref = str(body["ref"])
    sha = _deploy_sha(ctx, repo, ref)
    required = body.get("required_contexts")
    if required is None or required:
        _check_contexts(ctx, repo, sha, ref, required)
    # auto_merge (default true) would merge the default branch into a ref behind it
    # (202 "Auto-merged ..."); the fake accepts it and deploys the ref as it is.
    payload = body.get("payload", {})
    if isinstance(payload, str):
        try:
            payload = json.loads(payload) if payload.strip() else {}
        except ValueError:
            raise ctx.violation("payload is not valid JSON") from None
        if not isinstance(payload, dict):
            raise ctx.violation("payload must be a JSON object")
    environment = body.get("environment") or "production"
    deployment = ctx.gh.add_deployment(
        repo.full_name,
        sha,
        ref=ref,
        environment=environment,
        task=body.get("task") or "deploy",
        description=body.get("description"),
        payload=payload,
        production_environment=body.get("production_environment"),
        transient_environment=bool(body.get("transient_environment", False)),
        via_app=True,
    )
    shown = ctx.shapes.deployment(deployment)
    return Reply(shown, status=201, headers={"Location": shown["url"]})


@handles("repos/list-deployments")
async def list_deployments(ctx: Context) -> Reply:
    repo = ctx.repo("deployments", "read")
    found = ctx.gh.deployments_in(repo.full_name)
    for key in ("sha", "ref", "task", "environment"):
        if ctx.query.get(key) is not None:
            found = [d for d in found if getattr(d, key) == ctx.query[key]]
    found.reverse()  # newest first
    page, headers = ctx.paginate(found)
    return Reply([ctx.shapes.deployment(d) for d in page], headers=headers)


@handles("repos/get-deployment")
async def get_deployment(ctx: Context) -> Reply:
    return Reply(ctx.shapes.deployment(_deployment(ctx, "read")))


@handles("repos/create-deployment-status")
async def create_deployment_status(ctx: Context) -> Reply:
    deployment = _deployment(ctx, "write")
    body = ctx.body
    description = body.get("description") or ""
    if len(description) > 140:
        raise ctx.violation("description is too long (maximum is 140 characters)")
    status = ctx.gh.add_deployment_status(
        deployment.id,
        body["state"],
        creator=ctx.gh.app.bot,
        description=description,
        log_url=body.get("log_url") or body.get("target_url"),
        environment_url=body.get("environment_url"),
        environment=body.get("environment"),
        auto_inactive=body.get("auto_inactive", True),
        via_app=True,
    )
    shown = ctx.shapes.deployment_status(deployment, status)
    return Reply(shown, status=201, headers={"Location": shown["url"]})


@handles("repos/list-deployment-statuses")
async def list_deployment_statuses(ctx: Context) -> Reply:
    deployment = _deployment(ctx, "read")
    newest_first = list(reversed(deployment.statuses))
    page, headers = ctx.paginate(newest_first)
    return Reply([ctx.shapes.deployment_status(deployment, s) for s in page], headers=headers)


# ============================================================================= teams
@handles("teams/get-membership-for-user-in-org")
async def get_team_membership(ctx: Context) -> Reply:
    org = str(ctx.path_params["org"])
    ctx.org_permission(org, "members", "read")
    team = ctx.gh.team(org, str(ctx.path_params["team_slug"]))
    login = str(ctx.path_params["username"])
    if team is None or login.lower() not in team.members:
        raise ctx.not_found()
    return Reply(ctx.shapes.team_membership(team, login))


# ========================================================================= check runs
def _apply_check_run_fields(ctx: Context, run: CheckRun, body: dict[str, Any]) -> None:
    now = ctx.gh.clock()
    for key in ("name", "details_url", "external_id"):
        if key in body:
            setattr(run, key, body[key])
    if "started_at" in body:
        run.started_at = _parse_iso(body["started_at"])
    status = body.get("status")
    conclusion = body.get("conclusion")
    if conclusion == "stale":
        raise ctx.violation("Invalid request.\n\nOnly GitHub can set a conclusion of stale.")
    if status in ("waiting", "requested", "pending"):
        raise ctx.violation(
            f"Invalid request.\n\nOnly GitHub Actions can set a status of {status}."
        )
    if (status == "completed" or "completed_at" in body) and not conclusion:
        raise ctx.violation('Invalid request.\n\n"conclusion" wasn\'t supplied.')
    if conclusion:
        run.conclusion = conclusion
        run.status = "completed"
        run.completed_at = _parse_iso(body["completed_at"]) if "completed_at" in body else now
    elif status:
        run.status = status
    output = body.get("output")
    annotations = (output or {}).get("annotations") or []
    if len(annotations) > MAX_ANNOTATIONS:
        raise ctx.violation(
            f"Invalid request.\n\nOnly {MAX_ANNOTATIONS} annotations are allowed per request "
            f"(got {len(annotations)}); send the rest with further updates."
        )
    for annotation in annotations:
        if annotation.get("start_line", 0) > annotation.get("end_line", 0):
            raise ctx.violation("Invalid request.\n\nstart_line must be <= end_line.")
        same_line = annotation.get("start_line") == annotation.get("end_line")
        if not same_line and ("start_column" in annotation or "end_column" in annotation):
            raise ctx.violation(
                "Invalid request.\n\nstart_column and end_column may only be used when "
                "start_line and end_line are the same."
            )
    actions = body.get("actions")
    if actions is not None:
        if len(actions) > MAX_ACTIONS:
            raise ctx.violation(f"Invalid request.\n\nOnly {MAX_ACTIONS} actions are allowed.")
        for action in actions:
            for key, limit in ACTION_LIMITS.items():
                if len(str(action.get(key, ""))) > limit:
                    raise ctx.violation(
                        f"Invalid request.\n\nactions.{key} is too long "
                        f"(maximum is {limit} characters)."
                    )
    if output:
        for key in ("title", "summary", "text"):
            if key in output:
                run.output[key] = output[key]
        run.annotations.extend(output.get("annotations", []))
    if "actions" in body:
        run.actions = list(body["actions"])


@handles("checks/create")
async def create_check_run(ctx: Context) -> Reply:
    repo = ctx.repo("checks", "write")
    body = ctx.body
    if not _SHA.fullmatch(body["head_sha"]):
        raise ctx.violation(f"No commit found for SHA: {body['head_sha']}")
    run = CheckRun(
        id=ctx.gh.next_id(20_000_000_000),
        repo=repo,
        name=body["name"],
        head_sha=body["head_sha"],
        started_at=ctx.gh.clock(),
        check_suite_id=ctx.gh.suite_id_for(repo, body["head_sha"]),
    )
    _apply_check_run_fields(ctx, run, body)
    ctx.gh.check_runs[run.id] = run
    return Reply(ctx.shapes.check_run(run), status=201)


@handles("checks/update")
async def update_check_run(ctx: Context) -> Reply:
    repo = ctx.repo("checks", "write")
    run = ctx.gh.check_runs.get(ctx.path_params["check_run_id"])
    if run is None or run.repo is not repo:
        raise ctx.not_found()
    _apply_check_run_fields(ctx, run, ctx.body)
    return Reply(ctx.shapes.check_run(run))


def _run(ctx: Context) -> CheckRun:
    repo = ctx.repo("checks", "read")
    run = ctx.gh.check_runs.get(ctx.path_params["check_run_id"])
    if run is None or run.repo is not repo:
        raise ctx.not_found()
    return run


@handles("checks/get")
async def get_check_run(ctx: Context) -> Reply:
    return Reply(ctx.shapes.check_run(_run(ctx)))


@handles("checks/list-annotations")
async def list_annotations(ctx: Context) -> Reply:
    run = _run(ctx)
    page, headers = ctx.paginate(run.annotations)
    return Reply([ctx.shapes.annotation(run, a) for a in page], headers=headers)


def _resolve_commit(ctx: Context, repo: Repository, ref: str) -> str:
    """A ref (sha, branch, tag) -> commit sha, like GitHub's ``{ref}`` path parameters."""
    if repo.git is not None:
        sha = repo.git.resolve(ref)
        if sha is not None:
            return sha
    elif _SHA.fullmatch(ref):
        return ref
    raise GitHubError(
        422, f"No commit found for SHA: {ref}", documentation_url=ctx.op.documentation_url
    )


@handles("checks/list-for-ref")
async def list_check_runs_for_ref(ctx: Context) -> Reply:
    repo = ctx.repo("checks", "read")
    sha = _resolve_commit(ctx, repo, str(ctx.path_params["ref"]))
    runs = [r for r in ctx.gh.check_runs.values() if r.repo is repo and r.head_sha == sha]
    if "check_name" in ctx.query:
        runs = [r for r in runs if r.name == ctx.query["check_name"]]
    if "status" in ctx.query:
        runs = [r for r in runs if r.status == ctx.query["status"]]
    if "app_id" in ctx.query and int(ctx.query["app_id"]) != ctx.gh.app.id:
        runs = []
    if ctx.query.get("filter", "latest") == "latest":
        runs = list(_newest_by_name(runs).values())
    runs.sort(key=lambda r: r.id, reverse=True)
    page, headers = ctx.paginate(runs)
    return Reply(
        {"total_count": len(runs), "check_runs": [ctx.shapes.check_run(r) for r in page]},
        headers=headers,
    )


@handles("git/get-tree")
async def get_tree(ctx: Context) -> Reply:
    """A tree by its sha, or a commit's or ref's tree (GitHub accepts those too);
    ``recursive`` (any value) lists every entry below it. Never truncated here."""
    repo = ctx.repo("contents", "read")
    if repo.git is None:
        raise ctx.not_found()
    spec = str(ctx.path_params["tree_sha"])
    found = repo.git.git("rev-parse", "--verify", "--quiet", f"{spec}^{{tree}}", check=False)
    sha = found.decode().strip()
    if not sha:
        raise GitHubError(404, "Not Found", documentation_url=ctx.op.documentation_url)
    args = ["ls-tree", "-z", "--long"] + (["-r", "-t"] if "recursive" in ctx.query else [])
    entries = []
    for entry in repo.git.git(*args, sha).split(b"\0"):
        if not entry:
            continue
        meta, _, path = entry.partition(b"\t")
        mode, kind, object_sha, size = meta.decode().split()
        shown: dict[str, Any] = {
            "path": path.decode(),
            "mode": mode,
            "type": kind,
            "sha": object_sha,
        }
        if kind == "blob":
            shown["size"] = int(size)
        entries.append(shown)
    url = f"{ctx.shapes.api}/repos/{repo.full_name}/git/trees/{sha}"
    return Reply({"sha": sha, "url": url, "tree": entries, "truncated": False})


@handles("repos/list-activities")
async def list_activities(ctx: Context) -> Reply:
    """Ref changes, newest first (``direction=asc`` for oldest first), filtered by ``ref``
    (``refs/heads/X`` or ``X``), ``activity_type`` and ``actor``; one page of ``per_page``
    (cursor pagination is not modelled)."""
    repo = ctx.repo("metadata", "read")
    ref = ctx.query.get("ref")
    if ref and not ref.startswith("refs/"):
        ref = f"refs/heads/{ref}"
    found = [
        a
        for a in ctx.gh.activities
        if a.repo is repo
        and (not ref or a.ref == ref)
        and a.activity_type == ctx.query.get("activity_type", a.activity_type)
        and (
            "actor" not in ctx.query
            or (a.actor is not None and a.actor.login.lower() == ctx.query["actor"].lower())
        )
    ]
    if ctx.query.get("direction", "desc") == "desc":
        found.reverse()
    per_page = max(1, min(int(ctx.query.get("per_page", 30)), 100))
    return Reply([ctx.shapes.activity(a) for a in found[:per_page]])


@handles("repos/get-combined-status-for-ref")
async def get_combined_status(ctx: Context) -> Reply:
    repo = ctx.repo("statuses", "read")
    sha = _resolve_commit(ctx, repo, str(ctx.path_params["ref"]))
    statuses = sorted(_latest_statuses(ctx, repo, sha).values(), key=lambda s: s.id)
    states = {s.state for s in statuses}
    if states & {"error", "failure"}:
        combined = "failure"
    elif not statuses or "pending" in states:
        combined = "pending"
    else:
        combined = "success"
    page, headers = ctx.paginate(statuses)
    full = repo.full_name
    return Reply(
        {
            "state": combined,
            "statuses": [ctx.shapes.commit_status(s) for s in page],
            "sha": sha,
            "total_count": len(statuses),
            "repository": ctx.shapes.repository(repo),
            "commit_url": f"{ctx.shapes.api}/repos/{full}/commits/{sha}",
            "url": f"{ctx.shapes.api}/repos/{full}/commits/{sha}/status",
        },
        headers=headers,
    )


# ===================================================================== pull requests
def _pull(ctx: Context, level: str = "read") -> PullRequest:
    repo = ctx.repo("pull_requests", level)
    pr = repo.pulls.get(ctx.path_params["pull_number"])
    if pr is None:
        raise ctx.not_found()
    return pr


def _sort_pulls(ctx: Context, pulls: list[PullRequest], default_sort: str) -> list[PullRequest]:
    sort = ctx.query.get("sort", default_sort)
    direction = ctx.query.get("direction", "desc" if sort == "created" else "asc")
    key: Callable[[PullRequest], Any] = {
        "created": lambda p: (p.created_at, p.number),
        "updated": lambda p: (p.updated_at, p.number),
        "popularity": lambda p: (len(ctx.gh.comments_on(p.repo.full_name, p.number)), p.number),
        "long-running": lambda p: (p.created_at, p.number),
    }.get(sort, lambda p: (p.created_at, p.number))
    return sorted(pulls, key=key, reverse=direction == "desc")


@handles("pulls/list")
async def list_pulls(ctx: Context) -> Reply:
    repo = ctx.repo("pull_requests", "read")
    state = ctx.query.get("state", "open")
    pulls = [p for p in repo.pulls.values() if state == "all" or p.state == state]
    if "head" in ctx.query:
        owner, _, branch = str(ctx.query["head"]).partition(":")
        if not branch:  # GitHub needs "user:ref-name"; without it nothing matches
            pulls = []
        pulls = [
            p
            for p in pulls
            if p.head_repo.owner.login.lower() == owner.lower() and p.head_ref == branch
        ]
    if "base" in ctx.query:
        pulls = [p for p in pulls if p.base_ref == ctx.query["base"]]
    page, headers = ctx.paginate(_sort_pulls(ctx, pulls, "created"))
    return Reply([ctx.shapes.pull_request(p) for p in page], headers=headers)


@handles("pulls/create")
async def create_pull(ctx: Context) -> Reply:
    """Open a pull request from a branch of the same repository (``head`` as ``branch``
    or ``owner:branch``). Like GitHub: 422 when a branch is missing, when there is
    nothing to merge, or when an open pull request from ``head`` into ``base`` exists."""
    repo = ctx.repo("pull_requests", "write")
    if repo.git is None:
        raise ctx.violation("pull requests need a repository in the git server")
    body = ctx.body
    title = str(body.get("title") or "")
    if not title.strip():
        raise ctx.violation("Validation Failed: title can't be blank")
    text = body.get("body")
    if text is not None and len(text) > 65536:
        raise ctx.violation("Body is too long (maximum is 65536 characters)")
    owner, _, branch = str(body["head"]).rpartition(":")
    base = str(body["base"])
    if owner and owner.lower() != repo.owner.login.lower():
        raise ctx.violation("the fake supports pull requests from the same repository only")

    def invalid(field_name: str, message: str | None = None) -> GitHubError:
        error: dict[str, Any] = {"resource": "PullRequest", "field": field_name, "code": "invalid"}
        if message is not None:
            error = {"resource": "PullRequest", "code": "custom", "message": message}
        return GitHubError(
            422, "Validation Failed", errors=[error], documentation_url=ctx.op.documentation_url
        )

    head_sha = repo.git.resolve(f"refs/heads/{branch}")
    base_sha = repo.git.resolve(f"refs/heads/{base}")
    if head_sha is None:
        raise invalid("head")
    if base_sha is None:
        raise invalid("base")
    for pr in repo.pulls.values():
        same = pr.head_repo is repo and pr.head_ref == branch and pr.base_ref == base
        if same and pr.state == "open":
            raise invalid("head", f"A pull request already exists for {repo.owner.login}:{branch}.")
    if not repo.git.rev_list(head_sha, f"^{base_sha}"):
        raise invalid("head", f"No commits between {base} and {branch}")
    now = ctx.gh.clock()
    number = max([0, *repo.issues], default=0) + 1
    author = ctx.gh.app.bot
    pr = PullRequest(
        number=number,
        id=ctx.gh.next_id(2_000_000_000),
        repo=repo,
        head_repo=repo,
        head_ref=branch,
        base_ref=base,
        user=author,
        title=title,
        body=text,
        draft=bool(body.get("draft", False)),
        maintainer_can_modify=bool(body.get("maintainer_can_modify", False)),
        created_at=now,
        updated_at=now,
    )
    repo.issues[number] = Issue(
        number, title, author, is_pull_request=True, body=text, created_at=now, via_app=True
    )
    repo.pulls[number] = pr
    shown = ctx.shapes.pull_request(pr, full=True)
    return Reply(shown, status=201, headers={"Location": shown["url"]})


@handles("pulls/get")
async def get_pull(ctx: Context) -> Reply:
    return Reply(ctx.shapes.pull_request(_pull(ctx), full=True))


@handles("repos/list-pull-requests-associated-with-commit")
async def list_pulls_for_commit(ctx: Context) -> Reply:
    repo = ctx.repo(("pull_requests", "contents"), "read")
    sha = str(ctx.path_params["commit_sha"])
    found = []
    if repo.git is not None and (resolved := repo.git.resolve(sha)) is not None:
        for pr in repo.pulls.values():
            commits = repo.git.rev_list(pr.head_sha, f"^{pr.merge_base()}")
            if resolved in commits:
                found.append(pr)
    found = _sort_pulls(ctx, found, "created")
    page, headers = ctx.paginate(found)
    return Reply([ctx.shapes.pull_request(p) for p in page], headers=headers)


@handles("pulls/list-files")
async def list_pull_files(ctx: Context) -> Reply:
    pr = _pull(ctx)
    assert pr.repo.git is not None
    head = pr.head_sha
    changes = pr.repo.git.diff_files(pr.merge_base(), head)[:MAX_PR_FILES]
    page, headers = ctx.paginate(changes)
    return Reply([ctx.shapes.diff_entry(pr.repo, c, head) for c in page], headers=headers)


_HUNK = re.compile(r"@@ -(\d+)(?:,\d+)? \+(\d+)(?:,\d+)? @@")


@dataclass
class _Hunk:
    start: int  # position of the "@@" header
    lines: dict[tuple[str, int], int] = field(default_factory=dict)  # (side, n) -> position
    text: list[str] = field(default_factory=list)


def _hunks(patch: str) -> list[_Hunk]:
    """Parse a file's patch: which (side, line) pairs each hunk shows, and positions."""
    hunks: list[_Hunk] = []
    old = new = 0
    for position, line in enumerate(patch.split("\n")):
        match = _HUNK.match(line)
        if match:
            old, new = int(match[1]), int(match[2])
            hunks.append(_Hunk(start=position, text=[line]))
            continue
        if not hunks or line.startswith("\\"):
            continue
        hunk = hunks[-1]
        hunk.text.append(line)
        if line.startswith("-"):
            hunk.lines[("LEFT", old)] = position
            old += 1
        elif line.startswith("+"):
            hunk.lines[("RIGHT", new)] = position
            new += 1
        else:
            hunk.lines[("LEFT", old)] = position
            hunk.lines[("RIGHT", new)] = position
            old += 1
            new += 1
    return hunks


def _review_error(ctx: Context, message: str, field_name: str = "line") -> GitHubError:
    ctx.gh.record_violation(
        Violation("semantic", f"{ctx.op.key} ({ctx.op.operation_id}): {message}", 422),
        ctx.record,
    )
    return GitHubError(
        422,
        "Validation Failed",
        errors=[
            {
                "resource": "PullRequestReviewComment",
                "code": "custom",
                "field": f"pull_request_review_thread.{field_name}",
                "message": message,
            }
        ],
        documentation_url=ctx.op.documentation_url,
    )


@handles("pulls/create-review")
async def create_review(ctx: Context) -> Reply:
    pr = _pull(ctx, "write")
    repo = pr.repo
    assert repo.git is not None
    body = ctx.body if isinstance(ctx.body, dict) else {}
    event = body.get("event")
    text = body.get("body") or ""
    bot = ctx.gh.app.bot
    if event in ("APPROVE", "REQUEST_CHANGES") and pr.user is bot:
        verb = "approve" if event == "APPROVE" else "request changes on"
        raise ctx.violation(f"Unprocessable Entity: Can not {verb} your own pull request")
    if event == "REQUEST_CHANGES" and not text:
        raise ctx.violation("Unprocessable Entity: Body is required when requesting changes")
    if event == "COMMENT" and not text and not body.get("comments"):
        raise ctx.violation("Unprocessable Entity: Body is required for a COMMENT review")
    if pr.state == "closed" and event in ("APPROVE", "REQUEST_CHANGES"):
        raise ctx.violation("Unprocessable Entity: Can not review a closed pull request")
    if any(r.user is bot and r.state == "PENDING" for r in pr.reviews) and event is None:
        raise ctx.violation("Unprocessable Entity: User can only have one pending review")
    head = pr.head_sha
    commit_id = body.get("commit_id") or head
    resolved = repo.git.resolve(commit_id) if _SHA.fullmatch(commit_id) else None
    if resolved is None:
        raise ctx.violation(f"Unprocessable Entity: No commit found for SHA: {commit_id}")
    now = ctx.gh.clock()
    state = REVIEW_STATES.get(event or "", "PENDING")
    review = Review(
        id=ctx.gh.next_id(80_000_000),
        pull=pr,
        user=bot,
        body=text,
        state=state,
        commit_id=commit_id,
        submitted_at=None if state == "PENDING" else now,
    )
    comments: list[ReviewComment] = []
    base = pr.merge_base()
    patches: dict[str, str | None] = {
        c.filename: c.patch for c in repo.git.diff_files(base, commit_id)
    }
    for item in body.get("comments") or []:
        path = item["path"]
        if path not in patches:
            raise _review_error(ctx, "Path could not be resolved", "path")
        hunks = _hunks(patches[path] or "")
        line, position = item.get("line"), item.get("position")
        side = item.get("side", "RIGHT")
        if side not in ("LEFT", "RIGHT"):
            raise _review_error(ctx, f"side must be LEFT or RIGHT, not {side!r}", "side")
        start_line, start_side = item.get("start_line"), item.get("start_side")
        if line is None and position is None:
            raise _review_error(ctx, "Pull request review thread line must be part of the diff")
        if line is None:
            assert position is not None
            found = next(((h, k) for h in hunks for k, v in h.lines.items() if v == position), None)
            if found is None:
                raise _review_error(
                    ctx, "Pull request review thread position is invalid", "position"
                )
            hunk, (side, line) = found
        else:
            hunk_or_none = next((h for h in hunks if (side, line) in h.lines), None)
            if hunk_or_none is None:
                raise _review_error(ctx, "Pull request review thread line must be part of the diff")
            hunk = hunk_or_none
            position = hunk.lines[(side, line)]
        if start_line is not None:
            start_side = start_side or side
            if start_line >= line and start_side == side:
                raise _review_error(
                    ctx,
                    "Pull request review thread start_line must precede the end line",
                    "start_line",
                )
            if (start_side, start_line) not in hunk.lines:
                raise _review_error(
                    ctx,
                    "Pull request review thread start line must be part of the same hunk "
                    "as the line.",
                    "start_line",
                )
        diff_hunk = "\n".join(hunk.text[: position - hunk.start + 1])
        comments.append(
            ReviewComment(
                id=ctx.gh.next_id(90_000_000),
                review=review,
                path=path,
                body=item["body"],
                commit_id=commit_id,
                line=line,
                side=side,
                start_line=start_line,
                start_side=start_side if start_line is not None else None,
                diff_hunk=diff_hunk,
                position=position,
                user=bot,
                created_at=now,
            )
        )
    pr.reviews.append(review)
    pr.review_comments.extend(comments)
    pr.updated_at = now
    return Reply(ctx.shapes.review(review))


@handles("pulls/list-reviews")
async def list_reviews(ctx: Context) -> Reply:
    pr = _pull(ctx)
    visible = [r for r in pr.reviews if r.state != "PENDING" or r.user is ctx.gh.app.bot]
    page, headers = ctx.paginate(visible)
    return Reply([ctx.shapes.review(r) for r in page], headers=headers)


@handles("pulls/list-review-comments")
async def list_review_comments(ctx: Context) -> Reply:
    pr = _pull(ctx)
    comments = [c for c in pr.review_comments if c.review.state != "PENDING"]
    if "since" in ctx.query:
        since = _parse_iso(ctx.query["since"])
        comments = [c for c in comments if c.created_at >= since]
    reverse = ctx.query.get("direction", "asc") == "desc"
    comments.sort(key=lambda c: (c.created_at, c.id), reverse=reverse)
    page, headers = ctx.paginate(comments)
    return Reply([ctx.shapes.review_comment(c) for c in page], headers=headers)


@handles("repos/get-commit")
async def get_commit(ctx: Context) -> Reply:
    repo = ctx.repo("contents", "read")
    if repo.git is None:
        raise ctx.not_found()
    sha = _resolve_commit(ctx, repo, str(ctx.path_params["ref"]))
    return Reply(ctx.shapes.commit(repo, sha))


# ============================================================================ users
@handles("users/get-authenticated")
async def get_authenticated_user(ctx: Context) -> Reply:
    assert isinstance(ctx.identity, UserIdentity)
    account = ctx.gh.account(ctx.identity.login)
    assert account is not None
    return Reply(ctx.shapes.public_user(account))


@handles("apps/list-installations-for-authenticated-user")
async def list_user_installations(ctx: Context) -> Reply:
    """Installations of this App with at least one repository the person can access."""
    assert isinstance(ctx.identity, UserIdentity)
    login = ctx.identity.login
    visible = [
        inst
        for inst in sorted(ctx.gh.installations.values(), key=lambda i: i.id)
        if any(ctx.gh.user_can_access(login, r) for r in ctx.gh.installation_repos(inst))
    ]
    page, headers = ctx.paginate(visible)
    return Reply(
        {"total_count": len(visible), "installations": [ctx.shapes.installation(i) for i in page]},
        headers=headers,
    )


@handles("apps/list-installation-repos-for-authenticated-user")
async def list_user_installation_repos(ctx: Context) -> Reply:
    """The installation's repositories the person can access (404 if none or unknown)."""
    assert isinstance(ctx.identity, UserIdentity)
    inst = ctx.gh.installations.get(int(ctx.path_params["installation_id"]))
    if inst is None:
        raise ctx.not_found()
    login = ctx.identity.login
    repos = [r for r in ctx.gh.installation_repos(inst) if ctx.gh.user_can_access(login, r)]
    if not repos:
        raise ctx.not_found()
    page, headers = ctx.paginate(repos)
    return Reply(
        {
            "total_count": len(repos),
            "repository_selection": inst.repository_selection,
            "repositories": [
                {**ctx.shapes.repository(r), "permissions": _user_permissions(login, r)}
                for r in page
            ],
        },
        headers=headers,
    )


# Each permission includes the ones before it.
_ROLE_PERMISSIONS = ("pull", "triage", "push", "maintain", "admin")
_ROLE_RANK = {"read": 0, "triage": 1, "write": 2, "maintain": 3, "admin": 4}


def _user_permissions(login: str, repo: Repository) -> dict[str, bool]:
    """The person's `permissions` on a repository, as GitHub adds them for a user token."""
    if repo.owner.login.lower() == login.lower():
        rank = _ROLE_RANK["admin"]
    else:
        rank = _ROLE_RANK.get(repo.collaborators.get(login.lower(), ""), -1)
    return {name: rank >= level for level, name in enumerate(_ROLE_PERMISSIONS)}


@handles("users/get-by-username")
async def get_user(ctx: Context) -> Reply:
    user = ctx.gh.account(ctx.path_params["username"])
    if user is None:
        raise ctx.not_found()
    return Reply(ctx.shapes.public_user(user))


@handles("rate-limit/get")
async def get_rate_limit(ctx: Context) -> Reply:
    key = ctx.identity.installation_id if isinstance(ctx.identity, InstallationIdentity) else None
    return Reply(ctx.shapes.rate_limit_overview(ctx.gh.rate_limit_for(key)))


# =========================================================================== helpers
def _parse_iso(text: str) -> float:
    return datetime.fromisoformat(text.replace("z", "Z")).timestamp()
