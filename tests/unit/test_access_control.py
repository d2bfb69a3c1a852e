"""Each user sees only their own orders and reports; another user's ids answer
404 everywhere (never 403), so they cannot be probed."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest

from tasks.reports import run_job
from tests.conftest import PASSWORD, logged_in_client, make_user
from webapp.extensions import db
from webapp.models import ReportFormat
from webapp.orders.services import ItemInput, create_order
from webapp.reports import services


@pytest.fixture
def alices(app, user, sent):
    """Alice's order with a completed report and a pending one."""
    order = create_order(user, "Alice's customer", [ItemInput("Tea", 2, Decimal("3.00"))])
    done, _ = services.request_order_report(user, order.id, ReportFormat.CSV)
    assert run_job(done.id) == "completed"
    pending, _ = services.request_order_report(user, order.id, ReportFormat.PDF)
    return order, done, pending


@pytest.fixture
def bob(app):
    return logged_in_client(app, make_user("bob@example.com"))


def test_other_users_pages_partials_and_downloads_answer_404(alices, bob):
    order, done, pending = alices
    gets = [f"/orders/{order.id}", f"/orders/{order.id}/edit", f"/orders/{order.id}/delete",
            f"/reports/{done.id}", f"/reports/{done.id}/status", f"/reports/{done.id}/download",
            f"/reports/{pending.id}/status"]
    for path in gets:
        assert bob.get(path).status_code == 404, path
    posts = [(f"/orders/{order.id}/status", {"status": "cancelled"}),
             (f"/orders/{order.id}/delete", {}), (f"/orders/{order.id}/edit", {"customer": "x"}),
             (f"/reports/order/{order.id}", {"format": "csv"}),
             (f"/reports/{pending.id}/cancel", {}), (f"/reports/{done.id}/retry", {}),
             (f"/reports/{done.id}/delete", {})]
    for path, data in posts:
        assert bob.post(path, data=data).status_code == 404, path


def test_other_users_api_objects_answer_404(alices, bob):
    order, done, pending = alices
    assert bob.get(f"/api/orders/{order.id}").status_code == 404
    assert bob.patch(f"/api/orders/{order.id}", json={"status": "open"}).status_code == 404
    assert bob.delete(f"/api/orders/{order.id}").status_code == 404
    assert bob.post("/api/reports", json={"kind": "order", "order_id": order.id,
                                          "format": "csv"}).status_code == 404
    for path in (f"/api/reports/{done.id}", f"/api/reports/{done.id}/download"):
        assert bob.get(path).status_code == 404, path
    assert bob.post(f"/api/reports/{pending.id}/cancel").status_code == 404
    assert bob.post(f"/api/reports/{done.id}/retry").status_code == 404
    assert bob.delete(f"/api/reports/{done.id}").status_code == 404
    assert bob.get("/api/orders").get_json()["total"] == 0
    assert bob.get("/api/reports").get_json()["total"] == 0


def test_lists_and_summaries_hold_only_the_users_own_rows(app, alices, bob, user):
    html = bob.get("/orders/").get_data(as_text=True)
    assert "Alice&#39;s customer" not in html and "No orders yet" in html
    assert "Alice" not in bob.get("/reports/").get_data(as_text=True)
    bob_user = db.session.scalar(db.select(type(user)).filter_by(email="bob@example.com"))
    create_order(bob_user, "Bob's customer", [ItemInput("Cake", 1, Decimal("5.00"))])
    for o in db.session.scalars(db.select(type(alices[0]))):
        o.status = "completed"
    db.session.commit()
    today = dt.date.today()
    job, _ = services.request_summary_report(bob_user, today, today, None, ReportFormat.CSV)
    run_job(job.id)
    db.session.expire_all()
    text = (Path(app.config["REPORTS_DIR"]) / services.get_job(bob_user, job.id).file_name
            ).read_text(encoding="utf-8")
    assert "Bob's customer" in text and "Alice" not in text


