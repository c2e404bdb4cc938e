"""Render fake state as the JSON objects GitHub's REST API returns.

Each function builds one documented schema (``simple-user``, ``full-repository``,
``issue-comment``, ``check-run`` ...) with the fields GitHub sends, so a bot reading
``comment["html_url"]`` or following ``repo["contents_url"]`` sees what it would see in
production. API URLs point at the fake (its base URL), web URLs at https://github.com.
The fake validates these renderings against the OpenAPI response schemas at run time.
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any
from urllib.parse import quote

from ..git.repo import FileChange
from .state import (
    Account,
    Activity,
    App,
    CheckRun,
    CommitStatus,
    Deployment,
    DeploymentStatus,
    GitHubState,
    Installation,
    Issue,
    IssueComment,
    PullRequest,
    RateLimit,
    Reaction,
    Repository,
    Review,
    ReviewComment,
    Role,
    Team,
    git_blob_sha,
    iso,
)

WEB = "https://github.com"
REACTION_CONTENTS = ("+1", "-1", "laugh", "confused", "heart", "hooray", "eyes", "rocket")


def node_id(kind: str, ident: int) -> str:
    """GitHub's legacy global node id, e.g. ``MDQ6VXNlcjE=`` for User 1."""
    return base64.b64encode(f"0{len(kind)}:{kind}{ident}".encode()).decode()


def _q(text: str) -> str:
    return quote(text, safe="")


