"""Exceptions a job may raise to steer the queue's retry policy."""

from __future__ import annotations


class PermanentError(Exception):
    """Retrying cannot help (bad input, a 4xx from GitHub): dead-letter at once."""


class RetryLater(Exception):
    """Transient, with a known time to try again (e.g. GitHub's rate-limit reset)."""

    def __init__(self, message: str, *, at: float) -> None:
        super().__init__(message)
        self.at = at
