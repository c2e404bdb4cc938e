"""Turn a comment body into typed commands: the one place slash commands are parsed.

- A command line is live Markdown (`app/commands/markdown.py`: not in a fence, a quote,
  an HTML comment or a code span) whose first non-space text is `/word` followed by
  whitespace or the end of the line; `word` is a letter, then letters, digits or `-`.
  So `/usr/bin`, `/ text`, `/deploy.` and `please /deploy x` are not commands.
- Words are case-insensitive. A word neither known nor close to a known command
  (`/assign`, `/lgtm`, `/etc is ...`) is another bot's or plain text: skipped silently.
  A near miss (`/deplyo`, `/fxi`) is a `CommandError` with a "did you mean".
- Arguments split like a shell (`shlex`; typographic quotes count as plain ones, a
  leading em or en dash as `--`); an unclosed quote is a `CommandError`. Flags are
  case-insensitive, `--name value` or `--name=value`; a list flag takes names up to the
  next `-` word (commas separate too). Unknown or repeated flags and extra arguments
  are errors. Environments are lower-cased and must match `[a-z][a-z0-9._-]{0,62}`;
  a deployment id is digits (an optional leading `#`).
- At most `MAX_COMMANDS` command lines per comment (more: one error, nothing runs);
  a command line longer than `MAX_LINE_LENGTH` characters is an error.
Pure: no I/O, and it never raises on any text.
"""

from __future__ import annotations

import difflib
import re
import shlex
from collections.abc import Callable

from app.commands.help import synopsis, usage
from app.commands.markdown import live_lines
from app.commands.model import (
    KNOWN_COMMANDS,
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

MAX_COMMANDS = 10
MAX_LINE_LENGTH = 1000
MAX_DEPLOYMENT_ID = 2**63 - 1
CLIP = 120

COMMAND_LINE = re.compile(r"^\s*/([A-Za-z][A-Za-z0-9-]*)(?:\s(.*))?$")
ENVIRONMENT = re.compile(r"^[a-z][a-z0-9._-]{0,62}$")
COMPONENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,99}$")
DEPLOYMENT_ID = re.compile(r"^#?([0-9]+)$")
TYPOGRAPHIC = str.maketrans(
    {"\u201c": '"', "\u201d": '"', "\u201e": '"', "\u2018": "'", "\u2019": "'"}
)
DASHES = re.compile(r"^(?:\u2014|\u2013|-\u2013|\u2013-)")
UNICODE_SPACE = re.compile(r"\s")

SWITCH, VALUE, LIST = "switch", "value", "list"


class Malformed(Exception):
    """Raised inside this module for a command line that cannot be understood."""

    def __init__(self, message: str, suggestion: str | None = None) -> None:
        super().__init__(message)
        self.suggestion = suggestion


def parse_comment(body: str | None) -> list[ParseResult]:
    """The commands in `body`, in order, each a command object or a `CommandError`.

    More than `MAX_COMMANDS` command lines give a single `CommandError` and nothing else,
    so a pasted list of commands never runs in part."""
    if not isinstance(body, str) or not body.strip():
        return []
    found: list[tuple[int, str, str, str]] = []
    for number, line in live_lines(body):
        match = COMMAND_LINE.match(line)
        if match is None:
            continue
        word = match.group(1).lower()
        if word in KNOWN_COMMANDS or suggest(word) is not None:
            found.append((number, line, word, match.group(2) or ""))
    if len(found) > MAX_COMMANDS:
        number, line, _, _ = found[MAX_COMMANDS]
        message = (
            f"Too many commands: {len(found)} in one comment, at most {MAX_COMMANDS} "
            "are accepted, so none of them was run."
        )
        return [CommandError(line=number, text=clip(line), message=message, usage=usage())]
    return [parse_line(number, line, word, rest) for number, line, word, rest in found]


