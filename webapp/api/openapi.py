"""The API's OpenAPI 3.1 description, built from the routes and the models.

Each API view carries its description (`@describe(...)`, right under its
route decorator): summary, request body and query models, its answers and
the errors it can give. The document walks app.url_map, so paths, methods and
path parameters come from the routes themselves; bodies come from
schemas.py. A route without a description is left out of the document, and
tests/api/test_openapi_document.py fails on it. A view under a rate limit of
webapp/security.py (marked `rate_limited` by the decorator) gets its 429
here, whether its description names one or not."""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from flask import Flask
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from ..http_errors import MAX_URL_LENGTH, PROBLEM_JSON, Problem
from ..models import MAX_ID
from .schemas import REQUEST_MODELS, RESPONSE_MODELS

OPENAPI_VERSION = "3.1.0"
API_VERSION = "1.0.0"
JSON = "application/json"
REF = "#/components/schemas/{model}"

# Errors every authenticated route can give (public ones: PUBLIC_ERRORS), and
# the words for each code.
COMMON_ERRORS = (401, 414, 500, 503)
PUBLIC_ERRORS = (414, 500)
ERROR_WORDS = {
    400: "Invalid input: malformed JSON, wrong types, unknown fields or values against the "
         "rules; `errors` holds the messages per field.",
    401: "No valid API token: send `Authorization: Bearer <token>` (a session cookie is not "
         "accepted).",
    403: "Your role in this workspace (or a read-only token) may not do this; `detail` "
         "says why (\"Viewers cannot create orders.\").",
    404: "No such order, report or schedule, or it is not of this token's workspace.",
    409: "The report is not in a state that allows this.",
    410: "The report's file has expired or is gone; generate it again.",
    413: "The body is larger than 2 MB.",
    414: f"The URL (path and query string) is longer than {MAX_URL_LENGTH:,} characters. "
         "(A request line over 8,190 bytes is refused by the HTTP server in front of the "
         "app, which answers in plain HTML.)",
    429: "Too many requests in a short time: wait Retry-After seconds.",
    500: "Something went wrong on the server; it has been logged.",
    503: "The database (or, for a download, the file store) is not reachable right now; "
         "nothing was lost. Retry after Retry-After seconds.",
}
ERROR_HEADERS = {
    401: {"WWW-Authenticate": ("The scheme to use: Bearer.", True)},
    429: {"Retry-After": ("Seconds until the limit or quota allows another request.", True)},
    503: {"Retry-After": ("Seconds to wait before trying again.", True)},
}
PATH_PARAMETERS = {"order_id": "An order's id.", "job_id": "A report job's id.",
                   "schedule_id": "A schedule's id.", "customer_id": "A customer's id.",
                   "ref": "An order's external reference (without \"/\")."}
ID_SCHEMA = {"type": "integer", "minimum": 1, "maximum": MAX_ID}
# read, create, change, delete: the order a reader (and a test run) goes through
METHOD_ORDER = ["GET", "POST", "PUT", "PATCH", "DELETE"]


@dataclass(frozen=True)
class Reply:
    """A successful answer: JSON of `model` (or of a raw `schema`), a file of one
    of `files` media types, or no body."""

    description: str
    model: type[BaseModel] | None = None
    schema: dict | None = None
    headers: dict[str, tuple[str, bool]] = field(default_factory=dict)  # name: (words, required)
    files: tuple[str, ...] = ()
    links: dict[str, dict] = field(default_factory=dict)  # OpenAPI Link Objects by name


@dataclass(frozen=True)
class Operation:
    summary: str
    replies: dict[int, Reply]
    errors: dict[int, str | None] = field(default_factory=dict)  # code: words (None: usual)
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    description: str | None = None
    public: bool = False


def describe(summary: str, *, replies: dict[int, Reply],
             errors: dict[int, str | None] | None = None, body: type[BaseModel] | None = None,
             query: type[BaseModel] | None = None, description: str | None = None,
             public: bool = False):
    """Attach the operation's description to an API view (put it right under
    the route decorator, so it marks the function that is registered)."""
    operation = Operation(summary, replies, errors or {}, body, query, description, public)

    def mark(view):
        view.openapi = operation
        return view

    return mark


LOCATION = {"Location": ("Where the order or report job lives in the API.", True)}
CONTENT_DISPOSITION = {"Content-Disposition": ("attachment; filename=<the report's file name>",
                                               True)}


def links_by_id(parameter: str, *operation_ids: str) -> dict[str, dict]:
    """OpenAPI links from an answer whose body has the `id` of a new thing to
    the operations that take it as `parameter` in their path (a client, or a
    stateful test run, follows them with the real id)."""
    return {operation_id: {"operationId": operation_id,
                           "parameters": {parameter: "$response.body#/id"}}
            for operation_id in operation_ids}


_ROUTE_ARGUMENT = re.compile(r"<(?:(?P<converter>\w+)(?:\([^)]*\))?:)?(?P<name>\w+)>")


def _headers(spec: dict[str, tuple[str, bool]]) -> dict:
    return {name: {"description": words, "required": required,
                   "schema": {"type": "integer", "minimum": 0}
                   if name == "Retry-After" else {"type": "string"}}
            for name, (words, required) in spec.items()}


# Pydantic writes a number's bounds under its own names (ge, gt, le, lt) when
# they follow a BeforeValidator (`Annotated[int, BeforeValidator(…), Field(ge=1)]`):
# JSON Schema ignores those, so the document would allow page=-5 or an id of 0
# that the API refuses. Said in JSON Schema's words, they bind clients and test
# generators as they bind the validation.
BOUNDS = {"ge": "minimum", "gt": "exclusiveMinimum", "le": "maximum", "lt": "exclusiveMaximum"}


