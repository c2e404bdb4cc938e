"""Process settings read once from the environment (see CONTRACT.md), as one typed object.

Everything else receives a `Settings`; nothing outside this module reads `os.environ`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

MAX_WEBHOOK_BYTES = 25 * 1024 * 1024
# The env file read on start, and written by the setup flow (`DECKHAND_ENV_FILE`).
ENV_FILE = os.environ.get("DECKHAND_ENV_FILE") or ".env"


class Settings(BaseSettings):
    """The service's settings; field names follow the environment variables in CONTRACT.md."""

    model_config = SettingsConfigDict(env_file=ENV_FILE, extra="ignore", populate_by_name=True)

    host: str = "0.0.0.0"  # noqa: S104 - a web service listens on all interfaces by default
    port: int = 3000

    github_app_id: int | None = None
    github_private_key: SecretStr | None = None
    github_private_key_path: Path | None = None
    github_webhook_secret: SecretStr | None = None
    github_client_id: str | None = None
    github_client_secret: SecretStr | None = None
    github_api_url: str = "https://api.github.com"
    github_web_url: str = "https://github.com"
    public_url: str | None = None

    database_url: str = "sqlite:///./data/deckhand.db"
    queue_url: str = ""

    openai_api_key: SecretStr | None = None
    openai_base_url: str | None = None
    openai_model: str = "gpt-4o-mini"

    sentry_client_secret: SecretStr | None = None
    alertmanager_token: SecretStr | None = None
    grafana_secret: SecretStr | None = None
    grafana_token: SecretStr | None = None
    # The headers Grafana's contact point is set to sign with (its "Header" and
    # "Timestamp Header"); with a timestamp header set, requests must carry it.
    grafana_signature_header: str = "X-Grafana-Alerting-Signature"
    grafana_timestamp_header: str | None = None
    generic_alert_secret: SecretStr | None = None
    log_drain_token: SecretStr | None = None
    slack_webhook_url: SecretStr | None = None

    log_level: str = "info"
    log_format: Literal["json", "console"] = "json"

    insecure_no_secret: bool = Field(
        default=False, validation_alias=AliasChoices("deckhand_insecure_no_secret")
    )
    plugins: Annotated[list[str], NoDecode] = Field(
        default_factory=list, validation_alias=AliasChoices("deckhand_plugins")
    )
    worker_concurrency: int = Field(
        default=32, ge=1, validation_alias=AliasChoices("deckhand_worker_concurrency")
    )
    max_attempts: int = Field(
        default=5, ge=1, validation_alias=AliasChoices("deckhand_max_attempts")
    )
    retry_base_seconds: float = Field(
        default=2.0, gt=0, validation_alias=AliasChoices("deckhand_retry_base_seconds")
    )
    lease_seconds: float = Field(
        default=60.0, gt=0, validation_alias=AliasChoices("deckhand_lease_seconds")
    )
    poll_seconds: float = Field(
        default=1.0, gt=0, validation_alias=AliasChoices("deckhand_poll_seconds")
    )
    job_timeout_seconds: float = Field(
        default=600.0, gt=0, validation_alias=AliasChoices("deckhand_job_timeout_seconds")
    )
    queue_heartbeat_seconds: float = Field(
        default=10.0,
        gt=0,
        validation_alias=AliasChoices("deckhand_queue_heartbeat_seconds"),
        description="distributed queue: how often a worker tells it is alive",
    )
    queue_stalled_seconds: float = Field(
        default=30.0,
        gt=0,
        validation_alias=AliasChoices("deckhand_queue_stalled_seconds"),
        description="distributed queue: silence after which a worker's jobs go to another",
    )
    queue_recover_seconds: int = Field(
        default=5,
        ge=1,
        le=30,
        validation_alias=AliasChoices("deckhand_queue_recover_seconds"),
        description="distributed queue: how often stalled and unsent jobs are looked for",
    )
    retention_days: float = Field(
        default=14.0, gt=0, validation_alias=AliasChoices("deckhand_retention_days")
    )
    github_max_inline_wait: float = Field(
        default=60.0, ge=0, validation_alias=AliasChoices("deckhand_github_max_wait")
    )
    github_timeout: float = Field(
        default=30.0, gt=0, validation_alias=AliasChoices("deckhand_github_timeout")
    )
    github_concurrency: int = Field(
        default=8, ge=1, validation_alias=AliasChoices("deckhand_github_concurrency")
    )
    config_cache: bool = Field(
        default=True,
        validation_alias=AliasChoices("deckhand_config_cache"),
        description="remember each repository's .github/deckhand.yml for a minute",
    )
    confirm_seconds: float = Field(
        default=60.0,
        gt=0,
        validation_alias=AliasChoices("deckhand_confirm_seconds"),
        description="how long a `confirm: true` environment waits for the commenter's 👍",
    )
    deploy_webhook_secret: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("deckhand_deploy_webhook_secret"),
        description="HMAC secret of the `webhook` deploy backend (requests and callbacks)",
    )
    railway_token: SecretStr | None = None
    railway_api_url: str = Field(
        default="https://backboard.railway.com/graphql/v2",
        validation_alias=AliasChoices("deckhand_railway_api_url"),
    )
    railway_poll_seconds: float = Field(
        default=5.0,
        gt=0,
        validation_alias=AliasChoices("deckhand_railway_poll_seconds"),
        description="how often the `railway` deploy backend reads a deployment's status",
    )
    git_cache_dir: Path = Field(
        default=Path("./data/git"),
        validation_alias=AliasChoices("deckhand_git_cache_dir"),
        description="per-repository git caches (blobless partial clones)",
    )
    setup_env_file: Path = Field(
        default=Path(ENV_FILE),
        validation_alias=AliasChoices("deckhand_env_file"),
        description="where the setup flow writes the new App's credentials (read on start)",
    )
    setup_print: bool = Field(
        default=False,
        validation_alias=AliasChoices("deckhand_setup_print"),
        description="show the new App's credentials once instead of writing the env file",
    )

    @field_validator(
        "github_private_key",
        "github_webhook_secret",
        "github_client_secret",
        "openai_api_key",
        "sentry_client_secret",
        "alertmanager_token",
        "grafana_secret",
        "grafana_token",
        "generic_alert_secret",
        "log_drain_token",
        "slack_webhook_url",
        "deploy_webhook_secret",
        "railway_token",
        mode="before",
    )
    @classmethod
    def _empty_secret_is_unset(cls, value: object) -> object:
        """`SECRET=` (an unset `${VAR}` on a platform) must not become an empty key."""
        if isinstance(value, str) and not value.strip():
            return None
        return value

    @field_validator("plugins", mode="before")
    @classmethod
    def _split_plugins(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("log_level")
    @classmethod
    def _normalise_level(cls, value: str) -> str:
        level = value.lower()
        if level not in {"debug", "info", "warning", "error", "critical"}:
            raise ValueError("LOG_LEVEL must be debug, info, warning, error or critical")
        return level

    @model_validator(mode="after")
    def _queue_timing(self) -> Settings:
        if self.queue_stalled_seconds <= 2 * self.queue_heartbeat_seconds:
            raise ValueError(
                "DECKHAND_QUEUE_STALLED_SECONDS must be more than twice "
                "DECKHAND_QUEUE_HEARTBEAT_SECONDS, or one late heartbeat makes a worker "
                "look dead and its jobs run twice"
            )
        return self

    @model_validator(mode="after")
    def _reachable_store_and_key(self) -> Settings:
        """What would otherwise fail later with a traceback: the database and queue URLs'
        kinds, and a private key that is not one (never quoting the key)."""
        _require_backend("DATABASE_URL", self.database_url, ("sqlite", "postgresql"))
        if self.queue_url:
            _require_backend("QUEUE_URL", self.queue_url, ("postgresql",))
        path = self.github_private_key_path
        if path is not None and not path.is_file():
            raise ValueError(f"GITHUB_PRIVATE_KEY_PATH: no such file: {path}")
        pem = self.private_key_pem()
        if pem is not None and not _is_private_key(pem):
            where = "GITHUB_PRIVATE_KEY" if self.github_private_key else "GITHUB_PRIVATE_KEY_PATH"
            raise ValueError(f"{where} does not hold a PEM private key")
        return self

    def private_key_pem(self) -> str | None:
        """The App's private key as PEM text from the variable (literal `\\n` accepted) or file."""
        if self.github_private_key is not None:
            return self.github_private_key.get_secret_value().replace("\\n", "\n")
        if self.github_private_key_path is not None:
            return self.github_private_key_path.read_text()
        return None

    def missing_app_credentials(self) -> list[str]:
        """Names of the variables still needed to act as a GitHub App (empty when complete)."""
        missing = []
        if self.github_app_id is None:
            missing.append("GITHUB_APP_ID")
        if self.github_private_key is None and self.github_private_key_path is None:
            missing.append("GITHUB_PRIVATE_KEY or GITHUB_PRIVATE_KEY_PATH")
        if self.github_webhook_secret is None and not self.insecure_no_secret:
            missing.append("GITHUB_WEBHOOK_SECRET")
        return missing

    def secret_values(self) -> list[str]:
        """Every configured secret, so the logger can scrub them wherever they appear."""
        secrets = [
            self.github_webhook_secret,
            self.github_client_secret,
            self.openai_api_key,
            self.sentry_client_secret,
            self.alertmanager_token,
            self.grafana_secret,
            self.grafana_token,
            self.generic_alert_secret,
            self.log_drain_token,
            self.slack_webhook_url,
            self.github_private_key,
            self.deploy_webhook_secret,
            self.railway_token,
        ]
        values = [s.get_secret_value() for s in secrets if s is not None]
        return [v for v in values if len(v) >= 6]


def _require_backend(variable: str, url: str, kinds: tuple[str, ...]) -> None:
    from app.store.urls import backend_of

    if backend_of(url) not in kinds:
        forms = " or ".join("sqlite:///PATH" if k == "sqlite" else "postgresql://…" for k in kinds)
        raise ValueError(f"{variable} must be {forms}, not {url.split(':', 1)[0]!r}")


def _is_private_key(pem: str) -> bool:
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    try:
        load_pem_private_key(pem.encode(), password=None)
    except (ValueError, TypeError, UnicodeError):
        return False
    except Exception:  # e.g. an algorithm this build cannot load: let signing say so
        return True
    return True
