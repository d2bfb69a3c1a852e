"""Hostile ids and methods in routes, on SQLite and PostgreSQL: a bad,
out-of-range, non-ASCII or another user's id answers 404 (a page, an HTMX
notice or JSON, with a message) on every route, a wrong method answers 405,
and neither touches any record.

The bugs these tests found (non-ASCII digits in ids, a form error answered
before the 404 of a missing order) are fixed.
"""
from __future__ import annotations

import re

import pytest

from tests.conftest import logged_in_client, make_user
from tests.unit.hostile_helpers import (
    _count,
    _create_order,
    _form,
    _json_error,
    _page_error,
)
from webapp.models import Order, ReportJob


def _htmx_error(resp, pattern: str) -> str:
    """The HTMX form of an error: a notice swapped into #notices (htmx would not swap a
    4xx), with a message matching `pattern`, and never the 500 message."""
    assert resp.status_code == 200, resp.status_code
    assert resp.headers.get("HX-Retarget") == "#notices", dict(resp.headers)
    message = re.search(r'role="alert">([^<]+)<', resp.get_data(as_text=True))
    assert message and re.search(pattern, message.group(1)), resp.get_data(as_text=True)
    assert "went wrong" not in message.group(1)
    return message.group(1)


# ---------------------------------------------------------------- ids in routes

BAD_IDS = ["-1", "0", str(2**31 - 1), str(2**31), str(2**63), str(10**30), "abc", "1.5",
           "0x1", "1e3", "NaN", "%20", "%00", "1%00", "../../etc/passwd", "%2e%2e%2f",
           "..%2F", "..%2F..%2Fetc%2Fpasswd", "%2e%2e", "1;DROP%20TABLE%20orders"]
PAGE_ID_ROUTES = [
    ("get", "/orders/{}", None), ("get", "/orders/{}/edit", None),
    ("post", "/orders/{}/edit", _form("A", [("T", "1", "1")])),
    ("get", "/orders/{}/delete", None), ("post", "/orders/{}/delete", None),
    ("post", "/orders/{}/status", {"status": "completed"}),
    ("get", "/reports/{}", None), ("get", "/reports/{}/status", None),
    ("get", "/reports/{}/download", None), ("post", "/reports/{}/cancel", None),
    ("post", "/reports/{}/retry", None), ("get", "/reports/{}/delete", None),
    ("post", "/reports/{}/delete", None),
    ("post", "/reports/order/{}", {"format": "csv"}),
]
API_ID_ROUTES = [
    ("get", "/api/orders/{}", None), ("patch", "/api/orders/{}", {"status": "completed"}),
    ("delete", "/api/orders/{}", None), ("get", "/api/reports/{}", None),
    ("delete", "/api/reports/{}", None), ("get", "/api/reports/{}/download", None),
    ("post", "/api/reports/{}/cancel", None), ("post", "/api/reports/{}/retry", None),
]


@pytest.fixture
def existing(app, client, sent):
    """My order and pending report, and another user's: no bad id may touch them, and
    the other user's ids are "not found" for me on every route."""
    order = _create_order(client)
    job = client.post("/api/reports", json={"kind": "order", "format": "csv",
                                            "order_id": order["id"]}).get_json()
    other = logged_in_client(app, make_user("mallory@example.com"))
    their_order = _create_order(other, "Their order")
    their_job = other.post("/api/reports", json={"kind": "order", "format": "csv",
                                                 "order_id": their_order["id"]}).get_json()
    return {"mine": (client, order, job), "theirs": (other, their_order, their_job)}


def _unchanged(existing) -> None:
    for who_client, order, job in existing.values():
        assert who_client.get(f"/api/orders/{order['id']}").get_json() == order
        now = who_client.get(f"/api/reports/{job['id']}").get_json()
        assert (now["status"], now["events"]) == (job["status"], job["events"])
    assert _count(Order.__table__) == 2 and _count(ReportJob.__table__) == 2


def _ids_for(route: str, existing) -> list[str]:
    _, their_order, their_job = existing["theirs"]
    theirs = their_order["id"] if "/orders/" in route or "/order/" in route else their_job["id"]
    return [*BAD_IDS, str(theirs)]


@pytest.mark.parametrize("method,route,data", PAGE_ID_ROUTES,
                         ids=[f"{m} {r}" for m, r, _ in PAGE_ID_ROUTES])
def test_bad_or_foreign_ids_in_page_routes_answer_a_404_page(client, existing, method, route,
                                                               data):
    for bad in _ids_for(route, existing):
        resp = getattr(client, method)(route.format(bad), data=data)
        assert resp.status_code == 404, (bad, resp.status_code)
        _page_error(resp, 404)
        resp = getattr(client, method)(route.format(bad), data=data,
                                       headers={"HX-Request": "true"})
        _htmx_error(resp, "does not exist|not found")
    _unchanged(existing)


@pytest.mark.parametrize("method,route,payload", API_ID_ROUTES,
                         ids=[f"{m} {r}" for m, r, _ in API_ID_ROUTES])
def test_bad_or_foreign_ids_in_api_routes_answer_404_json(client, existing, method, route,
                                                          payload):
    for bad in _ids_for(route, existing):
        resp = getattr(client, method)(route.format(bad), json=payload)
        _json_error(resp, 404)
    _unchanged(existing)


def test_wrong_methods_answer_405_with_a_message(client, existing):
    _, order, job = existing["mine"]
    for method, path in [("get", "/orders/{o}/status"), ("put", "/orders/{o}"),
                         ("delete", "/orders/{o}"), ("get", "/reports/{j}/cancel"),
                         ("get", "/reports/{j}/retry"), ("put", "/reports/{j}/delete"),
                         ("get", "/reports/export"),
                         ("get", "/reports/order/{o}"), ("get", "/orders/items"),
                         ("put", "/reports/")]:
        _page_error(getattr(client, method)(path.format(o=order["id"], j=job["id"])), 405)
    for method, path in [("post", "/api/orders/{o}"), ("put", "/api/orders/{o}"),
                         ("delete", "/api/orders"), ("patch", "/api/reports/{j}"),
                         ("get", "/api/reports/{j}/cancel"), ("post", "/api/reports/{j}"),
                         ("delete", "/api/reports/{j}/download")]:
        _json_error(getattr(client, method)(path.format(o=order["id"], j=job["id"])), 405)
    _unchanged(existing)


@pytest.mark.parametrize("path,data", [("/orders/{}/status", {"status": "weird"}),
                                       ("/orders/{}/status", {}),
                                       ("/reports/order/{}", {"format": "exe"}),
                                       ("/reports/order/{}", {})])
def test_status_and_report_forms_answer_404_for_a_missing_order_whatever_the_form_says(
        client, path, data):
    _page_error(client.post(path.format(2**31), data=data), 404)


@pytest.mark.parametrize("path", ["/orders/%D9%A1", "/api/orders/%D9%A1", "/reports/%D9%A1",
                                  "/api/reports/%D9%A1"])
def test_non_ascii_digit_ids_do_not_alias_existing_records(client, existing, path):
    assert client.get(path).status_code == 404