class Shapes:
    """Renders state objects; ``api`` is the fake's base URL (no trailing slash)."""

    def __init__(self, state: GitHubState, api: str) -> None:
        self.state = state
        self.api = api.rstrip("/")

    # ------------------------------------------------------------------ accounts
    def simple_user(self, account: Account) -> dict[str, Any]:
        login = account.login
        user_url = f"{self.api}/users/{_q(login)}"
        html = (
            f"{WEB}/apps/{login.removesuffix('[bot]')}"
            if account.type == "Bot"
            else f"{WEB}/{login}"
        )
        return {
            "login": login,
            "id": account.id,
            "node_id": node_id("Bot" if account.type == "Bot" else account.type, account.id),
            "avatar_url": f"https://avatars.githubusercontent.com/u/{account.id}?v=4",
            "gravatar_id": "",
            "url": user_url,
            "html_url": html,
            "followers_url": f"{user_url}/followers",
            "following_url": f"{user_url}/following{{/other_user}}",
            "gists_url": f"{user_url}/gists{{/gist_id}}",
            "starred_url": f"{user_url}/starred{{/owner}}{{/repo}}",
            "subscriptions_url": f"{user_url}/subscriptions",
            "organizations_url": f"{user_url}/orgs",
            "repos_url": f"{user_url}/repos",
            "events_url": f"{user_url}/events{{/privacy}}",
            "received_events_url": f"{user_url}/received_events",
            "type": account.type,
            "user_view_type": "public",
            "site_admin": account.site_admin,
        }

    def public_user(self, account: Account) -> dict[str, Any]:
        owned = [r for r in self.state.repositories.values() if r.owner is account]
        return {
            **self.simple_user(account),
            "name": account.name,
            "company": account.company,
            "blog": "",
            "location": account.location,
            "email": account.email,
            "hireable": None,
            "bio": account.bio,
            "twitter_username": None,
            "public_repos": sum(1 for r in owned if not r.private),
            "public_gists": 0,
            "followers": 0,
            "following": 0,
            "created_at": iso(account.created_at),
            "updated_at": iso(account.created_at),
        }

    def collaborator(self, account: Account, role: Role) -> dict[str, Any]:
        return {
            **self.simple_user(account),
            "permissions": {
                "admin": role == "admin",
                "maintain": role in ("admin", "maintain"),
                "push": role in ("admin", "maintain", "write"),
                "triage": role in ("admin", "maintain", "write", "triage"),
                "pull": role != "none",
            },
            "role_name": role,
        }

    # ---------------------------------------------------------------------- apps
    def integration(self, app: App, *, with_count: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": app.id,
            "slug": app.slug,
            "node_id": node_id("App", app.id),
            "client_id": app.client_id,
            "owner": self.simple_user(app.owner),
            "name": app.name,
            "description": app.description,
            "external_url": app.external_url,
            "html_url": f"{WEB}/apps/{app.slug}",
            "created_at": iso(app.created_at),
            "updated_at": iso(app.created_at),
            "permissions": dict(app.permissions),
            "events": list(app.events),
        }
        if with_count:
            out["installations_count"] = len(self.state.installations)
        return out

    def installation(self, inst: Installation) -> dict[str, Any]:
        app = self.state.app
        account = inst.account
        html = (
            f"{WEB}/organizations/{account.login}/settings/installations/{inst.id}"
            if account.type == "Organization"
            else f"{WEB}/settings/installations/{inst.id}"
        )
        return {
            "id": inst.id,
            "client_id": app.client_id,
            "account": self.simple_user(account),
            "repository_selection": inst.repository_selection,
            "access_tokens_url": f"{self.api}/app/installations/{inst.id}/access_tokens",
            "repositories_url": f"{self.api}/installation/repositories",
            "html_url": html,
            "app_id": app.id,
            "app_slug": app.slug,
            "target_id": account.id,
            "target_type": account.type,
            "permissions": dict(inst.permissions),
            "events": list(inst.events),
            "created_at": iso(inst.created_at),
            "updated_at": iso(inst.created_at),
            "single_file_name": None,
            "has_multiple_single_files": False,
            "single_file_paths": [],
            "suspended_by": self.simple_user(account) if inst.suspended_at else None,
            "suspended_at": iso(inst.suspended_at) if inst.suspended_at else None,
        }

    # ---------------------------------------------------------------- repositories
    def repository(self, repo: Repository) -> dict[str, Any]:
        full = repo.full_name
        url = f"{self.api}/repos/{full}"
        html = f"{WEB}/{full}"
        open_issues = sum(1 for i in repo.issues.values())
        return {
            "id": repo.id,
            "node_id": node_id("Repository", repo.id),
            "name": repo.name,
            "full_name": full,
            "private": repo.private,
            "owner": self.simple_user(repo.owner),
            "html_url": html,
            "description": repo.description,
            "fork": repo.fork,
            "url": url,
            "forks_url": f"{url}/forks",
            "keys_url": f"{url}/keys{{/key_id}}",
            "collaborators_url": f"{url}/collaborators{{/collaborator}}",
            "teams_url": f"{url}/teams",
            "hooks_url": f"{url}/hooks",
            "issue_events_url": f"{url}/issues/events{{/number}}",
            "events_url": f"{url}/events",
            "assignees_url": f"{url}/assignees{{/user}}",
            "branches_url": f"{url}/branches{{/branch}}",
            "tags_url": f"{url}/tags",
            "blobs_url": f"{url}/git/blobs{{/sha}}",
            "git_tags_url": f"{url}/git/tags{{/sha}}",
            "git_refs_url": f"{url}/git/refs{{/sha}}",
            "trees_url": f"{url}/git/trees{{/sha}}",
            "statuses_url": f"{url}/statuses/{{sha}}",
            "languages_url": f"{url}/languages",
            "stargazers_url": f"{url}/stargazers",
            "contributors_url": f"{url}/contributors",
            "subscribers_url": f"{url}/subscribers",
            "subscription_url": f"{url}/subscription",
            "commits_url": f"{url}/commits{{/sha}}",
            "git_commits_url": f"{url}/git/commits{{/sha}}",
            "comments_url": f"{url}/comments{{/number}}",
            "issue_comment_url": f"{url}/issues/comments{{/number}}",
            "contents_url": f"{url}/contents/{{+path}}",
            "compare_url": f"{url}/compare/{{base}}...{{head}}",
            "merges_url": f"{url}/merges",
            "archive_url": f"{url}/{{archive_format}}{{/ref}}",
            "downloads_url": f"{url}/downloads",
            "issues_url": f"{url}/issues{{/number}}",
            "pulls_url": f"{url}/pulls{{/number}}",
            "milestones_url": f"{url}/milestones{{/number}}",
            "notifications_url": f"{url}/notifications{{?since,all,participating}}",
            "labels_url": f"{url}/labels{{/name}}",
            "releases_url": f"{url}/releases{{/id}}",
            "deployments_url": f"{url}/deployments",
            "created_at": iso(repo.created_at),
            "updated_at": iso(repo.pushed_at),
            "pushed_at": iso(repo.pushed_at),
            "git_url": f"git://github.com/{full}.git",
            "ssh_url": f"git@github.com:{full}.git",
            "clone_url": repo.clone_url or f"{html}.git",
            "svn_url": html,
            "homepage": None,
            "size": sum(len(d) for d in repo.files.get(repo.default_branch, {}).values()) // 1024,
            "stargazers_count": 0,
            "watchers_count": 0,
            "language": repo.language,
            "has_issues": True,
            "has_projects": True,
            "has_downloads": True,
            "has_wiki": True,
            "has_pages": False,
            "has_discussions": False,
            "forks_count": 0,
            "mirror_url": None,
            "archived": repo.archived,
            "disabled": False,
            "open_issues_count": open_issues,
            "license": None,
            "allow_forking": True,
            "is_template": False,
            "web_commit_signoff_required": False,
            "topics": [],
            "visibility": "private" if repo.private else "public",
            "forks": 0,
            "open_issues": open_issues,
            "watchers": 0,
            "default_branch": repo.default_branch,
        }

    def full_repository(self, repo: Repository) -> dict[str, Any]:
        out = {
            **self.repository(repo),
            "temp_clone_token": None,
            "network_count": 0,
            "subscribers_count": 0,
            "custom_properties": {},
        }
        if repo.owner.type == "Organization":
            out["organization"] = self.simple_user(repo.owner)
        return out

    # -------------------------------------------------------------------- contents
    def _content_urls(self, repo: Repository, path: str, ref: str, kind: str, sha: str):
        full = repo.full_name
        url = f"{self.api}/repos/{full}/contents/{quote(path)}?ref={_q(ref)}"
        git_kind = "trees" if kind == "dir" else "blobs"
        git_url = f"{self.api}/repos/{full}/git/{git_kind}/{sha}"
        html_url = f"{WEB}/{full}/{'tree' if kind == 'dir' else 'blob'}/{ref}/{quote(path)}"
        return url, git_url, html_url

    def content_entry(
        self, repo: Repository, path: str, ref: str, data: bytes | None
    ) -> dict[str, Any]:
        """A file (``data`` given) or directory (``data is None``) without content."""
        kind = "dir" if data is None else "file"
        sha = (
            git_blob_sha(data)
            if data is not None
            else hashlib.sha1(f"tree:{repo.id}:{ref}:{path}".encode()).hexdigest()
        )
        url, git_url, html_url = self._content_urls(repo, path, ref, kind, sha)
        download = (
            f"https://raw.githubusercontent.com/{repo.full_name}/{_q(ref)}/{quote(path)}"
            if data is not None
            else None
        )
        return {
            "type": kind,
            "size": len(data) if data is not None else 0,
            "name": path.rsplit("/", 1)[-1],
            "path": path,
            "sha": sha,
            "url": url,
            "git_url": git_url,
            "html_url": html_url,
            "download_url": download,
            "_links": {"self": url, "git": git_url, "html": html_url},
        }

    def content_file(
        self, repo: Repository, path: str, ref: str, data: bytes, *, include_content: bool = True
    ) -> dict[str, Any]:
        out = self.content_entry(repo, path, ref, data)
        if include_content:
            encoded = base64.b64encode(data).decode()
            # GitHub wraps base64 content at 60 characters per line.
            lines = [encoded[i : i + 60] for i in range(0, len(encoded), 60)]
            out["content"] = "".join(line + "\n" for line in lines)
            out["encoding"] = "base64"
        else:
            out["content"] = ""
            out["encoding"] = "none"
        return out

    # -------------------------------------------------------------------- comments
    def reaction_rollup(self, comment: IssueComment) -> dict[str, Any]:
        counts = {c: 0 for c in REACTION_CONTENTS}
        for r in comment.reactions:
            counts[r.content] += 1
        return {
            "url": f"{self.comment_url(comment)}/reactions",
            "total_count": len(comment.reactions),
            **counts,
        }

    def comment_url(self, comment: IssueComment) -> str:
        return f"{self.api}/repos/{comment.repo.full_name}/issues/comments/{comment.id}"

    def issue_comment(self, comment: IssueComment) -> dict[str, Any]:
        repo = comment.repo
        issue = repo.issues.get(comment.issue_number)
        kind = "pull" if issue is not None and issue.is_pull_request else "issues"
        return {
            "id": comment.id,
            "node_id": node_id("IssueComment", comment.id),
            "url": self.comment_url(comment),
            "html_url": f"{WEB}/{repo.full_name}/{kind}/{comment.issue_number}"
            f"#issuecomment-{comment.id}",
            "body": comment.body,
            "user": self.simple_user(comment.user),
            "created_at": iso(comment.created_at),
            "updated_at": iso(comment.updated_at),
            "issue_url": f"{self.api}/repos/{repo.full_name}/issues/{comment.issue_number}",
            "author_association": self.author_association(repo, comment.user),
            "performed_via_github_app": (
                self.integration(self.state.app) if comment.via_app else None
            ),
            "reactions": self.reaction_rollup(comment),
        }

    def author_association(self, repo: Repository, user: Account) -> str:
        if user is repo.owner:
            return "OWNER"
        if user.login.lower() in repo.collaborators:
            return "MEMBER" if repo.owner.type == "Organization" else "COLLABORATOR"
        return "NONE"

    def reaction(self, reaction: Reaction) -> dict[str, Any]:
        return {
            "id": reaction.id,
            "node_id": node_id("Reaction", reaction.id),
            "user": self.simple_user(reaction.user),
            "content": reaction.content,
            "created_at": iso(reaction.created_at),
        }

    # ---------------------------------------------------------------------- issues
    def label(self, repo: Repository, name: str) -> dict[str, Any]:
        ident = int(hashlib.sha1(f"{repo.id}:{name}".encode()).hexdigest()[:8], 16)
        return {
            "id": ident,
            "node_id": node_id("Label", ident),
            "url": f"{self.api}/repos/{repo.full_name}/labels/{quote(name)}",
            "name": name,
            "color": "ededed",
            "default": False,
            "description": None,
        }

    def issue(self, repo: Repository, issue: Issue) -> dict[str, Any]:
        full = repo.full_name
        api_repo = f"{self.api}/repos/{full}"
        url = f"{api_repo}/issues/{issue.number}"
        kind = "pull" if issue.is_pull_request else "issues"
        comments = self.state.comments_on(full, issue.number)
        ident = issue.id or issue.number
        out: dict[str, Any] = {
            "id": ident,
            "node_id": node_id("Issue", ident),
            "url": url,
            "repository_url": api_repo,
            "labels_url": f"{url}/labels{{/name}}",
            "comments_url": f"{url}/comments",
            "events_url": f"{url}/events",
            "html_url": f"{WEB}/{full}/{kind}/{issue.number}",
            "number": issue.number,
            "state": issue.state,
            "state_reason": None,
            "title": issue.title,
            "body": issue.body,
            "user": self.simple_user(issue.user),
            "labels": [self.label(repo, name) for name in issue.labels],
            "assignee": self.simple_user(issue.assignees[0]) if issue.assignees else None,
            "assignees": [self.simple_user(a) for a in issue.assignees],
            "milestone": None,
            "locked": False,
            "active_lock_reason": None,
            "comments": len(comments),
            "closed_at": iso(issue.closed_at) if issue.closed_at is not None else None,
            "created_at": iso(issue.created_at),
            "updated_at": iso(issue.updated_at),
            "closed_by": None,
            "author_association": self.author_association(repo, issue.user),
            "performed_via_github_app": (
                self.integration(self.state.app) if issue.via_app else None
            ),
            "timeline_url": f"{url}/timeline",
            "reactions": {
                "url": f"{url}/reactions",
                "total_count": 0,
                **{c: 0 for c in REACTION_CONTENTS},
            },
        }
        if issue.is_pull_request:
            web = f"{WEB}/{full}/pull/{issue.number}"
            pr = repo.pulls.get(issue.number)
            merged = pr is not None and pr.merged and pr.closed_at
            out["pull_request"] = {
                "url": f"{api_repo}/pulls/{issue.number}",
                "html_url": web,
                "diff_url": f"{web}.diff",
                "patch_url": f"{web}.patch",
                "merged_at": iso(pr.closed_at) if merged and pr and pr.closed_at else None,
            }
            if pr is not None:
                out["draft"] = pr.draft
                out["state"] = pr.state
        return out

    # ----------------------------------------------------------------- deployments
    def deployment_url(self, deployment: Deployment) -> str:
        return f"{self.api}/repos/{deployment.repo.full_name}/deployments/{deployment.id}"

    def deployment(self, deployment: Deployment) -> dict[str, Any]:
        url = self.deployment_url(deployment)
        return {
            "url": url,
            "id": deployment.id,
            "node_id": node_id("Deployment", deployment.id),
            "sha": deployment.sha,
            "ref": deployment.ref,
            "task": deployment.task,
            "payload": dict(deployment.payload),
            "original_environment": deployment.original_environment,
            "environment": deployment.environment,
            "description": deployment.description,
            "creator": self.simple_user(deployment.creator) if deployment.creator else None,
            "created_at": iso(deployment.created_at),
            "updated_at": iso(deployment.updated_at),
            "statuses_url": f"{url}/statuses",
            "repository_url": f"{self.api}/repos/{deployment.repo.full_name}",
            "transient_environment": deployment.transient_environment,
            "production_environment": deployment.production_environment,
            "performed_via_github_app": (
                self.integration(self.state.app) if deployment.via_app else None
            ),
        }

    def deployment_status(self, deployment: Deployment, status: DeploymentStatus) -> dict[str, Any]:
        url = self.deployment_url(deployment)
        return {
            "url": f"{url}/statuses/{status.id}",
            "id": status.id,
            "node_id": node_id("DeploymentStatus", status.id),
            "state": status.state,
            "creator": self.simple_user(status.creator),
            "description": status.description,
            "environment": status.environment,
            "target_url": status.log_url,
            "created_at": iso(status.created_at),
            "updated_at": iso(status.created_at),
            "deployment_url": url,
            "repository_url": f"{self.api}/repos/{deployment.repo.full_name}",
            "environment_url": status.environment_url,
            "log_url": status.log_url,
            "performed_via_github_app": (
                self.integration(self.state.app) if status.via_app else None
            ),
        }

    # ----------------------------------------------------------------------- teams
    def team_membership(self, team: Team, login: str) -> dict[str, Any]:
        return {
            "url": f"{self.api}/organizations/{team.org.id}/team/{team.id}/memberships/{login}",
            "role": team.members[login.lower()],
            "state": "active",
        }

    # ------------------------------------------------------------------ check runs
    def check_run(self, run: CheckRun) -> dict[str, Any]:
        full = run.repo.full_name
        url = f"{self.api}/repos/{full}/check-runs/{run.id}"
        return {
            "id": run.id,
            "head_sha": run.head_sha,
            "node_id": node_id("CheckRun", run.id),
            "external_id": run.external_id,
            "url": url,
            "html_url": f"{WEB}/{full}/runs/{run.id}",
            "details_url": run.details_url or f"{self.state.app.external_url}",
            "status": run.status,
            "conclusion": run.conclusion,
            "started_at": iso(run.started_at) if run.started_at else None,
            "completed_at": iso(run.completed_at) if run.completed_at else None,
            "output": {
                "title": run.output.get("title"),
                "summary": run.output.get("summary"),
                "text": run.output.get("text"),
                "annotations_count": len(run.annotations),
                "annotations_url": f"{url}/annotations",
            },
            "name": run.name,
            "check_suite": {"id": run.check_suite_id},
            "app": self.integration(self.state.app),
            "pull_requests": [
                self.pull_request_minimal(pr)
                for pr in run.repo.pulls.values()
                if pr.state == "open" and pr.head_sha == run.head_sha
            ],
        }

    def activity(self, activity: Activity) -> dict[str, Any]:
        return {
            "id": activity.id,
            "node_id": node_id("RepositoryActivity", activity.id),
            "before": activity.before,
            "after": activity.after,
            "ref": activity.ref,
            "timestamp": iso(activity.timestamp),
            "activity_type": activity.activity_type,
            "actor": self.simple_user(activity.actor) if activity.actor else None,
        }

    def commit_status(self, status: CommitStatus) -> dict[str, Any]:
        full = status.repo.full_name
        return {
            "id": status.id,
            "node_id": node_id("StatusContext", status.id),
            "url": f"{self.api}/repos/{full}/statuses/{status.sha}",
            "avatar_url": None,
            "state": status.state,
            "description": status.description,
            "target_url": status.target_url,
            "context": status.context,
            "created_at": iso(status.created_at),
            "updated_at": iso(status.created_at),
        }

    def annotation(self, run: CheckRun, given: dict[str, Any]) -> dict[str, Any]:
        full = run.repo.full_name
        return {
            "path": given["path"],
            "blob_href": f"{WEB}/{full}/blob/{run.head_sha}/{quote(given['path'])}",
            "start_line": given["start_line"],
            "end_line": given["end_line"],
            "start_column": given.get("start_column"),
            "end_column": given.get("end_column"),
            "annotation_level": given.get("annotation_level"),
            "title": given.get("title"),
            "message": given.get("message"),
            "raw_details": given.get("raw_details"),
        }

    # --------------------------------------------------------------- pull requests
    def pull_url(self, pr: PullRequest) -> str:
        return f"{self.api}/repos/{pr.repo.full_name}/pulls/{pr.number}"

    def pull_request_minimal(self, pr: PullRequest) -> dict[str, Any]:
        def side(repo: Repository, ref: str, sha: str) -> dict[str, Any]:
            return {
                "ref": ref,
                "sha": sha,
                "repo": {
                    "id": repo.id,
                    "url": f"{self.api}/repos/{repo.full_name}",
                    "name": repo.name,
                },
            }

        return {
            "id": pr.id,
            "number": pr.number,
            "url": self.pull_url(pr),
            "head": side(pr.head_repo, pr.head_ref, pr.head_sha),
            "base": side(pr.repo, pr.base_ref, pr.base_sha),
        }

    def pull_request(self, pr: PullRequest, *, full: bool = False) -> dict[str, Any]:
        repo = pr.repo
        url = self.pull_url(pr)
        api_repo = f"{self.api}/repos/{repo.full_name}"
        html = f"{WEB}/{repo.full_name}/pull/{pr.number}"
        issue_url = f"{api_repo}/issues/{pr.number}"
        head_sha = pr.head_sha

        def side(r: Repository, ref: str, sha: str) -> dict[str, Any]:
            return {
                "label": f"{r.owner.login}:{ref}",
                "ref": ref,
                "sha": sha,
                "user": self.simple_user(r.owner),
                "repo": self.repository(r),
            }

        out: dict[str, Any] = {
            "url": url,
            "id": pr.id,
            "node_id": node_id("PullRequest", pr.id),
            "html_url": html,
            "diff_url": f"{html}.diff",
            "patch_url": f"{html}.patch",
            "issue_url": issue_url,
            "commits_url": f"{url}/commits",
            "review_comments_url": f"{url}/comments",
            "review_comment_url": f"{api_repo}/pulls/comments{{/number}}",
            "comments_url": f"{issue_url}/comments",
            "statuses_url": f"{api_repo}/statuses/{head_sha}",
            "number": pr.number,
            "state": pr.state,
            "locked": False,
            "title": pr.title,
            "user": self.simple_user(pr.user),
            "body": pr.body,
            "labels": [],
            "milestone": None,
            "active_lock_reason": None,
            "created_at": iso(pr.created_at),
            "updated_at": iso(pr.updated_at),
            "closed_at": iso(pr.closed_at) if pr.closed_at else None,
            "merged_at": iso(pr.closed_at) if pr.merged and pr.closed_at else None,
            "merge_commit_sha": None,
            "assignee": None,
            "assignees": [],
            "requested_reviewers": [],
            "requested_teams": [],
            "head": side(pr.head_repo, pr.head_ref, head_sha),
            "base": side(repo, pr.base_ref, pr.base_sha),
            "_links": {
                "self": {"href": url},
                "html": {"href": html},
                "issue": {"href": issue_url},
                "comments": {"href": f"{issue_url}/comments"},
                "review_comments": {"href": f"{url}/comments"},
                "review_comment": {"href": f"{api_repo}/pulls/comments{{/number}}"},
                "commits": {"href": f"{url}/commits"},
                "statuses": {"href": f"{api_repo}/statuses/{head_sha}"},
            },
            "author_association": self.author_association(repo, pr.user),
            "auto_merge": None,
            "draft": pr.draft,
        }
        if full:
            assert repo.git is not None
            base = pr.merge_base()
            changes = repo.git.diff_files(base, head_sha)
            out |= {
                "merged": pr.merged,
                "mergeable": None if pr.state == "closed" else True,
                "rebaseable": None if pr.state == "closed" else True,
                "mergeable_state": "draft" if pr.draft else "clean",
                "merged_by": None,
                "comments": len(self.state.comments_on(repo.full_name, pr.number)),
                "review_comments": len(pr.review_comments),
                "maintainer_can_modify": pr.maintainer_can_modify,
                "commits": len(repo.git.rev_list(head_sha, f"^{base}")),
                "additions": sum(c.additions for c in changes),
                "deletions": sum(c.deletions for c in changes),
                "changed_files": len(changes),
            }
        return out

    def diff_entry(self, repo: Repository, change: FileChange, head_sha: str) -> dict[str, Any]:
        full = repo.full_name
        path = quote(change.filename)
        sha = change.sha or "0" * 40
        out: dict[str, Any] = {
            "sha": sha,
            "filename": change.filename,
            "status": change.status,
            "additions": change.additions,
            "deletions": change.deletions,
            "changes": change.additions + change.deletions,
            "blob_url": f"{WEB}/{full}/blob/{head_sha}/{path}",
            "raw_url": f"{WEB}/{full}/raw/{head_sha}/{path}",
            "contents_url": f"{self.api}/repos/{full}/contents/{path}?ref={head_sha}",
        }
        if change.patch is not None:
            out["patch"] = change.patch
        if change.previous_filename:
            out["previous_filename"] = change.previous_filename
        return out

    def review(self, review: Review) -> dict[str, Any]:
        pr = review.pull
        html = f"{WEB}/{pr.repo.full_name}/pull/{pr.number}#pullrequestreview-{review.id}"
        out: dict[str, Any] = {
            "id": review.id,
            "node_id": node_id("PullRequestReview", review.id),
            "user": self.simple_user(review.user),
            "body": review.body,
            "state": review.state,
            "html_url": html,
            "pull_request_url": self.pull_url(pr),
            "_links": {"html": {"href": html}, "pull_request": {"href": self.pull_url(pr)}},
            "commit_id": review.commit_id,
            "author_association": self.author_association(pr.repo, review.user),
        }
        if review.submitted_at is not None:
            out["submitted_at"] = iso(review.submitted_at)
        return out

    def review_comment(self, comment: ReviewComment) -> dict[str, Any]:
        pr = comment.review.pull
        api_repo = f"{self.api}/repos/{pr.repo.full_name}"
        url = f"{api_repo}/pulls/comments/{comment.id}"
        html = f"{WEB}/{pr.repo.full_name}/pull/{pr.number}#discussion_r{comment.id}"
        return {
            "url": url,
            "pull_request_review_id": comment.review.id,
            "id": comment.id,
            "node_id": node_id("PullRequestReviewComment", comment.id),
            "diff_hunk": comment.diff_hunk,
            "path": comment.path,
            "position": comment.position,
            "original_position": comment.position,
            "commit_id": comment.commit_id,
            "original_commit_id": comment.commit_id,
            "user": self.simple_user(comment.user),
            "body": comment.body,
            "created_at": iso(comment.created_at),
            "updated_at": iso(comment.created_at),
            "html_url": html,
            "pull_request_url": self.pull_url(pr),
            "author_association": self.author_association(pr.repo, comment.user),
            "_links": {
                "self": {"href": url},
                "html": {"href": html},
                "pull_request": {"href": self.pull_url(pr)},
            },
            "start_line": comment.start_line,
            "original_start_line": comment.start_line,
            "start_side": comment.start_side,
            "line": comment.line,
            "original_line": comment.line,
            "side": comment.side,
            "subject_type": "line",
            "reactions": {
                "url": f"{url}/reactions",
                "total_count": 0,
                **{c: 0 for c in REACTION_CONTENTS},
            },
        }

    # --------------------------------------------------------------------- commits
    def git_user(self, name: str, email: str, ts: int) -> dict[str, Any]:
        return {"name": name, "email": email, "date": iso(ts)}

    def commit(self, repo: Repository, sha: str) -> dict[str, Any]:
        assert repo.git is not None
        info = repo.git.commit_info(sha)
        full = repo.full_name
        api_repo = f"{self.api}/repos/{full}"
        parent = info.parents[0] if info.parents else None
        if parent is not None:
            changes = repo.git.diff_files(parent, sha)
        else:
            empty_tree = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"
            repo.git.git("hash-object", "-t", "tree", "-w", "--stdin", input=b"")
            changes = repo.git.diff_files(empty_tree, sha)

        def account(email: str) -> dict[str, Any] | None:
            found = next((a for a in self.state.accounts.values() if a.email == email), None)
            return self.simple_user(found) if found else None

        adds = sum(c.additions for c in changes)
        dels = sum(c.deletions for c in changes)
        return {
            "url": f"{api_repo}/commits/{sha}",
            "sha": sha,
            "node_id": node_id("Commit", int(sha[:8], 16)),
            "html_url": f"{WEB}/{full}/commit/{sha}",
            "comments_url": f"{api_repo}/commits/{sha}/comments",
            "commit": {
                "url": f"{api_repo}/git/commits/{sha}",
                "author": self.git_user(info.author_name, info.author_email, info.author_date),
                "committer": self.git_user(
                    info.committer_name, info.committer_email, info.committer_date
                ),
                "message": info.message,
                "comment_count": 0,
                "tree": {"sha": info.tree, "url": f"{api_repo}/git/trees/{info.tree}"},
                "verification": {
                    "verified": False,
                    "reason": "unsigned",
                    "signature": None,
                    "payload": None,
                    "verified_at": None,
                },
            },
            "author": account(info.author_email),
            "committer": account(info.committer_email),
            "parents": [
                {"sha": p, "url": f"{api_repo}/commits/{p}", "html_url": f"{WEB}/{full}/commit/{p}"}
                for p in info.parents
            ],
            "stats": {"additions": adds, "deletions": dels, "total": adds + dels},
            "files": [self.diff_entry(repo, c, sha) for c in changes],
        }

    # ------------------------------------------------------------------ rate limit
    @staticmethod
    def rate_limit(bucket: RateLimit) -> dict[str, int]:
        return {
            "limit": bucket.limit,
            "used": bucket.used,
            "remaining": bucket.remaining,
            "reset": bucket.reset,
        }

    def rate_limit_overview(self, bucket: RateLimit) -> dict[str, Any]:
        core = self.rate_limit(bucket)
        fresh = {"limit": 0, "used": 0, "remaining": 0, "reset": bucket.reset}

        def other(limit: int) -> dict[str, int]:
            return {**fresh, "limit": limit, "remaining": limit}

        return {
            "resources": {
                "core": core,
                "search": other(30),
                "graphql": other(5000),
                "integration_manifest": other(5000),
                "source_import": other(100),
                "code_scanning_upload": other(1000),
                "actions_runner_registration": other(10000),
                "scim": other(15000),
                "dependency_snapshots": other(100),
                "code_search": other(10),
            },
            "rate": core,
        }
