#!/usr/bin/env python3
"""Vendor a small, committed subset of GitHub's official REST OpenAPI description.

The fake GitHub server used by the test suite (``tests/fakes/github``) validates every
request the bot makes against GitHub's OpenAPI description. The full description is
13 MB, so we commit only the operations the bot uses, plus every ``components`` entry
they reference (transitively), into ``github-rest-subset.json`` next to this script.

To support a new endpoint, add a line to ``OPERATIONS`` below and re-run::

    .venv/bin/python tests/fakes/openapi/vendor.py            # regenerate the subset
    .venv/bin/python tests/fakes/openapi/vendor.py --check    # CI: is the subset current?

The source defaults to ``../shared/github/rest-openapi.json`` (relative to the project
root); it is the ``api.github.com.json`` bundle published by @octokit/openapi (MIT).
Only the standard library is used, so this runs without the virtualenv.
"""

from __future__ import annotations

import argparse
import difflib
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

# --------------------------------------------------------------------------------------
# The operations the fake understands: "METHOD /path/template", exactly as in the spec.
# Add a line here and re-run this script to vendor another endpoint.
# --------------------------------------------------------------------------------------
OPERATIONS: list[str] = [
    # GitHub App (JWT-authenticated)
    "GET /app",
    "POST /app/installations/{installation_id}/access_tokens",
    "GET /app/installations",
    "GET /app/installations/{installation_id}",
    "GET /repos/{owner}/{repo}/installation",
    # GitHub App manifest flow (no authentication)
    "POST /app-manifests/{code}/conversions",
    # Installation (installation-token-authenticated)
    "GET /installation/repositories",
    # Repositories
    "GET /repos/{owner}/{repo}",
    "GET /repos/{owner}/{repo}/contents/{path}",
    "GET /repos/{owner}/{repo}/collaborators/{username}/permission",
    # Issue comments and reactions
    "GET /repos/{owner}/{repo}/issues/{issue_number}/comments",
    "POST /repos/{owner}/{repo}/issues/{issue_number}/comments",
    "PATCH /repos/{owner}/{repo}/issues/comments/{comment_id}",
    "POST /repos/{owner}/{repo}/issues/comments/{comment_id}/reactions",
    "GET /repos/{owner}/{repo}/issues/comments/{comment_id}/reactions",
    # Issues
    "POST /repos/{owner}/{repo}/issues",
    "GET /repos/{owner}/{repo}/issues/{issue_number}",
    "PATCH /repos/{owner}/{repo}/issues/{issue_number}",
    "GET /repos/{owner}/{repo}/issues",
    "POST /repos/{owner}/{repo}/issues/{issue_number}/labels",
    # Deployments
    "POST /repos/{owner}/{repo}/deployments",
    "GET /repos/{owner}/{repo}/deployments",
    "GET /repos/{owner}/{repo}/deployments/{deployment_id}",
    "POST /repos/{owner}/{repo}/deployments/{deployment_id}/statuses",
    "GET /repos/{owner}/{repo}/deployments/{deployment_id}/statuses",
    # Teams
    "GET /orgs/{org}/teams/{team_slug}/memberships/{username}",
    # Checks
    "POST /repos/{owner}/{repo}/check-runs",
    "PATCH /repos/{owner}/{repo}/check-runs/{check_run_id}",
    "GET /repos/{owner}/{repo}/commits/{ref}/check-runs",
    "GET /repos/{owner}/{repo}/check-runs/{check_run_id}",
    "GET /repos/{owner}/{repo}/check-runs/{check_run_id}/annotations",
    # Commit statuses (the older CI signal; GitHub's required contexts count them too)
    "GET /repos/{owner}/{repo}/commits/{ref}/status",
    # Pull requests, reviews and commits
    "GET /repos/{owner}/{repo}/pulls",
    "POST /repos/{owner}/{repo}/pulls",
    "GET /repos/{owner}/{repo}/pulls/{pull_number}",
    "GET /repos/{owner}/{repo}/pulls/{pull_number}/files",
    "GET /repos/{owner}/{repo}/pulls/{pull_number}/reviews",
    "POST /repos/{owner}/{repo}/pulls/{pull_number}/reviews",
    "GET /repos/{owner}/{repo}/pulls/{pull_number}/comments",
    "GET /repos/{owner}/{repo}/commits/{commit_sha}/pulls",
    "GET /repos/{owner}/{repo}/commits/{ref}",
    "GET /repos/{owner}/{repo}/activity",
    "GET /repos/{owner}/{repo}/git/trees/{tree_sha}",
    # Users and rate limit
    "GET /users/{username}",
    "GET /user",
    "GET /user/installations",
    "GET /user/installations/{installation_id}/repositories",
    "GET /rate_limit",
]

HERE = Path(__file__).resolve().parent
PROJECT_ROOT = HERE.parents[2]
DEFAULT_SOURCE = PROJECT_ROOT.parent / "shared" / "github" / "rest-openapi.json"
DEFAULT_OUTPUT = HERE / "github-rest-subset.json"

HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
COMPONENT_PREFIX = "#/components/"


