"""Check HTTP requests against GitHub's OpenAPI description (the vendored subset).

The fake GitHub server calls :meth:`OpenAPIValidator.check_request` for every request the
bot makes. It finds the operation the request addresses the way GitHub routes it (the
template with the most literal segments wins, then literal-before-parameter from the
left, so ``/repos/{owner}/{repo}/issues/comments/{comment_id}`` beats
``/repos/{owner}/{repo}/issues/{issue_number}/comments``), then checks path and query
parameters and the JSON body against the operation's schemas.

OpenAPI 3.0 schemas are not quite JSON Schema, so they are translated once at load time:
``nullable: true`` admits ``null``, OpenAPI-only keywords (``example``, ``discriminator``,
``x-*`` ...) are dropped, and ``#/components/schemas/...`` references are resolved through
a :mod:`referencing` registry. Validation uses Draft 4 semantics, the dialect OpenAPI 3.0
is based on (``$ref`` siblings are ignored there too). Compiled validators are cached,
and route lookups are memoised, so thousands of checks per test run stay cheap.

:meth:`OpenAPIValidator.check_response` does the same for the fake's own answers, to keep
the fake honest about the shapes GitHub returns.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Final, Literal
from urllib.parse import unquote

from jsonschema import Draft4Validator, FormatChecker
from jsonschema.exceptions import ValidationError, best_match
from referencing import Registry
from referencing.jsonschema import DRAFT4

SUBSET_PATH: Final = Path(__file__).with_name("github-rest-subset.json")
VENDOR_HINT: Final = "add it to OPERATIONS in tests/fakes/openapi/vendor.py and re-run the script"
DEFAULT_DOCS_URL: Final = "https://docs.github.com/rest"

_SCHEMAS_URI: Final = "urn:deckhand:github-rest-subset"
_COMPONENTS_PREFIX: Final = "#/components/"
_DROPPED_KEYWORDS: Final = frozenset(
    {
        "example",
        "examples",
        "discriminator",
        "externalDocs",
        "xml",
        "deprecated",
        "readOnly",
        "writeOnly",
        "description",
        "title",
        "nullable",
    }
)
_SCHEMA_MAP_KEYWORDS: Final = frozenset({"properties", "patternProperties"})
_SCHEMA_LIST_KEYWORDS: Final = frozenset({"allOf", "anyOf", "oneOf"})
_SCHEMA_KEYWORDS: Final = frozenset({"items", "not", "additionalProperties"})
_REQUIRED_MESSAGE: Final = re.compile(r"^'(?P<name>.+)' is a required property$")


class _NoBody:
    """Sentinel type: the request had no body at all (as opposed to a JSON ``null``)."""

    _instance: _NoBody | None = None

    def __new__(cls) -> _NoBody:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "NO_BODY"

    def __bool__(self) -> bool:
        return False


NO_BODY: Final = _NoBody()

ViolationKind = Literal[
    "unknown_path",
    "method_not_allowed",
    "not_vendored",
    "path_param",
    "query_param",
    "unknown_query_param",
    "missing_body",
    "unexpected_body",
    "invalid_json",
    "body_schema",
    # Raised by the fake server rather than the schema check:
    "missing_user_agent",
    "api_version",
    "missing_auth",
    "semantic",  # e.g. a completed check run without a conclusion
    "no_handler",
]


@dataclass(frozen=True, slots=True)
class Violation:
    """A way in which a request does not conform to GitHub's API description.

    ``status`` is what GitHub would answer (404, 422, ...), or ``None`` when GitHub
    ignores the problem (e.g. an undocumented query parameter) and answers normally.
    ``errors`` holds GitHub-style ``{"resource", "field", "code", "message"}`` entries.
    """

    kind: ViolationKind
    message: str
    status: int | None = 422
    errors: tuple[dict[str, Any], ...] = ()

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True, slots=True)
class Parameter:
    name: str
    location: str  # "path" | "query" | "header" | "cookie"
    required: bool
    schema: dict[str, Any]  # already translated to JSON Schema
    multi_segment: bool = False


@dataclass(frozen=True, slots=True)
class Operation:
    """One vendored operation (``method`` + ``path`` template)."""

    method: str  # upper case, e.g. "GET"
    path: str  # template, e.g. "/repos/{owner}/{repo}"
    operation_id: str
    summary: str
    documentation_url: str
    parameters: tuple[Parameter, ...]
    has_body: bool
    body_required: bool
    spec: dict[str, Any] = field(repr=False, compare=False)

    @property
    def key(self) -> str:
        return f"{self.method} {self.path}"

    def params_in(self, location: str) -> dict[str, Parameter]:
        return {p.name: p for p in self.parameters if p.location == location}


@dataclass(slots=True)
class RequestCheck:
    """Outcome of :meth:`OpenAPIValidator.check_request`."""

    operation: Operation | None
    path_params: dict[str, Any] = field(default_factory=dict)
    query_params: dict[str, Any] = field(default_factory=dict)
    violations: list[Violation] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.violations

    @property
    def answer(self) -> Violation | None:
        """The violation GitHub would answer with (first one that carries a status)."""
        return next((v for v in self.violations if v.status is not None), None)


# ------------------------------------------------------------------------ translation
def _rewrite_ref(ref: str) -> str:
    if ref.startswith(_COMPONENTS_PREFIX + "schemas/"):
        return _SCHEMAS_URI + ref
    raise ValueError(f"unsupported schema $ref {ref!r}")


def _make_nullable(schema: dict[str, Any]) -> dict[str, Any]:
    simple_type = schema.get("type")
    composite = any(k in schema for k in (*_SCHEMA_LIST_KEYWORDS, "not"))
    if isinstance(simple_type, str) and not composite:
        schema["type"] = [simple_type, "null"]
        if "enum" in schema and None not in schema["enum"]:
            schema["enum"] = [*schema["enum"], None]
        return schema
    return {"anyOf": [{"type": "null"}, schema]}


def translate_schema(node: Any) -> Any:
    """Translate an OpenAPI 3.0 Schema Object into an equivalent JSON Schema (Draft 4)."""
    if not isinstance(node, dict):
        return node
    if "$ref" in node:  # OpenAPI 3.0: siblings of $ref are ignored
        return {"$ref": _rewrite_ref(node["$ref"])}
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in _DROPPED_KEYWORDS or key.startswith("x-"):
            continue
        if key in _SCHEMA_MAP_KEYWORDS and isinstance(value, dict):
            out[key] = {name: translate_schema(sub) for name, sub in value.items()}
        elif key in _SCHEMA_LIST_KEYWORDS and isinstance(value, list):
            out[key] = [translate_schema(sub) for sub in value]
        elif key in _SCHEMA_KEYWORDS and isinstance(value, dict):
            out[key] = translate_schema(value)
        else:
            out[key] = value
    if node.get("nullable") is True:
        out = _make_nullable(out)
    return out


def _format_checker() -> FormatChecker:
    checker = FormatChecker(formats=())

    @checker.checks("date-time", raises=ValueError)
    def is_datetime(value: object) -> bool:
        if not isinstance(value, str):
            return True
        # RFC 3339: a full date, a time, and a mandatory offset.
        if not re.fullmatch(
            r"\d{4}-\d\d-\d\d[Tt ]\d\d:\d\d:\d\d(\.\d+)?([Zz]|[+-]\d\d:\d\d)", value
        ):
            raise ValueError(f"{value!r} is not an RFC 3339 date-time")
        datetime.fromisoformat(value.replace("z", "Z"))
        return True

    return checker


def json_path(parts: Iterable[str | int]) -> str:
    """``["output", "annotations", 0]`` -> ``"$.output.annotations[0]"``."""
    out = "$"
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


# ---------------------------------------------------------------------------- routing
@dataclass(frozen=True, slots=True)
class _Segment:
    literal: str | None = None  # exact text of a literal segment
    param: str | None = None  # a segment that is exactly one parameter, e.g. "{owner}"
    multi: str | None = None  # a multi-segment parameter (may span several segments)
    pattern: re.Pattern[str] | None = None  # mixed segment, e.g. "{base}...{head}"
    names: tuple[str, ...] = ()  # parameter names captured by ``pattern``


@dataclass(frozen=True, slots=True)
class _Route:
    template: str
    methods: frozenset[str]  # upper case
    segments: tuple[_Segment, ...]

    @property
    def specificity(self) -> tuple[int, tuple[int, ...]]:
        kinds = tuple(0 if s.literal is not None else (2 if s.multi else 1) for s in self.segments)
        return (-kinds.count(0), kinds)

    def match(self, parts: list[str]) -> dict[str, str] | None:
        return _match_segments(self.segments, parts, {})


def _match_segments(
    segments: tuple[_Segment, ...], parts: list[str], acc: dict[str, str]
) -> dict[str, str] | None:
    if not segments:
        return acc if not parts else None
    head, rest = segments[0], segments[1:]
    if head.multi is not None:
        if parts == [""] and not rest:  # trailing slash: empty value, e.g. contents/ (root)
            return {**acc, head.multi: ""}
        # Consume 1..n segments, longest first (backtracking for templates like
        # /branches/{branch}/protection where {branch} may contain slashes).
        for n in range(len(parts) - len(rest), 0, -1):
            taken = parts[:n]
            if any(not p for p in taken):
                continue
            found = _match_segments(rest, parts[n:], {**acc, head.multi: "/".join(taken)})
            if found is not None:
                return found
        return None
    if not parts:
        return None
    part = parts[0]
    if head.literal is not None:
        if part != head.literal:
            return None
        return _match_segments(rest, parts[1:], acc)
    if head.param is not None:
        if not part:
            return None
        return _match_segments(rest, parts[1:], {**acc, head.param: part})
    assert head.pattern is not None
    m = head.pattern.fullmatch(part)
    if m is None:
        return None
    return _match_segments(rest, parts[1:], {**acc, **dict(zip(head.names, m.groups()))})


def _compile_route(template: str, methods: Iterable[str], multi: set[str]) -> _Route:
    segments: list[_Segment] = []
    for raw in template.strip("/").split("/") if template != "/" else []:
        names = re.findall(r"\{([^}]+)\}", raw)
        if not names:
            segments.append(_Segment(literal=raw))
        elif raw == "{" + names[0] + "}":
            if names[0] in multi:
                segments.append(_Segment(multi=names[0]))
            else:
                segments.append(_Segment(param=names[0]))
        else:
            regex = ""
            for piece in re.split(r"(\{[^}]+\})", raw):
                if piece.startswith("{") and piece.endswith("}"):
                    regex += "(.+?)"
                else:
                    regex += re.escape(piece)
            segments.append(_Segment(pattern=re.compile(regex), names=tuple(names)))
    return _Route(template, frozenset(m.upper() for m in methods), tuple(segments))


def split_path(raw_path: str) -> list[str]:
    """Split a (possibly percent-encoded) request path into decoded segments."""
    path = raw_path.split("?", 1)[0]
    if path in ("", "/"):
        return []
    return [unquote(p) for p in path[1:].split("/")]


# -------------------------------------------------------------------------- validator
class OpenAPIValidator:
    """Validates requests (and responses) against a vendored OpenAPI subset."""

    def __init__(self, spec: Mapping[str, Any] | None = None) -> None:
        if spec is None:
            spec = json.loads(SUBSET_PATH.read_text(encoding="utf-8"))
        self.spec: Mapping[str, Any] = spec
        components = spec.get("components", {})
        self._components = components
        schemas = {n: translate_schema(s) for n, s in components.get("schemas", {}).items()}
        resource = DRAFT4.create_resource({"components": {"schemas": schemas}})
        self._registry: Registry[Any] = Registry().with_resource(_SCHEMAS_URI, resource)
        self._format_checker = _format_checker()
        self._validators: dict[str, Draft4Validator] = {}

        self.operations: dict[str, Operation] = {}  # by "METHOD /template"
        self.operations_by_id: dict[str, Operation] = {}
        for template, item in spec.get("paths", {}).items():
            shared = item.get("parameters", [])
            for method, op in item.items():
                if method == "parameters" or not isinstance(op, dict):
                    continue
                operation = self._build_operation(method.upper(), template, op, shared)
                self.operations[operation.key] = operation
                self.operations_by_id[operation.operation_id] = operation

        # Route against *every* GitHub operation when the vendor index is present, so a
        # request for a real but un-vendored endpoint gets a helpful message, and so the
        # most specific template wins exactly as it would on GitHub.
        index = spec.get("x-deckhand", {})
        all_ops: dict[str, list[str]] = index.get("all_operations") or {
            p: [m for m in item if m != "parameters"] for p, item in spec.get("paths", {}).items()
        }
        multi_by_path: dict[str, list[str]] = index.get("multi_segment_params", {})
        for op in self.operations.values():
            multi_by_path.setdefault(op.path, [])
            for p in op.parameters:
                if p.multi_segment and p.name not in multi_by_path[op.path]:
                    multi_by_path[op.path].append(p.name)
        routes = [
            _compile_route(tpl, methods, set(multi_by_path.get(tpl, ())))
            for tpl, methods in all_ops.items()
        ]
        routes.sort(key=lambda r: r.specificity)
        # Bucket routes by (first literal segment, segment count) to keep lookups cheap;
        # None stands for "any" (parameter first segment / multi-segment template).
        self._route_order = {r.template: i for i, r in enumerate(routes)}
        self._buckets: dict[tuple[str | None, int | None], list[_Route]] = {}
        for r in routes:
            first = r.segments[0].literal if r.segments else ""
            count = None if any(s.multi for s in r.segments) else len(r.segments)
            self._buckets.setdefault((first, count), []).append(r)
        self._route_cache: dict[
            tuple[str, str], tuple[Operation | None, dict[str, str], Violation | None]
        ] = {}

    # ----------------------------------------------------------------- construction
    def _resolve(self, node: dict[str, Any]) -> dict[str, Any]:
        ref = node.get("$ref")
        if not isinstance(ref, str):
            return node
        kind, name = ref[len(_COMPONENTS_PREFIX) :].split("/", 1)
        return self._resolve(self._components[kind][name])

    def _build_operation(
        self, method: str, template: str, op: dict[str, Any], shared: list[dict[str, Any]]
    ) -> Operation:
        params: dict[tuple[str, str], Parameter] = {}
        for raw in [*shared, *op.get("parameters", [])]:
            p = self._resolve(raw)
            params[(p["in"], p["name"])] = Parameter(
                name=p["name"],
                location=p["in"],
                required=bool(p.get("required", p["in"] == "path")),
                schema=translate_schema(p.get("schema", {})),
                multi_segment=bool(p.get("x-multi-segment")),
            )
        body = self._resolve(op["requestBody"]) if "requestBody" in op else None
        return Operation(
            method=method,
            path=template,
            operation_id=op.get("operationId", f"{method} {template}"),
            summary=op.get("summary", ""),
            documentation_url=op.get("externalDocs", {}).get("url", DEFAULT_DOCS_URL),
            parameters=tuple(params.values()),
            has_body=body is not None,
            body_required=bool(body and body.get("required")),
            spec=op,
        )

    def _validator(self, cache_key: str, schema: dict[str, Any]) -> Draft4Validator:
        validator = self._validators.get(cache_key)
        if validator is None:
            validator = Draft4Validator(
                schema, registry=self._registry, format_checker=self._format_checker
            )
            self._validators[cache_key] = validator
        return validator

    # ---------------------------------------------------------------------- routing
    def route(
        self, method: str, raw_path: str
    ) -> tuple[Operation | None, dict[str, str], Violation | None]:
        """Find the vendored operation for ``method raw_path``.

        Returns ``(operation, raw path params, None)`` or ``(None, {}, violation)``.
        """
        method = method.upper()
        cache_key = (method, raw_path)
        cached = self._route_cache.get(cache_key)
        if cached is not None:
            return cached
        result = self._route_uncached(method, raw_path)
        if len(self._route_cache) > 8192:
            self._route_cache.clear()
        self._route_cache[cache_key] = result
        return result

    def _route_uncached(
        self, method: str, raw_path: str
    ) -> tuple[Operation | None, dict[str, str], Violation | None]:
        parts = split_path(raw_path)
        path = raw_path.split("?", 1)[0]
        first = parts[0] if parts else ""
        candidates = sorted(
            (
                r
                for key in ((first, len(parts)), (first, None), (None, len(parts)), (None, None))
                for r in self._buckets.get(key, ())
            ),
            key=lambda r: self._route_order[r.template],
        )
        matches = [(r, params) for r in candidates if (params := r.match(parts)) is not None]
        if not matches:
            return (
                None,
                {},
                Violation(
                    "unknown_path", f"{method} {path}: no such path in GitHub's REST API", 404
                ),
            )
        for route, params in matches:
            if method in route.methods:
                op = self.operations.get(f"{method} {route.template}")
                if op is None:
                    return (
                        None,
                        {},
                        Violation(
                            "not_vendored",
                            f"{method} {path}: GitHub operation {method} {route.template} is not "
                            f"in the vendored OpenAPI subset; {VENDOR_HINT}",
                            404,
                        ),
                    )
                return op, params, None
        best = matches[0][0]
        allowed = ", ".join(sorted(best.methods))
        return (
            None,
            {},
            Violation(
                "method_not_allowed",
                f"{method} {path}: method not allowed for {best.template} (GitHub has: {allowed})",
                404,
            ),
        )

    # ------------------------------------------------------------------- requests
    def check_request(
        self,
        method: str,
        raw_path: str,
        query: Mapping[str, str] | Iterable[tuple[str, str]] | None = None,
        body: Any = NO_BODY,
    ) -> RequestCheck:
        """Check one request; ``body`` is the decoded JSON, or ``NO_BODY`` if none was sent."""
        op, raw_params, violation = self.route(method, raw_path)
        if op is None:
            assert violation is not None
            return RequestCheck(operation=None, violations=[violation])
        check = RequestCheck(operation=op)
        self._check_path_params(op, raw_params, check)
        self._check_query(op, _pairs(query), check)
        self._check_body(op, body, check)
        return check

    def validate(
        self,
        method: str,
        raw_path: str,
        query: Mapping[str, str] | Iterable[tuple[str, str]] | None = None,
        body: Any = NO_BODY,
    ) -> str | None:
        """Convenience: ``None`` if the request conforms, else a readable message."""
        check = self.check_request(method, raw_path, query, body)
        return "\n".join(v.message for v in check.violations) or None

    def _check_path_params(self, op: Operation, raw: dict[str, str], check: RequestCheck) -> None:
        declared = op.params_in("path")
        for name, text in raw.items():
            param = declared.get(name)
            if param is None:  # template/parameter mismatch in the spec itself
                check.path_params[name] = text
                continue
            value, problem = _coerce(text, param.schema)
            errors = [problem] if problem else self._param_errors(op, param, value)
            if errors:
                check.violations.append(
                    Violation(
                        "path_param",
                        f"{op.key} ({op.operation_id}): path parameter {name}={text!r}: "
                        + "; ".join(errors),
                        404,  # GitHub answers Not Found for e.g. /issues/abc/comments
                    )
                )
            check.path_params[name] = value

    def _check_query(
        self, op: Operation, pairs: list[tuple[str, str]], check: RequestCheck
    ) -> None:
        declared = op.params_in("query")
        seen: dict[str, list[str]] = {}
        for key, value in pairs:
            seen.setdefault(key, []).append(value)
        for name, param in declared.items():
            if name not in seen:
                if param.required:
                    check.violations.append(
                        Violation(
                            "query_param",
                            f"{op.key} ({op.operation_id}): missing required query "
                            f"parameter {name!r}",
                            422,
                            ({"resource": op.operation_id, "field": name, "code": "missing"},),
                        )
                    )
                continue
            values = seen[name]
            is_array = _schema_type(param.schema) == "array"
            if len(values) > 1 and not is_array:
                check.violations.append(
                    Violation(
                        "query_param",
                        f"{op.key} ({op.operation_id}): query parameter {name!r} given "
                        f"{len(values)} times",
                        422,
                    )
                )
            text = ",".join(values) if is_array else values[-1]
            value, problem = _coerce(text, param.schema)
            errors = [problem] if problem else self._param_errors(op, param, value)
            if errors:
                check.violations.append(
                    Violation(
                        "query_param",
                        f"{op.key} ({op.operation_id}): query parameter {name}={text!r}: "
                        + "; ".join(errors),
                        422,
                        ({"resource": op.operation_id, "field": name, "code": "invalid"},),
                    )
                )
            check.query_params[name] = value
        unknown = sorted(set(seen) - set(declared))
        if unknown:
            known = ", ".join(sorted(declared)) or "none"
            check.violations.append(
                Violation(
                    "unknown_query_param",
                    f"{op.key} ({op.operation_id}): undocumented query parameter(s) "
                    f"{', '.join(unknown)} (documented: {known})",
                    None,  # GitHub silently ignores them; still a bug in the caller
                )
            )

    def _param_errors(self, op: Operation, param: Parameter, value: Any) -> list[str]:
        validator = self._validator(f"{op.key}#param:{param.location}:{param.name}", param.schema)
        return [e.message for e in validator.iter_errors(value)]

    def _check_body(self, op: Operation, body: Any, check: RequestCheck) -> None:
        where = f"{op.key} ({op.operation_id})"
        if body is NO_BODY:
            if op.body_required:
                check.violations.append(
                    Violation(
                        "missing_body",
                        f"{where}: request body is required but none was sent",
                        422,
                    )
                )
            return
        if not op.has_body:
            check.violations.append(
                Violation(
                    "unexpected_body",
                    f"{where}: operation takes no request body, but one was sent",
                    None,  # GitHub ignores it
                )
            )
            return
        validator = self.body_validator(op)
        if validator is None:
            return
        errors = sorted(validator.iter_errors(body), key=lambda e: list(e.absolute_path))
        if not errors:
            return
        github_errors: list[dict[str, Any]] = []
        messages: list[str] = []
        for err in errors:
            field_path, code, detail = _describe(err)
            github_errors.append(
                {"resource": op.operation_id, "field": field_path, "code": code, "message": detail}
            )
            messages.append(f"{json_path(err.absolute_path)}: {detail}")
        check.violations.append(
            Violation(
                "body_schema",
                f"{where}: request body does not match the schema: " + "; ".join(messages),
                422,
                tuple(github_errors),
            )
        )

    def body_validator(self, op: Operation) -> Draft4Validator | None:
        body = self._resolve(op.spec["requestBody"]) if op.has_body else None
        if body is None:
            return None
        content = body.get("content", {})
        media = content.get("application/json") or next(iter(content.values()), None)
        if not media or "schema" not in media:
            return None
        return self._validator(f"{op.key}#body", translate_schema(media["schema"]))

    # ------------------------------------------------------------------ responses
    def check_response(
        self,
        op: Operation,
        status: int,
        body: Any,
        media_type: str = "application/json",
    ) -> list[str]:
        """Validate a JSON response body against the documented schema for ``status``.

        Returns a list of problems (empty when the body conforms, or when the operation
        documents no schema for that status).
        """
        responses = op.spec.get("responses", {})
        raw = responses.get(str(status)) or responses.get("default")
        if raw is None:
            if status < 400:
                return [f"{op.key}: status {status} is not documented"]
            return []
        content = self._resolve(raw).get("content") or {}
        media = content.get(media_type) or content.get("application/json")
        if not media or "schema" not in media:
            return []
        validator = self._validator(
            f"{op.key}#response:{status}:{media_type}",
            translate_schema(_patch_known_spec_bugs(media["schema"])),
        )
        out = []
        for err in validator.iter_errors(body):
            detail = best_match(err.context).message if err.context else err.message
            out.append(f"{json_path(err.absolute_path)}: {detail[:500]}")
        return out


# ---------------------------------------------------------------------------- helpers
def _patch_known_spec_bugs(schema: Any) -> Any:
    """Fix known mistakes in GitHub's description that real responses contradict.

    * ``GET /app/installations`` describes ``account`` as ``allOf: [Simple User,
      Enterprise]`` (both at once, impossible for a user or organization); the
      ``installation`` component says ``anyOf`` of the same two, which is what GitHub
      means and returns.
    """
    if isinstance(schema, list):
        return [_patch_known_spec_bugs(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: _patch_known_spec_bugs(v) for k, v in schema.items()}
    members = out.get("allOf")
    if isinstance(members, list) and {m.get("title") for m in members if isinstance(m, dict)} == {
        "Simple User",
        "Enterprise",
    }:
        out["anyOf"] = out.pop("allOf")
    return out


def _pairs(query: Mapping[str, str] | Iterable[tuple[str, str]] | None) -> list[tuple[str, str]]:
    if query is None:
        return []
    if isinstance(query, Mapping):
        return [(str(k), str(v)) for k, v in query.items()]  # MultiDict.items() keeps dupes
    return [(str(k), str(v)) for k, v in query]


def _schema_type(schema: Mapping[str, Any]) -> str | None:
    t = schema.get("type")
    if isinstance(t, list):
        t = next((x for x in t if x != "null"), None)
    return t if isinstance(t, str) else None


def _coerce(text: str, schema: Mapping[str, Any]) -> tuple[Any, str | None]:
    """Turn a path/query string into the JSON value its schema describes.

    Returns ``(value, None)``, or ``(text, problem)`` if the text cannot be converted.
    """
    kind = _schema_type(schema)
    if kind == "integer":
        if not re.fullmatch(r"-?\d+", text):
            return text, "expected an integer"
        return int(text), None
    if kind == "number":
        try:
            return float(text), None
        except ValueError:
            return text, "expected a number"
    if kind == "boolean":
        if text not in ("true", "false"):
            return text, "expected true or false"
        return text == "true", None
    if kind == "array":
        items = schema.get("items", {})
        converted = [_coerce(part, items) for part in text.split(",")] if text else []
        problem = next((p for _, p in converted if p), None)
        return ([v for v, _ in converted], None) if problem is None else (text, problem)
    return text, None


def _describe(err: ValidationError) -> tuple[str, str, str]:
    """GitHub-style (field, code, message) for one schema error."""
    path = [str(p) for p in err.absolute_path]
    if err.validator == "required":
        m = _REQUIRED_MESSAGE.match(err.message)
        name = m.group("name") if m else "?"
        return ".".join([*path, name]), "missing_field", err.message
    detail = err.message
    if err.context:
        detail = best_match(err.context).message
    return ".".join(path) or "body", "invalid", detail[:500]


@functools.cache
def default_validator() -> OpenAPIValidator:
    """The validator for the committed subset, built once per process."""
    return OpenAPIValidator()
