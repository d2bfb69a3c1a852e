"""GET /api/openapi.json: public, OpenAPI 3.1, and a description of every /api
route the app really has (a new route without @describe fails here)."""
from __future__ import annotations

import pytest
import schemathesis

from tests.conftest import SESSION, build_app

BODY_METHODS = {"post", "patch", "put"}


@pytest.fixture(scope="module")
def api_app(tmp_path_factory, redis_url):
    base = tmp_path_factory.mktemp("openapi")
    # the document needs no tables: the app is never migrated
    return build_app(f"sqlite:///{base / 'doc.sqlite3'}", base / "reports", f"doc-{SESSION}",
                     redis_url)


@pytest.fixture(scope="module")
def document(api_app):
    resp = api_app.test_client().get("/api/openapi.json")  # no token
    assert resp.status_code == 200, resp.get_data(as_text=True)[:500]
    assert resp.mimetype == "application/json"
    return resp.get_json()


def _operations(document):
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            yield path, method, operation


def test_the_document_is_public_and_openapi_3_1(document):
    assert document["openapi"].startswith("3.1.")
    assert document["info"]["title"] and document["info"]["version"]
    schemathesis.openapi.from_dict(document).validate()  # the OpenAPI 3.1 meta-schema


def test_every_api_route_of_the_url_map_is_in_the_document(api_app, document):
    routes = set()
    for rule in api_app.url_map.iter_rules():
        if rule.rule.startswith("/api"):
            path = rule.rule.replace("<int:", "{").replace("<", "{").replace(">", "}")
            routes |= {(path, m.lower()) for m in rule.methods - {"HEAD", "OPTIONS"}}
    described = {(path, method) for path, method, _ in _operations(document)}
    assert routes, "no /api routes found"
    assert routes - described == set(), "routes without a description (add @describe)"
    assert described - routes == set(), "described operations the app does not have"


def test_every_operation_but_the_document_needs_a_bearer_token(document):
    schemes = document["components"]["securitySchemes"]
    assert schemes == {"bearerAuth": {"type": "http", "scheme": "bearer",
                                      "description": schemes["bearerAuth"]["description"]}}
    assert document["security"] == [{"bearerAuth": []}]
    for path, method, operation in _operations(document):
        public = operation.get("security") == []
        assert public == (path == "/api/openapi.json"), (path, method)
        if not public:
            unauthorized = operation["responses"]["401"]
            assert unauthorized["headers"]["WWW-Authenticate"]["required"] is True
            assert operation["responses"]["503"]["headers"]["Retry-After"]["required"] is True


def test_every_error_answer_is_a_problem_and_every_body_can_be_refused(document):
    problem = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
    for path, method, operation in _operations(document):
        responses = operation["responses"]
        assert any(code.startswith("2") for code in responses), (path, method)
        for code, answer in responses.items():
            assert answer["description"], (path, method, code)
            if int(code) >= 400:
                assert answer["content"] == problem, (path, method, code)
        if method in BODY_METHODS and "requestBody" in operation:
            assert {"400", "413"} <= set(responses), (path, method)
        for parameter in operation.get("parameters", []):
            if parameter["in"] == "path" and parameter["name"] == "ref":
                # PUT by external reference makes the order it does not find
                assert parameter["schema"]["type"] == "string", (path, method)
            elif parameter["in"] == "path":
                assert "404" in responses, (path, method)
                assert parameter["schema"] == {"type": "integer", "minimum": 1,
                                               "maximum": 2**31 - 1}


def test_the_bodies_are_described_with_money_as_strings(document):
    schemas = document["components"]["schemas"]
    order = schemas["OrderOut"]["properties"]
    assert order["total"]["type"] == "string" and order["created_at"]["format"] == "date-time"
    assert schemas["OrderItemOut"]["properties"]["unit_price"]["type"] == "string"
    assert schemas["OrderIn"]["additionalProperties"] is False
    assert set(schemas["ReportRequest"]["discriminator"]["mapping"]) == {
        "order", "summary", "orders", "audit"}
    params = schemas["JobOut"]["properties"]["params"]
    assert set(params["properties"]) == {"order_id", "date_from", "date_to", "customer",
                                         "search", "action", "person", "timezone",
                                         "all_owners"}
    problem = schemas["Problem"]
    assert set(problem["required"]) == {"title", "status", "detail"}
    assert set(problem["properties"]) == {"type", "title", "status", "detail", "errors"}


def test_reports_answer_202_or_200_and_downloads_are_files(document):
    ask = document["paths"]["/api/reports"]["post"]["responses"]
    assert {"200", "202", "404", "429"} <= set(ask)
    assert ask["202"]["headers"]["Location"]["required"] is True
    download = document["paths"]["/api/reports/{job_id}/download"]["get"]["responses"]
    assert set(download["200"]["content"]) == {"text/csv", "application/pdf"}
    assert download["200"]["headers"]["Content-Disposition"]["required"] is True
    assert {"404", "409", "410"} <= set(download)
    listing = document["paths"]["/api/orders"]["get"]
    assert {p["name"] for p in listing["parameters"]} == {"page", "per_page"}
