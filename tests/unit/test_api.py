"""Every status code of the JSON API, on SQLite and PostgreSQL."""
from __future__ import annotations

from http import HTTPStatus
from pathlib import Path

import pytest
import sqlalchemy as sa

from webapp.extensions import db
from webapp.models import JobStatus, ReportJob

ITEM = {"product": "Tea", "quantity": 2, "unit_price": "12.50"}


@pytest.fixture
def order(client):
    return client.post("/api/orders", json={"customer": "ACME", "items": [ITEM]}).get_json()


def test_create_order_answers_201_with_the_order_and_exact_totals(client):
    resp = client.post("/api/orders", json={"customer": "Café", "items": [
        ITEM, {"product": "日本茶", "quantity": 3, "unit_price": 0.1}]})
    assert resp.status_code == 201
    body = resp.get_json()
    assert resp.headers["Location"] == f"/api/orders/{body['id']}"
    assert body["customer"] == "Café" and body["status"] == "open"
    assert body["total"] == "25.30"  # 0.1 × 3 is exact: JSON numbers are read as Decimal
    assert [i["line_total"] for i in body["items"]] == ["25.00", "0.30"]
    assert body["created_at"].endswith("Z")


@pytest.mark.parametrize("payload,field", [
    ({"customer": "", "items": [ITEM]}, "customer"),
    ({"customer": "A", "items": []}, "items"),
    ({"customer": "A"}, "items"),
    ({"customer": "A", "items": [ITEM] * 501}, "items"),
    ({"customer": "A", "items": [{**ITEM, "quantity": "3"}]}, None),
    ({"customer": "A", "items": [{**ITEM, "quantity": 1.5}]}, "items[0].quantity"),
    ({"customer": "A", "items": [{**ITEM, "quantity": True}]}, "items[0].quantity"),
    ({"customer": "A", "items": [{**ITEM, "quantity": 0}]}, "items[0].quantity"),
    ({"customer": "A", "items": [{**ITEM, "unit_price": "1.005"}]}, "items[0].unit_price"),
    ({"customer": "A", "items": [{**ITEM, "unit_price": "sNaN"}]}, "items[0].unit_price"),
    ({"customer": "A", "items": [{**ITEM, "unit_price": "-1"}]}, "items[0].unit_price"),
    ({"customer": "A", "items": [{**ITEM, "extra": 1}]}, "items[0]"),
    ({"customer": "A", "items": ["x"]}, "items[0]"),
    ({"customer": 5, "items": [ITEM]}, "customer"),
    ({"customer": "A", "items": [ITEM], "note": "x"}, "note"),
])
def test_invalid_order_answers_400_with_field_errors_and_saves_nothing(client, payload, field):
    resp = client.post("/api/orders", json=payload)
    if field is None:  # a numeric string is accepted for quantity
        assert resp.status_code == 201
        return
    assert resp.status_code == 400, resp.get_json()
    assert field in resp.get_json()["errors"]
    assert client.get("/api/orders").get_json()["total"] == 0


@pytest.mark.parametrize("body,content_type", [
    ("{bad json", "application/json"), ("[1, 2]", "application/json"), ("", "application/json"),
    ('{"customer": "A", "items": [{"product": "T", "quantity": 1, "unit_price": NaN}]}',
     "application/json"),
    ('{"customer": "A", "items": [{"product": "T", "quantity": 1, "unit_price": 1E+999999}]}',
     "application/json"),
    ("customer=A", "application/x-www-form-urlencoded"),
    ("[" * 100_000 + "]" * 100_000, "application/json"),
])
def test_malformed_bodies_answer_400_not_500(client, body, content_type):
    resp = client.post("/api/orders", data=body, content_type=content_type)
    assert resp.status_code == 400
    assert "detail" in resp.get_json()


def test_get_patch_delete_order(client, order):
    oid = order["id"]
    assert client.get(f"/api/orders/{oid}").status_code == 200
    resp = client.patch(f"/api/orders/{oid}", json={"status": "completed"})
    assert resp.status_code == 200 and resp.get_json()["status"] == "completed"
    resp = client.patch(f"/api/orders/{oid}", json={"customer": "New", "items": [
        {"product": "Cake", "quantity": 4, "unit_price": "2.00"}]})
    assert resp.get_json()["customer"] == "New" and resp.get_json()["total"] == "8.00"
    assert client.patch(f"/api/orders/{oid}", json={"status": "shipped"}).status_code == 400
    assert client.patch(f"/api/orders/{oid}", json={"items": []}).status_code == 400
    assert client.patch(f"/api/orders/{oid}", json={"id": 3}).status_code == 400
    assert client.get(f"/api/orders/{oid}").get_json()["customer"] == "New"  # nothing half-saved
    assert client.delete(f"/api/orders/{oid}").status_code == 204
    assert client.delete(f"/api/orders/{oid}").status_code == 404


