"""The AI review against a real OpenAI-compatible HTTP server on loopback (FakeOpenAI)."""

from __future__ import annotations

import json
import logging
import socket
import time
from collections.abc import Callable
from typing import Any

import pytest

from app.ai import AIReviewResult, AIReviewSettings, FileDiff, ai_review
from app.ai.review import (
    MAX_MESSAGE_CHARS,
    RULE,
    SOURCE,
    USER_PREAMBLE,
    estimate_tokens,
    parse_hunks,
    plan,
    system_prompt,
)
from app.engine.findings import Edit, Severity
from tests.fakes.openai_server import FakeOpenAI

PATCH = """\
diff --git a/app.py b/app.py
index 1111111..2222222 100644
--- a/app.py
+++ b/app.py
@@ -1,4 +1,5 @@
 import os
-x = 1
+x = compute()
+y = os.environ["HOME"]
 def f():
     return x
@@ -20,3 +21,2 @@ def g():
 a = 1
-b = 2_removed_only
 c = 3
"""

DELETION_ONLY = """\
--- a/gone.py
+++ b/gone.py
@@ -1,3 +1,1 @@
 keep = 1
-drop_me_one = 2
-drop_me_two = 3
"""


def added_file(path: str, lines: int, start: int = 1, width: int = 40) -> FileDiff:
    """A new file's diff with `lines` added lines of about `width` characters."""
    body = "".join(f"+v{i:05d} = {'x' * (width - 10)}\n" for i in range(lines))
    return FileDiff(path, f"--- /dev/null\n+++ b/{path}\n@@ -0,0 +{start},{lines} @@\n{body}")


def settings_for(ai: FakeOpenAI, **overrides: Any) -> AIReviewSettings:
    values: dict[str, Any] = {
        "api_key": ai.api_key,
        "base_url": ai.url,
        "model": "gpt-test-mini",
        "timeout": 5.0,
    }
    values.update(overrides)
    return AIReviewSettings(**values)


def user_message(ai: FakeOpenAI, index: int = -1) -> str:
    messages = ai.requests[index].json["messages"]
    return next(m["content"] for m in messages if m["role"] == "user")


# --- diff parsing and the budget (no model) ----------------------------------------------


def test_parse_hunks_numbers_new_side_lines() -> None:
    first, second = parse_hunks(PATCH)
    assert [(m, n, t) for m, n, t in first.lines if m == "+"] == [
        ("+", 2, "x = compute()"),
        ("+", 3, 'y = os.environ["HOME"]'),
    ]
    assert [n for m, n, _ in first.lines if m == " "] == [1, 4, 5]
    assert first.has_additions
    assert not second.has_additions  # deletion-only


def test_parse_hunks_handles_header_lookalikes_and_no_newline_marker() -> None:
    patch = (
        "@@ -1,2 +1,2 @@\n"
        "--- not a header, a removed line\n"
        "+++ not a header, an added line\n"
        " context\n"
        "\\ No newline at end of file\n"
    )
    [hunk] = parse_hunks(patch)
    assert hunk.lines == [
        ("-", None, "-- not a header, a removed line"),
        ("+", 1, "++ not a header, an added line"),
        (" ", 2, "context"),
    ]


def test_deletion_only_hunks_and_files_are_dropped() -> None:
    settings = AIReviewSettings(api_key="k", base_url=None, model="m")
    chosen = plan([FileDiff("app.py", PATCH), FileDiff("gone.py", DELETION_ONLY)], settings)
    [file] = chosen.files
    assert file.path == "app.py"
    assert "b = 2_removed_only" not in file.text
    assert "@@ -20,3" not in file.text
    assert "x = compute()" in file.text
    assert file.added == {2: "x = compute()", 3: 'y = os.environ["HOME"]'}
    assert chosen.left_out == []  # nothing to review in gone.py: not "left out"


def test_largest_files_first_and_the_rest_left_out_when_the_budget_is_used() -> None:
    small, big, medium = (
        added_file("small.py", 5),
        added_file("big.py", 60),
        added_file("mid.py", 30),
    )
    roomy = AIReviewSettings("k", None, "m", max_input_tokens=100_000, max_file_tokens=100_000)
    everything = plan([small, big, medium], roomy)
    assert [f.path for f in everything.files] == ["big.py", "mid.py", "small.py"]
    # room for big.py whole and 100 tokens of mid.py; then the budget is used up
    big_tokens = estimate_tokens(everything.files[0].text + "\n")
    overhead = estimate_tokens(system_prompt(roomy)) + estimate_tokens(USER_PREAMBLE)
    budget = overhead + big_tokens + 100
    settings = AIReviewSettings("k", None, "m", max_input_tokens=budget, max_file_tokens=100_000)
    chosen = plan([small, big, medium], settings)
    assert [f.path for f in chosen.files] == ["big.py", "mid.py"]
    assert not chosen.files[0].clipped
    assert chosen.files[1].clipped
    assert chosen.left_out == ["small.py"]
    assert chosen.prompt_tokens <= settings.max_input_tokens


