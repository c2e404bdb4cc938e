"""FakeRailway: Railway's public GraphQL API (`/graphql/v2`) on loopback, for the `railway`
deploy backend.

It checks `Authorization: Bearer <token>` (Railway answers a bad token with a GraphQL
error "Not Authorized"), and implements the few operations Deckhand uses, by field name,
with Railway's response shapes:

- `serviceInstanceDeployV2(serviceId, environmentId, commitSha): String!` -> a new
  deployment id (the service and environment must exist: `add_service`);
- `deployment(id) { id status url staticUrl }`.

A selection set on a scalar mutation is an error, as on Railway.

Each deployment walks a script of statuses, one per `deployment` read, and then stays on
the last one:

```python
async with FakeRailway(token) as railway:
    railway.add_service("svc", "env")
    railway.script("SUCCESS", ["BUILDING", "DEPLOYING", "SUCCESS"])  # default
    [deployment] = railway.deployments.values()  # .commit_sha, .service_id, .reads
```
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.fakes.loopback import LoopbackServer

SCALAR_MUTATIONS = {"serviceInstanceDeployV2"}


@dataclass
class RailwayDeployment:
    id: str
    service_id: str
    environment_id: str
    commit_sha: str
    statuses: list[str]
    reads: int = 0

    @property
    def status(self) -> str:
        return self.statuses[min(self.reads, len(self.statuses)) - 1] if self.reads else "QUEUED"


@dataclass
class GraphQLRequest:
    query: str
    variables: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


class FakeRailway(LoopbackServer):
    def __init__(self, token: str) -> None:
        super().__init__()
        self.token = token
        self.services: set[tuple[str, str]] = set()
        self.deployments: dict[str, RailwayDeployment] = {}
        self.requests: list[GraphQLRequest] = []
        self._script = ["BUILDING", "DEPLOYING", "SUCCESS"]

    def routes(self, app: web.Application) -> None:
        app.router.add_post("/graphql/v2", self._handle)

    @property
    def url(self) -> str:
        return f"{self.base_url}/graphql/v2"

    def add_service(self, service_id: str, environment_id: str) -> None:
        self.services.add((service_id, environment_id))

    def script(self, *statuses: str) -> None:
        """The statuses the next deployments walk through, one per read."""
        self._script = list(statuses)

    # --- the endpoint ------------------------------------------------------------------
    async def _handle(self, request: web.Request) -> web.Response:
        try:
            body = await request.json()
        except ValueError:
            return web.json_response({"errors": [{"message": "Invalid JSON"}]}, status=400)
        query = body.get("query") or ""
        variables = body.get("variables") or {}
        self.requests.append(GraphQLRequest(query, variables, dict(request.headers)))
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return _errors("Not Authorized")
        for name in SCALAR_MUTATIONS:
            if re.search(rf"\b{name}\s*\([^)]*\)\s*{{", query):
                return _errors(f'Field "{name}" must not have a selection since type is scalar')
        if "serviceInstanceDeployV2" in query:
            return self._deploy(variables)
        if re.search(r"\bdeployment\s*\(", query):
            return self._deployment(variables)
        return _errors("Cannot query field on type Query", status=400)

    def _deploy(self, variables: dict[str, Any]) -> web.Response:
        service, environment = variables.get("serviceId"), variables.get("environmentId")
        sha = variables.get("commitSha")
        if (service, environment) not in self.services:
            return _errors("Service instance not found")
        if not isinstance(sha, str) or not re.fullmatch(r"[0-9a-f]{40}", sha):
            return _errors("Invalid commit SHA")
        deployment = RailwayDeployment(
            str(uuid.uuid4()), str(service), str(environment), sha, list(self._script)
        )
        self.deployments[deployment.id] = deployment
        return web.json_response({"data": {"serviceInstanceDeployV2": deployment.id}})

    def _deployment(self, variables: dict[str, Any]) -> web.Response:
        deployment = self.deployments.get(str(variables.get("id")))
        if deployment is None:
            return _errors("Deployment not found")
        deployment.reads += 1
        shown = {
            "id": deployment.id,
            "status": deployment.status,
            "url": None,
            "staticUrl": f"{deployment.service_id}-production.up.railway.app",
        }
        return web.json_response({"data": {"deployment": shown}})


def _errors(message: str, status: int = 200) -> web.Response:
    """Railway answers most GraphQL errors with HTTP 200 and an `errors` list."""
    body = {"errors": [{"message": message, "locations": [], "path": []}], "data": None}
    return web.json_response(body, status=status)
