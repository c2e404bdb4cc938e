"""The per-repository configuration, `.github/deckhand.yml`, as pydantic models.

Every key has a default, so a repository without the file gets a working bot. The JSON
Schema shipped in `deckhand.schema.json` is generated from these models.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, HttpUrl

from app.config.durations import Duration


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ReviewConfig(_Section):
    enabled: bool = True
    autofix: bool = True
    ai: bool = False
    paths: list[str] = Field(default_factory=lambda: ["**/*.py"])
    ignore: list[str] = Field(default_factory=list)
    fail_on: Literal["error", "warning", "notice"] = "error"


class HealthConfig(_Section):
    url: HttpUrl
    interval: Duration = Field(default="30s", validate_default=True)
    window: Duration = Field(default="10m", validate_default=True)
    failures: int = Field(default=3, ge=1)
    timeout: Duration = Field(default="5s", validate_default=True)
    max_latency: Duration | None = None
    expect: dict[str, str | int | float | bool] = Field(default_factory=dict)


class EnvironmentConfig(_Section):
    allowed: list[str] = Field(
        default_factory=list,
        description="Users or org/team slugs allowed to deploy; empty: anyone with write access",
    )
    required_checks: list[str] | None = Field(
        default=None, description="Check names that must succeed; unset: every check on the head"
    )
    confirm: bool = False
    after: str | None = None
    max_per_hour: int | None = Field(default=None, ge=1)
    health: HealthConfig | None = None


class WebhookBackend(_Section):
    url: HttpUrl


class RailwayBackend(_Section):
    project: str
    service: str
    environment: str


class DeployConfig(_Section):
    backend: Literal["github", "webhook", "railway"] = "github"
    webhook: WebhookBackend | None = None
    railway: RailwayBackend | None = None
    environments: dict[str, EnvironmentConfig] = Field(default_factory=dict)
    components: dict[str, list[str]] = Field(default_factory=dict)


class AlertsConfig(_Section):
    labels: list[str] = Field(default_factory=lambda: ["production-error"])
    assignees: list[str] = Field(default_factory=list)
    auto_close: bool = False
    reopen_window: Duration = Field(default="7d", validate_default=True)


class RepoConfig(_Section):
    """The whole file. Unknown top-level keys are refused so typos are caught."""

    model_config = ConfigDict(extra="forbid", title="Deckhand repository configuration")

    review: ReviewConfig = Field(default_factory=ReviewConfig)
    deploy: DeployConfig = Field(default_factory=DeployConfig)
    alerts: AlertsConfig = Field(default_factory=AlertsConfig)
