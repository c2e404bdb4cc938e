"""A deployment's new status, however it was reported (the workflow's `deployment_status`,
the `webhook` backend's callback, a Railway poll), and what follows from it.

The history row and the environment's slot follow (a final state frees it); success
starts the health watch when the environment has `health:`; the command's reply comment
is edited to say how it went (an `inactive` report leaves it as it was); Slack hears of
final outcomes; and last, success marks the deployments it supersedes inactive (GitHub
does so itself only outside production).
"""

from __future__ import annotations

from typing import Any

from app.chatops.replies import CommentReplies
from app.deploy import watch
from app.deploy.deployer import settle, supersede
from app.deploy.notify import notify
from app.deploy.store import DeploymentRecord, DeployStore

NOTIFIED = frozenset({"success", "failure", "error"})  # told to Slack when configured
ICONS = {"success": "✅", "failure": "❌", "error": "❌", "in_progress": "⏳", "inactive": "💤"}


async def follow_status(
    gh: Any, context: Any, deployment_id: int, state: str, log_url: str | None, default_branch: str
) -> None:
    """Follow `state` (see the module docstring); superseding runs also on a repeated
    success report, so a retried job finishes what a failed attempt left undone."""
    store = DeployStore(context.db)
    record = await settle(store, deployment_id, state)
    if record is not None:  # else not a deployment Deckhand made, or a repeated or late report
        await _follow(gh, context, record, state, log_url, default_branch)
    if state == "success":
        await supersede(gh, store, deployment_id, context.log)


async def _follow(
    gh: Any,
    context: Any,
    record: DeploymentRecord,
    state: str,
    log_url: str | None,
    default_branch: str,
) -> None:
    context.log.info("deployment_status", deployment=record.id, state=state)
    config = (await context.config()).config.deploy
    environment = config.environments.get(record.environment)
    if state == "success" and environment is not None and environment.health is not None:
        await watch.begin(
            context.db, record, context.installation_id, environment.health, default_branch
        )
    if state != "inactive":  # superseded later: the command's reply keeps how it went
        await _edit_reply(gh, context, record, state, log_url)
    if state in NOTIFIED:
        what = "rollback" if record.rollback_of else "deployment"
        text = (
            f"Deckhand: {record.repository} {record.environment}: {what} {record.id} "
            f"of {record.sha[:7]} by {record.actor}: {state}."
        )
        await notify(context.settings, text, context.log)


async def _edit_reply(
    gh: Any, context: Any, record: DeploymentRecord, state: str, log_url: str | None
) -> None:
    key = await DeployStore(context.db).command_key(record.id)
    if key is None or record.pull_number is None or ":" not in key:
        return
    comment_id, _, line = key.partition(":")
    if not comment_id.isdigit() or not line.isdigit():
        return
    replies = CommentReplies(gh, context.db, record.repository, record.pull_number, int(comment_id))
    log = f" ([log]({log_url}))" if log_url else ""
    what = "Rollback" if record.rollback_of else "Deployment"
    await replies.say(
        int(line),
        f"{ICONS.get(state, '•')} {what} {record.id} of `{record.sha[:7]}` to "
        f"**{record.environment}**: {state}{log}.",
    )