def parse_line(number: int, line: str, word: str, rest: str) -> ParseResult:
    """One command line: `word` is the lower-cased command word, `rest` what follows it."""
    if word not in KNOWN_COMMANDS:
        guess = suggest(word)
        return CommandError(
            line=number,
            text=clip(line),
            message=f"Unknown command `/{word}`. Did you mean `/{guess}`?",
            suggestion=guess,
            usage=usage(guess),
        )
    try:
        if len(line) > MAX_LINE_LENGTH:
            raise Malformed(
                f"The line is too long ({len(line)} characters, at most {MAX_LINE_LENGTH})."
            )
        return PARSERS[word](split_arguments(rest), number)
    except Malformed as error:
        return CommandError(
            line=number,
            text=clip(line),
            message=str(error),
            suggestion=error.suggestion,
            usage=usage(word),
            command=word,
        )


def suggest(word: str) -> str | None:
    """The known command `word` is most likely a typo for, or None."""
    word = word.lower()
    close = difflib.get_close_matches(word, KNOWN_COMMANDS, n=1, cutoff=0.7)
    if close:
        return close[0]
    for known in KNOWN_COMMANDS:
        if sorted(known) == sorted(word) or word.startswith(known + "-"):
            return known
    return None


def clip(line: str) -> str:
    text = line.strip()
    return text if len(text) <= CLIP else text[: CLIP - 1] + "…"


def split_arguments(rest: str) -> list[str]:
    """Shell-like words; typographic quotes count as plain ones, a dash-like prefix as `--`."""
    text = UNICODE_SPACE.sub(" ", rest.translate(TYPOGRAPHIC))
    try:
        words = shlex.split(text)
    except ValueError as error:
        reason = str(error).lower()
        if "quotation" in reason:
            raise Malformed('A quote is not closed (quote text with spaces as "...").') from None
        raise Malformed(f"The arguments cannot be read ({reason}).") from None
    return [DASHES.sub("--", each) for each in words]


Values = dict[str, "bool | str | list[str]"]


def read_arguments(words: list[str], word: str, flags: dict[str, str]) -> tuple[list[str], Values]:
    """Split `words` into positional arguments and the values of `flags` (name → kind).

    A switch is `--name`; a value is `--name value` or `--name=value`; a list is
    `--name a b c` up to the next word starting with `-` (commas separate too)."""
    positional: list[str] = []
    values: Values = {}
    index = 0
    while index < len(words):
        current = words[index]
        index += 1
        if not current.startswith("-"):
            positional.append(current)
            continue
        key, equals, inline = current.lstrip("-").partition("=")
        key = key.lower()
        if not current.startswith("--") or key not in flags:
            raise Malformed(unknown_flag(current, word, flags))
        if key in values:
            raise Malformed(f"`--{key}` is given twice.")
        kind = flags[key]
        if kind == SWITCH:
            if equals:
                raise Malformed(f"`--{key}` takes no value.")
            values[key] = True
        elif kind == VALUE:
            if not equals:
                if index >= len(words) or words[index].startswith("--"):
                    raise Malformed(f"`--{key}` needs a value.")
                inline, index = words[index], index + 1
            if not inline.strip():
                raise Malformed(f"`--{key}` needs a value.")
            values[key] = inline.strip()
        else:
            items = inline.split(",") if equals else []
            while index < len(words) and not words[index].startswith("-"):
                items += words[index].split(",")
                index += 1
            items = [item for item in items if item]
            if not items:
                raise Malformed(f"`--{key}` needs at least one name.")
            values[key] = items
    return positional, values


def unknown_flag(flag: str, word: str, flags: dict[str, str]) -> str:
    if not flags:
        return f"Unknown option `{flag}`: `/{word}` takes no options."
    key = flag.lstrip("-").partition("=")[0].lower()
    close = difflib.get_close_matches(key, list(flags), n=1, cutoff=0.6)
    hint = f" Did you mean `--{close[0]}`?" if close else ""
    known = ", ".join(f"`--{each}`" for each in flags)
    return f"Unknown option `{flag}` for `/{word}` (it takes {known}).{hint}"


def environment(value: str) -> str:
    name = value.lower()
    if not ENVIRONMENT.match(name):
        raise Malformed(
            f"`{clip(value)}` is not an environment name (a letter, then letters, digits, "
            "`-`, `_` or `.`)."
        )
    return name


def at_most(positional: list[str], count: int, word: str) -> None:
    if len(positional) > count:
        raise Malformed(
            f"Unexpected argument `{clip(positional[count])}`: the syntax is `{synopsis(word)}`."
        )


