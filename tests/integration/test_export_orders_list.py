""""Export these orders": the orders list's search becomes a report of every
matching order (any status, any date, any case or accent), through a real
worker, from the page and from the API."""
from __future__ import annotations

import csv
import io
import re

import pytest

from tests.conftest import logged_in_client, make_user, wait_for
from webapp.extensions import db

pytestmark = pytest.mark.integration

TEA = [{"product": "Tea", "quantity": 1, "unit_price": "2.00"}]


def _order(client, customer, status=None):
    order = client.post("/api/orders", json={"customer": customer, "items": TEA}).get_json()
    if status:
        client.patch(f"/api/orders/{order['id']}", json={"status": status})
    return order


def _done(client, job_id):
    def finished():
        db.session.rollback()
        job = client.get(f"/api/reports/{job_id}").get_json()
        return job if job["status"] in ("COMPLETED", "FAILED") else None
    return wait_for(finished, timeout=60, what=f"job {job_id}")


def test_the_orders_list_search_exports_every_matching_order(live_app, user, client):
    _order(client, "Café Lumière", "completed")
    _order(client, "CAFE LUMIERE Annex")  # open, another spelling
    _order(client, "Globex")
    other = logged_in_client(live_app, make_user("bob@example.com"))
    _order(other, "Café Lumière of Bob")  # another user's: never exported

    page = client.get("/orders/?q=cafe").get_data(as_text=True)
    assert "Export these 2 orders:" in page
    resp = client.post("/reports/export", data={"q": "cafe", "format": "csv"})
    assert resp.status_code == 303
    job_id = int(re.search(r"/reports/(\d+)", resp.headers["Location"]).group(1))
    job = _done(client, job_id)
    assert job["status"] == "COMPLETED" and job["kind"] == "orders", job
    assert job["params"] == {"search": "cafe"}
    assert job["file_name"].startswith("orders-cafe-")
    rows = list(csv.DictReader(io.StringIO(client.get(job["download_url"]).data.decode())))
    assert sorted(r["customer"] for r in rows) == ["CAFE LUMIERE Annex", "Café Lumière"]
    assert sorted(r["status"] for r in rows) == ["completed", "open"]


def test_the_api_exports_the_whole_list_as_pdf(live_app, user, client):
    _order(client, "ACME", "cancelled")
    _order(client, "Initech")
    resp = client.post("/api/reports", json={"kind": "orders", "format": "pdf"})
    assert resp.status_code == 202
    job = _done(client, resp.get_json()["id"])
    assert job["status"] == "COMPLETED", job
    pdf = client.get(job["download_url"]).data
    assert pdf.startswith(b"%PDF-")
