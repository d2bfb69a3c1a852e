"""Scheduled reports in headless Chromium: a weekly schedule made from the
plain choices says when it runs in words, with its next run; a bad cron is
shown next to its field with everything typed kept and nothing saved; Edit
reads the plain choices back out of the stored cron; Pause and Resume show
and remove the badge and the reason; and "Run now" adds a run whose status,
and the bell's unread count, the page's existing poll brings up to date
without a reload, until /notices/ shows "Report ready" and the count goes.

The server is the browser tests' (tests/browser/conftest.py) except that its
worker starts only when a test asks for it: "Run now" then leaves a report
that is certainly still PENDING when its page is drawn, so only the poll can
bring its COMPLETED status and the bell's count to the page. The server has
no SMTP_URL, so no e-mail is used here.

No accessibility (axe-core) check: the other browser tests do not run one,
and axe-core is not part of this project."""
from __future__ import annotations

import datetime as dt
import re
import threading
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect
from werkzeug.serving import make_server

from tests.conftest import SESSION, _migrate_fresh, build_app, make_user

pytestmark = pytest.mark.browser

BERLIN = ZoneInfo("Europe/Berlin")


@pytest.fixture(scope="module")
def site(tmp_path_factory, redis_url):
    """The app over HTTP on SQLite, as in conftest's `server`, without a worker yet."""
    base = tmp_path_factory.mktemp("schedules")
    db_url = f"sqlite:///{base / 'schedules.sqlite3'}"
    reports = base / "reports"
    name = "browser-schedules"
    app = build_app(db_url, reports, f"it-{name}-{SESSION}", redis_url,
                    WTF_CSRF_ENABLED=True, TESTING=False)
    _migrate_fresh(app)
    with app.app_context():
        make_user("browser@example.com")
    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield {"url": f"http://127.0.0.1:{httpd.server_port}", "db_url": db_url,
           "reports": reports, "name": name}
    httpd.shutdown()


@pytest.fixture(scope="module")
def server(site):
    return site["url"]


@pytest.fixture(scope="module")
def start_worker(site, worker_factory):
    """Starts the module's real worker (once), on the server's database and queue."""
    started = []

    def start():
        if not started:
            started.append(worker_factory(site["db_url"], site["reports"], site["name"]))

    return start


def new_schedule(page, server, name, *, frequency="weekly", time="07:00", weekday="0",
                 day="1", cron="", zone="UTC", range_="last_7_days", fmt="pdf",
                 customer="", webhook_url=""):
    """Fill in /schedules/new and press Save; the caller checks where it lands."""
    page.goto(f"{server}/schedules/new")
    page.fill("#name", name)
    page.check("input[name=kind][value=summary]")
    page.select_option("#range", range_)
    page.fill("#customer", customer)
    page.check(f"input[name=format][value={fmt}]")
    page.select_option("#frequency", frequency)
    # only the timing fields this "Repeat" uses are shown (static/js/schedule-form.js)
    shown = {"time": frequency != "custom", "weekday": frequency == "weekly",
             "day": frequency == "monthly", "cron": frequency == "custom"}
    for field, visible in shown.items():
        expect(page.locator(f"#{field}")).to_be_visible(visible=visible)
    if shown["time"]:
        page.fill("#time", time)
    if shown["weekday"]:
        page.select_option("#weekday", weekday)
    if shown["day"]:
        page.select_option("#day", day)
    if shown["cron"]:
        page.fill("#cron", cron)
    page.select_option("#timezone", zone)
    page.fill("#webhook_url", webhook_url)
    page.click("button:has-text('Save schedule')")


def _created(page) -> str:
    """The schedule page the form landed on: its URL."""
    page.wait_for_url(re.compile(r".*/schedules/\d+$"))
    return page.url


def _next_monday_7_berlin(now: dt.datetime) -> dt.datetime:
    here = now.astimezone(BERLIN)
    slot = (here + dt.timedelta(days=(0 - here.weekday()) % 7)).replace(
        hour=7, minute=0, second=0, microsecond=0)
    return slot if slot > here else slot + dt.timedelta(days=7)


def _next_daily_utc(now: dt.datetime, hour: int, minute: int) -> str:
    slot = now.replace(hour=hour, minute=minute, second=0, microsecond=0)
    slot = slot if slot > now else slot + dt.timedelta(days=1)
    return f"{slot:%Y-%m-%d %H:%M} UTC"


def _shown(slot: dt.datetime) -> str:
    """#next-run for a UTC viewer of a Europe/Berlin schedule (filters.localtime)."""
    utc = slot.astimezone(dt.UTC)
    return f"{utc:%Y-%m-%d %H:%M} UTC ({slot:%Y-%m-%d %H:%M} {slot.tzname()} in Europe/Berlin)"


