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

from .state import (
    Account,
    App,
    CheckRun,
    GitHubState,
    Installation,
    IssueComment,
    RateLimit,
    Reaction,
    Repository,
    Role,
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
            "fork": False,
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
            "clone_url": f"{html}.git",
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
            "pull_requests": [],
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