def test_each_file_is_clipped_to_its_share_at_a_line_boundary() -> None:
    settings = AIReviewSettings("k", None, "m", max_file_tokens=200)
    chosen = plan([added_file("big.py", 100), added_file("small.py", 3)], settings)
    big, small = chosen.files
    assert big.clipped and not small.clipped
    assert "more diff lines clipped" in big.text
    assert len(big.text) <= 200 * 4 + 60
    assert max(big.added) < 100  # the clipped lines are not reviewable
    assert all(line.endswith("\n") for line in big.text.splitlines(keepends=True))
    assert chosen.left_out == []


async def test_a_budget_too_small_for_any_file_skips_without_calling(
    fake_openai: FakeOpenAI,
) -> None:
    settings = settings_for(fake_openai, max_input_tokens=50)
    result = await ai_review([FileDiff("app.py", PATCH)], settings)
    assert result.skipped_reason == "the diff does not fit the AI review's token budget"
    assert result.files_left_out == ["app.py"]
    assert result.findings == []
    assert fake_openai.requests == []


async def test_nothing_added_skips_without_calling(fake_openai: FakeOpenAI) -> None:
    result = await ai_review([FileDiff("gone.py", DELETION_ONLY)], settings_for(fake_openai))
    assert result.skipped_reason == "no added or changed lines to review"
    assert fake_openai.requests == []


# --- a successful review -----------------------------------------------------------------


async def test_findings_are_kept_only_on_changed_lines_of_reviewed_files(
    fake_openai: FakeOpenAI,
) -> None:
    fake_openai.reply_findings(
        [
            {
                "path": "app.py",
                "line": 2,
                "severity": "error",
                "message": "compute() is not defined",
                "suggestion": "x = compute_value()",
            },
            {"path": "b/app.py", "line": 3, "severity": "notice", "message": "use os.getenv"},
            {"path": "app.py", "line": 1, "severity": "warning", "message": "context line"},
            {"path": "app.py", "line": 22, "severity": "warning", "message": "deleted hunk"},
            {"path": "other.py", "line": 2, "severity": "error", "message": "not in the diff"},
            {"path": "app.py", "line": 2, "severity": "bogus", "message": "bad severity"},
            {"path": "app.py", "line": "two", "severity": "error", "message": "bad line"},
            "not an object",
        ]
    )
    result = await ai_review([FileDiff("app.py", PATCH)], settings_for(fake_openai))

    assert result.skipped_reason is None
    error, notice = result.findings
    assert (error.path, error.line, error.severity) == ("app.py", 2, Severity.ERROR)
    assert (error.rule, error.source, error.column) == (RULE, SOURCE, 1)
    assert error.message == "compute() is not defined"
    assert (error.end_line, error.end_column) == (2, len("x = compute()") + 1)
    assert error.fix is not None and error.fix.safe is False
    assert error.fix.description == "AI suggestion"
    assert error.fix.edits == (Edit(2, 1, 2, len("x = compute()") + 1, "x = compute_value()"),)
    assert (notice.path, notice.line, notice.severity, notice.fix) == (
        "app.py",
        3,
        Severity.NOTICE,
        None,
    )
    assert result.dropped_findings == 6
    assert result.files_reviewed == ["app.py"]
    assert result.usage is not None and result.usage.total_tokens
    assert result.usage.prompt_tokens and result.usage.estimated_input_tokens

    [request] = fake_openai.requests
    body = request.json
    assert body["model"] == "gpt-test-mini"
    assert body["response_format"] == {"type": "json_object"}
    assert request.headers["Authorization"] == f"Bearer {fake_openai.api_key}"
    prompt = user_message(fake_openai)
    assert "=== app.py ===" in prompt
    assert "x = compute()" in prompt and 'y = os.environ["HOME"]' in prompt
    assert "b = 2_removed_only" not in prompt
    system = next(m["content"] for m in body["messages"] if m["role"] == "system")
    assert '"findings"' in system


