"""A fake GitHub REST API server for tests (see :mod:`fakes.github.server`).

``FakeGitHub`` serves real HTTP on 127.0.0.1, validates every request against GitHub's
OpenAPI description, authenticates like GitHub and answers with GitHub-shaped JSON.
"""

from .auth import encode_app_jwt
from .errors import SECONDARY_RATE_LIMIT_MESSAGE, GitHubError
from .faults import RecordedRequest, ScriptedRule
from .payloads import Payloads
from .server import AuthFailure, FakeGitHub
from .state import (
    Account,
    App,
    CheckRun,
    Installation,
    IssueComment,
    IssuedToken,
    PullRequest,
    RateLimit,
    Repository,
    Review,
    ReviewComment,
)

__all__ = [
    "SECONDARY_RATE_LIMIT_MESSAGE",
    "Account",
    "App",
    "AuthFailure",
    "CheckRun",
    "FakeGitHub",
    "GitHubError",
    "Installation",
    "IssueComment",
    "IssuedToken",
    "Payloads",
    "PullRequest",
    "RateLimit",
    "RecordedRequest",
    "Repository",
    "Review",
    "ReviewComment",
    "ScriptedRule",
    "encode_app_jwt",
]
