"""Deploy notifications to a Slack-compatible incoming webhook (`SLACK_WEBHOOK_URL`).

Best effort: a notification that cannot be sent is logged and dropped; it never fails
or delays a deployment or a rollback by more than its short timeout.
"""

from __future__ import annotations

from typing import Any

import aiohttp

TIMEOUT = aiohttp.ClientTimeout(total=5)


async def notify(settings: Any, text: str, log: Any) -> bool:
    """Send `text`; True when the webhook took it. Off without SLACK_WEBHOOK_URL."""
    if settings.slack_webhook_url is None:
        return False
    url = settings.slack_webhook_url.get_secret_value()
    try:
        async with (
            aiohttp.ClientSession(timeout=TIMEOUT) as session,
            session.post(url, json={"text": text}) as response,
        ):
            if response.status < 300:
                return True
            log.warning("slack_refused", status=response.status)
    except (aiohttp.ClientError, TimeoutError) as exc:
        log.warning("slack_unreachable", error=type(exc).__name__)
    return False
