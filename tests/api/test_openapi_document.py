"""GET /api/openapi.json: public, OpenAPI 3.1, and a description of every /api
route the app really has (a new route without @describe fails here)."""
from __future__ import annotations

import re
from decimal import Decimal

import pytest
import schemathesis

from tests.conftest import SESSION, build_app
from webapp.api.openapi import rate_limited
from webapp.api.schemas import (
    PRICE_PATTERN,
    QUANTITY_PATTERN,
    RATE_PATTERN,
    SHIPPING_PATTERN,
    whole_numbers_up_to,
)
from webapp.enums import ReportFormat
from webapp.orders.validation import (
    MAX_PRICE,
    MAX_QUANTITY,
    parse_price,
    parse_quantity,
    parse_rate,
    parse_shipping,
)
from webapp.security import limit_order_writes, limit_requests

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
    # every format a report can be asked in is a type the download can answer
    assert set(download["200"]["content"]) == {f.mimetype for f in ReportFormat} == {
        "text/csv", "application/pdf",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
    assert download["200"]["headers"]["Content-Disposition"]["required"] is True
    # an S3 store's presigned URL (webapp/storage.py): no body of ours, a Location
    assert "content" not in download["302"]
    assert download["302"]["headers"]["Location"]["required"] is True
    assert {"404", "409", "410"} <= set(download)
    listing = document["paths"]["/api/orders"]["get"]
    assert {p["name"] for p in listing["parameters"]} == {"page", "per_page"}


def _limited_operations(api_app):
    """(path, method) of every API operation a rate limit of webapp/security.py counts."""
    for rule in api_app.url_map.iter_rules():
        view = api_app.view_functions[rule.endpoint]
        if rule.rule.startswith("/api/"):
            path = rule.rule.replace("<int:", "{").replace("<", "{").replace(">", "}")
            for method in rule.methods - {"HEAD", "OPTIONS"}:
                if rate_limited(view, method):
                    yield path, method.lower()


def test_the_limit_decorators_mark_what_they_limit():
    def view():
        return ""

    writes, requests = limit_order_writes(view), limit_requests(view)
    assert [rate_limited(writes, m) for m in ("GET", "POST", "PUT", "PATCH", "DELETE")] == [
        False, True, True, True, True]
    assert rate_limited(requests, "GET") and rate_limited(requests, "POST")
    assert not rate_limited(view, "POST")


def test_every_rate_limited_operation_documents_429_with_retry_after(api_app, document):
    limited = set(_limited_operations(api_app))
    # what the issue found undocumented is among them (the decorators are the source)
    assert {("/api/orders", "post"), ("/api/orders/by-ref/{ref}", "put"),
            ("/api/orders/{order_id}", "patch"), ("/api/orders/{order_id}", "delete"),
            ("/api/reports", "post"), ("/api/reports/{job_id}/retry", "post"),
            ("/api/schedules", "post"), ("/api/schedules/{schedule_id}", "patch"),
            ("/api/schedules/{schedule_id}", "delete"),
            ("/api/schedules/{schedule_id}/run", "post"), ("/api/customers", "post"),
            ("/api/customers/{customer_id}", "patch"),
            ("/api/customers/{customer_id}", "delete")} <= limited
    assert ("/api/orders", "get") not in limited  # reads are not counted
    for path, method, operation in _operations(document):
        responses = operation["responses"]
        if (path, method) in limited:
            assert "429" in responses, (path, method)
        if "429" in responses:  # a limit or a quota: each says when to come back
            assert responses["429"]["headers"]["Retry-After"] == {
                "description": responses["429"]["headers"]["Retry-After"]["description"],
                "required": True, "schema": {"type": "integer", "minimum": 0}}, (path, method)


def test_a_too_long_url_is_documented_everywhere_as_a_problem(document):
    for path, method, operation in _operations(document):
        assert "414" in operation["responses"], (path, method)


def _operation_ids(document):
    return {operation["operationId"]: (path, method, operation)
            for path, method, operation in _operations(document)}


EXPECTED_LINKS = {
    ("/api/orders", "post", "201"): {"get_order", "update_order", "delete_order"},
    ("/api/orders/by-ref/{ref}", "put", "201"): {"get_order", "update_order", "delete_order"},
    ("/api/reports", "post", "202"): {"get_report", "cancel_report", "retry_report",
                                      "download_report", "delete_report"},
    ("/api/reports", "post", "200"): {"get_report", "cancel_report", "retry_report",
                                      "download_report", "delete_report"},
    ("/api/reports/{job_id}/retry", "post", "202"): {"get_report", "cancel_report",
                                                     "retry_report", "download_report",
                                                     "delete_report"},
    ("/api/schedules/{schedule_id}/run", "post", "202"): {
        "get_report", "cancel_report", "retry_report", "download_report", "delete_report"},
    ("/api/schedules", "post", "201"): {"get_schedule", "update_schedule", "run_schedule",
                                        "list_schedule_runs", "delete_schedule"},
    ("/api/customers", "post", "201"): {"get_customer", "update_customer",
                                        "delete_customer"},
}


def test_new_things_link_to_the_operations_on_them_by_their_id(document):
    by_id = _operation_ids(document)
    schemas = document["components"]["schemas"]
    found = {}
    for path, method, operation in _operations(document):
        for code, answer in operation["responses"].items():
            for name, link in answer.get("links", {}).items():
                found.setdefault((path, method, code), set()).add(link["operationId"])
                assert link["operationId"] in by_id, (path, method, code, name)
                target = by_id[link["operationId"]][2]
                in_path = {p["name"] for p in target.get("parameters", []) if p["in"] == "path"}
                # every path parameter of the target is filled, and nothing else
                assert set(link["parameters"]) == in_path, (path, method, code, name)
                body = answer["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
                for expression in link["parameters"].values():
                    assert expression.startswith("$response.body#/"), expression
                    assert expression.removeprefix("$response.body#/") in schemas[body][
                        "properties"], (path, method, code, expression)
    for where, targets in EXPECTED_LINKS.items():
        assert found.get(where, set()) >= targets, where


def test_the_number_patterns_say_what_validation_accepts():
    for limit in (*range(1, 1200), 9_999, 10_000, 65_535, 999_999, 1_000_000):
        pattern = re.compile(whole_numbers_up_to(limit))
        assert [n for n in range(limit * 2 + 20) if pattern.fullmatch(str(n))] == list(
            range(1, limit + 1)), limit
    quantities = [str(n) for n in (0, 1, 9, 10, 99, MAX_QUANTITY - 1, MAX_QUANTITY,
                                   MAX_QUANTITY + 1, 99_999, 999_999)]
    amounts = ["0", "0.0", "0.00", ".00", ".01", "0.01", ".1", "0.10", "1", "1.", "1.5",
               "12.50", "999999.99", f"{MAX_PRICE}", f"{MAX_PRICE + Decimal('0.01')}",
               "1000000", "1000000.0", "1000001", "999999999", "1.005", " 7 "]
    rates = ["0", "5.5", "19", "99.999", "100", "100.0", "100,000", "100.001", "101", "999",
             "8,125", "19 %"]
    checks = [(QUANTITY_PATTERN, parse_quantity, quantities), (PRICE_PATTERN, parse_price, amounts),
              (SHIPPING_PATTERN, parse_shipping, amounts),
              (RATE_PATTERN, lambda v: parse_rate(v, "Tax rate"), rates)]
    for pattern, parse, values in checks:
        for value in values:
            try:
                parse(value)
                accepted = True
            except ValueError:
                accepted = False
            if re.search(pattern, value):  # what the document allows, the API takes
                assert accepted, (pattern, value)
    # the limits themselves: what the issue found allowed and refused
    assert not re.search(QUANTITY_PATTERN, "0") and not re.search(QUANTITY_PATTERN, "999999")
    assert re.search(QUANTITY_PATTERN, str(MAX_QUANTITY))
    assert not re.search(QUANTITY_PATTERN, str(MAX_QUANTITY + 1))
    for zero in ("0", "0.0", "0.00"):
        assert not re.search(PRICE_PATTERN, zero) and re.search(SHIPPING_PATTERN, zero)
    assert re.search(PRICE_PATTERN, "0.01") and not re.search(PRICE_PATTERN, "1000000.01")
    assert not re.search(RATE_PATTERN, "101") and re.search(RATE_PATTERN, "100")
