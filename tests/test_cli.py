"""`python -m app` as operators run it: configuration errors, the schema, usage errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from app.config.schema import SCHEMA_FILE
from app.config.settings import Settings


def run(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app", *args],
        env={**os.environ, "LOG_LEVEL": "warning", **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_schema_command_prints_the_shipped_schema() -> None:
    result = run("schema")
    assert result.returncode == 0
    assert json.loads(result.stdout) == json.loads(SCHEMA_FILE.read_text())


def test_an_invalid_setting_is_a_configuration_error_naming_it() -> None:
    result = run("schema", PORT="not-a-number")
    assert result.returncode == 2
    assert "configuration error: PORT" in result.stderr
    assert "Traceback" not in result.stderr


def test_an_unknown_command_is_a_usage_error() -> None:
    result = run("frobnicate")
    assert result.returncode == 2
    assert "invalid choice" in result.stderr


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"DATABASE_URL": "mysql://db/deckhand"}, "DATABASE_URL must be sqlite:///PATH or"),
        ({"DATABASE_URL": "not a url"}, "DATABASE_URL must be"),
        ({"QUEUE_URL": "redis://localhost"}, "QUEUE_URL must be postgresql://"),
        ({"GITHUB_PRIVATE_KEY_PATH": "/no/such/key.pem"}, "GITHUB_PRIVATE_KEY_PATH: no such file"),
        ({"GITHUB_PRIVATE_KEY": "not-a-key-but-secret"}, "GITHUB_PRIVATE_KEY does not hold a PEM"),
    ],
)
def test_settings_that_would_fail_later_are_refused_at_start(
    env: dict[str, str], message: str
) -> None:
    result = run("deliveries", "list", **env)
    assert result.returncode == 2, result.stderr
    assert f"configuration error: {message}" in result.stderr
    assert "Traceback" not in result.stderr and "not-a-key-but-secret" not in result.stderr


def test_the_postgres_scheme_is_postgresql_too() -> None:
    from app.queue.distributed import conninfo

    url = "postgres://deckhand@127.0.0.1:5432/deckhand"
    settings = Settings(_env_file=None, database_url=url, queue_url=url)  # type: ignore[call-arg]
    assert settings.database_url == url
    assert conninfo(url) == "postgresql://deckhand@127.0.0.1:5432/deckhand"


def test_private_key_from_a_file_or_with_literal_newlines(tmp_path: Path, app_keys: Any) -> None:
    pem = app_keys.private_pem
    (tmp_path / "key.pem").write_text(pem)
    from_file = Settings(_env_file=None, github_private_key_path=tmp_path / "key.pem")  # type: ignore[call-arg]
    assert from_file.private_key_pem() == pem
    escaped = Settings(_env_file=None, github_private_key=SecretStr(pem.replace("\n", "\\n")))  # type: ignore[call-arg]
    assert escaped.private_key_pem() == pem
    assert "GITHUB_APP_ID" in escaped.missing_app_credentials()
