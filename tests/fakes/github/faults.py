"""Scripted faults and delays for the fake GitHub server, and the request log record.

Tests script answers with :meth:`FakeGitHub.fail_next` / :meth:`FakeGitHub.delay_next`;
each call adds a :class:`ScriptedRule` that matches requests by method and by path (an
OpenAPI path template such as ``"/repos/{owner}/{repo}/check-runs"``, a literal path, or
a regular expression) and fires a limited number of times, oldest rule first.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from multidict import CIMultiDict, MultiDict

from ..openapi.validator import Violation

PathMatcher = str | re.Pattern[str]


@dataclass(eq=False)
class ScriptedRule:
    """One scripted fault (``status`` set) or delay (``delay`` set)."""

    method: str  # upper case, or "*"
    path: PathMatcher
    times: int | None  # remaining firings; None = until cleared
    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None  # dict/list -> JSON, str/bytes -> raw; None -> GitHub's default
    delay: float = 0.0
    applied: bool = False  # the request takes effect, but the answer is the fault
    fired: int = 0

    def matches(self, method: str, path: str, template: str | None) -> bool:
        if self.times is not None and self.times <= 0:
            return False
        if self.method != "*" and self.method != method.upper():
            return False
        if isinstance(self.path, re.Pattern):
            return self.path.search(path) is not None
        if "{" in self.path:
            return self.path == template
        if self.path == path:
            return True
        try:
            return re.fullmatch(self.path, path) is not None
        except re.error:
            return False

    def consume(self) -> None:
        self.fired += 1
        if self.times is not None:
            self.times -= 1


def take_rule(
    rules: list[ScriptedRule], method: str, path: str, template: str | None
) -> ScriptedRule | None:
    """Find the oldest live rule matching the request, consume one firing, prune."""
    for rule in rules:
        if rule.matches(method, path, template):
            rule.consume()
            if rule.times is not None and rule.times <= 0:
                rules.remove(rule)
            return rule
    return None


@dataclass(eq=False)
class RecordedRequest:
    """A request the bot made, as the fake saw it."""

    method: str
    path: str  # decoded path, e.g. "/repos/octo-org/widgets/contents/a b.txt"
    raw_path: str  # as sent, percent-encoded, without the query string
    query: MultiDict[str]
    headers: CIMultiDict[str]
    body: bytes
    time: float  # the fake's clock when the request arrived
    operation_id: str | None = None  # e.g. "checks/create"; None for unknown routes
    path_template: str | None = None  # e.g. "/repos/{owner}/{repo}/check-runs"
    path_params: dict[str, Any] = field(default_factory=dict)
    violations: list[Violation] = field(default_factory=list)
    status: int | None = None  # what the fake answered
    installation_id: int | None = None  # set when authenticated with a token
    auth: str | None = None  # "jwt", "token", or None

    @property
    def json(self) -> Any:
        """The decoded JSON body, or ``None`` if there was no (valid JSON) body."""
        if not self.body.strip():
            return None
        try:
            return json.loads(self.body)
        except ValueError:
            return None

    def __repr__(self) -> str:
        q = "?" + "&".join(f"{k}={v}" for k, v in self.query.items()) if self.query else ""
        return f"<{self.method} {self.path}{q} -> {self.status} ({self.operation_id})>"