def test_a_weekly_schedule_from_the_plain_choices_says_when_it_runs_and_is_listed(
        page, server):
    before = dt.datetime.now(dt.UTC)
    new_schedule(page, server, "Weekly sales", frequency="weekly", weekday="0", time="07:00",
                 zone="Europe/Berlin", range_="last_7_days", fmt="pdf")
    url = _created(page)
    after = dt.datetime.now(dt.UTC)

    expect(page.locator("h1")).to_have_text("Weekly sales")
    expect(page.locator(".flash-success")).to_have_text(
        "Schedule “Weekly sales” saved. It runs every Monday at 07:00 (Europe/Berlin).")
    facts = page.locator("dl.facts")
    expect(facts.locator("dt:text-is('When') + dd")).to_have_text(
        "Every Monday at 07:00 (Europe/Berlin)")
    # the range's days for a run today, as the dashboard spells them
    expect(facts.locator("dt:text-is('Report') + dd")).to_have_text(re.compile(
        r"^Completed orders, last 7 days · PDF \(run today: \w{3} \d+.*, including today\)$"))
    # the next run: next Monday 07:00 in Berlin, as the viewer's UTC and in Berlin
    shown = {_shown(_next_monday_7_berlin(before)), _shown(_next_monday_7_berlin(after))}
    assert page.inner_text("#next-run").strip() in shown
    expect(page.locator("table.runs")).to_have_count(0)
    expect(page.locator("p.empty")).to_contain_text("No runs yet. The first is due")

    page.click("header nav a:text-is('Schedules')")
    page.wait_for_url("**/schedules/")
    row = page.locator("table.schedules tbody tr", has=page.locator("a:text-is('Weekly sales')"))
    expect(row).to_have_count(1)
    expect(row.locator("td").nth(1)).to_have_text("Completed orders, last 7 days · PDF")
    expect(row.locator("td").nth(2)).to_have_text("Every Monday at 07:00 (Europe/Berlin)")
    expect(row.locator("td").nth(3)).to_have_text(
        re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d UTC$"))
    expect(row.locator("td").nth(4)).to_have_text("not yet")
    assert row.locator("a").first.get_attribute("href") == url.removeprefix(server)


def test_a_bad_cron_is_shown_at_its_field_keeps_what_was_typed_and_saves_nothing(
        page, server):
    page.goto(f"{server}/schedules/")
    listed = page.locator("table.schedules tbody tr").count()

    new_schedule(page, server, "Hourly-ish “ünïcode” check", frequency="custom",
                 cron="61 * * * *", zone="America/New_York", range_="last_month", fmt="csv",
                 customer="Café Lumière", webhook_url="https://93.184.215.14/hooks/reports")
    expect(page.locator("h1")).to_have_text("New schedule")
    assert page.url.endswith("/schedules/new")  # the answer to the POST, not a redirect
    expect(page.locator("p.flash-error")).to_have_text(
        "Please correct the fields marked below; nothing was saved.")
    # the error is next to the Cron field, and only there
    cron_field = page.locator(".field", has=page.locator("#cron"))
    expect(cron_field.locator(".field-error")).to_have_text("Minute 61 is out of range (0-59).")
    expect(page.locator(".field-error")).to_have_count(1)
    expect(page.locator("#cron")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#name")).not_to_have_attribute("aria-invalid", "true")
    # everything typed is still there
    expect(page.locator("#cron")).to_have_value("61 * * * *")
    expect(page.locator("#name")).to_have_value("Hourly-ish “ünïcode” check")
    expect(page.locator("#frequency")).to_have_value("custom")
    expect(page.locator("#timezone")).to_have_value("America/New_York")
    expect(page.locator("#range")).to_have_value("last_month")
    expect(page.locator("#customer")).to_have_value("Café Lumière")
    expect(page.locator("input[name=format][value=csv]")).to_be_checked()
    expect(page.locator("#webhook_url")).to_have_value("https://93.184.215.14/hooks/reports")
    # this server has no SMTP_URL, and the form says so where addresses would go
    expect(page.locator(".field", has=page.locator("#emails")).locator(".hint")).to_have_text(
        re.compile(r"^E-mail is not set up on this server \(SMTP_URL\)"))
    # and nothing was saved
    page.goto(f"{server}/schedules/")
    expect(page.locator("table.schedules tbody tr")).to_have_count(listed)
    expect(page.get_by_text("Hourly-ish")).to_have_count(0)
    if not listed:
        expect(page.locator("p.empty")).to_contain_text("No schedules yet.")


def test_edit_fills_in_the_plain_choices_from_the_stored_cron(page, server):
    # stored as a cron typed by hand: the plain choices can only come from reading it
    new_schedule(page, server, "Month end", frequency="custom", cron="0 18 L * *")
    url = _created(page)
    when = page.locator("dl.facts dt:text-is('When') + dd")
    expect(when).to_have_text("On the last day of every month at 18:00 (UTC)")

    page.click("a:text-is('Edit')")
    page.wait_for_url(f"{url}/edit")
    expect(page.locator("h1")).to_have_text("Edit “Month end”")
    expect(page.locator("#frequency")).to_have_value("monthly")
    expect(page.locator("#frequency option:checked")).to_have_text("Every month")
    expect(page.locator("#day")).to_have_value("last")
    expect(page.locator("#day option:checked")).to_have_text("Last day")
    expect(page.locator("#time")).to_have_value("18:00")
    expect(page.locator("#cron")).to_have_value("0 18 L * *")
    expect(page.locator("#name")).to_have_value("Month end")
    # saved as it is, the plain choices make the same schedule again
    page.click("button:has-text('Save changes')")
    page.wait_for_url(url)
    expect(page.locator(".flash-success")).to_have_text("Schedule “Month end” saved.")
    expect(when).to_have_text("On the last day of every month at 18:00 (UTC)")


def test_pause_then_resume_shows_and_removes_the_badge_and_the_reason(page, server):
    new_schedule(page, server, "Daily digest", frequency="daily", time="06:30")
    url = _created(page)
    badge = page.locator("h1 .badge-paused")
    reason = page.locator("#pause-reason")
    expect(badge).to_have_count(0)
    expect(reason).to_have_count(0)

    page.click("#pause")
    page.wait_for_url(url)
    expect(badge).to_have_text("Paused")
    expect(reason).to_have_text("Paused by browser@example.com.")
    expect(page.locator("#next-run")).to_have_text("none while paused")
    expect(page.locator("#pause")).to_have_count(0)
    page.goto(f"{server}/schedules/")
    row = page.locator("table.schedules tbody tr", has=page.locator("a:text-is('Daily digest')"))
    expect(row.locator(".badge-paused")).to_have_text("Paused")

    row.locator("a:text-is('Daily digest')").click()
    page.wait_for_url(url)
    before = _next_daily_utc(dt.datetime.now(dt.UTC), 6, 30)
    page.click("#resume")
    page.wait_for_url(url)
    after = _next_daily_utc(dt.datetime.now(dt.UTC), 6, 30)
    # the next run is counted from the moment it resumed
    flash = page.inner_text(".flash-success")
    assert flash in {f"“Daily digest” runs again; next run {slot}." for slot in (before, after)}
    expect(badge).to_have_count(0)
    expect(reason).to_have_count(0)
    assert page.inner_text("#next-run").strip() in {before, after}
    expect(page.locator("#resume")).to_have_count(0)
    expect(page.locator("#pause")).to_be_visible()


def test_run_now_completes_and_the_poll_updates_the_status_and_the_bell_without_reload(
        page, server, start_worker):
    new_schedule(page, server, "Run me now", frequency="weekly", fmt="csv")
    url = _created(page)
    bell = page.locator("#notice-bell")
    page.goto(f"{server}/notices/")  # whatever came before counts as read
    expect(bell).to_have_attribute("aria-label", "Notices")
    expect(bell.locator(".bell-count")).to_have_count(0)

    page.goto(url)
    page.click("#run-now")
    page.wait_for_url(url)
    expect(page.locator(".flash").first).to_have_text(re.compile(
        r"^Report #\d+ \(CSV\) queued; no worker is running right now, it will start when one "
        r"does\.$"))
    runs = page.locator("table.runs tbody tr")
    expect(runs).to_have_count(1)
    run = runs.first
    expect(run.locator(".pill")).to_have_text("run now")
    status = run.locator(".job-status")
    # no worker yet: the report can only be waiting
    expect(status).to_have_attribute("data-status", "PENDING")
    expect(status.locator(".badge")).to_have_text("PENDING")
    expect(status).to_contain_text("waiting for a worker")
    expect(run.locator("a.download")).to_have_count(0)
    expect(bell).to_have_attribute("aria-label", "Notices")
    page.evaluate("window.__noReload = 'still here'")

    start_worker()  # the real worker picks the report up from the queue
    expect(status).to_have_attribute("data-status", "COMPLETED", timeout=30_000)
    expect(status.locator(".badge")).to_have_text("COMPLETED")
    download = run.locator("a.download")
    expect(download).to_have_text("Download CSV")
    job_id = status.get_attribute("id").split("-")[1]
    expect(download).to_have_attribute("href", f"/reports/{job_id}/download")
    # the same poll brought the bell up to date
    expect(bell).to_have_attribute("aria-label", "Notices, 1 unread")
    expect(bell.locator(".bell-count")).to_have_text("1")
    assert page.evaluate("window.__noReload") == "still here"
    expect(page.locator("#job-announcements")).to_contain_text("ready to download")

    bell.click()
    page.wait_for_url("**/notices/")
    notice = page.locator(".notice-item").first
    expect(notice.locator(".notice-head strong")).to_have_text("Report ready")
    expect(notice.locator(".badge-new")).to_have_text("New")
    expect(notice).to_contain_text("“Run me now”, ")
    expect(notice).to_contain_text("(CSV) is ready to download.")
    expect(notice.locator(f"a[href='/reports/{job_id}']")).to_have_text(f"Report #{job_id}")
    expect(bell).to_have_attribute("aria-label", "Notices")
    expect(bell.locator(".bell-count")).to_have_count(0)
    page.goto(url)  # and it stays read
    expect(bell).to_have_attribute("aria-label", "Notices")
    expect(bell.locator(".bell-count")).to_have_count(0)
