"""`.github/deckhand.yml` parsing: defaults, the documented shape, clear errors naming keys."""

from __future__ import annotations

import json
from datetime import timedelta

import jsonschema
import pytest

from app.config.durations import parse_duration
from app.config.loader import parse_repo_config
from app.config.repo import RepoConfig
from app.config.schema import SCHEMA_FILE, render_schema

CONTRACT_EXAMPLE = """
review:
  enabled: true
  autofix: true
  ai: false
  paths: ["**/*.py"]
  ignore: ["migrations/**"]
  fail_on: error
deploy:
  backend: github
  webhook: {url: "https://deployer.example.com/deckhand"}
  railway: {project: "p", service: "s", environment: "e"}
  environments:
    production:
      allowed: ["alice", "acme/release-team"]
      required_checks: ["ci/test"]
      confirm: false
      after: staging
      max_per_hour: 6
      health:
        url: "https://example.com/healthz"
        interval: 30s
        window: 10m
        failures: 3
        timeout: 5s
        max_latency: 2s
        expect: {status: "ok"}
  components:
    api: ["api/**"]
    database: ["db/**", "migrations/**"]
alerts:
  labels: ["production-error"]
  assignees: []
  auto_close: false
  reopen_window: 7d
"""


def test_empty_file_gives_defaults() -> None:
    loaded = parse_repo_config("")
    assert loaded.errors == []
    assert loaded.config == RepoConfig()
    assert loaded.config.review.autofix is True
    assert loaded.config.alerts.reopen_window == timedelta(days=7)


def test_the_contract_example_parses_without_errors() -> None:
    loaded = parse_repo_config(CONTRACT_EXAMPLE)
    assert loaded.errors == []
    production = loaded.config.deploy.environments["production"]
    assert production.allowed == ["alice", "acme/release-team"]
    assert production.health is not None
    assert production.health.max_latency == timedelta(seconds=2)
    assert production.health.interval == timedelta(seconds=30)


def test_invalid_value_names_the_key_and_keeps_other_sections() -> None:
    loaded = parse_repo_config("review:\n  fail_on: fatal\nalerts:\n  auto_close: true\n")
    assert loaded.errors == [
        ".github/deckhand.yml: `review.fail_on`: Input should be 'error', 'warning' or "
        "'notice' (got 'fatal')"
    ]
    assert loaded.invalid_sections == {"review"}
    assert loaded.config.review.fail_on == "error"
    assert loaded.config.alerts.auto_close is True


def test_unknown_key_is_reported() -> None:
    loaded = parse_repo_config("review:\n  autofx: false\n")
    assert loaded.errors == [".github/deckhand.yml: unknown key `review.autofx`"]
    assert loaded.config.review.autofix is True


def test_yaml_syntax_error_has_a_position() -> None:
    loaded = parse_repo_config("review:\n  paths: [a, b\n")
    assert len(loaded.errors) == 1
    assert "invalid YAML at line 3, column 1" in loaded.errors[0]
    assert loaded.config == RepoConfig()


def test_a_list_at_the_top_is_refused() -> None:
    loaded = parse_repo_config("- review\n")
    assert loaded.errors == [".github/deckhand.yml: the file must be a mapping of keys, not list"]


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("500ms", 0.5), ("1s", 1), ("30s", 30), ("10m", 600), ("2h", 7200), ("7d", 604800), (5, 5)],
)
def test_durations(text: object, seconds: float) -> None:
    assert parse_duration(text).total_seconds() == seconds


@pytest.mark.parametrize("text", ["0s", "-1s", "soon", "10 minutes", True, ""])
def test_bad_durations_are_refused(text: object) -> None:
    with pytest.raises(ValueError):
        parse_duration(text)


def test_shipped_schema_matches_the_models() -> None:
    assert SCHEMA_FILE.read_text() == render_schema(), "run: python -m app schema > " + str(
        SCHEMA_FILE
    )


def test_shipped_schema_accepts_the_example_and_rejects_typos() -> None:
    import yaml

    schema = json.loads(SCHEMA_FILE.read_text())
    jsonschema.validate(yaml.safe_load(CONTRACT_EXAMPLE), schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"review": {"fail_on": "fatal"}}, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"alerts": {"reopen_window": "soon"}}, schema)


def test_non_string_keys_and_yaml_bombs_give_bounded_messages() -> None:
    loaded = parse_repo_config("on: push\n1: x\nreview: {fail_on: warning}\n")
    assert loaded.errors and loaded.config.review.fail_on == "warning"
    bomb = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
    previous = "a"
    for name in "bcdefghij":
        bomb += f"{name}: &{name} [" + ",".join(["*" + previous] * 9) + "]\n"
        previous = name
    bomb += "review:\n  paths: *i\n"
    loaded = parse_repo_config(bomb)
    assert len(loaded.errors) <= 21
    assert sum(len(message) for message in loaded.errors) < 10_000
    assert loaded.config.review.paths == ["**/*.py"]
