"""Structured logging: JSON lines (or console) with the delivery's context bound on every line.

A last processor scrubs anything that looks like a credential (GitHub tokens, JWTs,
`Authorization` values, URLs with passwords, private keys) and every configured secret
value, so no token or secret reaches a log line, whatever a caller passes in.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterable, MutableMapping
from typing import Any

import orjson
import structlog

REDACTED = "[redacted]"

_CREDENTIAL_PATTERNS = [
    r"\b(?:gh[pousr]_[A-Za-z0-9]{20,255}|github_pat_[A-Za-z0-9_]{20,255})",
    r"\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*",
    r"\b(?i:token|bearer|basic) +[A-Za-z0-9._~+/=-]{8,}",
    r"(?<=://)[^/\s:@]+:[^/\s@]+(?=@)",
    r"-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?(?:-----END [A-Z ]*PRIVATE KEY-----|$)",
    r"\bsk-[A-Za-z0-9_-]{16,}",
]
_SENSITIVE_KEYS = {"authorization", "token", "password", "secret", "private_key", "jwt", "cookie"}


class Redactor:
    """Replaces credentials and known secret values in every string of a log event."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self.set_secrets(secrets)

    def set_secrets(self, secrets: Iterable[str]) -> None:
        parts = list(_CREDENTIAL_PATTERNS)
        parts += [re.escape(s) for s in sorted(set(secrets), key=len, reverse=True) if s]
        self._pattern = re.compile("|".join(f"(?:{p})" for p in parts))

    def scrub(self, value: Any) -> Any:
        if isinstance(value, str):
            return self._pattern.sub(REDACTED, value)
        if isinstance(value, dict):
            return {
                k: REDACTED if str(k).lower() in _SENSITIVE_KEYS else self.scrub(v)
                for k, v in value.items()
            }
        if isinstance(value, list | tuple):
            return [self.scrub(v) for v in value]
        if isinstance(value, bytes | bytearray):
            return self.scrub(value.decode("utf-8", "replace"))
        if isinstance(value, BaseException):
            return self.scrub(repr(value))
        return value

    def __call__(self, _logger: Any, _name: str, event: MutableMapping[str, Any]) -> Any:
        return self.scrub(dict(event))


redactor = Redactor()


def _dumps(obj: Any, default: Any = None) -> str:
    return orjson.dumps(obj, default=default or str).decode()


def configure_logging(level: str = "info", fmt: str = "json", secrets: Iterable[str] = ()) -> None:
    """Route structlog and the standard library's loggers through one redacting pipeline."""
    redactor.set_secrets(secrets)
    renderer: Any = (
        structlog.processors.JSONRenderer(serializer=_dumps)
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.format_exc_info,
    ]
    structlog.configure(
        processors=[
            # First: a call below the level costs a method call, not the whole pipeline.
            structlog.stdlib.filter_by_level,
            *shared,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[structlog.stdlib.ExtraAdder(), *shared],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.EventRenamer("message"),
            redactor,
            renderer,
        ],
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # aiohttp's access log costs a line per delivery; keep it for debugging only.
    logging.getLogger("aiohttp.access").setLevel("DEBUG" if level == "debug" else "WARNING")
    logging.getLogger("alembic").setLevel("WARNING")
    # procrastinate logs two info lines per job; Deckhand logs what its jobs did.
    logging.getLogger("procrastinate").setLevel("DEBUG" if level == "debug" else "WARNING")


def get_logger(name: str) -> Any:
    return structlog.stdlib.get_logger(name)
