"""ask_json against the fake OpenAI-compatible server: the answer, and every way there is
none, each as a short reason that never holds the key or the prompt."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from app.ai.chat import Unanswered, ask_json
from app.config.model_endpoint import ModelEndpoint
from tests.fakes.openai_server import FakeOpenAI

PROMPT = "def handler(): token = 'do-not-echo-me'"


def endpoint_for(ai: FakeOpenAI, api_key: str | None = None) -> ModelEndpoint:
    return ModelEndpoint(api_key=api_key or ai.api_key, base_url=ai.url, model="gpt-test-mini")


async def ask(ai: FakeOpenAI, time_limit: float = 5.0, api_key: str | None = None) -> str:
    answer = await ask_json(
        endpoint_for(ai, api_key),
        system="Answer in JSON.",
        user=PROMPT,
        time_limit=time_limit,
        max_output_tokens=50,
    )
    return answer.content


async def test_the_answer_and_its_usage_come_back(fake_openai: FakeOpenAI) -> None:
    fake_openai.reply(json.dumps({"cause": "a typo"}))
    answer = await ask_json(
        endpoint_for(fake_openai), system="S", user="U", time_limit=5.0, max_output_tokens=50
    )
    assert json.loads(answer.content) == {"cause": "a typo"}
    assert answer.usage is not None and answer.usage.total_tokens
    [request] = fake_openai.requests
    body = request.json
    assert body["model"] == "gpt-test-mini"
    assert body["response_format"] == {"type": "json_object"}
    assert body["max_completion_tokens"] == 50
    assert [m["role"] for m in body["messages"]] == ["system", "user"]


async def test_one_failed_request_is_retried(fake_openai: FakeOpenAI) -> None:
    fake_openai.status(503, times=1)
    fake_openai.reply("{}")
    assert await ask(fake_openai) == "{}"
    assert [r.status for r in fake_openai.requests] == [503, 200]


NO_ANSWER: list[tuple[str, Callable[[FakeOpenAI], None], str]] = [
    ("slow", lambda ai: ai.slow(10), "the model did not answer within 0.5s"),
    ("500", lambda ai: ai.status(500), "the model API answered HTTP 500"),
    ("401", lambda ai: ai.status(401), "rejected the API key (HTTP 401)"),
    ("429", lambda ai: ai.status(429, retry_after=0.01), "rate limiting requests (HTTP 429)"),
    ("truncated", FakeOpenAI.truncated, "cut off at the output token limit"),
    ("content_filter", lambda ai: ai.reply(None, finish_reason="content_filter"), "filter"),
    ("refusal", FakeOpenAI.refusal, "the model refused to answer"),
    ("no_choices", FakeOpenAI.no_choices, "the model returned no choices"),
    ("empty", lambda ai: ai.reply("  "), "the model returned an empty answer"),
]


@pytest.mark.parametrize(
    ("script", "reason"), [(n[1], n[2]) for n in NO_ANSWER], ids=[n[0] for n in NO_ANSWER]
)
async def test_no_answer_is_unanswered_with_a_reason(
    fake_openai: FakeOpenAI, script: Callable[[FakeOpenAI], None], reason: str
) -> None:
    script(fake_openai)
    with pytest.raises(Unanswered) as raised:
        await ask(fake_openai, time_limit=0.5 if "did not answer" in reason else 5.0)
    assert reason in str(raised.value)
    assert fake_openai.api_key not in str(raised.value)
    assert "do-not-echo-me" not in str(raised.value)


async def test_an_unreachable_api_is_unanswered() -> None:
    async with FakeOpenAI() as ai:
        closed = endpoint_for(ai)
    with pytest.raises(Unanswered, match="could not connect to the model API"):
        await ask_json(closed, system="S", user="U", time_limit=5.0, max_output_tokens=10)
