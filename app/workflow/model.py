"""A commit message written by an OpenAI-compatible chat model, or a reason why not.

`model_message(model, diff, summary)` sends the staged diff (clipped to
`max_diff_chars`) and the deterministic summary, and tidies the answer with
`app.workflow.message.tidy_model_message`. It never raises: a timeout, an HTTP or
connection error, a refusal, an empty answer or one without a usable subject all come
back as `(None, reason)`, and the caller commits with the summary instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from app.config.model_endpoint import ModelEndpoint
from app.workflow.message import BODY_WIDTH, SUBJECT_LIMIT, tidy_model_message

if TYPE_CHECKING:
    pass

SYSTEM_PROMPT = f"""\
You write git commit messages. Answer with the commit message only, as plain text: a \
subject line in the imperative mood, at most {SUBJECT_LIMIT - 10} characters, no final \
period; a blank line; then a short body wrapped at {BODY_WIDTH} characters saying what \
changed and why, as far as the diff shows. No code fences, no quotes, no preamble."""


@dataclass(frozen=True)
class MessageModel(ModelEndpoint):
    """How to reach the model and how much to send. The key is never shown in `repr`."""

    timeout: float = 20.0  # seconds per request; there is no retry
    max_diff_chars: int = 24_000
    max_output_tokens: int = 400


def clip(diff: str, limit: int) -> str:
    """The diff cut at a line boundary within `limit` characters, saying so."""
    if len(diff) <= limit:
        return diff
    kept = diff[:limit].rsplit("\n", 1)[0]
    dropped = diff[len(kept) :].count("\n")
    return f"{kept}\n... ({dropped} more diff lines clipped)\n"


def model_message(model: MessageModel, diff: str, summary: str) -> tuple[str | None, str]:
    """(message, "") from the model, or (None, why not)."""
    import openai

    prompt = (
        "Write the commit message for this staged change.\n\n"
        f"What changed, as computed from the files:\n{summary}\n\n"
        f"The diff:\n{clip(diff, model.max_diff_chars)}"
    )
    try:
        with openai.OpenAI(
            api_key=model.api_key,
            base_url=model.base_url,
            timeout=model.timeout,
            max_retries=0,
        ) as client:
            completion = client.chat.completions.create(
                model=model.model,
                messages=[
                    {"role": "system", "content": SYSTEM_PROMPT},
                    {"role": "user", "content": prompt},
                ],
                max_tokens=model.max_output_tokens,
                temperature=0.2,
            )
    except openai.APITimeoutError:
        return None, f"the model did not answer within {model.timeout:g}s"
    except openai.APIStatusError as exc:
        return None, f"the model's API answered HTTP {exc.status_code}"
    except openai.APIConnectionError:
        return None, "the model's API could not be reached"
    except Exception as exc:  # a message must never block the commit
        return None, f"the model call failed ({type(exc).__name__})"
    if not completion.choices:
        return None, "the model gave no answer"
    choice = completion.choices[0]
    if choice.message.refusal or not choice.message.content:
        return None, "the model gave no message"
    if choice.finish_reason == "length":
        return None, "the model's answer was cut off"
    message = tidy_model_message(choice.message.content)
    if message is None:
        return None, "the model's answer had no usable subject line"
    return message, ""
