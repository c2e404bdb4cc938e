"""Reads `.github/deckhand.yml` from a repository's default branch and validates it.

Always from the default branch, never from a pull request's head: a PR must not be able
to switch the bot off or widen who may deploy. A broken file never stops the bot: each
top-level section that fails validation falls back to its defaults, and the errors are
returned as messages that name the offending key, for the check run and the logs.
"""

from __future__ import annotations

import base64
import reprlib
from dataclasses import dataclass, field
from typing import Any

import yaml
from cachetools import TTLCache
from gidgethub import BadRequest
from gidgethub.abc import GitHubAPI
from pydantic import ValidationError

from app.config.repo import RepoConfig

CONFIG_PATH = ".github/deckhand.yml"
MAX_CONFIG_BYTES = 256 * 1024
MAX_MESSAGES = 20


@dataclass(frozen=True)
class LoadedConfig:
    config: RepoConfig
    errors: list[str] = field(default_factory=list)
    invalid_sections: frozenset[str] = frozenset()
    found: bool = False


def _key(loc: tuple[Any, ...]) -> str:
    return ".".join(str(part) for part in loc) or "(top level)"


_SHORT = reprlib.Repr()
_SHORT.maxlevel, _SHORT.maxdict, _SHORT.maxlist, _SHORT.maxstring = 2, 4, 4, 60


def _message(error: Any) -> str:
    where = _key(error["loc"])
    if error["type"] == "extra_forbidden":
        return f"{CONFIG_PATH}: unknown key `{where}`"
    # Bounded: YAML aliases can make a small file expand into a huge value.
    return f"{CONFIG_PATH}: `{where}`: {error['msg']} (got {_SHORT.repr(error['input'])})"


def parse_repo_config(text: str) -> LoadedConfig:
    """Validate the file's text; never raises."""
    try:
        raw = yaml.safe_load(text) if text.strip() else {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        return LoadedConfig(
            RepoConfig(), [f"{CONFIG_PATH}: invalid YAML{where}: {problem}"], found=True
        )
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        return LoadedConfig(
            RepoConfig(),
            [f"{CONFIG_PATH}: the file must be a mapping of keys, not {type(raw).__name__}"],
            found=True,
        )
    try:
        return LoadedConfig(RepoConfig.model_validate(raw), found=True)
    except ValidationError as exc:
        errors = exc.errors()
    messages = [_message(error) for error in errors[:MAX_MESSAGES]]
    if len(errors) > MAX_MESSAGES:
        messages.append(f"{CONFIG_PATH}: and {len(errors) - MAX_MESSAGES} more errors")
    invalid = {error["loc"][0] for error in errors if error["loc"]}
    kept = {k: v for k, v in raw.items() if isinstance(k, str) and k not in invalid}
    try:
        config = RepoConfig.model_validate(kept)
    except ValidationError:  # cannot happen with whole sections dropped; stay safe anyway
        config = RepoConfig()
    sections = frozenset(str(key) for key in invalid)
    return LoadedConfig(config, messages, sections, found=True)


async def load_repo_config(gh: GitHubAPI, repository: dict[str, Any]) -> LoadedConfig:
    """Fetch and parse the file on the repository's default branch (defaults when absent)."""
    owner, name = repository["full_name"].split("/", 1)
    try:
        item = await gh.getitem(
            "/repos/{owner}/{repo}/contents/{+path}{?ref}",
            url_vars={
                "owner": owner,
                "repo": name,
                "path": CONFIG_PATH,
                "ref": repository.get("default_branch") or "main",
            },
        )
    except BadRequest as exc:
        if int(exc.status_code) == 404:
            return LoadedConfig(RepoConfig())
        raise
    if not isinstance(item, dict) or item.get("type") != "file":
        return LoadedConfig(RepoConfig(), [f"{CONFIG_PATH} is not a file"], found=True)
    if item.get("size", 0) > MAX_CONFIG_BYTES or item.get("encoding") != "base64":
        return LoadedConfig(
            RepoConfig(), [f"{CONFIG_PATH} is larger than {MAX_CONFIG_BYTES} bytes"], found=True
        )
    try:
        text = base64.b64decode(item["content"]).decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        return LoadedConfig(RepoConfig(), [f"{CONFIG_PATH} is not UTF-8 text"], found=True)
    return parse_repo_config(text)


# Read once a minute per repository at most; a push that changes the file on the default
# branch drops the entry at once (see `forget_repo_config`).
_RECENT: TTLCache[tuple[str, str], LoadedConfig] = TTLCache(maxsize=10_000, ttl=60)


async def cached_repo_config(
    gh: GitHubAPI, repository: dict[str, Any], api_url: str, remember: bool = True
) -> LoadedConfig:
    """`load_repo_config`, remembered for a minute unless `remember` is off."""
    key = (api_url, repository["full_name"].lower())
    loaded = _RECENT.get(key) if remember else None
    if loaded is None:
        loaded = await load_repo_config(gh, repository)
        if remember:
            _RECENT[key] = loaded
    return loaded


def forget_repo_config(api_url: str, full_name: str) -> None:
    _RECENT.pop((api_url, full_name.lower()), None)
