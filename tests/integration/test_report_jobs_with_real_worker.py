"""Order → report request → PROCESSING → COMPLETED → download, through a real
Celery worker process on the real Redis, on SQLite and on PostgreSQL."""
from __future__ import annotations

import csv
import io
from decimal import Decimal
from pathlib import Path

import pytest
from pypdf import PdfReader

from tests.conftest import wait_for, workspace_of
from webapp.extensions import db
from webapp.models import JobStatus, Order, OrderStatus, ReportFormat, ReportJob, ReportKind
from webapp.orders.services import ItemInput, create_order, update_order

pytestmark = pytest.mark.integration


def _job(client, job_id):
    # The test holds the app context, so requests share its session: forget what
    # it cached, or polling would keep reading the first answer.
    db.session.rollback()
    return client.get(f"/api/reports/{job_id}").get_json()


def _final(client, job_id, timeout=60):
    return wait_for(lambda: (j := _job(client, job_id))["status"] in ("COMPLETED", "FAILED") and j,
                    timeout=timeout, what=f"job {job_id} to finish")


def test_order_csv_report_completes_and_download_matches_the_database(live_app, client):
    items = [{"product": "Café crème", "quantity": 3, "unit_price": "4.20"},
             {"product": "=HYPERLINK(\"x\")", "quantity": 1, "unit_price": "0.99"},
             {"product": "日本茶", "quantity": 10000, "unit_price": "999999.99"}]
    order = client.post("/api/orders", json={"customer": "Ürün A.Ş.", "items": items}).get_json()

    resp = client.post("/api/reports", json={"kind": "order", "order_id": order["id"],
                                             "format": "csv"})
    assert resp.status_code == 202
    job = _final(client, resp.get_json()["id"])
    assert job["status"] == "COMPLETED", job
    assert job["progress"] == 100 and job["size"] > 0 and job["error"] is None

    dl = client.get(job["download_url"])
    assert dl.status_code == 200
    assert dl.headers["Content-Type"].startswith("text/csv")
    assert dl.headers["Content-Disposition"].startswith(
        f"attachment; filename=order-{order['id']}-")
    rows = list(csv.DictReader(io.StringIO(dl.data.decode("utf-8"), newline="")))
    assert [r["product"] for r in rows] == ["Café crème", "'=HYPERLINK(\"x\")", "日本茶"]
    assert {r["customer"] for r in rows} == {"Ürün A.Ş."}
    assert [Decimal(r["gross"]) for r in rows] == [
        Decimal("12.60"), Decimal("0.99"), Decimal("9999999900.00")]
    assert sum(Decimal(r["gross"]) for r in rows) == Decimal(order["total"])

    events = [e.event for e in db.session.get(ReportJob, job["id"]).events]
    assert events == ["requested", "started", "completed", "downloaded"]


def test_big_summary_pdf_is_seen_processing_with_progress_then_completed(
        live_app, user, client):
    for n in range(30):  # 30 orders × 500 items = 15,000 rows: long enough to watch
        order = create_order(user, f"Customer {n % 3}", [
            ItemInput(f"Product {i} Ελληνικά", 1 + i % 7, Decimal("1.25")) for i in range(500)])
        update_order(user, order.id, status=OrderStatus.COMPLETED)
    today = order.created_at.date().isoformat()
    resp = client.post("/api/reports", json={"kind": "summary", "format": "pdf",
                                             "date_from": today, "date_to": today})
    assert resp.status_code == 202
    job_id = resp.get_json()["id"]

    seen = set()
    progress_seen = []

    def finished():
        j = _job(client, job_id)
        seen.add(j["status"])
        if j["status"] == "PROCESSING":
            progress_seen.append(j["progress"])
        return j["status"] in ("COMPLETED", "FAILED") and j

    job = wait_for(finished, timeout=120, interval=0.02, what="summary PDF")
    assert job["status"] == "COMPLETED", job
    assert "PROCESSING" in seen
    assert job["rows_total"] == 15000 and job["rows_done"] == 15000
    # the partial shows the same state
    page = client.get(f"/reports/{job_id}/status").get_data(as_text=True)
    assert "COMPLETED" in page and "hx-trigger" not in page and "Download PDF" in page

    pdf = client.get(job["download_url"])
    assert pdf.headers["Content-Type"] == "application/pdf"
    assert f"filename=completed-orders-{today}-to-{today}.pdf" in pdf.headers[
        "Content-Disposition"]
    reader = PdfReader(io.BytesIO(pdf.data))
    last = reader.pages[-1].extract_text()
    assert "Grand total" in last
    expected = sum((o.total for o in db.session.scalars(db.select(Order))), Decimal(0))
    assert f"{expected:,.2f}" in last


def test_job_for_an_order_deleted_before_the_worker_runs_fails_with_a_reason(
        live_app, user, client):
    job = ReportJob(workspace_id=workspace_of(user), kind=ReportKind.ORDER, format=ReportFormat.PDF,
                    params={"order_id": 424242},
                    dedupe_key="deleted-order", status=JobStatus.PENDING)
    db.session.add(job)
    db.session.commit()
    from webapp.reports.lifecycle import enqueue

    assert enqueue(job.id)
    final = _final(client, job.id)
    assert final["status"] == "FAILED"
    assert final["error"] == "The order was deleted."
    assert final["download_url"] is None
    assert client.get(f"/api/reports/{job.id}/download").status_code == 409
    assert list(Path(live_app.config["REPORTS_DIR"]).iterdir()) == []


def test_second_delivery_of_a_finished_job_does_nothing(live_app, live, client):
    order = client.post("/api/orders", json={"customer": "Twice", "items": [
        {"product": "Tea", "quantity": 1, "unit_price": "2.00"}]}).get_json()
    job = client.post("/api/reports", json={"kind": "order", "order_id": order["id"],
                                            "format": "csv"}).get_json()
    first = _final(client, job["id"])
    from webapp.reports.lifecycle import enqueue

    assert enqueue(job["id"])  # a duplicate message for the same job
    worker = live[1]
    wait_for(lambda: f"report job {job['id']}: skipped" in worker.output(), timeout=30,
             what="the worker to see the duplicate")
    again = _job(client, job["id"])
    assert again["finished_at"] == first["finished_at"]
    stored = db.session.get(ReportJob, job["id"])
    db.session.refresh(stored)
    assert stored.attempts == 1
    assert [e.event for e in stored.events].count("started") == 1
