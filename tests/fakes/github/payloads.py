"""Webhook payloads built from the fake's state, shaped like GitHub's real deliveries.

The shapes follow the examples in ``tests/fixtures/webhook-examples.json.gz`` (from
@octokit/webhooks): ``pull_request``, ``push``, ``check_run``, ``check_suite``,
``issue_comment``, ``deployment`` and ``deployment_status`` events
for repositories created through :class:`~fakes.git.server.GitServer`, so that shas,
commit messages, authors and ``clone_url`` values agree with git and with the API::

    payload = gh.payloads.pull_request_payload("octo-org/widgets", 1, "opened", 1001)
    await deckhand.deliver("pull_request", payload)

API URLs point at the fake (like every other shape), web URLs at https://github.com.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..git.repo import ZERO_SHA, CommitInfo
from .shapes import WEB, node_id
from .state import Account, Deployment, Repository, iso

if TYPE_CHECKING:
    from .server import FakeGitHub

MAX_PUSH_COMMITS = 20  # GitHub lists at most 20 commits in a push payload


class Payloads:
    """Builds webhook payloads for one :class:`FakeGitHub` (``gh.payloads``)."""

    def __init__(self, gh: FakeGitHub) -> None:
        self.gh = gh

    # ------------------------------------------------------------------ pieces
    def installation(self, installation_id: int) -> dict[str, Any]:
        return {"id": installation_id, "node_id": node_id("Installation", installation_id)}

    def _repo(self, full_name: str) -> Repository:
        repo = self.gh.repo(full_name)
        if repo is None:
            raise KeyError(f"unknown repository {full_name!r}")
        return repo

    def _sender(self, login: str | None, default: Account) -> dict[str, Any]:
        account = self.gh.add_account(login) if login else default
        return self.gh.shapes.simple_user(account)

    def _base(
        self, repo: Repository, installation_id: int, sender: dict[str, Any]
    ) -> dict[str, Any]:
        out: dict[str, Any] = {
            "repository": self.gh.shapes.repository(repo),
            "sender": sender,
            "installation": self.installation(installation_id),
        }
        if repo.owner.type == "Organization":
            out["organization"] = self.organization(repo.owner)
        return out

    def organization(self, org: Account) -> dict[str, Any]:
        url = f"{self.gh.shapes.api}/orgs/{org.login}"
        return {
            "login": org.login,
            "id": org.id,
            "node_id": node_id("Organization", org.id),
            "url": url,
            "repos_url": f"{url}/repos",
            "events_url": f"{url}/events",
            "hooks_url": f"{url}/hooks",
            "issues_url": f"{url}/issues",
            "members_url": f"{url}/members{{/member}}",
            "public_members_url": f"{url}/public_members{{/member}}",
            "avatar_url": f"https://avatars.githubusercontent.com/u/{org.id}?v=4",
            "description": None,
        }

    def _commit(self, repo: Repository, info: CommitInfo, *, files: bool) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": info.sha,
            "tree_id": info.tree,
            "distinct": True,
            "message": info.message,
            "timestamp": iso(info.author_date),
            "url": f"{WEB}/{repo.full_name}/commit/{info.sha}",
            "author": {"name": info.author_name, "email": info.author_email},
            "committer": {"name": info.committer_name, "email": info.committer_email},
        }
        for role, email in (("author", info.author_email), ("committer", info.committer_email)):
            account = next((a for a in self.gh.accounts.values() if a.email == email), None)
            if account is not None:
                out[role]["username"] = account.login
        if files:
            assert repo.git is not None
            parent = info.parents[0] if info.parents else "4b825dc642cb6eb9a060e54bf8d69288fbee4904"
            changes = repo.git.diff_files(parent, info.sha)
            out["added"] = [c.filename for c in changes if c.status == "added"]
            out["removed"] = [c.filename for c in changes if c.status == "removed"]
            out["modified"] = [c.filename for c in changes if c.status not in ("added", "removed")]
        return out

    def _head_branch(self, repo: Repository, sha: str) -> str | None:
        if repo.git is None:
            return None
        refs = repo.git.refs()
        preferred = f"refs/heads/{repo.default_branch}"
        if refs.get(preferred) == sha:
            return repo.default_branch
        for ref, target in sorted(refs.items()):
            if ref.startswith("refs/heads/") and target == sha:
                return ref.removeprefix("refs/heads/")
        return None

    # ---------------------------------------------------------------- payloads
    def pull_request_payload(
        self,
        full_name: str,
        number: int,
        action: str,
        installation_id: int,
        *,
        sender: str | None = None,
        before: str | None = None,
    ) -> dict[str, Any]:
        """A ``pull_request`` event (``opened``, ``synchronize``, ``reopened`` ...).

        For ``synchronize`` pass ``before`` (the previous head sha); ``after`` is the
        current head. ``sender`` defaults to the pull request's author.
        """
        repo = self._repo(full_name)
        pr = repo.pulls[number]
        out: dict[str, Any] = {
            "action": action,
            "number": number,
            "pull_request": self.gh.shapes.pull_request(pr, full=True),
        }
        if action == "synchronize":
            out["before"] = before or ZERO_SHA
            out["after"] = pr.head_sha
        out |= self._base(repo, installation_id, self._sender(sender, pr.user))
        return out

    def push_payload(
        self,
        full_name: str,
        ref: str,
        before: str | None,
        after: str | None,
        installation_id: int,
        *,
        sender: str | None = None,
    ) -> dict[str, Any]:
        """A ``push`` event for ``ref`` moving from ``before`` to ``after`` (None: zeros).

        ``commits`` lists (up to 20, oldest first) the commits new to the ref: those
        reachable from ``after`` but not from ``before`` (for a new branch: not from
        the default branch); ``head_commit`` is ``after``'s commit, read from git.
        """
        repo = self._repo(full_name)
        assert repo.git is not None, "push payloads need a repository from GitServer"
        before = before or ZERO_SHA
        after = after or ZERO_SHA
        if not ref.startswith("refs/"):
            ref = f"refs/heads/{ref}"
        created, deleted = before == ZERO_SHA, after == ZERO_SHA
        commits: list[dict[str, Any]] = []
        head_commit = None
        forced = False
        if not deleted:
            if created:
                default = repo.git.resolve(f"refs/heads/{repo.default_branch}")
                exclude = (
                    [f"^{default}"]
                    if default and ref != f"refs/heads/{repo.default_branch}"
                    else []
                )
                shas = repo.git.rev_list(after, *exclude) if exclude else [after]
            else:
                shas = repo.git.rev_list(after, f"^{before}")
                forced = not repo.git.is_ancestor(before, after)
            infos = {i.sha: i for i in repo.git.log(after, n=max(len(shas), 1) + 50)}
            for sha in shas[-MAX_PUSH_COMMITS:]:
                info = infos.get(sha) or repo.git.commit_info(sha)
                commits.append(self._commit(repo, info, files=True))
            head_commit = self._commit(repo, repo.git.commit_info(after), files=True)
        pusher_info = head_commit["committer"] if head_commit else None
        account = self.gh.add_account(sender) if sender else None
        pusher = (
            {"name": account.login, "email": account.email}
            if account is not None
            else {"name": pusher_info["name"], "email": pusher_info["email"]}
            if pusher_info
            else {"name": repo.owner.login, "email": None}
        )
        repository = self.gh.shapes.repository(repo)
        repository |= {
            "created_at": int(repo.created_at),
            "pushed_at": int(self.gh.clock()),
            "master_branch": repo.default_branch,
            "stargazers": 0,
            "custom_properties": {},
        }
        repository["owner"] = {
            "name": repo.owner.login,
            "email": repo.owner.email,
            **self.gh.shapes.simple_user(repo.owner),
        }
        out: dict[str, Any] = {
            "ref": ref,
            "before": before,
            "after": after,
            "repository": repository,
            "pusher": pusher,
            "sender": self._sender(sender, repo.owner),
            "installation": self.installation(installation_id),
            "created": created,
            "deleted": deleted,
            "forced": forced,
            "base_ref": None,
            "compare": f"{WEB}/{repo.full_name}/compare/{before[:12]}...{after[:12]}"
            if not created
            else f"{WEB}/{repo.full_name}/commit/{after[:12]}",
            "commits": commits,
            "head_commit": head_commit,
        }
        if repo.owner.type == "Organization":
            out["organization"] = self.organization(repo.owner)
        return out

    def _suite(self, repo: Repository, head_sha: str, action: str) -> dict[str, Any]:
        gh = self.gh
        suite_id = gh.suite_id_for(repo, head_sha)
        runs = [r for r in gh.check_runs.values() if r.check_suite_id == suite_id]
        completed = bool(runs) and all(r.status == "completed" for r in runs)
        conclusion = None
        if completed:
            order = ["action_required", "failure", "timed_out", "cancelled", "neutral", "skipped"]
            conclusions = {r.conclusion for r in runs}
            conclusion = next((c for c in order if c in conclusions), "success")
        api = gh.shapes.api
        pulls = [
            gh.shapes.pull_request_minimal(pr)
            for pr in repo.pulls.values()
            if pr.state == "open" and pr.head_sha == head_sha
        ]
        now = iso(gh.clock())
        parent = None
        if repo.git is not None:
            parents = repo.git.commit_info(head_sha).parents
            parent = parents[0] if parents else ZERO_SHA
        return {
            "id": suite_id,
            "node_id": node_id("CheckSuite", suite_id),
            "head_branch": self._head_branch(repo, head_sha),
            "head_sha": head_sha,
            "status": "completed" if completed else ("queued" if not runs else "in_progress"),
            "conclusion": conclusion,
            "url": f"{api}/repos/{repo.full_name}/check-suites/{suite_id}",
            "before": parent,
            "after": head_sha,
            "pull_requests": pulls,
            "app": gh.shapes.integration(gh.app),
            "created_at": now,
            "updated_at": now,
            "latest_check_runs_count": len(runs),
            "check_runs_url": f"{api}/repos/{repo.full_name}/check-suites/{suite_id}/check-runs",
        }

    def check_run_payload(
        self,
        check_run_id: int,
        action: str,
        installation_id: int,
        identifier: str | None = None,
        *,
        sender: str | None = None,
    ) -> dict[str, Any]:
        """A ``check_run`` event; ``requested_action`` carries ``identifier``."""
        run = self.gh.check_runs[check_run_id]
        repo = run.repo
        check_run = self.gh.shapes.check_run(run)
        check_run["check_suite"] = self._suite(repo, run.head_sha, action)
        out: dict[str, Any] = {"action": action, "check_run": check_run}
        if action == "requested_action":
            if identifier is None:
                raise ValueError("requested_action needs the action's identifier")
            if not any(a.get("identifier") == identifier for a in run.actions):
                raise ValueError(f"check run {check_run_id} has no action {identifier!r}")
            out["requested_action"] = {"identifier": identifier}
        default_sender = self.gh.add_account("octocat")
        out |= self._base(repo, installation_id, self._sender(sender, default_sender))
        return out

    def check_suite_payload(
        self,
        full_name: str,
        head_sha: str,
        action: str,
        installation_id: int,
        *,
        sender: str | None = None,
    ) -> dict[str, Any]:
        """A ``check_suite`` event (``requested``, ``rerequested``, ``completed``)."""
        repo = self._repo(full_name)
        suite = self._suite(repo, head_sha, action)
        if repo.git is not None:
            info = repo.git.commit_info(head_sha)
            suite["head_commit"] = {
                "id": info.sha,
                "tree_id": info.tree,
                "message": info.message,
                "timestamp": iso(info.author_date),
                "author": {"name": info.author_name, "email": info.author_email},
                "committer": {"name": info.committer_name, "email": info.committer_email},
            }
        out: dict[str, Any] = {"action": action, "check_suite": suite}
        out |= self._base(repo, installation_id, self._sender(sender, repo.owner))
        return out

    def issue_comment_payload(
        self, comment_id: int, installation_id: int, action: str = "created"
    ) -> dict[str, Any]:
        """An ``issue_comment`` event for a seeded comment (``add_issue_comment``); on a
        pull request's number the issue carries its ``pull_request`` links."""
        comment = self.gh.comments[comment_id]
        repo = comment.repo
        issue = repo.issues.get(comment.issue_number)
        web = f"{WEB}/{repo.full_name}"
        api = f"{self.gh.shapes.api}/repos/{repo.full_name}"
        shown: dict[str, Any] = {
            "id": comment.issue_number,
            "node_id": node_id("Issue", comment.issue_number),
            "number": comment.issue_number,
            "title": issue.title if issue is not None else "An issue",
            "user": self.gh.shapes.simple_user(issue.user if issue is not None else comment.user),
            "state": "open",
            "locked": False,
            "comments": len(self.gh.comments_on(repo.full_name, comment.issue_number)),
            "url": f"{api}/issues/{comment.issue_number}",
            "html_url": f"{web}/issues/{comment.issue_number}",
            "author_association": "CONTRIBUTOR",
            "body": None,
        }
        if comment.issue_number in repo.pulls:
            shown["pull_request"] = {
                "url": f"{api}/pulls/{comment.issue_number}",
                "html_url": f"{web}/pull/{comment.issue_number}",
                "diff_url": f"{web}/pull/{comment.issue_number}.diff",
                "patch_url": f"{web}/pull/{comment.issue_number}.patch",
            }
        out: dict[str, Any] = {
            "action": action,
            "issue": shown,
            "comment": self.gh.shapes.issue_comment(comment),
        }
        out |= self._base(repo, installation_id, self.gh.shapes.simple_user(comment.user))
        return out

    # ------------------------------------------------------------- deployments
    def _deployment(self, full_name: str, deployment_id: int) -> tuple[Repository, Deployment]:
        repo = self._repo(full_name)
        deployment = self.gh.deployments.get(deployment_id)
        if deployment is None or deployment.repo is not repo:
            raise KeyError(f"{full_name} has no deployment {deployment_id}")
        return repo, deployment

    def deployment_payload(
        self, full_name: str, deployment_id: int, installation_id: int
    ) -> dict[str, Any]:
        """A ``deployment`` event (action ``created``); the sender is the creator."""
        repo, deployment = self._deployment(full_name, deployment_id)
        out: dict[str, Any] = {
            "action": "created",
            "deployment": self.gh.shapes.deployment(deployment),
            "workflow": None,
            "workflow_run": None,
        }
        creator = deployment.creator or self.gh.app.bot
        out |= self._base(repo, installation_id, self.gh.shapes.simple_user(creator))
        return out

    def deployment_status_payload(
        self,
        full_name: str,
        deployment_id: int,
        installation_id: int,
        state: str | None = None,
    ) -> dict[str, Any]:
        """A ``deployment_status`` event (action ``created``) for the deployment's latest
        status, or with ``state`` its latest status in that state (ValueError if none);
        the sender is the status's creator (``github-actions[bot]`` for
        ``gh.report_deployment``)."""
        repo, deployment = self._deployment(full_name, deployment_id)
        candidates = [s for s in deployment.statuses if state in (None, s.state)]
        if not candidates:
            wanted = f"a {state!r} status" if state else "any status"
            raise ValueError(f"deployment {deployment_id} has no {wanted}")
        status = candidates[-1]
        out: dict[str, Any] = {
            "action": "created",
            "deployment_status": self.gh.shapes.deployment_status(deployment, status),
            "deployment": self.gh.shapes.deployment(deployment),
        }
        out |= self._base(repo, installation_id, self.gh.shapes.simple_user(status.creator))
        return out
