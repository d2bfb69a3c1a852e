"""A cancel reaches a job in its overview stage: a summary over ten years of
1.5 million line items (its overview runs for seconds, before any row is
written or progress is recorded) is cancelled while the overview's statements run;
within 2 s the worker has stopped it and started the next job. Real worker,
real Redis, on SQLite and on PostgreSQL."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.conftest import wait_for
from webapp.extensions import db
from webapp.models import Customer, ReportJob
from webapp.orders.bulk import take_numbers

pytestmark = pytest.mark.integration

ORDERS, ITEMS_PER_ORDER = 300_000, 5  # its overview takes 6-8 s on this machine
FIRST_DAY, DAYS = dt.date(2016, 4, 1), 3652  # ten years, 2016-04-01 to 2026-03-31
RANGE = {"date_from": "2016-04-01", "date_to": "2026-03-31"}


def _bulk_orders(conn, workspace_id: int) -> None:
    """ORDERS completed orders of customer ACME spread over the ten years, each
    with ITEMS_PER_ORDER items of 2.50 under a product name of its own (the top
    products then group 1.5 million names: the overview's longest statement).
    Made by the database itself, so no row crosses the wire; product_months
    is left empty, as a summary for one customer reads the items."""
    values = {"owner": workspace_id, "n": ORDERS, "per": ITEMS_PER_ORDER,
              "start": int(dt.datetime.combine(FIRST_DAY, dt.time(), dt.UTC).timestamp()),
              "step": DAYS * 86400 // ORDERS}
    if conn.dialect.name == "postgresql":
        stamps = "SELECT to_timestamp(:start + g * :step) AS at FROM generate_series(0, :n - 1) g"
        lines = "generate_series(1, :per) AS j(k)"
    else:
        stamps = ("WITH RECURSIVE g(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM g "
                  "WHERE i < :n - 1) SELECT strftime('%Y-%m-%d %H:%M:%S.000000', "
                  ":start + i * :step, 'unixepoch') AS at FROM g")
        lines = ("(WITH RECURSIVE j(k) AS (SELECT 1 UNION ALL SELECT k + 1 FROM j "
                 "WHERE k < :per) SELECT k FROM j) AS j")
    now = dt.datetime.now(dt.UTC)
    customer_id = conn.execute(
        sa.insert(Customer.__table__).returning(Customer.__table__.c.id),
        {"workspace_id": workspace_id, "name": "ACME", "name_key": "acme",
         "created_at": now, "updated_at": now}).scalar_one()
    first, prefix = take_numbers(conn, workspace_id, ORDERS)
    values.update(customer=customer_id, first=first, prefix=prefix)
    # numbers from the workspace's sequence, as bulk.order_rows gives them
    number = ("(:prefix || lpad(CAST(:first + row_number() OVER (ORDER BY at) - 1 AS TEXT), "
              "6, '0'))" if conn.dialect.name == "postgresql" else
              "(:prefix || printf('%06d', :first + row_number() OVER (ORDER BY at) - 1))")
    day = "CAST(at AS DATE)" if conn.dialect.name == "postgresql" else "date(at)"
    conn.execute(sa.text(
        "INSERT INTO orders (workspace_id, customer_id, customer, customer_key, number, "
        "order_date, status, created_at, updated_at, item_count, units, total, net_total) "
        f"SELECT :owner, :customer, 'ACME', 'acme', {number}, {day}, 'completed', "
        f"at, at, :per, :per, :per * 2.50, :per * 2.50 FROM ({stamps}) AS s"), values)
    conn.execute(sa.text(
        "INSERT INTO order_items (order_id, product, quantity, unit_price, net, gross) "
        "SELECT o.id, 'Product ' || (o.id * 7 + j.k) || ', a name of its own', 1, 2.50, "
        f"2.50, 2.50 FROM orders AS o, {lines} WHERE o.workspace_id = :owner"), values)


def _job(client, job_id: int) -> dict:
    db.session.rollback()  # the test's session would keep its first answer
    return client.get(f"/api/reports/{job_id}").get_json()


def _utc(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def _overview_statements() -> int:
    """PostgreSQL statements of other sessions reading the orders right now."""
    with db.engine.connect() as conn:
        return conn.scalar(sa.text(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid() AND state = 'active' AND query ILIKE '%FROM orders%'"))


def test_a_summary_cancelled_in_its_overview_stops_within_2_s_and_the_worker_runs_the_next(
        live, live_app, user, client):
    _, worker = live
    postgresql = db.engine.dialect.name == "postgresql"
    with db.engine.begin() as conn:
        _bulk_orders(conn, user.id)
    with db.engine.begin() as conn:
        conn.execute(sa.text("ANALYZE orders, order_items" if postgresql else "ANALYZE"))
    small = client.post("/api/orders", json={"customer": "Bolt & Co", "items": [
        {"product": "Tea", "quantity": 2, "unit_price": "1.25"}]}).get_json()
    log_before = len(worker.output())

    resp = client.post("/api/reports", json={"kind": "summary", "format": "pdf",
                                             "customer": "ACME", **RANGE})
    assert resp.status_code == 202
    big = resp.get_json()["id"]
    wait_for(lambda: _job(client, big)["status"] == "PROCESSING", timeout=30, interval=0.02,
             what="the summary to start")
    if postgresql:  # and its statements to run (SQLite shows none)
        wait_for(_overview_statements, timeout=10, interval=0.02, what="an overview statement")
    # still in the overview: the row count is recorded only after it
    assert _job(client, big)["rows_total"] is None
    nxt = client.post("/api/reports", json={"kind": "order", "order_id": small["id"],
                                            "format": "csv"}).get_json()
    assert nxt["status"] == "PENDING"  # behind the summary: one worker process

    cancelled_at = dt.datetime.now(dt.UTC)
    resp = client.post(f"/api/reports/{big}/cancel")
    assert resp.status_code == 200 and resp.get_json()["status"] == "CANCELLED"

    done = wait_for(lambda: (j := _job(client, nxt["id"]))["status"] == "COMPLETED" and j,
                    timeout=60, interval=0.05, what="the next job to complete")
    assert _utc(done["started_at"]) - cancelled_at < dt.timedelta(seconds=2), (
        done["started_at"], cancelled_at)
    # the summary stopped in its overview: its statement was interrupted
    log = worker.output()[log_before:]
    assert f"report job {big} stopped: cancelled, deleted or taken over (OperationalError)" in log
    if postgresql:
        assert _overview_statements() == 0
    cancelled = _job(client, big)
    assert cancelled["status"] == "CANCELLED" and cancelled["download_url"] is None
    assert client.get(f"/api/reports/{big}/download").status_code == 409
    # no partial file: the folder holds the next job's file only
    assert [f.name for f in Path(live_app.config["REPORTS_DIR"]).iterdir()] == [
        db.session.get(ReportJob, nxt["id"]).file_name]
