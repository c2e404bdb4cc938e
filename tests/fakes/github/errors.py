"""GitHub-style error answers for the fake GitHub server.

GitHub's REST errors are JSON objects with a ``message``, a ``documentation_url`` and,
nowadays, the status code as a string; validation failures add an ``errors`` list.
Handlers raise :class:`GitHubError`; the server turns it into such a body.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any, Final

DOCS_URL: Final = "https://docs.github.com/rest"
RATE_LIMIT_DOCS_URL: Final = "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"
SECONDARY_RATE_LIMIT_DOCS_URL: Final = (
    "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits"
)
SECONDARY_RATE_LIMIT_MESSAGE: Final = (
    "You have exceeded a secondary rate limit. Please wait a few minutes before you try "
    "again. If you reach out to GitHub Support for help, please include the request ID "
    "{request_id}."
)
NOT_ACCESSIBLE_MESSAGE: Final = "Resource not accessible by integration"

# Messages GitHub uses for statuses when nothing more specific applies.
_DEFAULT_MESSAGES: Final[dict[int, str]] = {
    400: "Bad Request",
    401: "Bad credentials",
    403: "Forbidden",
    404: "Not Found",
    409: "Conflict",
    410: "Gone",
    422: "Validation Failed",
    429: "Too Many Requests",
    500: "Server Error",
    502: "Server Error",
    503: "Service Unavailable",
    504: "We couldn't respond to your request in time. Sorry about that. "
    "Please try resubmitting your request and contact us if the problem persists.",
}


def default_message(status: int) -> str:
    if status in _DEFAULT_MESSAGES:
        return _DEFAULT_MESSAGES[status]
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def error_body(
    status: int,
    message: str | None = None,
    *,
    documentation_url: str = DOCS_URL,
    errors: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "message": message if message is not None else default_message(status),
        "documentation_url": documentation_url,
        "status": str(status),
    }
    if errors:
        body["errors"] = errors
    return body


class GitHubError(Exception):
    """Raised by handlers to answer with a GitHub-style error."""

    def __init__(
        self,
        status: int,
        message: str | None = None,
        *,
        errors: list[dict[str, Any]] | None = None,
        documentation_url: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.status = status
        self.message = message if message is not None else default_message(status)
        self.errors = errors
        self.documentation_url = documentation_url
        self.headers = headers or {}
        super().__init__(f"{status} {self.message}")

    def body(self, default_docs_url: str = DOCS_URL) -> dict[str, Any]:
        return error_body(
            self.status,
            self.message,
            documentation_url=self.documentation_url or default_docs_url,
            errors=self.errors,
        )
