"""The typed commands a comment can carry, and the error a malformed one becomes.

Plain frozen dataclasses: every command has a class-level `name` (the slash word,
e.g. "deploy") to route by, and `line`, the 1-based line of the comment it came from.
No parsing or GitHub knowledge lives here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

DEPLOY_COMMANDS: tuple[str, ...] = (
    "deploy",
    "rollback",
    "lock",
    "unlock",
    "status",
    "history",
    "help",
)
REVIEW_COMMANDS: tuple[str, ...] = ("validate", "fix", "review", "help")
KNOWN_COMMANDS: tuple[str, ...] = (
    "deploy",
    "rollback",
    "lock",
    "unlock",
    "status",
    "history",
    "help",
    "validate",
    "fix",
    "review",
    "propose-fix",
)


@dataclass(frozen=True)
class Deploy:
    """`/deploy <env> [--components a b ...] [--force]`"""

    name: ClassVar[str] = "deploy"
    environment: str
    components: tuple[str, ...] = ()
    force: bool = False
    line: int = 0


@dataclass(frozen=True)
class Rollback:
    """`/rollback [<env>] [<deployment-id>]`: either, both (in either order) or neither."""

    name: ClassVar[str] = "rollback"
    environment: str | None = None
    deployment_id: int | None = None
    line: int = 0


@dataclass(frozen=True)
class Lock:
    """`/lock <env> [--reason "..."]`"""

    name: ClassVar[str] = "lock"
    environment: str
    reason: str | None = None
    line: int = 0


@dataclass(frozen=True)
class Unlock:
    """`/unlock <env>`"""

    name: ClassVar[str] = "unlock"
    environment: str
    line: int = 0


@dataclass(frozen=True)
class Status:
    """`/status [<env>]`"""

    name: ClassVar[str] = "status"
    environment: str | None = None
    line: int = 0


@dataclass(frozen=True)
class History:
    """`/history [<env>]`"""

    name: ClassVar[str] = "history"
    environment: str | None = None
    line: int = 0


@dataclass(frozen=True)
class Help:
    """`/help [<command>]`; `topic` is a known command name (no slash) or None for all."""

    name: ClassVar[str] = "help"
    topic: str | None = None
    line: int = 0


@dataclass(frozen=True)
class Validate:
    """`/validate`: run the review checks again."""

    name: ClassVar[str] = "validate"
    line: int = 0


@dataclass(frozen=True)
class Fix:
    """`/fix`: apply the fixes now."""

    name: ClassVar[str] = "fix"
    line: int = 0


@dataclass(frozen=True)
class Review:
    """`/review`: run the AI review now."""

    name: ClassVar[str] = "review"
    line: int = 0


@dataclass(frozen=True)
class ProposeFix:
    """`/propose-fix`: in an alert's issue, ask the model for a fix and open a draft PR."""

    name: ClassVar[str] = "propose-fix"
    line: int = 0


Command = (
    Deploy
    | Rollback
    | Lock
    | Unlock
    | Status
    | History
    | Help
    | Validate
    | Fix
    | Review
    | ProposeFix
)


@dataclass(frozen=True)
class CommandError:
    """A line addressed to Deckhand that could not be understood.

    `command` is the known command it concerns (None for an unknown word or a
    comment-wide problem), `text` the offending line (stripped, clipped), `message`
    one sentence for the reply, `suggestion` a "did you mean" command name (no slash)
    or None, and `usage` markdown to show under the message.
    """

    line: int
    text: str
    message: str
    suggestion: str | None = None
    usage: str = ""
    command: str | None = None


ParseResult = Command | CommandError