def parse_operation(line: str) -> tuple[str, str]:
    """Split ``"GET /a/{b}"`` into ``("get", "/a/{b}")``."""
    method, _, path = line.strip().partition(" ")
    if method.lower() not in HTTP_METHODS or not path.startswith("/"):
        raise SystemExit(f"vendor.py: malformed OPERATIONS entry {line!r}")
    return method.lower(), path.strip()


def iter_refs(node: Any) -> Iterator[str]:
    """Yield every ``$ref`` string found anywhere inside ``node``."""
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            ref = item.get("$ref")
            if isinstance(ref, str):
                yield ref
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def component_key(ref: str) -> tuple[str, str]:
    """``"#/components/schemas/simple-user"`` -> ``("schemas", "simple-user")``."""
    if not ref.startswith(COMPONENT_PREFIX):
        raise SystemExit(f"vendor.py: unsupported $ref {ref!r} (only {COMPONENT_PREFIX}*)")
    parts = ref[len(COMPONENT_PREFIX) :].split("/")
    if len(parts) != 2:
        raise SystemExit(f"vendor.py: unsupported nested $ref {ref!r}")
    kind, name = (p.replace("~1", "/").replace("~0", "~") for p in parts)
    return kind, name


def multi_segment(spec: dict[str, Any], path_item: dict[str, Any]) -> list[str]:
    """Names of ``x-multi-segment`` path parameters (may contain ``/``) of a path item."""
    names: list[str] = []
    params = list(path_item.get("parameters", []))
    for method in HTTP_METHODS:
        params.extend(path_item.get(method, {}).get("parameters", []))
    for param in params:
        if "$ref" in param:
            param = spec["components"]["parameters"][component_key(param["$ref"])[1]]
        if param.get("x-multi-segment") and param["name"] not in names:
            names.append(param["name"])
    return names


def build_subset(spec: dict[str, Any], operations: list[str]) -> dict[str, Any]:
    """Return a valid OpenAPI document with just ``operations`` and their $ref closure."""
    paths: dict[str, dict[str, Any]] = {}
    for line in operations:
        method, path = parse_operation(line)
        path_item = spec["paths"].get(path)
        if path_item is None or method not in path_item:
            close = difflib.get_close_matches(path, list(spec["paths"]), n=3)
            hint = f" Did you mean: {', '.join(close)}?" if close else ""
            raise SystemExit(f"vendor.py: {method.upper()} {path} is not in the spec.{hint}")
        out_item = paths.setdefault(path, {})
        # Path-level parameters apply to every operation of the path item.
        if "parameters" in path_item:
            out_item["parameters"] = path_item["parameters"]
        out_item[method] = path_item[method]

    components: dict[str, dict[str, Any]] = {}
    pending = [ref for item in paths.values() for ref in iter_refs(item)]
    seen: set[str] = set()
    while pending:
        ref = pending.pop()
        if ref in seen:
            continue
        seen.add(ref)
        kind, name = component_key(ref)
        target = spec["components"][kind][name]
        components.setdefault(kind, {})[name] = target
        pending.extend(iter_refs(target))

    # Deterministic output: keep the spec's own ordering of paths and components.
    ordered_paths = {p: paths[p] for p in spec["paths"] if p in paths}
    ordered_components = {
        kind: {n: components[kind][n] for n in spec["components"][kind] if n in components[kind]}
        for kind in spec["components"]
        if kind in components
    }
    all_operations = {
        p: [m for m in HTTP_METHODS if m in item] for p, item in spec["paths"].items()
    }
    multi_segment_params = {
        p: names for p, item in spec["paths"].items() if (names := multi_segment(spec, item))
    }
    return {
        "openapi": spec["openapi"],
        "info": spec["info"],
        "servers": spec.get("servers", []),
        "externalDocs": spec.get("externalDocs", {}),
        "paths": ordered_paths,
        "components": ordered_components,
        # Vendor extension: provenance, and an index of every operation in the full
        # description so the fake can say "exists on GitHub, but is not vendored yet".
        "x-deckhand": {
            "generated_by": "tests/fakes/openapi/vendor.py",
            "source": "@octokit/openapi api.github.com.json "
            f"(info.version {spec['info'].get('version', '?')}), license MIT",
            "operations": operations,
            "all_operations": all_operations,
            "multi_segment_params": multi_segment_params,
        },
    }


def render(subset: dict[str, Any]) -> str:
    return json.dumps(subset, ensure_ascii=False, separators=(",", ":")) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE)
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    parser.add_argument(
        "--check", action="store_true", help="exit 1 if the committed subset is stale"
    )
    args = parser.parse_args(argv)

    if not args.source.is_file():
        print(f"vendor.py: source {args.source} not found", file=sys.stderr)
        return 2
    with args.source.open(encoding="utf-8") as fh:
        spec = json.load(fh)
    text = render(build_subset(spec, OPERATIONS))

    if args.check:
        current = args.output.read_text(encoding="utf-8") if args.output.exists() else ""
        if current != text:
            print(f"vendor.py: {args.output} is stale; re-run vendor.py", file=sys.stderr)
            return 1
        print(f"vendor.py: {args.output} is up to date")
        return 0

    args.output.write_text(text, encoding="utf-8")
    n_components = sum(len(v) for v in json.loads(text)["components"].values())
    print(
        f"vendor.py: wrote {args.output} ({len(OPERATIONS)} operations, "
        f"{n_components} components, {len(text.encode()) // 1024} KiB)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
