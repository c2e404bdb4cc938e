"""Slash commands in pull request and issue comments, parsed into typed objects.

The one parser for commands (see the design notes): handlers call `parse_comment(body)`
and receive, in comment order, command objects (`Deploy`, `Rollback`, `Lock`, `Unlock`,
`Status`, `History`, `Help`, `Validate`, `Fix`, `Review`, `ProposeFix`, each with a
`name` to route by and the `line` it came from) or `CommandError`s to answer with their
message and usage. `usage(name)` gives the markdown help. Pure: no GitHub, HTTP,
database or configuration here, and no decision about who may run what or whether a bot
wrote the comment; that belongs to the handlers.
"""

from app.commands.help import usage
from app.commands.model import (
    DEPLOY_COMMANDS,
    KNOWN_COMMANDS,
    REVIEW_COMMANDS,
    Command,
    CommandError,
    Deploy,
    Fix,
    Help,
    History,
    Lock,
    ParseResult,
    ProposeFix,
    Review,
    Rollback,
    Status,
    Unlock,
    Validate,
)
from app.commands.parser import MAX_COMMANDS, MAX_LINE_LENGTH, parse_comment, suggest

__all__ = [
    "DEPLOY_COMMANDS",
    "KNOWN_COMMANDS",
    "MAX_COMMANDS",
    "MAX_LINE_LENGTH",
    "REVIEW_COMMANDS",
    "Command",
    "CommandError",
    "Deploy",
    "Fix",
    "Help",
    "History",
    "Lock",
    "ParseResult",
    "ProposeFix",
    "Review",
    "Rollback",
    "Status",
    "Unlock",
    "Validate",
    "parse_comment",
    "suggest",
    "usage",
]
