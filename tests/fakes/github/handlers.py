"""Behaviour of each vendored GitHub operation, keyed by OpenAPI ``operationId``.

The server has already routed, validated and authenticated the request when a handler
runs; handlers implement GitHub's semantics on top of :class:`GitHubState` (404 for
things that do not exist or that the token cannot see, 403 "Resource not accessible by
integration" for missing permissions, 422 for semantic errors) and return a
:class:`Reply`. To support a new endpoint: vendor it (``tests/fakes/openapi/vendor.py``),
then add a function here decorated with ``@handles("<operationId>")``.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from aiohttp import web

from ..openapi.validator import Operation, Violation
from .auth import AppIdentity, Identity, InstallationIdentity
from .errors import NOT_ACCESSIBLE_MESSAGE, GitHubError
from .faults import RecordedRequest
from .shapes import Shapes
from .state import LEVELS, CheckRun, IssueComment, Reaction, Repository, iso

if TYPE_CHECKING:
    from .server import FakeGitHub

MAX_INLINE_CONTENT = 1024 * 1024  # the Contents API inlines files up to 1 MB
MAX_CONTENT = 100 * 1024 * 1024
_SHA = re.compile(r"[0-9a-f]{40}")


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


@handles("apps/get-installation")
async def get_installation(ctx: Context) -> Reply:
    inst = ctx.gh.installations.get(ctx.path_params["installation_id"])
    if inst is None:
        raise ctx.not_found()
    return Reply(ctx.shapes.installation(inst))


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
    files = repo.files.get(ref)
    if files is None:
        raise GitHubError(
            404, f"No commit found for the ref {ref}", documentation_url=ctx.op.documentation_url
        )
    accept = ctx.request.headers.get("Accept", "")
    raw_wanted = ".raw" in accept
    object_wanted = ".object" in accept

    data = files.get(path)
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

    prefix = f"{path}/" if path else ""
    children: dict[str, bytes | None] = {}
    for file_path, file_data in files.items():
        if file_path.startswith(prefix):
            head, sep, _ = file_path[len(prefix) :].partition("/")
            children[prefix + head] = None if sep else file_data
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


# ============================================================================ users
@handles("users/get-by-username")
async def get_user(ctx: Context) -> Reply:
    user = ctx.gh.account(ctx.path_params["username"])
    if user is None:
        raise ctx.not_found()
    return Reply(ctx.shapes.public_user(user))


@handles("rate-limit/get")
async def get_rate_limit(ctx: Context) -> Reply:
    key = None if isinstance(ctx.identity, AppIdentity) else ctx.identity.installation_id
    return Reply(ctx.shapes.rate_limit_overview(ctx.gh.rate_limit_for(key)))


# =========================================================================== helpers
def _parse_iso(text: str) -> float:
    return datetime.fromisoformat(text.replace("z", "Z")).timestamp()
