"""check_config_file: JSON, YAML and TOML syntax, with exact 1-based character positions."""

from __future__ import annotations

import pytest

from app.engine.configs import check_config_file, is_config_file
from app.engine.findings import Severity


def one(path: str, text: str):
    findings = check_config_file(path, text)
    assert len(findings) == 1
    finding = findings[0]
    assert finding.severity is Severity.ERROR
    assert finding.end_line == finding.line
    assert finding.end_column == finding.column + 1
    return finding


def where(finding):
    return (finding.line, finding.column)


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("package.json", True),
        ("dir\\sub\\DATA.JSON", True),
        ("a.yml", True),
        ("b.YAML", True),
        ("pyproject.toml", True),
        ("tsconfig.json", False),
        ("web/tsconfig.app.json", False),
        ("jsconfig.json", False),
        (".vscode/settings.json", False),
        ("a/.vscode/sub/launch.json", False),
        (".devcontainer/devcontainer.json", False),
        ("x.jsonc", False),
        ("README.md", False),
        ("setup.cfg", False),
    ],
)
def test_is_config_file(path: str, expected: bool) -> None:
    assert is_config_file(path) is expected


@pytest.mark.parametrize(
    "path", ["tsconfig.json", ".vscode/settings.json", ".devcontainer/devcontainer.json", "a.jsonc"]
)
def test_json_with_comments_files_are_skipped(path: str) -> None:
    assert check_config_file(path, '{\n  // comment\n  "a": 1,\n}\n') == []


def test_other_files_are_ignored() -> None:
    assert check_config_file("a.py", "{{{") == []


# JSON


@pytest.mark.parametrize(
    "text", ['{"a": 1}', "[]", "\ufeff{}", '{"a": 1, "a": 2}', '{\r\n  "a": "é"\r\n}\r\n']
)
def test_valid_json(text: str) -> None:
    assert check_config_file("data.json", text) == []


@pytest.mark.parametrize(
    ("text", "message", "position"),
    [
        ('{"a": 1,\n "b": 2,,\n}', "Expecting property name enclosed in double quotes", (2, 9)),
        ('{"é": 1 "b": 2}', "Expecting ',' delimiter", (1, 9)),
        ('{"a": [1, 2\n', "Expecting ',' delimiter", (1, 12)),
        ("", "Expecting value", (1, 1)),
        ('\r\n{"a": 1\r\n "b": 2}', "Expecting ',' delimiter", (3, 2)),
        ('{"a": 1}\n// trailing\n', "Extra data", (2, 1)),
    ],
)
def test_invalid_json(text: str, message: str, position: tuple[int, int]) -> None:
    finding = one("conf/data.json", text)
    assert finding.rule == "config/json"
    assert finding.message == f"invalid JSON: {message}"
    assert where(finding) == position


# YAML

WORKFLOW = """\
name: CI
on:
  push:
    branches: [main]
  pull_request:
env: &env
  PYTHONUNBUFFERED: "1"
jobs:
  test:
    runs-on: ${{ matrix.os }}
    strategy:
      matrix:
        os: [ubuntu-latest, windows-latest]
        python: ["3.11", "3.12"]
    env:
      <<: *env
      EXTRA: yes
    steps:
      - uses: actions/checkout@v4
      - name: Run
        run: |
          pip install -e .[test]
          pytest -q
"""

COMPOSE = """\
x-common: &common
  restart: unless-stopped
services:
  web:
    <<: *common
    image: "nginx:1.27"
    ports: ["8080:80"]
---
version: '3.8'
"""

CLOUDFORMATION = """\
Resources:
  Bucket:
    Type: AWS::S3::Bucket
    Properties:
      BucketName: !Sub "${AWS::StackName}-data"
      Tags: !If [IsProd, [{Key: env, Value: prod}], !Ref AWS::NoValue]
Outputs:
  Arn:
    Value: !GetAtt Bucket.Arn
  Joined: !Join
    - ""
    - - !Ref Bucket
      - "x"
"""

GITLAB = """\
.setup:
  script:
    - echo hi
test:
  script:
    - !reference [.setup, script]
    - make test
"""


@pytest.mark.parametrize(
    "text",
    [
        WORKFLOW,
        COMPOSE,
        CLOUDFORMATION,
        GITLAB,
        "",
        "---\n...\n",
        "\ufeffa: 1\n",
        "a: !!python/object/apply:os.system [echo]\n",
        "date: 2024-13-45\n",  # a construction error, not a syntax error
        "a: 1\r\nb: [1, 2]\r\n",
    ],
    ids=[
        "workflow",
        "compose",
        "cloudformation",
        "gitlab",
        "empty",
        "empty-doc",
        "bom",
        "python-tag",
        "bad-date",
        "crlf",
    ],
)
def test_valid_yaml(text: str) -> None:
    assert check_config_file(".github/workflows/ci.yml", text) == []


def test_billion_laughs_is_not_expanded() -> None:
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, 30):
        refs = ",".join([f"*a{i - 1}"] * 9)
        lines.append(f"a{i}: &a{i} [{refs}]")
    assert check_config_file("bomb.yaml", "\n".join(lines) + "\n") == []


@pytest.mark.parametrize(
    ("text", "message_start", "position"),
    [
        ("a: b: c\n", "invalid YAML: mapping values are not allowed", (1, 5)),
        ("a: 1\n a: 2\n", "invalid YAML: mapping values are not allowed", (2, 3)),
        ('key: "é" x\n', "invalid YAML: did not find expected key", (1, 10)),
        ("a: *nope\n", "invalid YAML: found undefined alias", (1, 4)),
        ("a:\n\tb: 1\n", "invalid YAML: found character that cannot start any token", (2, 1)),
        ('a: "unterminated\n', "invalid YAML: found unexpected end of stream", (1, 17)),
        ("x: \x07\n", "invalid YAML: unacceptable character #x0007", (1, 4)),
        (
            "a: 1\n---\nb: [1, 2\nc: 3\n",
            "invalid YAML: did not find expected ',' or ']'",
            (4, 2),
        ),
    ],
    ids=[
        "nested-mapping",
        "bad-indent",
        "non-ascii",
        "alias",
        "tab",
        "eof",
        "control",
        "second-document",
    ],
)
def test_invalid_yaml(text: str, message_start: str, position: tuple[int, int]) -> None:
    finding = one("deploy/app.yaml", text)
    assert finding.rule == "config/yaml"
    assert finding.message.startswith(message_start)
    assert where(finding) == position


# TOML


@pytest.mark.parametrize("text", ["", "a = 1\n", '[tool.x]\nname = "é"\r\n', "\ufeffa = 1\n"])
def test_valid_toml(text: str) -> None:
    assert check_config_file("pyproject.toml", text) == []


@pytest.mark.parametrize(
    ("text", "message", "position"),
    [
        ("a = 1\nb = \n", "Invalid value", (2, 5)),
        ('a = "é" x\n', "Expected newline or end of document after a statement", (1, 9)),
        ('a = "x', "Unterminated string", (1, 7)),
        ("a = 1\na = 2\n", "Cannot overwrite a value", (2, 6)),
        ("[a\n", "Expected ']' at the end of a table declaration", (1, 3)),
    ],
)
def test_invalid_toml(text: str, message: str, position: tuple[int, int]) -> None:
    finding = one("pyproject.toml", text)
    assert finding.rule == "config/toml"
    assert finding.message == f"invalid TOML: {message}"
    assert where(finding) == position
