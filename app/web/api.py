"""The deploy commands over HTTP, for `python -m app deploy|rollback|status`.

`POST /api/commands` with `Authorization: Bearer <the user's GitHub token>` and JSON
`{"repository": "owner/name", "command": "/deploy production", "ref": "main"}` (ref
optional): the token is checked with GitHub, the command parsed by the one command
parser, and the request stored on the durable queue; 202 `{"job": id}`. The worker then
applies exactly the rules of the comment command (`app.deploy.commands`) as that user.
`GET /api/jobs/{id}` (same user) answers `{"status", "ok", "reply"}`.
"""

from __future__ import annotations

import uuid
from typing import Any

import orjson
from aiohttp import web

from app.api import API_EVENT
from app.api.results import ApiResults
from app.api.users import NotAuthenticated, login_for
from app.commands import (
    CommandError,
    Deploy,
    History,
    Lock,
    Rollback,
    Status,
    Unlock,
    parse_comment,
)
from app.installations import InstallationStore
from app.store.deliveries import NewDelivery
from app.web.errors import json_error
from app.web.keys import SERVICE

routes = web.RouteTableDef()
MAX_BODY = 16 * 1024
DEPLOY_FAMILY = (Deploy, Rollback, Lock, Unlock, Status, History)


async def _caller(request: web.Request) -> str | web.Response:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() not in ("bearer", "token") or not token.strip():
        return json_error(401, "send your GitHub token: Authorization: Bearer <token>")
    try:
        return await login_for(request.app[SERVICE].settings.github_api_url, token.strip())
    except NotAuthenticated as exc:
        return json_error(401, str(exc))


@routes.post("/api/commands")
async def post_command(request: web.Request) -> web.Response:
    if request.content_length is not None and request.content_length > MAX_BODY:
        return json_error(413, f"body larger than {MAX_BODY} bytes")
    body = await request.content.read(MAX_BODY + 1)
    if len(body) > MAX_BODY:
        return json_error(413, f"body larger than {MAX_BODY} bytes")
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return json_error(400, "the body is not JSON")
    problem = _shape_problem(data)
    if problem:
        return json_error(400, problem)
    parsed = parse_comment(data["command"])
    if len(parsed) != 1:
        return json_error(400, "send exactly one command, e.g. /deploy production")
    [command] = parsed
    if isinstance(command, CommandError):
        hint = f" (did you mean /{command.suggestion}?)" if command.suggestion else ""
        return json_error(400, f"{command.message}{hint}")
    if not isinstance(command, DEPLOY_FAMILY):
        return json_error(400, f"/{command.name} is not a deploy command")
    login = await _caller(request)
    if isinstance(login, web.Response):
        return login
    service = request.app[SERVICE]
    repository = data["repository"]
    installation = await InstallationStore(service.db).installation_for(repository)
    if installation is None:
        return json_error(404, f"Deckhand is not installed on {repository}")
    job_id = f"api-{uuid.uuid4()}"
    payload = {
        "command": data["command"],
        "ref": data.get("ref"),
        "login": login,
        "installation": {"id": installation},
        "repository": {"full_name": repository},
    }
    job = NewDelivery(
        id=job_id,
        event=API_EVENT,
        payload=orjson.dumps(payload),
        installation_id=installation,
        repository=repository,
        source="api",
    )
    assert service.batcher is not None
    try:
        await service.batcher.submit(job)
    except Exception:
        return json_error(503, "could not store the request; try again")
    return web.json_response({"job": job_id, "status": "queued"}, status=202)


def _shape_problem(data: Any) -> str | None:
    if not isinstance(data, dict):
        return "the body must be a JSON object"
    repository, command, ref = data.get("repository"), data.get("command"), data.get("ref")
    if not isinstance(repository, str) or repository.count("/") != 1 or len(repository) > 200:
        return "`repository` must be OWNER/NAME"
    if not isinstance(command, str) or not command.strip() or len(command) > 1000:
        return "`command` must be one command, e.g. /deploy production"
    if ref is not None and (not isinstance(ref, str) or not ref or len(ref) > 250):
        return "`ref` must be a branch, tag or commit id"
    return None


@routes.get("/api/jobs/{job_id}")
async def get_job(request: web.Request) -> web.Response:
    login = await _caller(request)
    if isinstance(login, web.Response):
        return login
    service = request.app[SERVICE]
    job_id = request.match_info["job_id"]
    result = await ApiResults(service.db).get(job_id)
    if result is not None:
        if result["login"].lower() != login.lower():
            return json_error(404, "no such job")
        return web.json_response(
            {"status": "done", "ok": bool(result["ok"]), "reply": result["reply"]}
        )
    delivery = await service.deliveries.get(job_id)
    if delivery is None or delivery.source != "api":
        return json_error(404, "no such job")
    if orjson.loads(delivery.payload).get("login", "").lower() != login.lower():
        return json_error(404, "no such job")
    if delivery.status == "dead":
        return web.json_response({"status": "failed", "ok": False, "reply": "the request failed"})
    return web.json_response({"status": delivery.status, "ok": None, "reply": None})
