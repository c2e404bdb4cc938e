"""The comment command parser: every command, every argument form, and the edge cases."""

from __future__ import annotations

import time

import pytest

from app.commands import (
    KNOWN_COMMANDS,
    MAX_COMMANDS,
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
    parse_comment,
    usage,
)


def one(body: str) -> ParseResult:
    results = parse_comment(body)
    assert len(results) == 1, results
    return results[0]


def error(body: str) -> CommandError:
    result = one(body)
    assert isinstance(result, CommandError), result
    return result


# --- every command and argument form -------------------------------------------------


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("/deploy production", Deploy("production", line=1)),
        ("/deploy staging --force", Deploy("staging", force=True, line=1)),
        ("/deploy --force staging", Deploy("staging", force=True, line=1)),
        ("/deploy prod --components api", Deploy("prod", ("api",), line=1)),
        (
            "/deploy prod --components api web worker",
            Deploy("prod", ("api", "web", "worker"), line=1),
        ),
        ("/deploy prod --components api web --force", Deploy("prod", ("api", "web"), True, 1)),
        ("/deploy prod --force --components api", Deploy("prod", ("api",), True, 1)),
        ("/deploy prod --components=api,web", Deploy("prod", ("api", "web"), line=1)),
        ("/deploy prod --components api,web db", Deploy("prod", ("api", "web", "db"), line=1)),
        ("/deploy prod --components api api web", Deploy("prod", ("api", "web"), line=1)),
        ("/deploy prod --components Services/API", Deploy("prod", ("Services/API",), line=1)),
        ("/deploy eu-west.1_b", Deploy("eu-west.1_b", line=1)),
        ("/rollback", Rollback(None, None, 1)),
        ("/rollback production", Rollback("production", None, 1)),
        ("/rollback 12345", Rollback(None, 12345, 1)),
        ("/rollback #12345", Rollback(None, 12345, 1)),
        ("/rollback production 12345", Rollback("production", 12345, 1)),
        ("/rollback 12345 production", Rollback("production", 12345, 1)),
        ("/lock production", Lock("production", None, 1)),
        ('/lock production --reason "db migration"', Lock("production", "db migration", 1)),
        ("/lock production --reason 'db migration'", Lock("production", "db migration", 1)),
        ("/lock production --reason maintenance", Lock("production", "maintenance", 1)),
        ('/lock --reason "db migration" production', Lock("production", "db migration", 1)),
        ('/lock production --reason="db migration"', Lock("production", "db migration", 1)),
        ('/lock production --reason "it\'s broken"', Lock("production", "it's broken", 1)),
        (
            "/lock production --reason \u201cdb migration\u201d",
            Lock("production", "db migration", 1),
        ),
        ("/unlock production", Unlock("production", 1)),
        ("/status", Status(None, 1)),
        ("/status staging", Status("staging", 1)),
        ("/history", History(None, 1)),
        ("/history staging", History("staging", 1)),
        ("/help", Help(None, 1)),
        ("/help deploy", Help("deploy", 1)),
        ("/help /Rollback", Help("rollback", 1)),
        ("/validate", Validate(1)),
        ("/fix", Fix(1)),
        ("/review", Review(1)),
        ("/propose-fix", ProposeFix(1)),
        ("/Propose-Fix", ProposeFix(1)),
    ],
)
def test_every_command_form(body: str, expected: object) -> None:
    assert parse_comment(body) == [expected]


def test_every_command_has_a_name_to_route_by() -> None:
    samples: list[Command] = [
        Deploy("p"),
        Rollback(),
        Lock("p"),
        Unlock("p"),
        Status(),
        History(),
        Help(),
        Validate(),
        Fix(),
        Review(),
        ProposeFix(),
    ]
    assert tuple(sample.name for sample in samples) == KNOWN_COMMANDS
    deploy = one("/deploy production")
    assert isinstance(deploy, Deploy) and deploy.name == "deploy"


def test_commands_are_frozen() -> None:
    with pytest.raises(AttributeError):
        Deploy("production").environment = "staging"  # type: ignore[misc]


# --- case, spacing and line endings ---------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        "/Deploy Production",
        "/DEPLOY PRODUCTION",
        "  /deploy   production  ",
        "\t/deploy\tproduction",
        "/deploy\u00a0production",
    ],
)
def test_names_are_case_insensitive_and_environments_lower_case(body: str) -> None:
    assert parse_comment(body) == [Deploy("production", line=1)]


