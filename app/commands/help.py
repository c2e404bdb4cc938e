"""Usage texts for the comment commands, for `/help` replies and under error messages.

Markdown only; the texts are the single description of each command's syntax, so
keep them in step with `app/commands/parser.py`. Nothing here parses or replies.
"""

from __future__ import annotations

from app.commands.model import DEPLOY_COMMANDS, KNOWN_COMMANDS, REVIEW_COMMANDS

SYNOPSIS: dict[str, tuple[str, str]] = {
    "deploy": (
        "/deploy <environment> [--components <name> ...] [--force]",
        "Deploy this pull request to an environment; `--components` limits it to some "
        "components, `--force` deploys despite failing checks.",
    ),
    "rollback": (
        "/rollback [<environment>] [<deployment-id>]",
        "Roll an environment back to its previous deployment, or to a given one.",
    ),
    "lock": (
        '/lock <environment> [--reason "<text>"]',
        "Stop deploys to an environment until it is unlocked.",
    ),
    "unlock": ("/unlock <environment>", "Allow deploys to an environment again."),
    "status": ("/status [<environment>]", "Show what is deployed where, and the locks."),
    "history": ("/history [<environment>]", "Show the recent deployments."),
    "help": ("/help [<command>]", "Show this help, or the help for one command."),
    "validate": ("/validate", "Run the review checks on this pull request again."),
    "fix": ("/fix", "Apply the available fixes now, as a commit on this branch."),
    "review": ("/review", "Run the AI review of this pull request now."),
    "propose-fix": (
        "/propose-fix",
        "In an alert's issue: ask the model for a fix of the stack trace's files, check it "
        "with the validation engine, and open a draft pull request only if it passes.",
    ),
}


def synopsis(name: str) -> str:
    """The one-line syntax of a known command, e.g. `/unlock <environment>`."""
    return SYNOPSIS[name][0]


def usage(name: str | None = None, family: str | None = None) -> str:
    """Markdown usage of one known command, or of all of them (`family` "deploy" or
    "review" narrows the list). An unknown name gets the list of all commands."""
    if name in SYNOPSIS:
        syntax, summary = SYNOPSIS[name]
        return f"`{syntax}`: {summary}"
    names = {"deploy": DEPLOY_COMMANDS, "review": REVIEW_COMMANDS}.get(family or "", KNOWN_COMMANDS)
    lines = [f"- `{SYNOPSIS[each][0]}`: {SYNOPSIS[each][1]}" for each in names]
    return "Commands (one per line, at the start of the line):\n" + "\n".join(lines)
