"""No report ever carries another user's data, through a real worker on
SQLite and PostgreSQL: the two leak routes a review reproduced (retry after
the order's id was reused; a waiting job whose order was deleted), a job that
names another user's order outright (the row query itself is scoped), and an
admin demoted between request and run."""
from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal
from pathlib import Path

import pytest

from tests.conftest import logged_in_client, make_user, wait_for, workspace_of
from webapp.extensions import db
from webapp.models import JobStatus, ReportFormat, ReportJob, ReportKind
from webapp.reports import lifecycle

pytestmark = pytest.mark.integration

# a summary range (under the ten-year limit) that holds today in any zone
ANY_ORDER_MADE_NOW = {"date_from": (dt.date.today() - dt.timedelta(days=3000)).isoformat(),
                      "date_to": (dt.date.today() + dt.timedelta(days=2)).isoformat()}
ITEMS_A = [{"product": "A's tea", "quantity": 1, "unit_price": "1.00"}]
ITEMS_B = [{"product": "B's secret formula", "quantity": 7, "unit_price": "777.00"}]


class Held(list):
    """Job ids recorded by requests but not published yet."""

    def __init__(self, publish):
        super().__init__()
        self.release = publish  # publishes for real: the worker sees the job


@pytest.fixture
def held(monkeypatch):
    """Requests record their job but do not publish it, so a test decides when
    the worker sees it."""
    kept = Held(lifecycle._publish)
    monkeypatch.setattr(lifecycle, "_publish", kept.append)
    return kept


@pytest.fixture
def alice(live_app):
    return make_user("alice@example.com")


@pytest.fixture
def bob(live_app):
    return make_user("bob@example.com")


def _job(client, job_id):
    db.session.rollback()
    return client.get(f"/api/reports/{job_id}").get_json()


def _settled(client, job_id, timeout=60):
    final = ("COMPLETED", "FAILED", "CANCELLED")
    return wait_for(lambda: (j := _job(client, job_id))["status"] in final and j,
                    timeout=timeout, what=f"job {job_id} to finish")


def _order(client, customer, items):
    resp = client.post("/api/orders", json={"customer": customer, "items": items})
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()


def _files_text(app) -> str:
    return "".join(p.read_text(errors="replace") for p in Path(app.config["REPORTS_DIR"]).iterdir()
                   if p.is_file())


def test_retry_after_the_order_was_deleted_and_its_id_taken_is_refused(
        live_app, alice, bob, held):
    a, b = logged_in_client(live_app, alice), logged_in_client(live_app, bob)
    order = _order(a, "Alice Ltd", ITEMS_A)
    job = a.post("/api/reports", json={"kind": "order", "order_id": order["id"],
                                       "format": "csv"}).get_json()
    assert a.post(f"/api/reports/{job['id']}/cancel").status_code == 200
    assert a.delete(f"/api/orders/{order['id']}").status_code == 204

    theirs = _order(b, "Bob Secret GmbH", ITEMS_B)
    assert theirs["id"] != order["id"]  # never reused, on SQLite too (AUTOINCREMENT)

    retry = a.post(f"/api/reports/{job['id']}/retry")
    assert retry.status_code == 409
    assert "order was deleted" in retry.get_json()["detail"]
    assert db.session.scalar(db.select(db.func.count()).select_from(ReportJob)) == 1
    assert "Bob Secret" not in _files_text(live_app)


def test_a_waiting_job_of_a_deleted_order_is_cancelled_and_never_runs(
        live_app, alice, bob, held):
    a, b = logged_in_client(live_app, alice), logged_in_client(live_app, bob)
    order = _order(a, "Alice Ltd", ITEMS_A)
    job = a.post("/api/reports", json={"kind": "order", "order_id": order["id"],
                                       "format": "pdf"}).get_json()
    assert job["status"] == "PENDING" and held == [job["id"]]
    assert a.delete(f"/api/orders/{order['id']}").status_code == 204
    cancelled = _job(a, job["id"])
    assert cancelled["status"] == "CANCELLED"
    assert cancelled["error"] == "The order was deleted."
    assert any(e["event"] == "cancelled" and e["detail"] == "The order was deleted."
               for e in cancelled["events"])

    theirs = _order(b, "Bob Secret GmbH", ITEMS_B)
    assert theirs["id"] != order["id"]
    held.release(job["id"])  # the queued message arrives after all
    marker = _order(a, "Alice Ltd", ITEMS_A)  # a later job shows the worker got past it
    later = a.post("/api/reports", json={"kind": "order", "order_id": marker["id"],
                                         "format": "csv"}).get_json()
    held.release(later["id"])
    assert _settled(a, later["id"])["status"] == "COMPLETED"
    final = _job(a, job["id"])
    assert final["status"] == "CANCELLED" and final["download_url"] is None
    assert a.get(f"/api/reports/{job['id']}/download").status_code == 409
    assert "Bob Secret" not in _files_text(live_app)


def test_a_job_naming_another_users_order_fails_without_reading_it(
        live_app, alice, bob, held):
    """Whatever got the id into the job (a reused id, a bug upstream), the
    worker's own queries are scoped to the job's owner."""
    b = logged_in_client(live_app, bob)
    theirs = _order(b, "Bob Secret GmbH", ITEMS_B)
    job = ReportJob(workspace_id=workspace_of(alice), kind=ReportKind.ORDER,
                    format=ReportFormat.CSV, params={"order_id": theirs["id"]}, dedupe_key="forged",
                    status=JobStatus.PENDING)
    db.session.add(job)
    db.session.commit()
    held.release(job.id)
    a = logged_in_client(live_app, alice)
    final = _settled(a, job.id)
    assert final["status"] == "FAILED"
    assert final["error"] == "The order was deleted."
    assert "Bob Secret" not in _files_text(live_app)
    assert list(Path(live_app.config["REPORTS_DIR"]).iterdir()) == []


@pytest.mark.parametrize("via_retry", [False, True], ids=["queued", "retried"])
def test_a_site_admins_summary_covers_only_their_own_workspace(
        live_app, bob, held, via_retry):
    boss = make_user("boss@example.com", site_admin=True)
    admin, b = logged_in_client(live_app, boss), logged_in_client(live_app, bob)
    for client, customer, items in ((admin, "Boss Own Co", ITEMS_A),
                                    (b, "Bob Secret GmbH", ITEMS_B)):
        order = _order(client, customer, items)
        assert client.patch(f"/api/orders/{order['id']}",
                            json={"status": "completed"}).status_code == 200
    body = {"kind": "summary", "format": "csv", **ANY_ORDER_MADE_NOW}
    job = admin.post("/api/reports", json=body).get_json()
    assert "all_owners" not in job["params"]
    if via_retry:
        assert admin.post(f"/api/reports/{job['id']}/cancel").status_code == 200
        retried = admin.post(f"/api/reports/{job['id']}/retry")
        assert retried.status_code == 202
        job = retried.get_json()
    held.release(job["id"])
    final = _settled(admin, job["id"])
    assert final["status"] == "COMPLETED", final
    rows = list(csv.DictReader(io.StringIO(admin.get(final["download_url"]).data.decode())))
    assert {r["customer"] for r in rows} == {"Boss Own Co"}
    assert sum(Decimal(r["gross"]) for r in rows) == Decimal("1.00")
