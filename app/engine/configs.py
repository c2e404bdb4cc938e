"""Config file syntax checks: strict JSON, YAML (all documents) and TOML.

It only parses. It must never build objects from tags, resolve includes, serialize or print
what it parsed, or run anything. YAML is *composed* into a node graph but not constructed
into Python objects: that is all a syntax check needs, so custom tags (CloudFormation
``!Ref``, GitLab ``!reference``, even ``!!python/object``) and values that only fail on
construction are not findings, and alias bombs ("billion laughs") stay shared nodes.
"""

from __future__ import annotations

import json
import re
import tomllib
from fnmatch import fnmatchcase
from pathlib import PurePosixPath

import yaml

from app.engine.findings import Finding, clamp_position

_NEWLINE = re.compile(r"\r\n|\r|\n")
_TOML_POSITION = re.compile(r"\s*\(at line (\d+), column (\d+)\)$")
_TOML_AT_END = re.compile(r"\s*\(at end of document\)$")

# JSON files that are JSON-with-comments by design: not strict JSON, not checked.
_JSONC_NAMES = ("tsconfig*.json", "jsconfig*.json")
_JSONC_DIRS = (".vscode", ".devcontainer")

_BaseLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _SyntaxOnlyLoader(_BaseLoader):  # type: ignore[valid-type,misc]
    """A safe loader used only to compose nodes; any tag is accepted if ever constructed."""


def _construct_any(loader: yaml.SafeLoader, node: yaml.Node) -> object:
    if isinstance(node, yaml.ScalarNode):
        return loader.construct_scalar(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node)
    if isinstance(node, yaml.MappingNode):
        return loader.construct_mapping(node)
    return None


_SyntaxOnlyLoader.add_constructor(None, _construct_any)


def is_config_file(path: str) -> bool:
    """True for the files ``check_config_file`` checks: .json (strict), .yml/.yaml, .toml."""
    return _kind(path) is not None


def check_config_file(path: str, text: str) -> list[Finding]:
    """Return one finding for the first syntax error of a JSON, YAML or TOML file, or ``[]``.

    Rule ids: ``config/json``, ``config/yaml``, ``config/toml``; severity ERROR. Other file
    types, and JSON-with-comments files (``tsconfig*.json``, ``jsconfig*.json``, ``*.jsonc``,
    ``.vscode/**/*.json``, ``.devcontainer/**/*.json``), give ``[]``. Positions are 1-based,
    in characters, inside the text; a leading BOM is not counted.
    """
    kind = _kind(path)
    source = text[1:] if text.startswith("\ufeff") else text
    if kind == "json":
        return _check_json(path, source)
    if kind == "yaml":
        return _check_yaml(path, source)
    if kind == "toml":
        return _check_toml(path, source)
    return []


def _kind(path: str) -> str | None:
    pure = PurePosixPath(path.replace("\\", "/"))
    name = pure.name.lower()
    if name.endswith((".yml", ".yaml")):
        return "yaml"
    if name.endswith(".toml"):
        return "toml"
    if not name.endswith(".json"):
        return None  # .jsonc included: JSON with comments
    if any(fnmatchcase(name, pattern) for pattern in _JSONC_NAMES):
        return None
    if any(part.lower() in _JSONC_DIRS for part in pure.parts[:-1]):
        return None
    return "json"


def _check_json(path: str, source: str) -> list[Finding]:
    try:
        json.loads(source)
    except json.JSONDecodeError as exc:
        # JSON counts lines by "\n" and columns in characters from the last "\n".
        line = source.count("\n", 0, exc.pos) + 1
        column = exc.pos - source.rfind("\n", 0, exc.pos)
        return [_finding(path, source, "config/json", f"invalid JSON: {exc.msg}", line, column)]
    except RecursionError:
        message = "invalid JSON: nested too deeply to parse"
        return [_finding(path, source, "config/json", message, 1, 1)]
    return []


def _check_yaml(path: str, source: str) -> list[Finding]:
    try:
        for _node in yaml.compose_all(source, Loader=_SyntaxOnlyLoader):
            pass
    except yaml.MarkedYAMLError as exc:
        problem = exc.problem or "syntax error"
        message = f"invalid YAML: {problem}"
        if exc.context:
            message += f" ({exc.context})"
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
        return [_finding(path, source, "config/yaml", message, line, column)]
    except yaml.reader.ReaderError as exc:  # a control character, for example
        line, column = _position_of(source, exc.position)
        message = f"invalid YAML: unacceptable character #x{exc.character:04x}: {exc.reason}"
        return [_finding(path, source, "config/yaml", message, line, column)]
    except yaml.YAMLError as exc:
        return [_finding(path, source, "config/yaml", f"invalid YAML: {exc}", 1, 1)]
    except RecursionError:
        message = "invalid YAML: nested too deeply to parse"
        return [_finding(path, source, "config/yaml", message, 1, 1)]
    return []


def _check_toml(path: str, source: str) -> list[Finding]:
    try:
        tomllib.loads(source)
    except tomllib.TOMLDecodeError as exc:
        text = str(exc)
        match = _TOML_POSITION.search(text)
        if match:
            line, column = int(match.group(1)), int(match.group(2))
            text = text[: match.start()]
        else:
            end = _TOML_AT_END.search(text)
            line, column = _end_of(source)
            if end:
                text = text[: end.start()]
        return [_finding(path, source, "config/toml", f"invalid TOML: {text}", line, column)]
    except RecursionError:
        message = "invalid TOML: nested too deeply to parse"
        return [_finding(path, source, "config/toml", message, 1, 1)]
    return []


def _lines(source: str) -> list[str]:
    lines = _NEWLINE.split(source)
    if len(lines) > 1 and lines[-1] == "":
        lines.pop()
    return lines


def _position_of(source: str, index: int) -> tuple[int, int]:
    before = source[:index]
    line = len(_NEWLINE.findall(before)) + 1
    return line, index - max(before.rfind("\n"), before.rfind("\r"))


def _end_of(source: str) -> tuple[int, int]:
    lines = _lines(source)
    return len(lines), len(lines[-1]) + 1


def _finding(path: str, source: str, rule: str, message: str, line: int, column: int) -> Finding:
    """A one-character finding, moved onto a real line and a column up to its end."""
    line, column = clamp_position(_lines(source), line, column)
    return Finding.error(path, rule, message, line, column)