def test_flags_are_case_insensitive() -> None:
    assert one("/deploy prod --FORCE --Components API") == Deploy("prod", ("API",), True, 1)
    assert one('/lock prod --Reason "X"') == Lock("prod", "X", 1)


def test_typographic_dash_counts_as_double_dash() -> None:
    assert one("/deploy prod \u2014force") == Deploy("prod", force=True, line=1)


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
def test_line_endings(newline: str) -> None:
    body = newline.join(["Ship it", "/deploy staging", "", "/lock production", ""])
    assert parse_comment(body) == [Deploy("staging", line=2), Lock("production", None, 4)]


def test_several_commands_in_order_with_their_lines() -> None:
    body = "Thanks!\n/validate\nsome text\n/deploy staging --force\n/status\n"
    assert parse_comment(body) == [
        Validate(2),
        Deploy("staging", force=True, line=4),
        Status(None, 5),
    ]


def test_errors_and_commands_mix_in_order() -> None:
    results = parse_comment("/deploy\n/status")
    assert isinstance(results[0], CommandError)
    assert results[1] == Status(None, 2)


# --- what is not a command ------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        "",
        "   ",
        "\n\n\t\n",
        "just a comment",
        "please /deploy production",
        "I ran /deploy production yesterday",
        "/ some text",
        "/",
        "//deploy production",
        "/usr/bin/python is missing",
        "/usr/bin is where it lives",
        "/etc is read-only",
        "see /deploy",
        "/deploy.",
        "/deploy: production",
        "/deploy/production",
        "/1deploy production",
        "- /deploy production",
        "* /deploy production",
        "# /deploy production",
        "`/deploy production`",
        "Run `/deploy production` to ship.",
        "/assign @me",
        "/lgtm",
        "/retest",
        "/hold",
        "/cc @someone",
        "/label bug",
    ],
)
def test_not_a_command(body: str) -> None:
    assert parse_comment(body) == []


def test_none_and_non_strings_are_safe() -> None:
    assert parse_comment(None) == []
    assert parse_comment(123) == []  # type: ignore[arg-type]


# --- Markdown: fences, quotes, code spans, comments -----------------------------------


@pytest.mark.parametrize(
    "body",
    [
        "```\n/deploy production\n```",
        "~~~\n/deploy production\n~~~",
        "```bash\n/deploy production\n```",
        "``` shell title='x'\n/deploy production\n```",
        "~~~ {.sh}\n/deploy production\n~~~",
        "   ```\n/deploy production\n   ```",
        "````\n```\n/deploy production\n```\n````",
        "~~~\n```\n/deploy production\n~~~",
        "```\n/deploy production",
        "text\n```\nstill code\n\n/deploy production\n",
        "- item\n  ```\n  /deploy production\n  ```",
        "1. step\n   ```sh\n   /deploy production\n   ```",
        "> /deploy production",
        ">/deploy production",
        "  > /deploy production",
        "> quoted\n> /deploy production",
        "> > /deploy production",
        "<!--\n/deploy production\n-->",
        "<!-- template\n\n/deploy production\n\n-->",
        "<!-- /deploy production -->",
        "text <!-- hidden\n/deploy production --> more",
        "Try `this\n/deploy production` first",
        "Try ``a ` b\n/deploy production`` first",
    ],
)
def test_commands_in_code_quotes_and_comments_are_ignored(body: str) -> None:
    assert parse_comment(body) == []


def test_command_after_a_closed_fence_counts() -> None:
    body = "```\n/deploy production\n```\n/deploy staging\n~~~\n/lock x\n~~~~\n/status"
    assert parse_comment(body) == [Deploy("staging", line=4), Status(None, 8)]


def test_closing_fence_must_match_char_and_length() -> None:
    body = "````\n```\n~~~~\n/deploy production\n`````\n/status"
    assert parse_comment(body) == [Status(None, 6)]


def test_closing_fence_takes_no_info_string() -> None:
    assert parse_comment("```\n```python\n/deploy production\n```\n/status") == [Status(None, 5)]


def test_backtick_fence_with_backtick_in_info_is_inline_code() -> None:
    assert parse_comment("```a`b\n/deploy production") == [Deploy("production", line=2)]


