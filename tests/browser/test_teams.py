"""A team in headless Chromium, with a real SMTP server and a real worker:
the owner invites a member and a viewer by e-mail; both accept through the
mailed links; the member makes an order and its PDF; the viewer downloads
that PDF but is refused, with the reason, when creating, changing or
deleting an order or making a schedule; removing the member ends their
access at their next request; a password reset by the mailed link works
once and ends the other sessions; a TOTP log-in works with a code computed
here."""
from __future__ import annotations

import re
import threading
import time
from pathlib import Path

import pyotp
import pytest
from werkzeug.serving import make_server

from tests.browser import axe
from tests.browser.steps import new_order
from tests.conftest import PASSWORD, SESSION, _migrate_fresh, build_app, make_user
from tests.harness import WORKER_READY, app_env, celery_worker
from tests.smtp import SmtpServer
from webapp.extensions import db

pytestmark = pytest.mark.browser

NEW_PASSWORD = "a brand new passphrase 2026"


@pytest.fixture(scope="module")
def smtp():
    server = SmtpServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def team(tmp_path_factory, redis_url, smtp):
    """The app over HTTP on SQLite and its worker, both sending mail to `smtp`,
    with links in mails pointing at the served app."""
    base = tmp_path_factory.mktemp("teams")
    db_url = f"sqlite:///{base / 'teams.sqlite3'}"
    reports = base / "reports"
    queue = f"it-browser-teams-{SESSION}"
    app = build_app(db_url, reports, queue, redis_url, WTF_CSRF_ENABLED=True, TESTING=False,
                    SMTP_URL=smtp.url)
    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    url = f"http://127.0.0.1:{httpd.server_port}"
    app.config["PUBLIC_URL"] = url
    _migrate_fresh(app)
    with app.app_context():
        make_user("owner@example.com", verified=True)
        make_user("member@example.com", verified=True)
        make_user("viewer@example.com")  # accepting the mailed link verifies the address
        db.session.remove()
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    worker = celery_worker(queue, app_env(db_url, redis_url, queue, reports, SMTP_URL=smtp.url,
                                          PUBLIC_URL=url),
                           base / "worker.log")
    worker.start().wait_ready(WORKER_READY, interval=0.2)
    yield {"url": url, "app": app}
    worker.stop()
    httpd.shutdown()


def _session(browser, url, email, password=PASSWORD):
    context = browser.new_context(accept_downloads=True)
    page = context.new_page()
    page.goto(f"{url}/login")
    page.fill("#email", email)
    page.fill("#password", password)
    page.click("button:has-text('Log in')")
    page.wait_for_url("**/dashboard")
    return page


def _link(received, path: str) -> str:
    text = received.message.get_body(("plain",)).get_content()
    found = re.search(r"http://127\.0\.0\.1:\d+" + re.escape(path) + r"\S+", text)
    assert found, text
    return found.group()


def _mail_to(smtp, address: str, count: int):
    smtp.wait_for(count, timeout=30)
    return [m for m in smtp.messages if address in m.rcpt_tos]


def _refused(page, reason: str) -> None:
    body = page.inner_text("body")
    assert reason in body, body[:500]