@pytest.mark.parametrize("path", ["/api/orders/0", "/api/orders/999999", "/api/orders/-1",
                                  "/api/orders/abc", "/api/orders/99999999999999999999",
                                  "/api/reports/0", "/api/reports/77", "/api/reports/2147483648",
                                  "/api/reports/77/download", "/api/nothing"])
def test_unknown_ids_answer_404_json(client, path):
    resp = client.get(path)
    assert resp.status_code == 404
    assert "detail" in resp.get_json()


def test_patch_and_delete_unknown_order_answer_404(client):
    assert client.patch("/api/orders/4242", json={"status": "open"}).status_code == 404
    assert client.delete("/api/orders/4242").status_code == 404
    assert client.delete("/api/reports/4242").status_code == 404


def test_wrong_method_answers_405_json(client):
    resp = client.put("/api/orders")
    assert resp.status_code == 405 and "detail" in resp.get_json()


def test_report_request_answers_202_then_200_for_the_same_pending_job(client, order, sent):
    body = {"kind": "order", "order_id": order["id"], "format": "csv"}
    first = client.post("/api/reports", json=body)
    assert first.status_code == 202
    job = first.get_json()
    assert job["status"] == "PENDING" and job["progress"] == 0 and job["download_url"] is None
    assert job["status_url"] == f"/api/reports/{job['id']}"
    assert set(job) >= {"id", "kind", "format", "params", "status", "progress", "error",
                        "created_at", "started_at", "finished_at", "size", "status_url",
                        "download_url"}
    second = client.post("/api/reports", json=body)
    assert second.status_code == 200 and second.get_json()["id"] == job["id"]
    assert sent == [job["id"]]


def test_summary_request_answers_202(client, order, sent):
    summary = {"kind": "summary", "format": "pdf", "date_from": "2026-11-01",
               "date_to": "2026-11-28"}
    resp = client.post("/api/reports", json={**summary, "customer": "acme"})
    assert resp.status_code == 202
    # the name meant the customer record; the job names both
    assert resp.get_json()["params"] == {"date_from": "2026-11-01", "date_to": "2026-11-28",
                                         "customer": "ACME",
                                         "customer_id": order["customer_id"]}
    # the record's id is the same report (200: the job in progress)
    again = client.post("/api/reports", json={**summary, "customer": order["customer_id"]})
    assert again.status_code == 200 and again.get_json()["id"] == resp.get_json()["id"]
    # a name that means no customer is refused, naming the close ones
    none = client.post("/api/reports", json={**summary, "customer": "ACNE"})
    assert none.status_code == 400 and "did you mean “ACME”" in none.get_json()["detail"]
    assert sent == [resp.get_json()["id"]]


@pytest.mark.parametrize("body,code", [
    ({"kind": "order", "format": "csv"}, 400),
    ({"kind": "order", "order_id": "7", "format": "csv"}, 400),
    ({"kind": "order", "order_id": -3, "format": "csv"}, 400),
    ({"kind": "order", "order_id": 2**63, "format": "csv"}, 400),
    ({"kind": "order", "order_id": True, "format": "csv"}, 400),
    ({"kind": "order", "order_id": 999999, "format": "csv"}, 404),
    ({"kind": "order", "order_id": 1, "format": "docx"}, 400),
    ({"kind": "weekly", "format": "csv"}, 400),
    ({"kind": "summary", "format": "csv", "date_from": "2026-13-01", "date_to": "2026-12-01"}, 400),
    ({"kind": "summary", "format": "csv", "date_from": "2026-12-05", "date_to": "2026-12-01"}, 400),
    ({"kind": "summary", "format": "csv", "date_from": "20261201", "date_to": "2026-12-01"}, 400),
    ({"kind": "summary", "format": "csv", "date_from": 20261201, "date_to": "2026-12-01"}, 400),
    ({"kind": "summary", "format": "csv", "date_to": "2026-12-01"}, 400),
    ({"kind": "summary", "format": "csv", "date_from": "2026-12-01", "date_to": "2026-12-01",
      "customer": ["x"]}, 400),
    ({"kind": "summary", "format": "csv", "date_from": "2026-12-01", "date_to": "2026-12-01",
      "order_id": 1}, 400),
])
def test_bad_report_requests_answer_400_or_404(client, sent, body, code):
    resp = client.post("/api/reports", json=body)
    assert resp.status_code == code, resp.get_json()
    assert "detail" in resp.get_json()
    assert sent == []


