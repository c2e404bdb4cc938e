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
    max_annotations: int = Field(
        default=200, ge=0, le=3000, description="annotations on the check run, most severe first"
    )


class HealthConfig(_Section):
    url: HttpUrl
    interval: Duration = Field(default="30s", validate_default=True)
    window: Duration = Field(default="10m", validate_default=True)
    failures: int = Field(default=3, ge=1)
    timeout: Duration = Field(default="5s", validate_default=True)
    max_latency: Duration | None = None
    expect: dict[str, str | int | float | bool] = Field(default_factory=dict)
    components: dict[str, HttpUrl] = Field(
        default_factory=dict,
        description="Health URLs of components, probed too when a deployment includes them",
    )


class EnvironmentConfig(_Section):
    allowed: list[str] = Field(
        default_factory=list,
        description="Users or org/team slugs allowed to deploy; empty: anyone with write access",
    )
    required_checks: list[str] | None = Field(
        default=None,
        description=(
            "Check run or commit status names that must succeed; unset: every one on the head"
        ),
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


class LogAlertsConfig(_Section):
    max_errors_per_minute: int | None = Field(
        default=None,
        ge=1,
        description="Open one issue for a spike when the log drain counts more errors "
        "(tracebacks and error records) than this in one minute; unset: no spike issue",
    )


class AlertsConfig(_Section):
    labels: list[str] = Field(default_factory=lambda: ["production-error"])
    assignees: list[str] = Field(default_factory=list)
    auto_close: bool = False
    reopen_window: Duration = Field(default="7d", validate_default=True)
    title: str = Field(
        default="{source}: {title}",
        max_length=200,
        description="Issue title; fields: {source} {title} {severity} {environment}",
    )
    severity_labels: dict[str, str] = Field(
        default_factory=lambda: {
            "fatal": "severity:critical",
            "critical": "severity:critical",
            "error": "severity:error",
            "warning": "severity:warning",
        },
        description="Alert severity -> extra issue label (severities not listed add none)",
    )
    update_interval: Duration = Field(
        default="30s",
        validate_default=True,
        description="How often, at most, the occurrence comment of one alert is edited",
    )
    environment: str = Field(
        default="production", description="Environment of alerts that do not name one"
    )
    logs: LogAlertsConfig = Field(default_factory=LogAlertsConfig)


class RepoConfig(_Section):
    """The whole file. Unknown top-level keys are refused so typos are caught."""

    model_config = ConfigDict(extra="forbid", title="Deckhand repository configuration")

    review: ReviewConfig = Field(default_factory=ReviewConfig)
    deploy: DeployConfig = Field(default_factory=DeployConfig)
    alerts: AlertsConfig = Field(default_factory=AlertsConfig)
