"""Slash commands in new comments (`issue_comment` created; edits are never re-run).

Parsed by `app.commands.parse_comment`; each command gets a reply, the comment gets 👀
then 🚀 or 😕. Review commands (`/validate`, `/fix`, `/review`) work on pull requests
and need write access to the repository; `/propose-fix` works in an alert's issue, needs
write access too, and goes to `app.alerts.propose`; deploy commands go to
`app.deploy.commands`, which checks its own rules; `/help` answers anyone. Comments by bots are
ignored, so two bots cannot talk each other into a loop.
"""

from dataclasses import replace
from typing import Any

from gidgethub import sansio
from gidgethub.routing import Router

from app.alerts.propose import ProposeFix as ProposeFixRun
from app.chatops.permissions import can_write
from app.chatops.replies import CommentReplies
from app.commands import (
    CommandError,
    Deploy,
    Fix,
    Help,
    History,
    Lock,
    ParseResult,
    ProposeFix,
    Review,
    Rollback,
    Status,
    Unlock,
    parse_comment,
    usage,
)
from app.deploy import commands as deploy_commands
from app.review.runner import review
from app.review.target import ReviewTarget, from_pull

router = Router()


@router.register("issue_comment", action="created")
async def on_comment(event: sansio.Event, gh: Any, *args: Any, context: Any, **kw: Any) -> None:
    data = event.data
    comment = data["comment"]
    if data["sender"].get("type") == "Bot" or comment["user"].get("type") == "Bot":
        return
    results = parse_comment(comment.get("body"))
    if not results:
        return
    if not context.github_app.configured or context.installation_id is None:
        context.log.info("commands_not_answered", reason="no App credentials or installation")
        return
    repository = data["repository"]["full_name"]
    replies = CommentReplies(gh, context.db, repository, data["issue"]["number"], comment["id"])
    await replies.react("eyes")
    succeeded = True
    for result in results:
        answer, ok = await _answer(result, event, gh, context, replies)
        succeeded &= ok
        await replies.say(
            result.line, f"> {_quote(comment.get('body') or '', result.line)}\n\n{answer}"
        )
    await replies.react("rocket" if succeeded else "confused")


async def _answer(
    result: ParseResult, event: sansio.Event, gh: Any, context: Any, replies: CommentReplies
) -> tuple[str, bool]:
    if isinstance(result, CommandError):
        hint = f" Did you mean `/{result.suggestion}`?" if result.suggestion else ""
        return f"{result.message}{hint}\n\n{result.usage}".strip(), False
    if isinstance(result, Help):
        return usage(result.topic), True
    if isinstance(result, Deploy | Rollback | Lock | Unlock | Status | History):
        given = await _deploy_input(event, gh, context)
        quote = f"> {_quote(event.data['comment'].get('body') or '', result.line)}\n\n"

        async def progress(text: str) -> None:
            await replies.say(result.line, quote + text)

        return await deploy_commands.run(result, replace(given, progress=progress))
    data = event.data
    login = data["comment"]["user"]["login"]
    if isinstance(result, ProposeFix):
        return await _propose_fix(event, gh, context)
    if not data["issue"].get("pull_request"):
        return f"`/{result.name}` works on pull requests.", False
    if not await can_write(gh, data["repository"]["full_name"], login):
        return f"Sorry @{login}, `/{result.name}` needs write access to this repository.", False
    target = await _pull_request_target(gh, data)
    if isinstance(target, str):
        return f"Nothing to review: {target}.", False
    if isinstance(result, Fix):
        target = target.with_fixes()
    elif isinstance(result, Review):
        target = target.with_ai()
    context.log.info("command_accepted", command=result.name, user=login)
    return await review(target, context), True


async def _propose_fix(event: sansio.Event, gh: Any, context: Any) -> tuple[str, bool]:
    data = event.data
    login = data["comment"]["user"]["login"]
    if data["issue"].get("pull_request"):
        return "`/propose-fix` only works in an alert issue opened by Deckhand.", False
    if not await can_write(gh, data["repository"]["full_name"], login):
        return f"Sorry @{login}, `/propose-fix` needs write access to this repository.", False
    context.log.info("command_accepted", command="propose-fix", user=login)
    run = ProposeFixRun(gh, context, data["repository"], int(data["issue"]["number"]), login)
    return await run.run()


async def _deploy_input(event: sansio.Event, gh: Any, context: Any) -> deploy_commands.CommandInput:
    data = event.data
    comment = data["comment"]
    return await deploy_commands.command_input(
        context,
        gh,
        repository=data["repository"]["full_name"],
        actor=comment["user"]["login"],
        issue_number=data["issue"]["number"],
        is_pull_request=bool(data["issue"].get("pull_request")),
        comment_id=comment["id"],
        comment_created_at=comment.get("created_at"),
        comment_url=comment.get("html_url"),
        clone_url=data["repository"].get("clone_url") or "",
    )


async def _pull_request_target(gh: Any, data: dict[str, Any]) -> ReviewTarget | str:
    owner, repo = data["repository"]["full_name"].split("/", 1)
    pull = await gh.getitem(
        "/repos/{owner}/{repo}/pulls/{pull_number}",
        url_vars={"owner": owner, "repo": repo, "pull_number": str(data["issue"]["number"])},
    )
    return from_pull(pull, data["repository"])


def _quote(body: str, line: int) -> str:
    lines = body.splitlines()
    return lines[line - 1].strip()[:200] if 0 < line <= len(lines) else ""
