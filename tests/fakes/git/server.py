"""``GitServer``: real git over smart HTTP (``git http-backend`` as CGI), GitHub-style auth.

Tests get a real git remote that behaves like ``https://github.com/<owner>/<repo>.git``
for a GitHub App: HTTP Basic with user ``x-access-token`` and an installation token
issued by the linked :class:`~fakes.github.FakeGitHub` as the password. Fetching needs
``contents: read`` on the repository, pushing ``contents: write``. Every request is
recorded in ``requests`` (with bytes on the wire), every ref update in ``pushes``::

    async with FakeGitHub(...) as gh, GitServer(gh, tmp_path) as git:
        head = git.create_repo("octo-org/widgets", {"README.md": "hi\\n"}, installation_id=1)
        git.commit("octo-org/widgets", "feature", {"a.py": "x = 1\\n"}, message="add a")
        # clone with f"http://x-access-token:{token}@{git.url[7:]}/octo-org/widgets.git"

The seeding helpers (``create_repo``, ``commit``, ``head``, ``show``, ``log``, ``fork``,
``branches``) are synchronous and run the git CLI on the bare repositories directly.
Bare repositories allow partial clones (``--filter=blob:none``) and fetching any sha,
and reject non-fast-forward pushes (``receive.denyNonFastForwards``), even forced ones.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import shutil
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self

from aiohttp import web

from .repo import ZERO_SHA, BareRepo, CommitInfo, git_env

if TYPE_CHECKING:
    from ..github.server import FakeGitHub
    from ..github.state import IssuedToken, Repository

REALM = 'Basic realm="GitHub"'
SERVICES = ("upload-pack", "receive-pack")
_CHUNK = 64 * 1024


@dataclass(slots=True)
class GitRequest:
    """One HTTP request the git server answered."""

    method: str
    path: str
    repo: str | None  # full name, as registered
    service: str | None  # "upload-pack" or "receive-pack" (None for other paths)
    status: int = 0
    bytes_received: int = 0  # request body, as sent on the wire (maybe gzip)
    bytes_sent: int = 0  # response body
    user: str | None = None  # the Basic auth username
    installation_id: int | None = None  # the token's installation, when it was valid
    refused: str | None = None  # why a request was answered 401/403/404


@dataclass(frozen=True, slots=True)
class GitPush:
    """One ref update made by a successful push."""

    repo: str
    ref: str  # "refs/heads/feature"
    old: str  # 40 zeros when the ref was created
    new: str  # 40 zeros when the ref was deleted
    installation_id: int | None = None


@dataclass
class _Auth:
    user: str | None = None
    token: IssuedToken | None = None
    failure: tuple[int, str] | None = None  # (status, reason)
    extra: dict[str, str] = field(default_factory=dict)


class GitServer:
    """A smart-HTTP git server on ``127.0.0.1:<ephemeral port>`` linked to a FakeGitHub."""

    def __init__(
        self, github: FakeGitHub, root: Path | None = None, *, host: str = "127.0.0.1"
    ) -> None:
        self.github = github
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        if root is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="fake-git-")
            root = Path(self._tmp.name)
        self.root = Path(root)
        self.host = host
        self.url = ""  # "http://127.0.0.1:PORT" once started
        self.requests: list[GitRequest] = []
        self.pushes: list[GitPush] = []
        self.stderr: list[str] = []  # what git http-backend wrote to stderr
        self.repos: dict[str, BareRepo] = {}  # full_name.lower() -> bare repository
        self._runner: web.AppRunner | None = None

    # ================================================================= lifecycle
    async def start(self) -> Self:
        app = web.Application(client_max_size=1024**3)
        app.router.add_route("*", "/{tail:.*}", self._dispatch)
        # git sends gzip request bodies; http-backend inflates them itself.
        self._runner = web.AppRunner(
            app, access_log=None, auto_decompress=False, shutdown_timeout=1.0
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.url = f"http://{host}:{port}"
        for full_name in self.repos:
            self._register_url(full_name)
        return self

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    # ============================================================ URLs and tokens
    def clone_url(self, full_name: str) -> str:
        """``{url}/{owner}/{name}.git`` (what the fake GitHub reports as ``clone_url``)."""
        return f"{self.url}/{self._canonical(full_name)}.git"

    def authenticated_url(self, full_name: str, token: str) -> str:
        """The clone URL with ``x-access-token:<token>@`` credentials in it."""
        scheme, _, rest = self.clone_url(full_name).partition("://")
        return f"{scheme}://x-access-token:{token}@{rest}"

    # ===================================================================== seeding
    def _canonical(self, full_name: str) -> str:
        repo = self.github.repo(full_name)
        return repo.full_name if repo is not None else full_name

    def _bare(self, full_name: str) -> BareRepo:
        bare = self.repos.get(full_name.lower())
        if bare is None:
            raise KeyError(f"no git repository {full_name!r}; create it with create_repo()")
        return bare

    def _register_url(self, full_name: str) -> None:
        repo = self.github.repo(full_name)
        if repo is not None and self.url:
            repo.clone_url = self.clone_url(full_name)

    def _path_for(self, full_name: str) -> Path:
        owner, _, name = full_name.lower().partition("/")
        return self.root / owner / f"{name}.git"

    def create_repo(
        self,
        full_name: str,
        files: Mapping[str, str | bytes],
        *,
        branch: str = "main",
        installation_id: int | None = None,
        author: tuple[str, str] = ("Alice", "alice@example.com"),
        message: str = "initial",
        private: bool = False,
    ) -> str:
        """Create a bare repository with one commit of ``files`` on ``branch``.

        Also registers ``full_name`` in the linked FakeGitHub (default branch
        ``branch``; added to a "selected" installation when ``installation_id`` is
        given), so its API reports ``clone_url`` on this server and serves its
        contents from git. Returns the commit sha.
        """
        if full_name.lower() in self.repos:
            raise ValueError(f"git repository {full_name!r} already exists")
        repo = self.github.add_repo(
            full_name, default_branch=branch, installation_id=installation_id, private=private
        )
        repo.default_branch = branch
        bare = BareRepo.init(self._path_for(full_name), branch)
        self.repos[full_name.lower()] = bare
        repo.git = bare
        self._register_url(full_name)
        sha = bare.commit(branch, dict(files), message=message, author=author)
        self.github.record_activity(full_name, f"refs/heads/{branch}", ZERO_SHA, sha)
        return sha

    def commit(
        self,
        full_name: str,
        branch: str,
        files: Mapping[str, str | bytes | None],
        *,
        message: str,
        author: tuple[str, str] = ("Alice", "alice@example.com"),
        committer: tuple[str, str] | None = None,
        parent: str | None = None,
        date: int | None = None,
    ) -> str:
        """Commit ``files`` (``None`` deletes a path) on ``branch``; returns the sha.

        A missing branch is created from ``parent`` (a sha or branch) or, by default,
        from the default branch's head. ``date`` (epoch seconds) backdates the commit;
        the branch still moves now, as the repository's activity records.
        """
        bare = self._bare(full_name)
        ref = f"refs/heads/{branch}"
        before = bare.resolve(ref)
        if parent is None and before is None:
            parent = bare.default_branch()
        sha = bare.commit(
            branch,
            files,
            message=message,
            author=author,
            committer=committer,
            parent=parent,
            date=date,
        )
        self.github.record_activity(full_name, ref, before or ZERO_SHA, sha)
        return sha

    def head(self, full_name: str, branch: str) -> str:
        return self._bare(full_name).head(branch)

    def show(self, full_name: str, rev: str, path: str) -> bytes:
        """The content of ``path`` at ``rev`` (``git show rev:path``)."""
        return self._bare(full_name).show(rev, path)

    def log(self, full_name: str, rev: str, n: int = 10) -> list[CommitInfo]:
        """The last ``n`` commits reachable from ``rev``, newest first."""
        return self._bare(full_name).log(rev, n)

    def branches(self, full_name: str) -> list[str]:
        return self._bare(full_name).branches()

    def bare(self, full_name: str) -> BareRepo:
        """The :class:`BareRepo` behind ``full_name`` (for plumbing in tests)."""
        return self._bare(full_name)

    def fork(self, full_name: str, owner: str, *, installation_id: int | None = None) -> str:
        """Copy ``full_name`` to ``owner/<name>``, registered as a fork; returns its name."""
        source = self._bare(full_name)
        parent = self.github.repo(full_name)
        name = full_name.partition("/")[2] if parent is None else parent.name
        fork_name = f"{owner}/{name}"
        if fork_name.lower() in self.repos:
            raise ValueError(f"git repository {fork_name!r} already exists")
        path = self._path_for(fork_name)
        path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copytree(source.path, path)
        bare = BareRepo(path)
        self.repos[fork_name.lower()] = bare
        repo = self.github.add_repo(
            fork_name,
            default_branch=source.default_branch(),
            installation_id=installation_id,
            owner_type="User",
        )
        repo.git = bare
        repo.parent = parent
        self._register_url(fork_name)
        return repo.full_name

    # ==================================================================== serving
    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        path = request.path
        owner, _, rest = path.lstrip("/").partition("/")
        name, _, tail = rest.partition("/")
        name = name.removesuffix(".git")
        full_name = f"{owner}/{name}"
        bare = self.repos.get(full_name.lower())
        if tail == "git-upload-pack" or request.query.get("service") == "git-upload-pack":
            service: str | None = "upload-pack"
        elif tail == "git-receive-pack" or request.query.get("service") == "git-receive-pack":
            service = "receive-pack"
        else:
            service = None
        record = GitRequest(
            request.method,
            path,
            self._canonical(full_name) if bare is not None else None,
            service,
        )
        self.requests.append(record)
        try:
            response = await self._answer(request, record, bare, full_name, tail, service)
        except BaseException:
            record.status = record.status or 500
            raise
        record.status = response.status
        return response

    async def _answer(
        self,
        request: web.Request,
        record: GitRequest,
        bare: BareRepo | None,
        full_name: str,
        tail: str,
        service: str | None,
    ) -> web.StreamResponse:
        auth = self._authenticate(request, bare, full_name, service)
        record.user = auth.user
        if auth.token is not None:
            record.installation_id = auth.token.installation_id
        if auth.failure is not None:
            status, reason = auth.failure
            record.refused = reason
            return self._refuse(status, full_name, auth)
        if bare is None:
            record.refused = "no such repository"
            return web.Response(status=404, text="Repository not found.\n")
        before = bare.refs() if service == "receive-pack" and request.method == "POST" else None

        def record_pushes() -> None:
            if before is None:
                return
            after = bare.refs()
            for ref in sorted((set(before) | set(after)) - set(self._mirror_refs(before, after))):
                old, new = before.get(ref, "0" * 40), after.get(ref, "0" * 40)
                if old != new:
                    self.pushes.append(
                        GitPush(record.repo or full_name, ref, old, new, record.installation_id)
                    )
                    pusher = self.github.app.bot if record.installation_id else None
                    self.github.record_activity(record.repo or full_name, ref, old, new, pusher)

        # The pushes are recorded before the answer ends, so a client that has seen its push
        # go through finds it in `pushes`.
        return await self._cgi(request, record, bare, tail, auth.user or "", record_pushes)

    @staticmethod
    def _mirror_refs(*snapshots: dict[str, str]) -> list[str]:
        """``refs/pull/*`` are maintained by the fake GitHub, not pushed by clients."""
        return [ref for snap in snapshots for ref in snap if ref.startswith("refs/pull/")]

    def _refuse(self, status: int, full_name: str, auth: _Auth) -> web.Response:
        if status == 401:
            return web.Response(
                status=401,
                text="Invalid username or token. Password authentication is not supported "
                "for Git operations.\n",
                headers={"WWW-Authenticate": REALM},
            )
        if status == 403:
            who = self.github.app.bot.login
            return web.Response(
                status=403, text=f"Permission to {full_name}.git denied to {who}.\n"
            )
        return web.Response(status=404, text="Repository not found.\n")

    def _authenticate(
        self, request: web.Request, bare: BareRepo | None, full_name: str, service: str | None
    ) -> _Auth:
        header = request.headers.get("Authorization", "")
        scheme, _, encoded = header.partition(" ")
        if scheme.lower() != "basic" or not encoded:
            return _Auth(failure=(401, "no Basic credentials"))
        try:
            user, _, password = base64.b64decode(encoded.strip()).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return _Auth(failure=(401, "undecodable Basic credentials"))
        auth = _Auth(user=user)
        gh = self.github
        token = gh.tokens.get(password)
        if user != "x-access-token":
            auth.failure = (401, f"username must be x-access-token, got {user!r}")
            return auth
        if token is None:
            auth.failure = (401, "token was never issued by the fake GitHub")
            return auth
        auth.token = token
        if token.revoked:
            auth.failure = (401, "token was revoked")
            return auth
        if token.expires_at <= gh.clock():
            auth.failure = (401, "token expired")
            return auth
        repo: Repository | None = gh.repo(full_name)
        inst = gh.installations.get(token.installation_id)
        reachable = (
            repo is not None
            and inst is not None
            and inst.suspended_at is None
            and any(r is repo for r in gh.installation_repos(inst))
            and (token.repository_ids is None or repo.id in token.repository_ids)
        )
        if not reachable and repo is not None and inst is not None:
            reachable = self._maintainer_edit(repo, inst, token)
        if bare is None or repo is None or not reachable:
            # GitHub does not reveal private repositories the token cannot see.
            auth.failure = (404, "repository unknown or not covered by the token")
            return auth
        level = token.permissions.get("contents", "")
        if level not in ("read", "write", "admin"):
            auth.failure = (403, "token lacks contents: read")
            return auth
        if service == "receive-pack" and level not in ("write", "admin"):
            auth.failure = (403, "token lacks contents: write")
            return auth
        return auth

    def _maintainer_edit(self, fork: Repository, inst: Any, token: Any) -> bool:
        """GitHub lets an App installed on the upstream push to a fork when an open pull
        request from it allows maintainer edits (the branch is not checked here)."""
        gh = self.github
        for upstream in gh.installation_repos(inst):
            if token.repository_ids is not None and upstream.id not in token.repository_ids:
                continue
            for pull in upstream.pulls.values():
                if pull.head_repo is fork and pull.state == "open" and pull.maintainer_can_modify:
                    return True
        return False

    async def _cgi(
        self,
        request: web.Request,
        record: GitRequest,
        bare: BareRepo,
        tail: str,
        user: str,
        before_end: Callable[[], None],
    ) -> web.StreamResponse:
        project_root = bare.path.parent
        env = git_env(
            {
                "GIT_PROJECT_ROOT": str(project_root),
                "GIT_HTTP_EXPORT_ALL": "1",
                "PATH_INFO": f"/{bare.path.name}/{tail}",
                "QUERY_STRING": request.query_string,
                "REQUEST_METHOD": request.method,
                "CONTENT_TYPE": request.headers.get("Content-Type", ""),
                "REMOTE_USER": user,
                "REMOTE_ADDR": request.remote or "127.0.0.1",
                "SERVER_PROTOCOL": f"HTTP/{request.version.major}.{request.version.minor}",
                "GATEWAY_INTERFACE": "CGI/1.1",
            }
        )
        if "Content-Length" in request.headers:
            env["CONTENT_LENGTH"] = request.headers["Content-Length"]
        if "Git-Protocol" in request.headers:
            env["GIT_PROTOCOL"] = request.headers["Git-Protocol"]
        if "Content-Encoding" in request.headers:
            env["HTTP_CONTENT_ENCODING"] = request.headers["Content-Encoding"]
        proc = await asyncio.create_subprocess_exec(
            "git",
            "http-backend",
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=env,
        )
        assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
        stdin, stdout, stderr = proc.stdin, proc.stdout, proc.stderr

        async def feed() -> None:
            try:
                async for chunk in request.content.iter_chunked(_CHUNK):
                    record.bytes_received += len(chunk)
                    stdin.write(chunk)
                    await stdin.drain()
            except (BrokenPipeError, ConnectionResetError):
                pass
            finally:
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    stdin.close()

        feeder = asyncio.create_task(feed())
        errors = asyncio.create_task(stderr.read())
        try:
            status, headers = 200, []
            while True:
                line = await stdout.readline()
                if not line or line in (b"\r\n", b"\n"):
                    break
                key, _, value = line.decode("latin-1").rstrip("\r\n").partition(":")
                if key.lower() == "status":
                    status = int(value.strip().split(" ", 1)[0])
                elif key.lower() != "content-length":
                    headers.append((key.strip(), value.strip()))
            response = web.StreamResponse(status=status)
            for key, value in headers:
                response.headers.add(key, value)
            await response.prepare(request)
            while chunk := await stdout.read(_CHUNK):
                record.bytes_sent += len(chunk)
                await response.write(chunk)
            await feeder
            await proc.wait()
            before_end()
            await response.write_eof()
            stderr_text = (await errors).decode(errors="replace").strip()
            if stderr_text:
                self.stderr.append(stderr_text)
            return response
        finally:
            for task in (feeder, errors):
                if not task.done():
                    task.cancel()
            if proc.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
                await proc.wait()
