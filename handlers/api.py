"""Deploy commands that came through the HTTP API (`deckhand_api_command` jobs): the same
rules and code as the comment commands, as the user who sent them; the answer is kept for
the caller to fetch."""

from typing import Any

from gidgethub import sansio
from gidgethub.routing import Router

from app.api import API_EVENT
from app.api.results import ApiResults
from app.commands import CommandError, parse_comment
from app.deploy import commands as deploy_commands

router = Router()


@router.register(API_EVENT)
async def on_api_command(event: sansio.Event, gh: Any, *args: Any, context: Any, **kw: Any) -> None:
    data = event.data
    results = ApiResults(context.db)
    [command] = parse_comment(data["command"])  # checked by the web tier
    if isinstance(command, CommandError):
        await results.put(event.delivery_id, data["login"], False, command.message)
        return
    repository = data["repository"]["full_name"]
    owner, name = repository.split("/", 1)
    shown = await gh.getitem("/repos/{owner}/{repo}", url_vars={"owner": owner, "repo": name})
    given = await deploy_commands.command_input(
        context,
        gh,
        repository=repository,
        actor=data["login"],
        issue_number=0,
        is_pull_request=False,
        comment_id=0,
        comment_created_at=None,
        comment_url=None,
        clone_url=shown.get("clone_url") or "",
        ref=data.get("ref") or shown.get("default_branch") or "main",
        request_key=event.delivery_id,
    )
    reply, ok = await deploy_commands.run(command, given)
    await results.put(event.delivery_id, data["login"], ok, reply)
    context.log.info("api_command", command=command.name, user=data["login"], ok=ok)
