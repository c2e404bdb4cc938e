"""``FakeGitHub``: a real HTTP server that behaves like api.github.com for the bot's tests.

The bot under test talks HTTP to it exactly as it would to GitHub (point
``GITHUB_API_URL`` at ``gh.url``). For every request the server:

1. routes it with GitHub's OpenAPI description and validates parameters and body
   (:mod:`fakes.openapi.validator`); violations are recorded in ``gh.violations`` and
   answered as GitHub would (404 for unknown routes, 422 "Validation Failed" ...);
2. applies scripted delays and faults (``gh.delay_next`` / ``gh.fail_next``);
3. authenticates like GitHub (App JWT for ``/app`` endpoints, installation tokens
   elsewhere), enforces per-installation rate limits;
4. runs the operation's handler (:mod:`fakes.github.handlers`) against the seeded
   state, adds GitHub's headers (``x-ratelimit-*``, ``x-github-request-id``, ``ETag``)
   and answers ``304 Not Modified`` for a matching ``If-None-Match``;
5. checks its own JSON answer against the documented response schema, recording any
   mismatch in ``gh.response_errors`` (a bug in the fake, not in the bot).

Every request is kept in ``gh.requests`` for assertions.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import secrets
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Self

from aiohttp import web
from multidict import CIMultiDict, MultiDict

from ..openapi.validator import (
    NO_BODY,
    OpenAPIValidator,
    Operation,
    RequestCheck,
    Violation,
    default_validator,
)
from .auth import (
    NO_AUTH_PATHS,
    AnonymousIdentity,
    AppIdentity,
    AuthError,
    Identity,
    InstallationIdentity,
    requires_jwt,
    verify_app_jwt,
    verify_token,
    verify_user_token,
)
from .errors import (
    DOCS_URL,
    RATE_LIMIT_DOCS_URL,
    SECONDARY_RATE_LIMIT_DOCS_URL,
    SECONDARY_RATE_LIMIT_MESSAGE,
    GitHubError,
    error_body,
)
from .faults import PathMatcher, RecordedRequest, ScriptedRule, take_rule
from .handlers import HANDLERS, Context
from .manifests import NEW_APP_PATH, ManifestFlow, answer_new_app
from .oauth import answer_oauth
from .payloads import Payloads
from .shapes import Shapes
from .state import GitHubState, RateLimit

API_VERSIONS = ("2022-11-28", "2026-03-10")
DEFAULT_API_VERSION = "2022-11-28"
_JSON = "application/json; charset=utf-8"


@dataclass(frozen=True, slots=True)
class AuthFailure:
    """A request the fake rejected with 401, and why (more precise than GitHub's text)."""

    request: RecordedRequest
    reason: str
    message: str


def _dumps(body: Any) -> bytes:
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()


def _etag_matches(header: str, etag: str) -> bool:
    wanted = etag.removeprefix("W/")
    for candidate in header.split(","):
        candidate = candidate.strip()
        if candidate == "*" or candidate.removeprefix("W/") == wanted:
            return True
    return False


class FakeGitHub(GitHubState):
    """A fake api.github.com on ``127.0.0.1:<ephemeral port>``; see the module docstring.

    Use as ``async with FakeGitHub(app_id=..., public_key_pem=...) as gh:`` or through
    the ``fake_github`` pytest fixture, which also fails the test on violations.
    """

    def __init__(
        self,
        *,
        app_id: int,
        public_key_pem: str,
        app_slug: str = "deckhand-test",
        app_name: str = "Deckhand Test",
        app_owner: str = "deckhand-dev",
        validator: OpenAPIValidator | None = None,
        validate_responses: bool = True,
        clock: Callable[[], float] = time.time,
        host: str = "127.0.0.1",
    ) -> None:
        super().__init__(
            app_id=app_id, app_slug=app_slug, app_name=app_name, app_owner=app_owner, clock=clock
        )
        self.public_key_pem = public_key_pem
        self.validator = validator or default_validator()
        self.validate_responses = validate_responses
        self.host = host
        self.url = ""  # "http://127.0.0.1:PORT" once started
        self.shapes = Shapes(self, "https://api.github.com")
        self.payloads = Payloads(self)  # webhook payload builders, see payloads.py
        self.manifests = ManifestFlow(self)  # Apps registered from a manifest, see manifests.py

        self.requests: list[RecordedRequest] = []
        self.violations: list[Violation] = []
        self.response_errors: list[str] = []
        self.auth_failures: list[AuthFailure] = []
        self.jwt_claims: list[dict[str, Any]] = []

        self._faults: list[ScriptedRule] = []
        self._delays: list[ScriptedRule] = []
        self._runner: web.AppRunner | None = None
        self._closing: asyncio.Event | None = None

    # ================================================================= lifecycle
    async def start(self) -> Self:
        app = web.Application(client_max_size=32 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._dispatch)
        self._closing = asyncio.Event()
        self._runner = web.AppRunner(
            app, access_log=None, handler_cancellation=True, shutdown_timeout=1.0
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.url = f"http://{host}:{port}"
        self.shapes = Shapes(self, self.url)
        return self

    async def close(self) -> None:
        if self._closing is not None:
            self._closing.set()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    # ========================================================== scripting (tests)
    def fail_next(
        self,
        method: str,
        path: PathMatcher,
        status: int,
        times: int | None = 1,
        headers: dict[str, str] | None = None,
        body: Any = None,
    ) -> ScriptedRule:
        """Answer the next ``times`` matching requests with ``status`` (``None``: always).

        ``path`` is an OpenAPI template (``"/repos/{owner}/{repo}/check-runs"``), a
        literal path, or a regex (``re.compile(...)``; a plain string is also tried as
        a full-match regex). ``method`` may be ``"*"``. ``body`` defaults to GitHub's
        message for the status; dicts/lists are sent as JSON, str/bytes verbatim.
        """
        rule = ScriptedRule(
            method.upper(), path, times, status=status, headers=dict(headers or {}), body=body
        )
        self._faults.append(rule)
        return rule

    def lose_answer_next(
        self, method: str, path: PathMatcher, status: int = 502, times: int | None = 1
    ) -> ScriptedRule:
        """Carry out the next ``times`` matching requests, then answer ``status`` anyway,
        as GitHub's front end sometimes does (or a connection lost on the way back): the
        client cannot know whether its write happened."""
        rule = ScriptedRule(method.upper(), path, times, status=status, applied=True)
        self._faults.append(rule)
        return rule

    def delay_next(
        self, method: str, path: PathMatcher, seconds: float, times: int | None = 1
    ) -> ScriptedRule:
        """Sleep ``seconds`` before answering the next ``times`` matching requests."""
        rule = ScriptedRule(method.upper(), path, times, delay=seconds)
        self._delays.append(rule)
        return rule

    def secondary_rate_limit_next(
        self, method: str, path: PathMatcher, *, retry_after: int = 1, times: int | None = 1
    ) -> ScriptedRule:
        """GitHub's secondary rate limit answer: 403, ``retry-after``, explanatory body."""
        return self.fail_next(
            method,
            path,
            403,
            times=times,
            headers={"retry-after": str(retry_after)},
            body={
                "message": SECONDARY_RATE_LIMIT_MESSAGE,
                "documentation_url": SECONDARY_RATE_LIMIT_DOCS_URL,
            },
        )

    def clear_scripts(self) -> None:
        """Forget all pending faults and delays."""
        self._faults.clear()
        self._delays.clear()

    # ================================================================ inspection
    def record_violation(
        self, violation: Violation, request: RecordedRequest | None = None
    ) -> None:
        """Record a violation (and attach it to the request that caused it)."""
        self.violations.append(violation)
        if request is not None:
            request.violations.append(violation)

    def take_violations(self) -> list[Violation]:
        """Return and clear recorded violations (for tests that provoke them on purpose)."""
        taken, self.violations = self.violations, []
        return taken

    def problems(self) -> list[str]:
        """Everything that should fail a test: request violations and fake bugs."""
        return [f"request violation: {v.message}" for v in self.violations] + [
            f"fake GitHub bug (response does not match GitHub's schema): {e}"
            for e in self.response_errors
        ]

    def requests_for(self, operation_id: str) -> list[RecordedRequest]:
        """Recorded requests for one operation, e.g. ``"checks/create"``."""
        return [r for r in self.requests if r.operation_id == operation_id]

    # ================================================================== serving
    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        if request.path.startswith("/login/oauth/"):  # github.com's web flow, not the REST API
            return await answer_oauth(self, request)
        if NEW_APP_PATH.fullmatch(request.path):  # github.com's manifest form, ditto
            return await answer_new_app(self, request)
        if request.path == "/favicon.ico":  # a browser on github.com's pages asks for it
            return web.Response(status=204)
        raw_body = await request.read()
        raw_path = request.rel_url.raw_path
        body: Any = NO_BODY
        violations: list[Violation] = []
        if raw_body.strip():
            try:
                body = json.loads(raw_body)
            except ValueError as exc:
                violations.append(
                    Violation(
                        "invalid_json",
                        f"{request.method} {request.path}: body is not valid JSON ({exc})",
                        400,
                    )
                )
        check = self.validator.check_request(request.method, raw_path, request.query, body)
        # An unparseable body is reported as such, not also as a missing one.
        violations[:0] = [
            v for v in check.violations if not (violations and v.kind == "missing_body")
        ]
        op = check.operation
        if "User-Agent" not in request.headers:
            violations.append(
                Violation(
                    "missing_user_agent",
                    f"{request.method} {request.path}: no User-Agent header",
                    403,
                )
            )
        version = request.headers.get("X-GitHub-Api-Version")
        if version is not None and version not in API_VERSIONS:
            violations.append(
                Violation(
                    "api_version",
                    f"{request.method} {request.path}: unsupported X-GitHub-Api-Version "
                    f"{version!r} (supported: {', '.join(API_VERSIONS)})",
                    400,
                )
            )
        record = RecordedRequest(
            method=request.method,
            path=request.path,
            raw_path=raw_path,
            query=MultiDict(request.query),
            headers=CIMultiDict(request.headers),
            body=raw_body,
            time=self.clock(),
            operation_id=op.operation_id if op else None,
            path_template=op.path if op else None,
            path_params=dict(check.path_params),
            violations=list(violations),
        )
        self.requests.append(record)
        self.violations.extend(violations)
        request_id = self._request_id()
        response = await self._answer(request, record, check, body, violations, request_id)
        record.status = response.status
        return response

    async def _answer(
        self,
        request: web.Request,
        record: RecordedRequest,
        check: RequestCheck,
        body: Any,
        violations: list[Violation],
        request_id: str,
    ) -> web.Response:
        method, path = request.method, request.path
        template = record.path_template

        delay = take_rule(self._delays, method, path, template)
        if delay is not None:
            await self._sleep(delay.delay)
        fault = take_rule(self._faults, method, path, template)
        if fault is not None and fault.status is not None and not fault.applied:
            return self._fault_response(fault, request_id)

        op = check.operation
        routing = next(
            (
                v
                for v in violations
                if v.kind in ("unknown_path", "method_not_allowed", "not_vendored")
            ),
            None,
        )
        if op is None or routing is not None:
            return self._json_response(404, error_body(404), request_id)
        if any(v.kind == "invalid_json" for v in violations):
            return self._json_response(400, error_body(400, "Problems parsing JSON"), request_id)
        if any(v.kind == "missing_user_agent" for v in violations):
            return self._json_response(
                403,
                error_body(
                    403,
                    "Request forbidden by administrative rules. Please make sure your "
                    "request has a User-Agent header "
                    "(https://docs.github.com/en/rest/overview/resources-in-the-rest-api"
                    "#user-agent-required). Check https://developer.github.com for other "
                    "possible causes.",
                ),
                request_id,
            )

        # ---- authentication
        try:
            identity = self._authenticate(request, record, op.path)
        except AuthError as exc:
            self.auth_failures.append(AuthFailure(record, exc.reason, exc.message))
            if "Authorization" not in request.headers:
                self.record_violation(
                    Violation(
                        "missing_auth",
                        f"{op.key} ({op.operation_id}): no Authorization header",
                        401,
                    ),
                    record,
                )
            return self._json_response(401, error_body(401, exc.message), request_id)

        # ---- primary rate limit
        bucket = self.rate_limit_for(identity.rate_limit_key)
        bucket.refresh(self.clock())
        counts = op.operation_id != "rate-limit/get"  # /rate_limit is free on GitHub
        if counts and bucket.remaining <= 0:
            who = (
                f"installation ID {identity.installation_id}"
                if isinstance(identity, InstallationIdentity)
                else f"app ID {self.app.id}"
            )
            return self._json_response(
                403,
                error_body(
                    403,
                    f"API rate limit exceeded for {who}. If you reach out to GitHub Support "
                    f"for help, please include the request ID {request_id} and timestamp "
                    f"{time.strftime('%Y-%m-%d %H:%M:%S', time.gmtime(self.clock()))} UTC.",
                    documentation_url=RATE_LIMIT_DOCS_URL,
                ),
                request_id,
                bucket,
            )

        # ---- schema violations GitHub rejects
        rejected = check.answer or next((v for v in violations if v.status is not None), None)
        if rejected is not None:
            self._spend(bucket, counts)
            return self._json_response(
                rejected.status or 422, self._violation_body(rejected, op), request_id, bucket
            )

        # ---- the operation itself
        handler = HANDLERS.get(op.operation_id)
        if handler is None:
            self.record_violation(
                Violation(
                    "no_handler",
                    f"{op.key} ({op.operation_id}) is vendored but the fake has no handler; "
                    "add one in tests/fakes/github/handlers.py",
                    501,
                ),
                record,
            )
            return self._json_response(501, error_body(501, "Not Implemented"), request_id)
        ctx = Context(
            gh=self,
            request=request,
            record=record,
            op=op,
            path_params=check.path_params,
            query=check.query_params,
            body=None if body is NO_BODY else body,
            identity=identity,
        )
        try:
            reply = await handler(ctx)
        except GitHubError as exc:
            self._spend(bucket, counts)
            return self._json_response(
                exc.status,
                exc.body(op.documentation_url),
                request_id,
                bucket,
                extra=exc.headers,
            )
        except Exception:
            self.response_errors.append(f"{op.key}: handler crashed:\n{traceback.format_exc()}")
            return self._json_response(500, error_body(500), request_id)

        if fault is not None and fault.applied:
            self._spend(bucket, counts)
            return self._fault_response(fault, request_id)
        payload = reply.raw if reply.raw is not None else _dumps(reply.body)
        headers = dict(reply.headers)
        if method == "GET" and reply.status == 200:
            etag = f'W/"{hashlib.sha256(payload).hexdigest()}"'
            headers["ETag"] = etag
            headers["Cache-Control"] = "private, max-age=60, s-maxage=60"
            inm = request.headers.get("If-None-Match")
            if inm and _etag_matches(inm, etag):
                # 304s are free on GitHub: do not spend the rate limit.
                return self._response(304, b"", request_id, bucket, headers, content_type=None)
        self._spend(bucket, counts)
        if self.validate_responses and reply.raw is None and 200 <= reply.status < 300:
            for problem in self.validator.check_response(
                op, reply.status, reply.body, reply.media_type
            ):
                self.response_errors.append(f"{op.key} -> {reply.status}: {problem}")
        return self._response(
            reply.status, payload, request_id, bucket, headers, content_type=reply.content_type
        )

    @staticmethod
    def _violation_body(violation: Violation, op: Operation) -> dict[str, Any]:
        """What GitHub says when it rejects a malformed request."""
        status = violation.status or 422
        docs = op.documentation_url
        if status == 404:
            return error_body(404, documentation_url=docs)
        if violation.kind == "missing_body":
            return error_body(
                status,
                "Invalid request.\n\nFor 'links/0/schema', nil is not an object.",
                documentation_url=docs,
            )
        if violation.kind == "api_version":
            return error_body(status, violation.message, documentation_url=docs)
        errors = list(violation.errors) or [
            {"resource": op.operation_id, "code": "invalid", "message": violation.message}
        ]
        return error_body(status, "Validation Failed", documentation_url=docs, errors=errors)

    def _authenticate(
        self, request: web.Request, record: RecordedRequest, template: str
    ) -> Identity:
        header = request.headers.get("Authorization")
        if template in NO_AUTH_PATHS:
            record.auth = "none"
            return AnonymousIdentity()
        if requires_jwt(template):
            app_identity: AppIdentity = verify_app_jwt(
                header, app=self.app, public_key_pem=self.public_key_pem, now=self.clock()
            )
            self.jwt_claims.append(app_identity.claims)
            record.auth = "jwt"
            return app_identity
        if template == "/user" or template.startswith("/user/"):
            record.auth = "user"
            return verify_user_token(header, user_tokens=self.user_tokens)
        token_identity = verify_token(header, state=self, now=self.clock())
        record.auth = "token"
        record.installation_id = token_identity.installation_id
        return token_identity

    @staticmethod
    def _spend(bucket: RateLimit, counts: bool) -> None:
        if counts:
            bucket.remaining = max(bucket.remaining - 1, 0)
            bucket.used += 1

    async def _sleep(self, seconds: float) -> None:
        assert self._closing is not None
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._closing.wait(), seconds)

    # ================================================================= responses
    @staticmethod
    def _request_id() -> str:
        h = secrets.token_hex(16).upper()
        return f"{h[0:4]}:{h[4:10]}:{h[10:17]}:{h[17:24]}:{h[24:32]}"

    def _response(
        self,
        status: int,
        payload: bytes,
        request_id: str,
        bucket: RateLimit | None = None,
        extra: dict[str, str] | None = None,
        *,
        content_type: str | None = _JSON,
    ) -> web.Response:
        headers: CIMultiDict[str] = CIMultiDict(
            {
                "Server": "github.com",
                "x-github-request-id": request_id,
                "x-github-api-version-selected": DEFAULT_API_VERSION,
                "x-github-media-type": "github.v3; format=json",
                "Vary": "Accept, Authorization, Cookie, X-GitHub-OTP, Accept-Encoding",
            }
        )
        if bucket is not None:
            headers.update(
                {
                    "x-ratelimit-limit": str(bucket.limit),
                    "x-ratelimit-remaining": str(bucket.remaining),
                    "x-ratelimit-reset": str(bucket.reset),
                    "x-ratelimit-used": str(bucket.used),
                    "x-ratelimit-resource": bucket.resource,
                }
            )
        for key, value in (extra or {}).items():
            headers[key] = value
        if content_type is not None and status != 304:
            headers["Content-Type"] = content_type
        return web.Response(status=status, body=payload if status != 304 else None, headers=headers)

    def _json_response(
        self,
        status: int,
        body: Any,
        request_id: str,
        bucket: RateLimit | None = None,
        extra: dict[str, str] | None = None,
    ) -> web.Response:
        return self._response(status, _dumps(body), request_id, bucket, extra)

    def _fault_response(self, rule: ScriptedRule, request_id: str) -> web.Response:
        status = rule.status or 500
        body = rule.body
        if body is None:
            body = error_body(status, documentation_url=DOCS_URL)
        if isinstance(body, dict) and isinstance(body.get("message"), str):
            body = {**body, "message": body["message"].replace("{request_id}", request_id)}
        headers = dict(rule.headers)
        if isinstance(body, bytes | str):
            payload = body.encode() if isinstance(body, str) else body
            content_type = next(
                (v for k, v in headers.items() if k.lower() == "content-type"),
                "text/plain; charset=utf-8",
            )
            headers = {k: v for k, v in headers.items() if k.lower() != "content-type"}
            return self._response(
                status, payload, request_id, None, headers, content_type=content_type
            )
        return self._response(status, _dumps(body), request_id, None, headers)


__all__ = ["AuthFailure", "FakeGitHub"]