def test_the_same_report_asked_by_two_users_makes_two_jobs(app, user, sent):
    bob = make_user("bob@example.com")
    day = dt.date(2026, 11, 1)
    a, _ = services.request_summary_report(user, day, day, None, ReportFormat.CSV)
    b, created = services.request_summary_report(bob, day, day, None, ReportFormat.CSV)
    assert created and a.id != b.id


def test_a_site_admin_sees_no_other_workspace(app, alices):
    """The old global admin is gone: the site-admin flag opens no one's data."""
    order, done, _ = alices
    admin = logged_in_client(app, make_user("root@example.com", site_admin=True))
    assert admin.get(f"/orders/{order.id}").status_code == 404
    assert admin.get(f"/reports/{done.id}/download").status_code == 404
    assert admin.get("/api/orders").get_json()["total"] == 0


@pytest.mark.parametrize("path", [
    "/orders/../../etc/passwd", "/orders/..%2F..%2Fetc%2Fpasswd", "/reports/%2e%2e%2fetc/download",
    "/reports/..%252F..%252Fetc%252Fpasswd/download", "/api/reports/..%2F1/download",
    "/reports/1%00/download", "/api/orders/1;2", "/reports/-1/status"])
def test_path_like_ids_answer_404(client, path):
    assert client.get(path).status_code == 404


def test_pages_need_a_session_and_the_api_a_token(app, alices):
    anonymous = app.test_client()
    order, done, _ = alices
    for path in ("/orders/", f"/orders/{order.id}", "/reports/", f"/reports/{done.id}/download"):
        resp = anonymous.get(path)
        assert resp.status_code == 302 and "/login?next=" in resp.headers["Location"], path
    htmx = anonymous.get(f"/reports/{done.id}/status", headers={"HX-Request": "true"})
    assert htmx.status_code == 401 and htmx.headers["HX-Redirect"].startswith("/login")
    resp = anonymous.get("/api/orders")
    assert resp.status_code == 401 and "Bearer" in resp.get_json()["detail"]
    assert resp.headers["WWW-Authenticate"].startswith("Bearer")
    assert anonymous.get("/api/orders", headers={"Authorization": "Bearer rg_nope"}
                         ).status_code == 401
    assert anonymous.get("/healthz").status_code in (200, 503)
    assert anonymous.get("/login").status_code == 200


def test_a_session_cookie_alone_does_not_open_the_api(app, user):
    """The API has no CSRF token, so it must not accept the browser's session."""
    client = logged_in_client(app, user)
    del client.environ_base["HTTP_AUTHORIZATION"]
    assert client.get("/api/orders").status_code == 401
    assert client.get("/orders/").status_code == 200


def test_tokens_are_created_shown_once_stored_hashed_and_revocable(app, user, client):
    page = client.post("/account/tokens", data={"name": "nightly"}).get_data(as_text=True)
    secret = page.split('id="new-token">')[1].split("<")[0]
    assert secret.startswith("rg_")
    assert secret not in client.get("/account").get_data(as_text=True)  # shown once
    stored = user.tokens[-1]
    assert stored.token_hash != secret and secret not in stored.token_hash
    api = app.test_client()
    api.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {secret}"
    assert api.get("/api/orders").status_code == 200
    assert client.post(f"/account/tokens/{stored.id}/revoke").status_code == 303
    assert api.get("/api/orders").status_code == 401