def _json_schema_words(node):
    """`node` with pydantic's bound names turned into JSON Schema's, at any depth
    (only where the value is a number: a property called "le" stays)."""
    if isinstance(node, list):
        return [_json_schema_words(item) for item in node]
    if not isinstance(node, dict):
        return node
    return {BOUNDS[key] if key in BOUNDS and isinstance(value, int | float)
            and not isinstance(value, bool) else key: _json_schema_words(value)
            for key, value in node.items()}


def _components() -> tuple[dict, dict]:
    refs, defs = models_json_schema(
        [(m, "validation") for m in REQUEST_MODELS]
        + [(m, "serialization") for m in (*RESPONSE_MODELS, Problem)],
        ref_template=REF)
    return ({model: ref for (model, _), ref in refs.items()},
            _json_schema_words(defs.get("$defs", {})))


def _parameters(rule_path: str, query: type[BaseModel] | None) -> list[dict]:
    parameters = []
    for match in _ROUTE_ARGUMENT.finditer(rule_path):
        name = match["name"]
        schema = (dict(ID_SCHEMA) if match["converter"] == "int" else
                  {"type": "string", "minLength": 1, "maxLength": 100, "pattern": "^[^/]+$"})
        parameters.append({"name": name, "in": "path", "required": True, "schema": schema,
                           "description": PATH_PARAMETERS.get(name, "")})
    if query is not None:
        for name, schema in query.model_json_schema()["properties"].items():
            schema = _json_schema_words(
                {k: v for k, v in schema.items() if k not in ("title", "description")})
            parameters.append({"name": name, "in": "query", "required": False,
                               "schema": schema,
                               "description": query.model_fields[name].description or ""})
    return parameters


def _operation(endpoint: str, rule_path: str, op: Operation, refs: dict, *,
               writes: bool = False, limited: bool = False) -> dict:
    responses: dict[str, dict] = {}
    for code, reply in sorted(op.replies.items()):
        answer: dict = {"description": reply.description}
        if reply.model is not None or reply.schema is not None:
            schema = refs[reply.model] if reply.model is not None else reply.schema
            answer["content"] = {JSON: {"schema": schema}}
        elif reply.files:
            answer["content"] = {media: {"schema": {"type": "string",
                                                    "contentMediaType": media}}
                                 for media in reply.files}
        if reply.headers:
            answer["headers"] = _headers(reply.headers)
        if reply.links:
            answer["links"] = reply.links
        responses[str(code)] = answer
    codes = dict(op.errors)
    for code in PUBLIC_ERRORS if op.public else COMMON_ERRORS:
        codes.setdefault(code, None)
    if limited:
        codes.setdefault(429, None)
    if writes and not op.public:  # a viewer, or a read-only token
        codes.setdefault(403, None)
    for code in sorted(codes):
        answer = {"description": codes[code] or ERROR_WORDS[code],
                  "content": {PROBLEM_JSON: {"schema": refs[Problem]}}}
        if code in ERROR_HEADERS:
            answer["headers"] = _headers(ERROR_HEADERS[code])
        responses[str(code)] = answer
    operation: dict = {
        "operationId": endpoint.removeprefix("api."),
        "summary": op.summary,
        "tags": [rule_path.split("/")[2]],
        "responses": responses,
    }
    if op.description:
        operation["description"] = op.description
    parameters = _parameters(rule_path, op.query)
    if parameters:
        operation["parameters"] = parameters
    if op.body is not None:
        operation["requestBody"] = {"required": True,
                                    "content": {JSON: {"schema": refs[op.body]}}}
    if op.public:
        operation["security"] = []
    return operation


def rate_limited(view, method: str) -> bool:
    """Whether a rate limit of webapp/security.py counts `method` on this view."""
    methods = getattr(view, "rate_limited", None)
    return methods is not None and (not methods or method in methods)


def api_rules(app: Flask):
    """The routes under /api/, in path order."""
    return sorted((r for r in app.url_map.iter_rules() if r.rule.startswith("/api/")),
                  key=lambda r: (r.rule, r.endpoint))


def build_document(app: Flask) -> dict:
    refs, schemas = _components()
    paths: dict[str, dict] = {}
    for rule in api_rules(app):
        view = app.view_functions[rule.endpoint]
        op = getattr(view, "openapi", None)
        if op is None:
            continue
        path = _ROUTE_ARGUMENT.sub(lambda m: "{" + m["name"] + "}", rule.rule)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}, key=METHOD_ORDER.index):
            paths.setdefault(path, {})[method.lower()] = _operation(
                rule.endpoint, rule.rule, op, refs, writes=method != "GET",
                limited=rate_limited(view, method))
    return {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": "Order reports API",
            "version": API_VERSION,
            "description": (
                "Orders with line items, and CSV/PDF reports generated in the background. "
                "Every call needs `Authorization: Bearer <token>` (create a token on your "
                "account page). Money is a string with two decimals (\"12.50\"); times are "
                "UTC (ISO 8601, \"Z\"); dates are YYYY-MM-DD. Errors are RFC 9457 problems "
                "(application/problem+json) with `detail` in words and, for invalid input, "
                "`errors` per field."),
        },
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {"bearerAuth": {
                "type": "http", "scheme": "bearer",
                "description": "A personal API token from the account page."}},
        },
        "security": [{"bearerAuth": []}],
    }


def openapi_document(app: Flask) -> dict:
    """The document, built once per app."""
    if "openapi" not in app.extensions:
        app.extensions["openapi"] = build_document(app)
    return app.extensions["openapi"]
