"""The API's OpenAPI 3.1 description, built from the routes and the models.

Each API view carries its description (`@describe(...)`, right under its
route decorator): summary, request body and query models, its answers and
the errors it can give. The document walks app.url_map, so paths, methods and
path parameters come from the routes themselves; bodies come from
schemas.py. A route without a description is left out of the document, and
tests/api/test_openapi_document.py fails on it."""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from flask import Flask
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from ..http_errors import PROBLEM_JSON, Problem
from ..models import MAX_ID
from .schemas import REQUEST_MODELS, RESPONSE_MODELS

OPENAPI_VERSION = "3.1.0"
API_VERSION = "1.0.0"
JSON = "application/json"
REF = "#/components/schemas/{model}"

# Errors every authenticated route can give, and the words for each code.
COMMON_ERRORS = (401, 500, 503)
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
    429: "Too many requests in a short time (Retry-After: seconds to wait), or too many "
         "reports in progress at once.",
    500: "Something went wrong on the server; it has been logged.",
    503: "The database is not reachable right now; nothing was lost. Retry after Retry-After "
         "seconds.",
}
ERROR_HEADERS = {
    401: {"WWW-Authenticate": ("The scheme to use: Bearer.", True)},
    429: {"Retry-After": ("Seconds until the limit allows another request (rate limits only).",
                          False)},
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

_ROUTE_ARGUMENT = re.compile(r"<(?:(?P<converter>\w+)(?:\([^)]*\))?:)?(?P<name>\w+)>")


def _headers(spec: dict[str, tuple[str, bool]]) -> dict:
    return {name: {"description": words, "required": required,
                   "schema": {"type": "integer", "minimum": 0}
                   if name == "Retry-After" else {"type": "string"}}
            for name, (words, required) in spec.items()}


def _components() -> tuple[dict, dict]:
    refs, defs = models_json_schema(
        [(m, "validation") for m in REQUEST_MODELS]
        + [(m, "serialization") for m in (*RESPONSE_MODELS, Problem)],
        ref_template=REF)
    return {model: ref for (model, _), ref in refs.items()}, defs.get("$defs", {})


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
            schema = {k: v for k, v in schema.items() if k not in ("title", "description")}
            parameters.append({"name": name, "in": "query", "required": False,
                               "schema": schema,
                               "description": query.model_fields[name].description or ""})
    return parameters


def _operation(endpoint: str, rule_path: str, op: Operation, refs: dict, *,
               writes: bool = False) -> dict:
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
        responses[str(code)] = answer
    codes = dict(op.errors)
    for code in (500,) if op.public else COMMON_ERRORS:
        codes.setdefault(code, None)
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


def api_rules(app: Flask):
    """The routes under /api/, in path order."""
    return sorted((r for r in app.url_map.iter_rules() if r.rule.startswith("/api/")),
                  key=lambda r: (r.rule, r.endpoint))


def build_document(app: Flask) -> dict:
    refs, schemas = _components()
    paths: dict[str, dict] = {}
    for rule in api_rules(app):
        op = getattr(app.view_functions[rule.endpoint], "openapi", None)
        if op is None:
            continue
        path = _ROUTE_ARGUMENT.sub(lambda m: "{" + m["name"] + "}", rule.rule)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}, key=METHOD_ORDER.index):
            paths.setdefault(path, {})[method.lower()] = _operation(
                rule.endpoint, rule.rule, op, refs, writes=method != "GET")
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
