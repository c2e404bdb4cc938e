"""ModelEndpoint: how to reach the OpenAI-compatible model (key, base URL, model name),
taken from the service's `OPENAI_*` settings. The features that call the model (AI
review, commit messages) extend it with their own limits. The key never shows in `repr`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Self

from app.config.settings import Settings


@dataclass(frozen=True)
class ModelEndpoint:
    api_key: str = field(repr=False)
    base_url: str | None  # None: OPENAI_BASE_URL, else api.openai.com
    model: str

    @classmethod
    def from_settings(cls, settings: Settings) -> Self | None:
        """The OPENAI_* settings, or None when no API key is configured."""
        if settings.openai_api_key is None:
            return None
        return cls(
            api_key=settings.openai_api_key.get_secret_value(),
            base_url=settings.openai_base_url,
            model=settings.openai_model,
        )
