"""Server-rendered pages and HTMX partials."""
from __future__ import annotations

from decimal import Decimal

from tests.conftest import logged_in_client
from webapp.extensions import db
from webapp.models import JobStatus, Order, OrderStatus, ReportJob, User
from webapp.orders.services import ItemInput, create_order


def _order(name="ACME", price="2.50"):
    owner = User.query.filter_by(email="alice@example.com").one()  # the `client` fixture's user
    return create_order(owner, name, [ItemInput("Tea", 2, Decimal(price))])


def test_orders_list_shows_totals_newest_first_and_searches_by_customer(client, app):
    _order("Alpha GmbH")
    _order("Beta Ltd", "100.00")
    html = client.get("/orders/").get_data(as_text=True)
    assert html.index("Beta Ltd") < html.index("Alpha GmbH")
    assert "200.00" in html and "5.00" in html
    found = client.get("/orders/?q=alp").get_data(as_text=True)
    assert "Alpha GmbH" in found and "Beta Ltd" not in found
    none = client.get("/orders/?q=100%25").get_data(as_text=True)  # % is literal, not a wildcard
    assert "No orders for a customer matching" in none


def test_orders_list_paginates(client, app):
    for n in range(app.config["ORDERS_PER_PAGE"] + 1):
        _order(f"Customer {n:02d}")
    first = client.get("/orders/").get_data(as_text=True)
    assert "Page 1 of 2" in first and "Customer 00" not in first
    assert "Customer 00" in client.get("/orders/?page=2").get_data(as_text=True)
    assert client.get("/orders/?page=abc").status_code == 200


def test_order_page_shows_items_line_totals_and_total(client, app, user):
    order = create_order(user, "ACME", [ItemInput("Tea", 3, Decimal("1.10")),
                                  ItemInput("Cake", 1, Decimal("1234.50"))])
    html = client.get(f"/orders/{order.id}").get_data(as_text=True)
    assert "3.30" in html and "1,234.50" in html and "1,237.80 USD" in html


def test_mark_completed_cancelled_and_reopen(client, app):
    order = _order()
    for status in ("completed", "cancelled", "open"):
        resp = client.post(f"/orders/{order.id}/status", data={"status": status})
        assert resp.status_code == 303
        db.session.refresh(order)
        assert order.status is OrderStatus(status)
    assert client.post(f"/orders/{order.id}/status", data={"status": "lost"}).status_code == 303
    db.session.refresh(order)
    assert order.status is OrderStatus.OPEN


def test_delete_asks_for_confirmation_then_deletes(client, app):
    order = _order()
    confirm = client.get(f"/orders/{order.id}/delete").get_data(as_text=True)
    assert "cannot be undone" in confirm
    assert Order.query.count() == 1
    assert client.post(f"/orders/{order.id}/delete").status_code == 303
    assert Order.query.count() == 0
    assert client.get(f"/orders/{order.id}").status_code == 404


def test_generate_from_order_page_with_htmx_returns_the_jobs_with_a_polling_badge(client, sent):
    order = _order()
    resp = client.post(f"/reports/order/{order.id}", data={"format": "pdf"},
                       headers={"HX-Request": "true"})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200 and html.startswith('<div id="order-reports">')
    # the job table brings its poller along: one poll for the page, first after 0.5 s
    assert 'data-status="PENDING"' in html and 'hx-trigger="load delay:500ms"' in html
    assert html.count('id="job-poller"') == 1
    again = client.post(f"/reports/order/{order.id}", data={"format": "pdf"},
                        headers={"HX-Request": "true"}).get_data(as_text=True)
    # no worker runs in unit tests: the notice says the same report is already queued
    assert "The same report is already queued" in again and len(sent) == 1


def test_generate_without_javascript_redirects_back_to_the_order(client, sent):
    order = _order()
    resp = client.post(f"/reports/order/{order.id}", data={"format": "csv"})
    assert resp.status_code == 303 and resp.headers["Location"].endswith(f"/orders/{order.id}")
    assert client.post(f"/reports/order/{order.id}", data={"format": "doc"}).status_code == 303
    assert len(sent) == 1
    assert client.post("/reports/order/9999", data={"format": "csv"}).status_code == 404


def test_status_partial_stops_polling_once_final(client, sent):
    order = _order()
    client.post(f"/reports/order/{order.id}", data={"format": "csv"})
    job = ReportJob.query.one()
    pending = client.get(f"/reports/{job.id}/status").get_data(as_text=True)
    # an active badge is followed by the page's poll (its live-param input); a final one is not
    assert 'class="live-param"' in pending and "PENDING" in pending
    job.status, job.rows_total, job.rows_done = JobStatus.PROCESSING, 200, 50
    db.session.commit()
    processing = client.get(f"/reports/{job.id}/status").get_data(as_text=True)
    assert 'class="live-param"' in processing and "25%" in processing
    job.status, job.error = JobStatus.FAILED, "Order 1 no longer exists."
    db.session.commit()
    failed = client.get(f"/reports/{job.id}/status").get_data(as_text=True)
    assert "live-param" not in failed and "Order 1 no longer exists." in failed
    job.status, job.file_name, job.size = JobStatus.COMPLETED, "x.csv", 2048
    db.session.commit()
    done = client.get(f"/reports/{job.id}/status").get_data(as_text=True)
    assert "live-param" not in done and f"/reports/{job.id}/download" in done and "2.0 KB" in done
    assert client.get("/reports/999/status").status_code == 404