def test_command_after_a_quote_counts() -> None:
    body = "> /deploy production\n> what do you think?\n\nYes:\n/deploy staging"
    assert parse_comment(body) == [Deploy("staging", line=5)]


def test_command_after_a_closed_html_comment_counts() -> None:
    body = "<!-- template\n/deploy production\n-->\n/deploy staging"
    assert parse_comment(body) == [Deploy("staging", line=4)]


def test_unclosed_code_span_is_literal() -> None:
    assert parse_comment("a ` b\n/deploy production") == [Deploy("production", line=2)]


def test_code_span_does_not_cross_a_blank_line() -> None:
    assert parse_comment("a `b\n\n/deploy production`") == [
        CommandError(
            line=3,
            text="/deploy production`",
            message=error("/deploy production`").message,
            usage=usage("deploy"),
            command="deploy",
        )
    ]


def test_escaped_backtick_does_not_open_a_span() -> None:
    assert parse_comment("a \\`b\n/deploy production\nc`") == [Deploy("production", line=2)]


def test_closed_code_span_before_a_command_line() -> None:
    assert parse_comment("use `x`\n/deploy production") == [Deploy("production", line=2)]


# --- errors ---------------------------------------------------------------------------


@pytest.mark.parametrize("word", ["deploy", "lock", "unlock"])
def test_bare_command_needing_an_environment_is_refused(word: str) -> None:
    result = error(f"/{word}")
    assert result.message == f"`/{word}` needs an environment, e.g. `/{word} staging`."
    assert result.command == word
    assert result.usage == usage(word)
    assert result.line == 1


def test_bare_deploy_with_only_flags_is_refused() -> None:
    assert "needs an environment" in error("/deploy --force").message


def test_unknown_command_suggests_the_closest() -> None:
    result = error("Hello\n/deplyo production")
    assert result.suggestion == "deploy"
    assert "Did you mean `/deploy`?" in result.message
    assert result.command is None
    assert result.line == 2
    assert result.text == "/deplyo production"
    assert result.usage == usage("deploy")


@pytest.mark.parametrize(
    ("word", "suggestion"),
    [
        ("Deplyo", "deploy"),
        ("rolback", "rollback"),
        ("unlok", "unlock"),
        ("stauts", "status"),
        ("histroy", "history"),
        ("hlep", "help"),
        ("valdiate", "validate"),
        ("fxi", "fix"),
        ("reveiw", "review"),
        ("deploys", "deploy"),
        ("deploy-production", "deploy"),
    ],
)
def test_typos_are_suggested(word: str, suggestion: str) -> None:
    assert error(f"/{word}").suggestion == suggestion


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ("/deploy production --yes", "Unknown option `--yes`"),
        ("/deploy production --forse", "Did you mean `--force`?"),
        ("/deploy production --component api", "Did you mean `--components`?"),
        ("/deploy production -f", "Unknown option `-f`"),
        ("/deploy production --force=yes", "`--force` takes no value"),
        ("/deploy production --force --force", "`--force` is given twice"),
        ("/deploy production --components", "`--components` needs at least one name"),
        ("/deploy production --components --force", "`--components` needs at least one name"),
        ("/deploy production --components=,", "`--components` needs at least one name"),
        ("/deploy production --components a --components b", "is given twice"),
        ("/deploy production --components 'a b'", "`a b` is not a component name"),
        ("/deploy production staging", "Unexpected argument `staging`"),
        ("/deploy production please", "Unexpected argument `please`"),
        ("/deploy Prod!", "`Prod!` is not an environment name"),
        ("/deploy 123", "`123` is not an environment name"),
        ("/deploy `production`", "is not an environment name"),
        ("/deploy ''", "is not an environment name"),
        ("/rollback production staging", "one environment, not two"),
        ("/rollback 1 2", "one deployment id, not two"),
        ("/rollback 0", "`0` is not a deployment id"),
        ("/rollback 99999999999999999999999", "is not a deployment id"),
        ("/rollback production 1 extra", "Unexpected argument `extra`"),
        ("/rollback production --force", "`/rollback` takes no options"),
        (
            "/lock production db migration",
            'quotes, e.g. `/lock production --reason "db migration"`',
        ),
        ("/lock production --reason", "`--reason` needs a value"),
        ("/lock production --reason ''", "`--reason` needs a value"),
        ("/lock production --reason=", "`--reason` needs a value"),
        ("/lock production --reason --force", "`--reason` needs a value"),
        ('/lock production --reason "a" --reason "b"', "is given twice"),
        ("/lock production --force", "Unknown option `--force` for `/lock`"),
        ("/unlock production staging", "Unexpected argument `staging`"),
        ("/status production staging", "Unexpected argument `staging`"),
        ("/history a b", "Unexpected argument `b`"),
        ("/help deploy lock", "Unexpected argument `lock`"),
        ("/help nothing", "There is no command `/nothing`"),
        ("/validate now", "`/validate` takes no arguments"),
        ("/fix everything", "`/fix` takes no arguments"),
        ("/review --force", "`/review` takes no options"),
    ],
)
def test_malformed_commands(body: str, fragment: str) -> None:
    result = error(body)
    assert fragment in result.message
    assert result.command == body.split()[0][1:].lower()
    assert result.usage == usage(result.command)