def test_download_answers_409_until_completed_and_report_delete_answers_204(client, order, sent):
    job = client.post("/api/reports", json={"kind": "order", "order_id": order["id"],
                                            "format": "csv"}).get_json()
    resp = client.get(f"/api/reports/{job['id']}/download")
    assert resp.status_code == 409 and "PENDING" in resp.get_json()["detail"]
    assert client.get(f"/reports/{job['id']}/download").status_code == 409
    assert client.delete(f"/api/reports/{job['id']}").status_code == 204
    assert client.get(f"/api/reports/{job['id']}").status_code == 404


def test_completed_report_downloads_as_attachment_with_its_name(app, client, order, sent):
    job = client.post("/api/reports", json={"kind": "order", "order_id": order["id"],
                                            "format": "pdf"}).get_json()
    stored = db.session.get(ReportJob, job["id"])
    (Path(app.config["REPORTS_DIR"]) / "f.pdf").write_bytes(b"%PDF-1.4 test")
    stored.status, stored.file_name, stored.size = JobStatus.COMPLETED, "f.pdf", 13
    db.session.commit()
    resp = client.get(f"/api/reports/{job['id']}/download")
    assert resp.status_code == 200 and resp.data == b"%PDF-1.4 test"
    assert resp.headers["Content-Type"] == "application/pdf"
    described = client.get(f"/api/reports/{job['id']}").get_json()
    assert described["file_name"] == f"order-{order['id']}-{stored.created_at:%Y%m%d-%H%M}.pdf"
    assert resp.headers["Content-Disposition"] == f"attachment; filename={described['file_name']}"
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert "f.pdf" not in str(described)  # the stored path is never shown


def test_lists_are_newest_first_and_paginated(client, sent):
    for n in range(3):
        client.post("/api/orders", json={"customer": f"C{n}", "items": [ITEM]})
    page = client.get("/api/orders?per_page=2").get_json()
    assert [o["customer"] for o in page["items"]] == ["C2", "C1"]
    assert page["total"] == 3 and page["pages"] == 2
    assert client.get("/api/orders?page=2&per_page=2").get_json()["items"][0]["customer"] == "C0"
    for bad in ("page=0", "page=x", "per_page=1000", "per_page=-1"):
        assert client.get(f"/api/orders?{bad}").status_code == 400
        assert client.get(f"/api/reports?{bad}").status_code == 400


def test_oversized_body_answers_413_json(client):
    resp = client.post("/api/orders", data="x" * (3 * 1024 * 1024), content_type="application/json")
    assert resp.status_code == 413 and "detail" in resp.get_json()


# ---------------------------------------------------------------- RFC 9457 problems

def _problem(resp, code: int) -> dict:
    assert resp.status_code == code, resp.get_data(as_text=True)[:500]
    assert resp.mimetype == "application/problem+json"
    body = resp.get_json()
    assert body["status"] == code and body["type"] == "about:blank"
    assert body["title"] == HTTPStatus(code).phrase and body["detail"].strip()
    assert "error" not in body
    return body


def test_every_kind_of_error_is_a_problem_json(app, client, order, sent):
    body = _problem(client.post("/api/orders", json={"customer": "", "items": [ITEM]}), 400)
    assert body["detail"] == "The order is not valid."
    assert body["errors"] == {"customer": ["Customer is required."]}
    _problem(client.post("/api/orders", data="{bad", content_type="application/json"), 400)
    anonymous = _problem(app.test_client().get("/api/orders"), 401)
    assert "Bearer" in anonymous["detail"]
    _problem(client.get("/api/orders/999999"), 404)
    _problem(client.get("/api/nothing/here"), 404)
    not_allowed = client.put(f"/api/orders/{order['id']}")
    _problem(not_allowed, 405)
    assert set(not_allowed.headers["Allow"].split(", ")) >= {"GET", "PATCH", "DELETE"}
    job = client.post("/api/reports", json={"kind": "order", "order_id": order["id"],
                                            "format": "csv"}).get_json()
    _problem(client.get(f"/api/reports/{job['id']}/download"), 409)
    _problem(client.post("/api/orders", data="x" * (3 * 1024 * 1024),
                         content_type="application/json"), 413)


def test_a_rate_limited_request_is_a_429_problem_with_retry_after(app, client):
    app.config["ORDER_WRITE_RATE_LIMIT"] = "1 per minute"
    assert client.post("/api/orders", json={"customer": "A", "items": [ITEM]}).status_code == 201
    resp = client.post("/api/orders", json={"customer": "A", "items": [ITEM]})
    assert "Too many requests" in _problem(resp, 429)["detail"]
    assert int(resp.headers["Retry-After"]) > 0