def test_summary_form_errors_keep_the_input(client, sent):
    resp = client.post("/reports/", data={"date_from": "2026-11-28", "date_to": "2026-11-01",
                                          "customer": "ACME", "format": "csv"})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert "Must be on or after the start date." in html
    assert 'value="2026-11-28"' in html and 'value="ACME"' in html
    resp = client.post("/reports/", data={"date_from": "not a date", "date_to": "",
                                          "format": "csv"})
    assert resp.status_code == 422 and "Not a valid date value." in resp.get_data(as_text=True)
    assert sent == []


def test_summary_form_queues_a_job_and_lists_it(client, sent):
    resp = client.post("/reports/", data={"date_from": "2026-11-01", "date_to": "2026-11-28",
                                          "format": "pdf"})
    assert resp.status_code == 303
    listing = client.get("/reports/").get_data(as_text=True)
    assert "Completed orders 2026-11-01 → 2026-11-28" in listing and "PDF" in listing
    job = ReportJob.query.one()
    assert f"/reports/{job.id}" in listing
    page = client.get(f"/reports/{job.id}").get_data(as_text=True)
    assert "requested" in page


def test_delete_report_from_the_list(client, sent):
    order = _order()
    client.post(f"/reports/order/{order.id}", data={"format": "csv"})
    job = ReportJob.query.one()
    resp = client.post(f"/reports/{job.id}/delete", data={"next": f"/orders/{order.id}"})
    assert resp.status_code == 303 and resp.headers["Location"] == f"/orders/{order.id}"
    assert client.get(f"/reports/{job.id}").status_code == 404
    assert f"/reports/{job.id}" not in client.get("/reports/").get_data(as_text=True)
    assert [e.event for e in job.events][-2:] == ["cancelled", "deleted"]  # history is kept
    # an outside redirect target is ignored
    client.post(f"/reports/order/{order.id}", data={"format": "csv"})
    other = ReportJob.query.filter_by(deleted_at=None).one()
    resp = client.post(f"/reports/{other.id}/delete", data={"next": "//evil.example/x"})
    assert resp.headers["Location"] == "/reports/"


def test_unknown_pages_answer_404_pages_not_500(client):
    for path in ("/orders/12345", "/orders/12345/edit", "/reports/12345", "/reports/x/status",
                 "/orders/99999999999999999999", "/nothing"):
        resp = client.get(path)
        assert resp.status_code == 404, path
        assert "Not found" in resp.get_data(as_text=True)


def test_pages_carry_the_csrf_header_for_htmx(app, user):
    app.config["WTF_CSRF_ENABLED"] = True
    client = logged_in_client(app, user)
    html = client.get("/orders/new").get_data(as_text=True)
    assert 'hx-headers=\'{"X-CSRFToken": "' in html
    assert client.post("/orders/items", data={"add_item": "1"}).status_code == 400


def test_no_page_title_carries_markup(app, client):
    """The tab shows the title as text: a script tag inside the title block
    used to appear there as code."""
    import re

    made = client.post("/api/schedules", json={
        "name": "Weekly", "cron": "0 7 * * 1", "timezone": "UTC",
        "report": {"kind": "summary", "format": "csv", "range": "last_7_days"}}).get_json()
    pages = ["/signup", "/login", "/orders/", "/orders/new", "/reports/", "/dashboard",
             "/schedules/", "/schedules/new", f"/schedules/{made['id']}",
             f"/schedules/{made['id']}/edit", "/account", "/notices/"]
    anonymous = app.test_client()
    for path in pages:
        page = (anonymous if path in ("/signup", "/login") else client).get(path)
        assert page.status_code == 200, path
        [title] = re.findall(r"<title>(.*?)</title>", page.get_data(as_text=True), re.S)
        assert "<" not in title and ">" not in title, (path, title)


def test_a_page_past_the_end_says_so_and_links_to_the_last_page(client, user):
    for n in range(25):  # 2 pages of 20
        create_order(user, f"Customer {n}", [ItemInput("Tea", 1, Decimal("1.00"))])
    html = client.get("/orders/?page=999").get_data(as_text=True)
    assert "Page 999 is past the end: there are 2 pages (25 in all)" in html
    assert 'href="/orders/?page=2"' in html and "No orders yet" not in html


def test_a_new_user_sees_no_developer_hint(client):
    html = client.get("/orders/").get_data(as_text=True)
    assert "No orders yet" in html and "demo-data" not in html