def test_help_topic_typo_is_suggested() -> None:
    assert error("/help dpeloy").suggestion == "deploy"


@pytest.mark.parametrize(
    "body",
    [
        '/lock production --reason "db migration',
        "/lock production --reason 'db migration",
        "/lock production --reason don't",
        "/deploy production \\",
    ],
)
def test_unbalanced_quotes_are_malformed_not_exceptions(body: str) -> None:
    result = error(body)
    assert result.command in ("lock", "deploy")
    assert "not closed" in result.message or "cannot be read" in result.message


def test_too_many_commands_is_one_error_and_nothing_runs() -> None:
    body = "\n".join(["/status"] * (MAX_COMMANDS + 2))
    result = error(body)
    assert f"{MAX_COMMANDS + 2} in one comment" in result.message
    assert result.line == MAX_COMMANDS + 1
    assert result.usage == usage()


def test_exactly_the_limit_is_fine() -> None:
    body = "\n".join(["/status"] * MAX_COMMANDS)
    assert parse_comment(body) == [Status(None, n) for n in range(1, MAX_COMMANDS + 1)]


def test_the_limit_counts_malformed_and_misspelt_lines_but_not_others() -> None:
    lines = ["/deploy"] * 5 + ["/deplyo x"] * 5 + ["/assign me", "```", "/status", "```"]
    assert len(parse_comment("\n".join(lines))) == 10
    assert isinstance(one("\n".join([*lines, "/status"])), CommandError)


def test_long_line_is_an_error_and_the_text_is_clipped() -> None:
    body = "/lock production --reason " + "x" * 1000
    result = error(body)
    assert "too long" in result.message
    assert len(result.text) <= 120
    assert result.text.endswith("…")


def test_long_ordinary_lines_are_fine() -> None:
    assert parse_comment("x" * 5000 + "\n/status") == [Status(None, 2)]


def test_error_text_is_the_stripped_line() -> None:
    assert error("   /deploy   ").text == "/deploy"


# --- usage ----------------------------------------------------------------------------


def test_usage_of_one_and_of_all() -> None:
    assert usage("deploy").startswith("`/deploy <environment>")
    everything = usage()
    for name in KNOWN_COMMANDS:
        assert f"`/{name}" in everything
    assert usage("nonsense") == everything


def test_usage_by_family() -> None:
    deploy, review = usage(family="deploy"), usage(family="review")
    assert "/rollback" in deploy and "/fix" not in deploy
    assert "/fix" in review and "/rollback" not in review
    assert "/help" in deploy and "/help" in review


def test_fence_in_a_list_item_closes_at_its_own_indentation() -> None:
    body = "- item\n  ```\n  /deploy production\n  ```\n/status"
    assert parse_comment(body) == [Status(None, 5)]


def test_deeply_indented_backticks_do_not_close_a_top_level_fence() -> None:
    body = "```\n        ```\n/deploy production\n```\n/status"
    assert parse_comment(body) == [Status(None, 5)]


def test_a_large_comment_is_parsed_quickly() -> None:
    body = ("/deploy production --components " + "a " * 400 + "\n") * 5 + "`x ` y\n" * 10000
    started = time.perf_counter()
    assert len(parse_comment(body)) == 5
    assert time.perf_counter() - started < 2
