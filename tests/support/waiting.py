"""`eventually`: poll a condition (plain or awaitable) until it holds, or fail the test."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any


async def eventually(check: Callable[[], Any], within: float = 15.0) -> Any:
    """The first truthy result of `check()`, polled every 50 ms; AssertionError after
    `within` seconds."""
    deadline = time.monotonic() + within
    while True:
        result = check()
        if isinstance(result, Awaitable):
            result = await result
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.05)
