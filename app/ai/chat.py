"""One question to the OpenAI-compatible model, answered with a JSON object.

`ask_json(endpoint, system=..., user=..., time_limit=..., max_output_tokens=...)` is the call
every server-side feature makes (AI review, alert triage, `/propose-fix`): one chat
completion in JSON mode, one retry of a failed request (the SDK's), and a hard time
limit. It returns an `Answer` (the text of the model's JSON object and its token usage)
or raises `Unanswered` with a short reason for a timeout, an HTTP or connection error, no
choices, a refusal, an answer cut off at the token limit or withheld by a content
filter, or an empty answer. Reasons are built from exception types and status codes
only, so they never carry the key, the prompt or the repository's code, and a caller can
show them to users as they are. What the JSON must hold is the caller's business.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import openai

from app.config.model_endpoint import ModelEndpoint

RETRIES = 1


class Unanswered(Exception):
    """Why the model gave no usable answer (fit to show to users)."""


@dataclass(frozen=True)
class Answer:
    content: str  # the model's JSON object, as text: not parsed here
    usage: Any  # the completion's `usage` (prompt/completion/total tokens), or None


async def ask_json(
    endpoint: ModelEndpoint, *, system: str, user: str, time_limit: float, max_output_tokens: int
) -> Answer:
    client = openai.AsyncOpenAI(
        api_key=endpoint.api_key,
        base_url=endpoint.base_url,
        timeout=time_limit,
        max_retries=RETRIES,
    )
    try:
        async with client, asyncio.timeout(time_limit):
            completion = await client.chat.completions.create(
                model=endpoint.model,
                messages=[
                    {"role": "system", "content": system},
                    {"role": "user", "content": user},
                ],
                response_format={"type": "json_object"},
                max_completion_tokens=max_output_tokens,
            )
    except (TimeoutError, openai.OpenAIError) as exc:
        raise Unanswered(explain(exc, time_limit)) from None
    return Answer(content(completion), getattr(completion, "usage", None))


def explain(exc: BaseException, timeout: float) -> str:
    """A short reason for an API failure, built from types and status codes only."""
    if isinstance(exc, TimeoutError | openai.APITimeoutError):
        return f"the model did not answer within {timeout:g}s"
    if isinstance(exc, openai.AuthenticationError):
        return "the model API rejected the API key (HTTP 401)"
    if isinstance(exc, openai.RateLimitError):
        return "the model API is rate limiting requests (HTTP 429)"
    if isinstance(exc, openai.APIStatusError):
        return f"the model API answered HTTP {exc.status_code}"
    if isinstance(exc, openai.APIConnectionError):
        return "could not connect to the model API"
    if isinstance(exc, openai.APIResponseValidationError):
        return "the model API's response was not a chat completion"
    return f"the model API call failed ({type(exc).__name__})"


def content(completion: Any) -> str:
    """The text of the completion's first choice, or Unanswered saying why there is none."""
    choices = getattr(completion, "choices", None) or []
    if not choices:
        raise Unanswered("the model returned no choices")
    choice = choices[0]
    message = getattr(choice, "message", None)
    if message is not None and getattr(message, "refusal", None):
        raise Unanswered("the model refused to answer")
    reason = getattr(choice, "finish_reason", None)
    if reason == "length":
        raise Unanswered("the model's answer was cut off at the output token limit")
    if reason == "content_filter":
        raise Unanswered("the model's answer was withheld by a content filter")
    text = getattr(message, "content", None)
    if not isinstance(text, str) or not text.strip():
        raise Unanswered("the model returned an empty answer")
    return text
