"""A schedule's page follows its deliveries, not only its report: after "Run
now" the report completes, its webhook is refused once (the receiver answers
500) and retried a few seconds later, and the page's one poll keeps going
while the delivery is pending, so "pending … next attempt" turns into
"delivered · 2 attempts" and the outcome into "Delivered" without a reload.
At 1280 and 390 px (the Runs table stacks on a phone).

The server is the browser tests' app over HTTP on SQLite, with a real worker
on Redis and a real webhook receiver (tests/webhook_receiver.py) on loopback
(WEBHOOK_ALLOW_PRIVATE, in the app and the worker alike)."""
from __future__ import annotations

import re
import threading

import pytest
from playwright.sync_api import expect
from werkzeug.serving import make_server

from tests.browser import axe
from tests.browser.steps import log_in
from tests.conftest import SESSION, _migrate_fresh, build_app, make_user
from tests.harness import WORKER_READY, app_env, celery_worker
from tests.webhook_receiver import WebhookReceiver

pytestmark = pytest.mark.browser

RETRY_SECONDS = "3"  # long enough that the report is COMPLETED well before the delivery ends


@pytest.fixture(scope="module")
def receiver():
    hooks = WebhookReceiver().start()
    yield hooks
    hooks.stop()


@pytest.fixture(scope="module")
def server(tmp_path_factory, redis_url):
    base = tmp_path_factory.mktemp("deliveries-live")
    db_url = f"sqlite:///{base / 'deliveries.sqlite3'}"
    reports = base / "reports"
    queue = f"it-browser-deliveries-live-{SESSION}"
    app = build_app(db_url, reports, queue, redis_url, WTF_CSRF_ENABLED=True, TESTING=False,
                    WEBHOOK_ALLOW_PRIVATE=True, DELIVERY_RETRY_DELAYS=RETRY_SECONDS)
    _migrate_fresh(app)
    with app.app_context():
        make_user("browser@example.com")
    worker = celery_worker(queue, app_env(db_url, redis_url, queue, reports,
                                          WEBHOOK_ALLOW_PRIVATE="1",
                                          DELIVERY_RETRY_DELAYS=RETRY_SECONDS),
                           base / "worker.log")
    worker.start().wait_ready(WORKER_READY, interval=0.2)
    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_port}"
    finally:
        httpd.shutdown()
        worker.stop()


@pytest.mark.parametrize("width", [1280, 390])
def test_deliveries_turn_delivered_without_a_reload_after_run_now(
        browser, server, receiver, width):
    receiver.clear()
    receiver.script([500])  # the first attempt is refused; the retry gets 200
    context = browser.new_context(viewport={"width": width, "height": 844})
    page = context.new_page()
    log_in(page, server)
    page.goto(f"{server}/schedules/new")
    page.fill("#name", f"Webhook at {width}")
    page.check("input[name=kind][value=summary]")
    page.check("input[name=format][value=csv]")
    page.fill("#webhook_url", receiver.url())
    page.click("button:has-text('Save schedule')")
    page.wait_for_url(re.compile(r".*/schedules/\d+$"))
    url = page.url

    page.click("#run-now")
    page.wait_for_url(url)
    page.evaluate("window.__noReload = 'still here'")
    run = page.locator("table.runs tbody tr").first
    webhook = run.locator("li.delivery", has_text="webhook")
    expect(run.locator(".job-status")).to_have_attribute("data-status", "COMPLETED",
                                                         timeout=30_000)
    # the receiver refused the first attempt; the run is still under way
    receiver.wait_for(1, timeout=30)
    expect(webhook.locator(".badge")).to_have_text("delivered", timeout=30_000)
    expect(webhook).to_contain_text("2 attempts")
    outcome = run.locator("td[id$='-outcome']")
    expect(outcome.locator(".badge")).to_have_text("Delivered")
    expect(outcome.locator("input.live-param")).to_have_count(0)  # the poll lets it go
    assert len(receiver.requests) == 2  # refused once, then delivered: no third call
    assert page.evaluate("window.__noReload") == "still here"
    # on a phone the run's cells are "label value" lines inside the window
    if width < 640:
        box = webhook.bounding_box()
        assert box and box["x"] + box["width"] <= width, box
        assert page.evaluate("document.documentElement.scrollWidth") <= width
    axe.check(page, f"schedule with a delivered run at {width}px")
    context.close()