async def test_messages_are_bounded_and_findings_capped_most_severe_first(
    fake_openai: FakeOpenAI,
) -> None:
    diff = added_file("many.py", 20)
    fake_openai.reply_findings(
        [
            {"path": "many.py", "line": n, "severity": "notice", "message": f"n{n} " * 2000}
            for n in range(1, 11)
        ]
        + [{"path": "many.py", "line": 15, "severity": "error", "message": "the real bug"}]
        + [{"path": "many.py", "line": 15, "severity": "error", "message": "the real bug"}]
    )
    result = await ai_review([diff], settings_for(fake_openai, max_findings=3))
    assert [f.line for f in result.findings] == [15, 1, 2]
    assert all(len(f.message) <= MAX_MESSAGE_CHARS for f in result.findings)
    assert result.findings[1].message.endswith("…")
    assert result.dropped_findings == 1 + 8  # one duplicate, eight over the cap


async def test_code_fenced_json_is_accepted(fake_openai: FakeOpenAI) -> None:
    fake_openai.reply(
        '```json\n{"findings": [{"path": "app.py", "line": 3, "severity": "warning",'
        ' "message": "m"}]}\n```'
    )
    result = await ai_review([FileDiff("app.py", PATCH)], settings_for(fake_openai))
    assert [(f.line, f.severity) for f in result.findings] == [(3, Severity.WARNING)]


async def test_a_finding_on_a_clipped_line_is_dropped(fake_openai: FakeOpenAI) -> None:
    fake_openai.reply_findings(
        [
            {"path": "big.py", "line": 2, "severity": "warning", "message": "kept"},
            {"path": "big.py", "line": 95, "severity": "warning", "message": "not sent"},
        ]
    )
    settings = settings_for(fake_openai, max_file_tokens=200)
    result = await ai_review([added_file("big.py", 100)], settings)
    assert [f.message for f in result.findings] == ["kept"]
    assert result.files_clipped == ["big.py"]
    assert "v00095" not in user_message(fake_openai)


async def test_the_prompt_puts_the_largest_file_first(fake_openai: FakeOpenAI) -> None:
    diffs = [added_file("small.py", 3), added_file("big.py", 40), FileDiff("app.py", PATCH)]
    result = await ai_review(diffs, settings_for(fake_openai))
    assert result.skipped_reason is None and result.findings == []
    prompt = user_message(fake_openai)
    assert prompt.index("=== big.py") < prompt.index("=== small.py") < prompt.index("=== app.py")


async def test_one_server_error_is_retried(fake_openai: FakeOpenAI) -> None:
    fake_openai.status(500, times=1)
    fake_openai.reply_findings([{"path": "app.py", "line": 2, "severity": "error", "message": "m"}])
    result = await ai_review([FileDiff("app.py", PATCH)], settings_for(fake_openai))
    assert result.skipped_reason is None
    assert len(result.findings) == 1
    assert [r.status for r in fake_openai.requests] == [500, 200]


# --- failure modes: a skipped result, quickly, never an exception ------------------------

FAILURES: list[tuple[str, Callable[[FakeOpenAI], None], str]] = [
    ("slow", lambda ai: ai.slow(10), "the model did not answer within 0.5s"),
    ("500", lambda ai: ai.status(500), "the model API answered HTTP 500"),
    ("503", lambda ai: ai.status(503), "the model API answered HTTP 503"),
    ("429", lambda ai: ai.status(429, retry_after=0.01), "rate limiting requests (HTTP 429)"),
    ("404", lambda ai: ai.status(404), "the model API answered HTTP 404"),
    ("malformed", FakeOpenAI.malformed, "the model's answer was not valid JSON"),
    ("wrong_schema", FakeOpenAI.wrong_schema, "did not match the findings schema"),
    (
        "findings_not_a_list",
        lambda ai: ai.reply(json.dumps({"findings": "none found"})),
        "did not match the findings schema",
    ),
    (
        "items_not_findings",
        lambda ai: ai.reply_findings([{"file": "app.py", "row": 2}, {"note": "x"}]),
        "did not match the findings schema",
    ),
    ("json_array", lambda ai: ai.reply("[]"), "did not match the findings schema"),
    ("truncated", FakeOpenAI.truncated, "cut off at the output token limit"),
    ("content_filter", lambda ai: ai.reply(None, finish_reason="content_filter"), "content filter"),
    ("refusal", FakeOpenAI.refusal, "the model refused to answer"),
    ("no_choices", FakeOpenAI.no_choices, "the model returned no choices"),
    ("empty", lambda ai: ai.reply("  "), "the model returned an empty answer"),
]