def test_sign_up_log_in_and_log_out(app):
    web = app.test_client()
    resp = web.post("/signup", data={"email": "New@Example.com ", "password": "short",
                                     "confirm": "short"})
    assert resp.status_code == 422 and "Use at least 10 characters." in resp.get_data(True)
    resp = web.post("/signup", data={"email": "new@example.com", "password": PASSWORD,
                                     "confirm": PASSWORD})
    assert resp.status_code == 303
    assert web.get("/orders/").status_code == 200
    again = app.test_client().post("/signup", data={"email": "NEW@example.com",
                                                    "password": PASSWORD, "confirm": PASSWORD})
    assert "already exists" in again.get_data(as_text=True)
    web.post("/logout")
    assert web.get("/orders/").status_code == 302
    bad = web.post("/login", data={"email": "new@example.com", "password": "wrong-password"})
    assert bad.status_code == 422 and "Wrong e-mail or password." in bad.get_data(True)
    good = web.post("/login?next=/reports/", data={"email": "new@example.com",
                                                  "password": PASSWORD})
    assert good.status_code == 303 and good.headers["Location"] == "/reports/"
    evil = web.post("/login?next=//evil.example/", data={"email": "new@example.com",
                                                        "password": PASSWORD})
    assert evil.status_code in (302, 303) and "evil" not in evil.headers["Location"]


def test_passwords_are_hashed_with_scrypt_by_default(app):
    app.config["PASSWORD_HASH_METHOD"] = None
    user = make_user("hashed@example.com")
    assert user.password_hash.startswith("scrypt:") and PASSWORD not in user.password_hash


def test_forms_without_or_with_another_sessions_csrf_token_are_refused_with_a_message(app, user):
    app.config["WTF_CSRF_ENABLED"] = True
    mine = logged_in_client(app, user)
    other = logged_in_client(app, make_user("eve@example.com"))
    other.get("/orders/new")
    with other.session_transaction() as s:
        foreign_token = s.get("csrf_token")
    resp = mine.post("/orders/new", data={"customer": "A"})
    assert resp.status_code == 400 and "Reload the page" in resp.get_data(as_text=True)
    resp = mine.post("/orders/new", data={"customer": "A", "csrf_token": foreign_token or "x"})
    assert resp.status_code == 400
    htmx = mine.post("/orders/items", data={"add_item": "1"}, headers={"HX-Request": "true"})
    assert htmx.status_code == 200 and htmx.headers["HX-Retarget"] == "#notices"
    assert "open too long" in htmx.get_data(as_text=True)


def test_security_headers_and_cookie_flags(app, user):
    web = app.test_client()
    resp = web.post("/login", data={"email": user.email, "password": PASSWORD})
    cookie = resp.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    page = web.get("/orders/")
    csp = page.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
    assert "unsafe-eval" not in csp and "script-src 'self'" in csp
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    with app.test_request_context(base_url="https://localhost"):
        assert app.session_interface.get_cookie_secure(app)  # Secure when served over HTTPS
    with app.test_request_context(base_url="http://localhost"):
        assert not app.session_interface.get_cookie_secure(app)


def test_report_requests_are_rate_limited_per_user_with_a_message(app, user, client, sent):
    app.config["REPORT_RATE_LIMIT"] = "3 per minute"
    order = create_order(user, "A", [ItemInput("Tea", 1, Decimal("1.00"))])
    codes = [client.post("/api/reports", json={"kind": "order", "order_id": order.id,
                                               "format": "csv"}).status_code for _ in range(4)]
    assert codes == [202, 200, 200, 429]
    page = client.post(f"/reports/order/{order.id}", data={"format": "pdf"},
                       headers={"HX-Request": "true"})
    assert page.headers["HX-Retarget"] == "#notices"
    assert "Too many requests" in page.get_data(as_text=True)


def test_open_jobs_are_capped_per_user(app, user, client, sent):
    app.config["REPORT_MAX_OPEN_JOBS"] = 2
    order = create_order(user, "A", [ItemInput("Tea", 1, Decimal("1.00"))])
    day = "2026-11-0{}"
    codes = [client.post("/api/reports", json={
        "kind": "summary", "format": "csv", "date_from": day.format(n), "date_to": "2026-11-09"}
    ).status_code for n in (1, 2, 3)]
    assert codes == [202, 202, 429]
    assert "reports in progress" in client.post("/api/reports", json={
        "kind": "order", "order_id": order.id, "format": "csv"}).get_json()["detail"]