def required_environment(positional: list[str], word: str) -> str:
    if not positional:
        raise Malformed(f"`/{word}` needs an environment, e.g. `/{word} staging`.")
    at_most(positional, 1, word)
    return environment(positional[0])


def optional_environment(positional: list[str], word: str) -> str | None:
    at_most(positional, 1, word)
    return environment(positional[0]) if positional else None


def parse_deploy(words: list[str], line: int) -> Command:
    positional, values = read_arguments(words, "deploy", {"components": LIST, "force": SWITCH})
    env = required_environment(positional, "deploy")
    components: list[str] = []
    named = values.get("components", [])
    for name in named if isinstance(named, list) else []:
        if not COMPONENT.match(name):
            raise Malformed(
                f"`{clip(name)}` is not a component name (letters, digits, `-`, `_`, `.`, `/`)."
            )
        if name not in components:
            components.append(name)
    return Deploy(env, tuple(components), bool(values.get("force", False)), line)


def parse_rollback(words: list[str], line: int) -> Command:
    positional, _ = read_arguments(words, "rollback", {})
    at_most(positional, 2, "rollback")
    env: str | None = None
    deployment: int | None = None
    for value in positional:
        digits = DEPLOYMENT_ID.match(value)
        if digits:
            number = int(digits.group(1))
            if deployment is not None:
                raise Malformed("`/rollback` takes one deployment id, not two.")
            if not 0 < number <= MAX_DEPLOYMENT_ID:
                raise Malformed(f"`{clip(value)}` is not a deployment id.")
            deployment = number
        else:
            if env is not None:
                raise Malformed("`/rollback` takes one environment, not two.")
            env = environment(value)
    return Rollback(env, deployment, line)


def parse_lock(words: list[str], line: int) -> Command:
    positional, values = read_arguments(words, "lock", {"reason": VALUE})
    if len(positional) > 1:
        raise Malformed(
            f"Unexpected argument `{clip(positional[1])}`: give a reason with spaces in quotes, "
            'e.g. `/lock production --reason "db migration"`.'
        )
    env = required_environment(positional, "lock")
    reason = values.get("reason")
    return Lock(env, reason if isinstance(reason, str) else None, line)


def parse_unlock(words: list[str], line: int) -> Command:
    positional, _ = read_arguments(words, "unlock", {})
    return Unlock(required_environment(positional, "unlock"), line)


def parse_status(words: list[str], line: int) -> Command:
    positional, _ = read_arguments(words, "status", {})
    return Status(optional_environment(positional, "status"), line)


def parse_history(words: list[str], line: int) -> Command:
    positional, _ = read_arguments(words, "history", {})
    return History(optional_environment(positional, "history"), line)


def parse_help(words: list[str], line: int) -> Command:
    positional, _ = read_arguments(words, "help", {})
    at_most(positional, 1, "help")
    if not positional:
        return Help(None, line)
    topic = positional[0].lower().lstrip("/")
    if topic not in KNOWN_COMMANDS:
        guess = suggest(topic)
        hint = f" Did you mean `{guess}`?" if guess else ""
        raise Malformed(f"There is no command `/{clip(topic)}` to show help for.{hint}", guess)
    return Help(topic, line)


def no_arguments(word: str, make: Callable[[int], Command]) -> Callable[[list[str], int], Command]:
    def parse(words: list[str], line: int) -> Command:
        positional, _ = read_arguments(words, word, {})
        if positional:
            raise Malformed(f"`/{word}` takes no arguments (got `{clip(positional[0])}`).")
        return make(line)

    return parse


PARSERS: dict[str, Callable[[list[str], int], Command]] = {
    "deploy": parse_deploy,
    "rollback": parse_rollback,
    "lock": parse_lock,
    "unlock": parse_unlock,
    "status": parse_status,
    "history": parse_history,
    "help": parse_help,
    "validate": no_arguments("validate", Validate),
    "fix": no_arguments("fix", Fix),
    "review": no_arguments("review", Review),
    "propose-fix": no_arguments("propose-fix", ProposeFix),
}