def test_a_put_by_reference_counts_as_an_order_write(app, client):
    """PUT is a write like POST/PATCH/DELETE: it meets the same limit (and the
    document says 429 for it)."""
    app.config["ORDER_WRITE_RATE_LIMIT"] = "1 per minute"
    body = {"customer": "A", "items": [ITEM]}
    assert client.put("/api/orders/by-ref/shop-1", json=body).status_code == 201
    resp = client.put("/api/orders/by-ref/shop-1", json=body)
    _problem(resp, 429)
    assert int(resp.headers["Retry-After"]) > 0


def test_a_too_long_url_is_a_414_problem_before_anything_else(app, client):
    from webapp.http_errors import MAX_URL_LENGTH

    query = "?search=" + "x" * MAX_URL_LENGTH
    body = _problem(client.get("/api/orders" + query), 414)
    assert f"{MAX_URL_LENGTH:,}" in body["detail"]
    _problem(app.test_client().get("/api/orders" + query), 414)  # no token: still 414
    _problem(client.get("/api/nothing/here" + query), 414)
    assert client.get("/orders" + query).status_code == 414  # a page: the error page
    # just under the limit: the URL is fine (the unknown parameter is ignored)
    fits = "/api/orders?search="
    assert client.get(fits + "x" * (MAX_URL_LENGTH - len(fits))).status_code == 200


def test_a_database_outage_is_a_503_problem_and_a_bug_a_500_problem(client, monkeypatch):
    from webapp.orders import services

    def down(*args, **kwargs):
        raise sa.exc.OperationalError("SELECT 1", {}, ConnectionRefusedError("gone"))

    monkeypatch.setattr(services, "list_orders", down)
    resp = client.get("/api/orders")
    assert "not reachable" in _problem(resp, 503)["detail"]
    assert resp.headers["Retry-After"] == "5"
    monkeypatch.setattr(services, "list_orders", lambda *a, **k: 1 / 0)
    assert "went wrong" in _problem(client.get("/api/orders"), 500)["detail"]


def test_a_report_request_names_every_bad_field_in_todays_words(client, sent):
    body = _problem(client.post("/api/reports", json={
        "kind": "summary", "format": "exe", "date_from": "2026-13-01", "date_to": "x",
        "customer": "A\x00"}), 400)
    assert body["errors"] == {"format": ["Must be 'csv', 'pdf' or 'xlsx'."],
                              "date_from": ["Must be a date like 2026-11-28."],
                              "date_to": ["Must be a date like 2026-11-28."],
                              "customer": ["Customer contains control characters."]}
    assert body["detail"] == ("format must be 'csv', 'pdf' or 'xlsx'. date_from must be a date "
                              "like 2026-11-28. date_to must be a date like 2026-11-28. "
                              "Customer contains control characters.")
    body = _problem(client.post("/api/reports", json={"kind": "order", "format": "csv",
                                                      "order_id": 1, "x": 1}), 400)
    assert body["detail"] == "Unknown field(s): x. Allowed: format, kind, notify_email, order_id."
    assert body["errors"] == {"x": ["Unknown field."]}
    body = _problem(client.post("/api/reports", json={"kind": "weekly"}), 400)
    assert body == {**body, "detail": "kind must be 'order' or 'summary'.",
                    "errors": {"kind": ["Must be 'order' or 'summary'."]}}
    assert sent == []


def test_order_ids_end_at_max_id_in_bodies_and_paths(client, sent):
    from webapp.orders.services import MAX_ID

    ask = {"kind": "order", "format": "csv"}
    _problem(client.post("/api/reports", json={**ask, "order_id": MAX_ID}), 404)
    body = _problem(client.post("/api/reports", json={**ask, "order_id": MAX_ID + 1}), 400)
    assert body["detail"] == "order_id must be a positive whole number."
    _problem(client.get(f"/api/orders/{MAX_ID}"), 404)
    _problem(client.get(f"/api/orders/{MAX_ID + 1}"), 404)


def test_patch_messages_keep_their_words_and_null_is_not_absent(client, order):
    url = f"/api/orders/{order['id']}"
    body = _problem(client.patch(url, json={"status": "shipped"}), 400)
    assert body["detail"] == "status must be one of open, completed, cancelled."
    assert body["errors"] == {"status": ["Must be open, completed or cancelled."]}
    body = _problem(client.patch(url, json={"customer": None, "items": None}), 400)
    assert body["errors"] == {"customer": ["Customer is required."],
                              "items": ["Give a list of at least one item."]}
    body = _problem(client.patch(url, json={"items": [{"product": "T", "quantity": 1}, 5,
                                                      {**ITEM, "x": 1}]}), 400)
    assert body["errors"] == {"items[0].unit_price": ["Unit price is required."],
                              "items[1]": ["Each item must be an object."],
                              "items[2]": ["Unknown field 'x'."]}
    assert client.get(url).get_json() == order
