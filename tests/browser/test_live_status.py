"""Live status in headless Chromium: one poll per page per interval, whatever
the number of jobs on it; rows that finish without a reload (status, duration,
download); the live region says so; Retry adds the new attempt as its own row.

Jobs are written straight into the database (not queued) so that they stay
PENDING while the polls are counted, then handed to the real worker."""
from __future__ import annotations

import datetime as dt
import threading
import time
import uuid
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import expect
from werkzeug.serving import make_server

from tests.conftest import SESSION, _migrate_fresh, build_app, make_user

pytestmark = pytest.mark.browser

POLL_SECONDS = 1  # STATUS_POLL_SECONDS here: the poller waits 0.5 s, then 1 s each time


@pytest.fixture(scope="module")
def live_app(tmp_path_factory, redis_url, worker_factory):
    """The browser tests' server (tests/browser/conftest.py), keeping its app so
    the test can write jobs and queue them."""
    base = tmp_path_factory.mktemp("live-status")
    db_url = f"sqlite:///{base / 'live.sqlite3'}"
    reports = base / "reports"
    app = build_app(db_url, reports, f"it-browser-live-{SESSION}", redis_url,
                    WTF_CSRF_ENABLED=True, TESTING=False, STATUS_POLL_SECONDS=POLL_SECONDS)
    _migrate_fresh(app)
    with app.app_context():
        make_user("browser@example.com")
    worker_factory(db_url, reports, "browser-live")
    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield app, f"http://127.0.0.1:{httpd.server_port}"
    httpd.shutdown()


@pytest.fixture(scope="module")
def server(live_app):
    return live_app[1]


def _jobs(app, count: int, *, cancelled: bool = False) -> list[int]:
    """`count` summary jobs of the browser user, PENDING and not queued (or
    cancelled). Summaries of a day without orders: the worker finishes them at once."""
    from webapp.extensions import db
    from webapp.models import ReportFormat, User
    from webapp.reports import lifecycle
    from webapp.reports.params import ReportParams

    with app.app_context():
        owner = db.session.query(User).filter_by(email="browser@example.com").one()
        ids = []
        for _ in range(count):
            day = dt.date(2026, 1, 1)
            params = ReportParams.summary(day, day, f"nobody {uuid.uuid4().hex[:6]}")
            job = lifecycle.new_job(owner.id, ReportFormat.CSV, params, uuid.uuid4().hex)
            db.session.commit()
            if cancelled:
                lifecycle.cancel(db.session.connection(), job.id)
                db.session.commit()
            ids.append(job.id)
        db.session.remove()
        return ids


def _queue(app, ids: list[int]) -> None:
    from webapp.reports import lifecycle

    with app.app_context():
        for job_id in ids:
            assert lifecycle.enqueue(job_id)


def _polls(page) -> list[tuple[float, str]]:
    seen: list[tuple[float, str]] = []
    page.on("request",
            lambda r: "/reports/live" in r.url and seen.append((time.monotonic(), r.url)))
    return seen


def test_five_active_jobs_make_one_poll_per_interval_and_each_row_completes_in_place(
        page, server, live_app):
    app, _ = live_app
    ids = _jobs(app, 5)
    polls = _polls(page)
    page.goto(f"{server}/reports/")
    page.evaluate("window.__noReload = 'still here'")
    assert page.locator("#job-poller").count() == 1
    assert page.get_attribute("#job-poller", "hx-trigger") == "load delay:500ms"

    window = 4.5
    start = time.monotonic()
    page.wait_for_timeout(window * 1000)
    counted = [url for at, url in polls if at - start <= window]
    # 0.5 s, then every POLL_SECONDS: ~4 requests in 4.5 s for the whole page. One
    # poller per badge would have made 5 jobs x 4.5 s / 1 s = ~22.
    intervals = 1 + (window - 0.5) / POLL_SECONDS
    print(f"{len(counted)} polls in {window} s for {len(ids)} jobs")
    assert 1 <= len(counted) <= intervals + 1, counted
    for url in counted:  # each names every active job on the page
        named = {int(v.split(":")[0]) for v in parse_qs(urlsplit(url).query)["job"]}
        assert named == set(ids)

    _queue(app, ids)  # the worker may now run them
    for job_id in ids:
        page.wait_for_selector(f"tr#job-{job_id}[data-status=COMPLETED]", timeout=30_000)
    assert page.evaluate("window.__noReload") == "still here"
    for job_id in ids:
        row = page.locator(f"tr#job-{job_id}")
        assert row.locator("td.duration").inner_text().strip().endswith(" s")
        assert row.locator("a.download").inner_text() == "Download CSV"
    assert "ready to download" in page.locator("#job-announcements").inner_text()
    # nothing active is left: the poller has no trigger, and no more requests go out
    page.wait_for_function("!document.querySelector('#job-poller').hasAttribute('hx-trigger')",
                           timeout=5_000)
    settled = len(polls)
    page.wait_for_timeout(2.5 * POLL_SECONDS * 1000)
    assert len(polls) == settled


def test_retry_on_the_reports_page_adds_a_row_and_the_old_row_keeps_its_status(
        page, server, live_app):
    app, _ = live_app
    [old] = _jobs(app, 1, cancelled=True)
    page.goto(f"{server}/reports/")
    assert page.get_attribute("#job-poller", "hx-trigger") is None  # nothing active yet
    page.click(f"#job-{old}-retry")
    new_row = page.locator(f"#job-rows tr.job-row:has-text('retry of #{old}')")
    new_row.wait_for(timeout=30_000)
    new_id = new_row.get_attribute("id")
    assert page.locator("#job-rows tr.job-row").first.get_attribute("id") == new_id  # on top
    assert new_row.locator(f"a[href='/reports/{old}']").inner_text() == f"#{old}"
    # the old row is still its own job: CANCELLED, with a link to the new attempt
    old_row = page.locator(f"tr#job-{old}")
    assert old_row.get_attribute("data-status") == "CANCELLED"
    assert old_row.locator(".badge").inner_text() == "CANCELLED"
    assert f"report #{new_id.split('-')[1]}" in old_row.inner_text()
    # the restarted poller follows the new attempt to its end
    page.wait_for_selector(f"tr#{new_id}[data-status=COMPLETED]", timeout=60_000)
    assert old_row.get_attribute("data-status") == "CANCELLED"
    assert page.locator(f"tr#job-{old}").count() == 1
    expect(page.locator("#job-announcements")).to_contain_text("ready to download",
                                                               timeout=10_000)


def test_a_jobs_own_page_follows_its_status_to_completed_without_reload(page, server, live_app):
    app, _ = live_app
    [job] = _jobs(app, 1)
    page.goto(f"{server}/reports/{job}")
    page.evaluate("window.__noReload = 'still here'")
    status = page.locator(f"#job-{job}-status")
    assert status.get_attribute("data-status") == "PENDING"
    _queue(app, [job])
    page.wait_for_selector(f"#job-{job}-status[data-status=COMPLETED]", timeout=30_000)
    assert page.evaluate("window.__noReload") == "still here"
    assert page.locator(f"#job-{job}-status a.download").count() == 1
    assert f"Report #{job} is ready to download." in page.inner_text("#job-announcements")
    page.wait_for_function("!document.querySelector('#job-poller').hasAttribute('hx-trigger')",
                           timeout=5_000)