@pytest.mark.parametrize(
    ("script", "reason"), [(f[1], f[2]) for f in FAILURES], ids=[f[0] for f in FAILURES]
)
async def test_failures_skip_the_ai_review(
    fake_openai: FakeOpenAI, script: Callable[[FakeOpenAI], None], reason: str
) -> None:
    script(fake_openai)
    started = time.monotonic()
    timeout = 0.5 if "did not answer" in reason else 2.0  # room for one retry otherwise
    result = await ai_review(
        [FileDiff("app.py", PATCH)], settings_for(fake_openai, timeout=timeout)
    )
    elapsed = time.monotonic() - started
    assert isinstance(result, AIReviewResult)
    assert result.skipped
    assert result.skipped_reason is not None and reason in result.skipped_reason
    assert result.findings == []
    assert result.files_reviewed == ["app.py"]
    assert elapsed < 3.0
    assert fake_openai.requests, "the fake was called"


async def test_a_wrong_key_is_rejected_and_skipped(fake_openai: FakeOpenAI) -> None:
    settings = settings_for(fake_openai, api_key="sk-wrong-key-abcdefghijklmnop")
    result = await ai_review([FileDiff("app.py", PATCH)], settings)
    assert result.skipped_reason == "the model API rejected the API key (HTTP 401)"
    assert [r.status for r in fake_openai.requests] == [401]  # 401 is not retried
    assert not fake_openai.requests[0].authorized


async def test_an_unreachable_server_is_skipped() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings = AIReviewSettings("sk-x", f"http://127.0.0.1:{port}/v1", "m", timeout=2.0)
    started = time.monotonic()
    result = await ai_review([FileDiff("app.py", PATCH)], settings)
    assert result.skipped_reason == "could not connect to the model API"
    assert time.monotonic() - started < 3.0


async def test_no_api_key_skips(fake_openai: FakeOpenAI) -> None:
    result = await ai_review([FileDiff("app.py", PATCH)], settings_for(fake_openai, api_key=""))
    assert result.skipped_reason == "no API key is configured"
    assert fake_openai.requests == []


async def test_the_api_key_never_reaches_results_or_logs(
    fake_openai: FakeOpenAI, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="openai")
    caplog.set_level(logging.DEBUG, logger="httpx2")
    diffs = [FileDiff("app.py", PATCH)]
    wrong = "sk-wrong-0123456789abcdefghij"
    fake_openai.reply_findings([{"path": "app.py", "line": 2, "severity": "error", "message": "m"}])
    results = [await ai_review(diffs, settings_for(fake_openai))]
    fake_openai.status(500)
    results.append(await ai_review(diffs, settings_for(fake_openai)))
    results.append(await ai_review(diffs, settings_for(fake_openai, api_key=wrong)))
    fake_openai.reset()
    fake_openai.slow(5)
    results.append(await ai_review(diffs, settings_for(fake_openai, timeout=0.3)))

    assert [r.skipped for r in results] == [False, True, True, True]
    assert fake_openai.requests[0].headers["Authorization"].endswith(fake_openai.api_key)
    logged = "\n".join(
        f"{r.getMessage()} {r.msg!r} {r.args!r} {r.__dict__!r}" for r in caplog.records
    )
    assert "ai review finished" in logged and "ai review skipped" in logged
    out, err = capfd.readouterr()
    for secret in (fake_openai.api_key, wrong, wrong[-4:] + ".", fake_openai.api_key[3:]):
        for result in results:
            assert secret not in repr(result)
            assert secret not in (result.skipped_reason or "")
        assert secret not in logged
        assert secret not in out + err
    assert fake_openai.api_key not in repr(settings_for(fake_openai))


async def test_the_fake_answers_like_openai(fake_openai: FakeOpenAI) -> None:
    """The fake's shapes, checked by the official client itself."""
    import openai

    async with openai.AsyncOpenAI(
        api_key=fake_openai.api_key, base_url=fake_openai.url, max_retries=0
    ) as client:
        fake_openai.reply('{"findings": []}')
        completion = await client.chat.completions.create(
            model="gpt-x", messages=[{"role": "user", "content": "hi"}]
        )
        assert completion.object == "chat.completion"
        assert completion.model == "gpt-x"
        assert completion.choices[0].message.content == '{"findings": []}'
        assert completion.choices[0].finish_reason == "stop"
        assert completion.usage is not None
    async with openai.AsyncOpenAI(
        api_key="sk-nope-123456789", base_url=fake_openai.url, max_retries=0
    ) as client:
        with pytest.raises(openai.AuthenticationError) as info:
            await client.chat.completions.create(
                model="gpt-x", messages=[{"role": "user", "content": "hi"}]
            )
        assert info.value.code == "invalid_api_key"