def test_a_team_works_together_and_apart(browser, team, smtp):
    url = team["url"]
    owner = _session(browser, url, "owner@example.com")
    for email, role in (("member@example.com", "member"), ("viewer@example.com", "viewer")):
        owner.goto(f"{url}/team/")
        owner.fill("#invite-email", email)
        owner.select_option("#invite-role", role)
        owner.click("button:has-text('Invite')")
        owner.wait_for_selector(f"text=Invitation e-mailed to {email}")

    member = _session(browser, url, "member@example.com")
    viewer = _session(browser, url, "viewer@example.com")
    for page, email in ((member, "member@example.com"), (viewer, "viewer@example.com")):
        [mail] = _mail_to(smtp, email, 2)
        page.goto(_link(mail, "/invitations/"))
        axe.check(page, "invitation")
        page.click("button:has-text('Join')")
        page.wait_for_url("**/orders/")
        assert "Welcome to owner’s workspace" in page.inner_text("body")

    # the member makes an order and its PDF in the shared workspace
    new_order(member, url, "Shared Customer GmbH", "Widget", "3", "12.50")
    order_url = member.url
    member.click("text=Generate PDF")
    member.wait_for_selector(".job-status[data-status=COMPLETED]", timeout=60_000)

    # the viewer reads and downloads it...
    viewer.goto(order_url)
    assert "Shared Customer GmbH" in viewer.inner_text("body")
    with viewer.expect_download() as info:
        viewer.click("text=Download PDF")
    assert Path(info.value.path()).read_bytes().startswith(b"%PDF-")
    # ...and is refused every write, with the reason
    viewer.goto(f"{url}/orders/new")
    viewer.fill("#customer", "Not Allowed Ltd")
    viewer.fill("#items-0-product", "Nope")
    viewer.fill("#items-0-quantity", "1")
    viewer.fill("#items-0-unit_price", "1.00")
    with viewer.expect_response(lambda r: r.request.method == "POST") as answer:
        viewer.click("text=Create order")
    assert answer.value.status == 403
    _refused(viewer, "Viewers cannot create orders.")
    axe.check(viewer, "order form refused to a viewer")
    order_id = order_url.rstrip("/").rsplit("/", 1)[1]
    for path, button, reason in (
            (f"/orders/{order_id}/edit", "Save changes", "Viewers cannot change orders."),
            (f"/orders/{order_id}/delete", "Yes, delete the order",
             "Viewers cannot delete orders.")):
        viewer.goto(f"{url}{path}")
        with viewer.expect_response(lambda r: r.request.method == "POST") as answer:
            viewer.click(f"button:has-text('{button}')")
        assert answer.value.status == 403, path
        _refused(viewer, reason)
    viewer.goto(f"{url}/schedules/new")
    viewer.fill("#name", "Viewer's schedule")
    with viewer.expect_response(lambda r: r.request.method == "POST") as answer:
        viewer.click("button:has-text('Save schedule')")
    assert answer.value.status == 403
    _refused(viewer, "Viewers cannot create schedules.")

    # removing the member ends their access at their next request
    owner.goto(f"{url}/team/")
    axe.check(owner, "team of three, seen by the owner")
    member_id = owner.locator("tr:has-text('member@example.com')").get_attribute("id")
    owner.locator(f"#{member_id} button:has-text('Remove')").click()
    owner.wait_for_selector("text=member@example.com is no longer a member.")
    response = member.goto(order_url)
    assert response.status == 404

    # password reset: the link works once and ends the viewer's other session
    stranger = browser.new_context().new_page()
    stranger.goto(f"{url}/login")
    stranger.click("text=Forgot password?")
    stranger.fill("#email", "viewer@example.com")
    stranger.click("button:has-text('Send me a link')")
    [reset_mail] = [m for m in _mail_to(smtp, "viewer@example.com", 3)
                    if "/password/reset/" in m.message.get_body(("plain",)).get_content()]
    link = _link(reset_mail, "/password/reset/")
    stranger.goto(link)
    axe.check(stranger, "password reset")
    stranger.fill("#password", NEW_PASSWORD)
    stranger.fill("#confirm", NEW_PASSWORD)
    stranger.click("button:has-text('Set password')")
    stranger.wait_for_url("**/orders/")
    viewer.goto(f"{url}/orders/")
    assert "/login" in viewer.url  # the other session ended
    again = stranger.context.new_page()
    assert again.goto(link).status in (400, 410)
    _session(browser, url, "viewer@example.com", NEW_PASSWORD)

    # two-factor log-in with a code computed here
    with team["app"].app_context():
        from webapp.auth import twofactor
        from webapp.models import User

        person = db.session.scalar(db.select(User).filter_by(email="owner@example.com"))
        secret = twofactor.begin(person)
        twofactor.confirm(person, PASSWORD, pyotp.TOTP(secret).now())
        db.session.remove()
    fresh = browser.new_context().new_page()
    fresh.goto(f"{url}/login")
    fresh.fill("#email", "owner@example.com")
    fresh.fill("#password", PASSWORD)
    fresh.click("button:has-text('Log in')")
    fresh.wait_for_url("**/login/two-factor**")
    axe.check(fresh, "two-factor log-in")
    # the next step's code: the current one was spent confirming the set-up, and a
    # code is good once; one step either side is accepted for clock drift
    fresh.fill("#code", pyotp.TOTP(secret).at(time.time() + 30))
    fresh.click("button:has-text('Log in')")
    fresh.wait_for_url("**/dashboard")
