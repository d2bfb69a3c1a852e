"""One status poll per page (GET /reports/live), on SQLite and PostgreSQL: what
the pages send, what the poll answers (its next delay, an out-of-band swap per
job that changed, the words for the live region), whose jobs it reads, and
Cancel/Retry answering in place of the row or the status they came from."""
from __future__ import annotations

import datetime as dt
import re
import time
import uuid
from decimal import Decimal
from urllib.parse import urlencode

import pytest
import sqlalchemy as sa

from tests.conftest import logged_in_client, make_user
from webapp.extensions import db
from webapp.models import JobStatus, ReportFormat, ReportJob, utcnow
from webapp.orders.services import ItemInput, create_order
from webapp.reports import lifecycle
from webapp.reports.params import ReportParams
from webapp.worker_beats import beat, forget

HX = {"HX-Request": "true"}
TOKEN = re.compile(r'name="job" value="([^"]+)"')


def _job(owner, status: JobStatus = JobStatus.PENDING, **values) -> ReportJob:
    """A job in the database as the worker would leave it (nothing is queued)."""
    day = dt.date(2026, 1, 1)
    params = ReportParams.summary(day, day, f"customer {uuid.uuid4().hex[:8]}")
    job = lifecycle.new_job(owner.id, ReportFormat.CSV, params, uuid.uuid4().hex)
    job.status = status
    for name, value in values.items():
        setattr(job, name, value)
    db.session.commit()
    return job


def _set(job: ReportJob, **values) -> None:
    for name, value in values.items():
        setattr(job, name, value)
    db.session.commit()


def _finish(job: ReportJob) -> None:
    now = utcnow()
    _set(job, status=JobStatus.COMPLETED, started_at=now - dt.timedelta(seconds=1.5),
         finished_at=now, file_name="x.csv", size=2048, rows_total=10, rows_done=10)


def _tokens(html: str) -> list[str]:
    return TOKEN.findall(html)


def _poll(client, tokens, step=0, view="row", headers=None):
    query = urlencode([("job", t) for t in tokens] + [("step", step), ("view", view)])
    resp = client.get(f"/reports/live?{query}", headers={**HX, **(headers or {})})
    assert resp.status_code == 200
    return resp.get_data(as_text=True)


def _poller(html: str) -> str:
    return re.search(r'<div id="job-poller"[^>]*>', html).group(0)


def _delay(html: str) -> int | None:
    m = re.search(r'hx-trigger="load delay:(\d+)ms"', _poller(html))
    return int(m.group(1)) if m else None


def _oob_rows(html: str) -> list[int]:
    return [int(i) for i in re.findall(r'<tr id="job-(\d+)"[^>]*hx-swap-oob="true"', html)]


def test_reports_page_has_one_poller_first_after_half_a_second_naming_its_active_jobs(
        client, user):
    active = [_job(user), _job(user, JobStatus.PROCESSING, rows_total=200, rows_done=50)]
    done = _job(user)
    _finish(done)
    html = client.get("/reports/").get_data(as_text=True)
    assert html.count('id="job-poller"') == 1 and html.count('id="job-announcements"') == 1
    assert 'aria-live="polite"' in html and "every " not in html
    assert _delay(html) == 500 and 'hx-include=".live-param"' in _poller(html)
    # the rows of active jobs carry what they show; the finished one is not polled
    assert sorted(int(t.split(":")[0]) for t in _tokens(html)) == sorted(j.id for j in active)
    assert f'<tr id="job-{done.id}"' in html


def test_a_page_with_nothing_active_renders_its_poller_without_a_trigger(client, user):
    _finish(_job(user))
    poller = _poller(client.get("/reports/").get_data(as_text=True))
    assert "hx-trigger" not in poller and "hx-get" not in poller


def test_poll_delays_back_off_from_half_a_second_to_the_configured_interval(app, client, user):
    app.config["STATUS_POLL_SECONDS"] = 2
    tokens = _tokens(client.get("/reports/").get_data(as_text=True)) or None
    assert tokens is None
    job = _job(user)
    tokens = _tokens(client.get("/reports/").get_data(as_text=True))
    delays = [_delay(_poll(client, tokens, step)) for step in range(5)]
    assert delays == [1000, 2000, 2000, 2000, 2000]  # after the page's own 500 ms
    assert _delay(_poll(client, tokens, step=999)) == 2000
    assert _delay(_poll(client, tokens, step="x")) == 1000  # nonsense counts as the first
    assert job.id  # still active throughout


def test_poll_answers_an_out_of_band_row_for_each_job_that_changed_and_nothing_else(
        client, user):
    beat("test-worker@host")  # a worker runs: PENDING reads "waiting in the queue"
    try:
        same, starts, ends = _job(user), _job(user), _job(user)
        tokens = _tokens(client.get("/reports/").get_data(as_text=True))
        _set(starts, status=JobStatus.PROCESSING, rows_total=200, rows_done=50,
             started_at=utcnow(), attempts=1)
        _finish(ends)
        html = _poll(client, tokens)
    finally:
        forget("test-worker@host")
    assert sorted(_oob_rows(html)) == sorted([starts.id, ends.id])
    assert f'id="job-{same.id}"' not in html
    # whole rows, inside <template> (a <tr> parses there), same markup as the page
    assert html.count("<template>") == 2
    ended = html[html.index(f'<tr id="job-{ends.id}"'):]
    ended = ended[:ended.index("</tr>")]
    assert 'data-status="COMPLETED"' in ended and f"/reports/{ends.id}/download" in ended
    assert '<td class="duration" data-label="Duration">1.5 s</td>' in ended and "2.0 KB" in ended
    assert "live-param" not in ended  # a final row is no longer polled
    assert "25%" in html and 'progress max="100" value="25"' in html
    # still active jobs on the page: the poller goes on
    assert _delay(html) is not None
    # only what finished is announced
    region = re.search(r'<div id="job-announcements" hx-swap-oob="innerHTML">(.*?)</div>',
                       html, re.S).group(1)
    assert f"Report #{ends.id} is ready to download." in region
    assert f"#{starts.id}" not in region and f"#{same.id}" not in region


def test_an_unchanged_poll_answers_only_the_poller(client, user):
    _job(user), _job(user, JobStatus.PROCESSING, rows_total=10, rows_done=3, attempts=1)
    tokens = _tokens(client.get("/reports/").get_data(as_text=True))
    html = _poll(client, tokens)
    assert _oob_rows(html) == [] and "job-announcements" not in html
    assert _delay(html) == 1000


def test_when_every_job_is_final_the_poller_stops_and_the_endings_are_announced(client, user):
    failed, cancelled = _job(user), _job(user)
    tokens = _tokens(client.get("/reports/").get_data(as_text=True))
    _set(failed, status=JobStatus.FAILED, error="Could not write the report file (No space).",
         started_at=utcnow(), finished_at=utcnow())
    _set(cancelled, status=JobStatus.CANCELLED, finished_at=utcnow())
    html = _poll(client, tokens, step=3)
    poller = _poller(html)
    assert "hx-trigger" not in poller and "hx-get" not in poller
    assert sorted(_oob_rows(html)) == sorted([failed.id, cancelled.id])
    assert (f"Report #{failed.id} failed: Could not write the report file (No space)."
            in html)
    assert f"Report #{cancelled.id} was cancelled." in html


def test_poll_reads_only_the_users_own_jobs_and_ignores_other_ids_alike(app, client, user):
    other = make_user("mallory@example.com")
    theirs = _job(other)
    deleted = _job(user)
    _set(deleted, deleted_at=utcnow())
    mine = _job(user)

    def answer(job_id):
        return _poll(client, [f"{job_id}:PENDING.x"])

    # another user's job, a deleted one and one that never existed answer alike: nothing
    bodies = {answer(theirs.id), answer(deleted.id), answer(987654)}
    assert len(bodies) == 1
    body = bodies.pop()
    assert _oob_rows(body) == [] and "hx-trigger" not in _poller(body)
    # mixed with the user's own job, only that one is answered
    html = _poll(client, [f"{theirs.id}:x", f"{mine.id}:x", "abc:x", ":x", "12345678901234:x"])
    assert _oob_rows(html) == [mine.id] and f"job-{theirs.id}" not in html
    # and the other user polls their own job fine
    assert _oob_rows(_poll(logged_in_client(app, other), [f"{theirs.id}:x"])) == [theirs.id]


def test_a_site_admin_polls_no_other_workspaces_jobs(app, user):
    theirs = _job(user)
    admin = make_user("root@example.com", site_admin=True)
    html = _poll(logged_in_client(app, admin), [f"{theirs.id}:x"])
    assert _oob_rows(html) == []


def test_poll_reads_all_its_jobs_in_one_query_and_at_most_fifty(app, client, user):
    ids = [_job(user).id for _ in range(60)]
    tokens = [f"{i}:changed" for i in ids]
    statements: list[str] = []

    def count(conn, cursor, statement, *args):
        if "report_jobs" in statement:
            statements.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", count)
    try:
        html = _poll(client, tokens)
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", count)
    assert len(statements) == 1
    assert sorted(_oob_rows(html)) == ids[:50]


def test_job_page_polls_its_status_not_a_row(client, user):
    job = _job(user)
    page = client.get(f"/reports/{job.id}").get_data(as_text=True)
    assert page.count('id="job-poller"') == 1 and 'name="view" value="status"' in page
    assert page.count('id="job-announcements"') == 1
    assert f'hx-target="#job-{job.id}-status"' in page  # Cancel replaces the status here
    _finish(job)
    html = _poll(client, _tokens(page), view="status")
    assert "<tr" not in html
    assert re.search(rf'<span class="job-status" id="job-{job.id}-status" '
                     r'data-status="COMPLETED" hx-swap-oob="true">', html)
    assert f"Report #{job.id} is ready to download." in html
    assert "hx-trigger" not in _poller(html)


def test_no_worker_is_shown_while_waiting_and_the_row_changes_once_one_runs(client, user):
    job = _job(user)
    page = client.get("/reports/").get_data(as_text=True)
    assert "waiting for a worker" in page and _tokens(page) == [f"{job.id}:PENDING.noworker"]
    assert _oob_rows(_poll(client, _tokens(page))) == []
    beat("test-worker@host")
    try:
        html = _poll(client, _tokens(page))
    finally:
        forget("test-worker@host")
    assert _oob_rows(html) == [job.id] and "waiting in the queue" in html


def test_rows_from_the_poll_come_back_to_the_page_they_are_on(client, user):
    job = _job(user)
    html = _poll(client, [f"{job.id}:x"],
                 headers={"HX-Current-URL": "http://localhost/reports/?page=2"})
    assert '/delete?next=/reports/?page%3D2"' in html
    html = _poll(client, [f"{job.id}:x"], headers={"HX-Current-URL": "http://x//evil.example"})
    assert '/delete?next=/reports/"' in html and "evil" not in html


def test_a_logged_out_poll_answers_like_every_htmx_request(app, user):
    anonymous = app.test_client()
    resp = anonymous.get("/reports/live?job=1:PENDING", headers=HX)
    assert resp.status_code == 401 and "/login" in resp.headers["HX-Redirect"]
    assert anonymous.get("/reports/live?job=1:PENDING").status_code == 302


def test_polling_does_not_keep_a_session_alive(client, user):
    job = _job(user)
    old = int(time.time()) - 90
    with client.session_transaction() as s:
        s["seen"] = old
    for _ in range(2):
        _poll(client, [f"{job.id}:PENDING"])
    with client.session_transaction() as s:
        assert s["seen"] == old


# --- Cancel and Retry answer in place -----------------------------------------------

def test_cancel_from_a_row_answers_the_whole_row(client, user, sent):
    job = _job(user)
    resp = client.post(f"/reports/{job.id}/cancel", headers={**HX, "HX-Target": f"job-{job.id}"})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200 and html.lstrip().startswith(f'<tr id="job-{job.id}"')
    assert 'data-status="CANCELLED"' in html and "live-param" not in html
    assert f'hx-target="#job-{job.id}"' in html  # its Retry replaces the row again


def test_cancel_on_the_job_page_answers_its_status(client, user, sent):
    job = _job(user)
    html = client.post(f"/reports/{job.id}/cancel",
                       headers={**HX, "HX-Target": f"job-{job.id}-status"}).get_data(as_text=True)
    assert html.lstrip().startswith('<span class="job-status"') and "<tr" not in html
    assert 'data-status="CANCELLED"' in html


def test_retry_from_a_row_keeps_the_old_row_and_adds_the_new_attempt_on_top(client, user, sent):
    old = _job(user, JobStatus.CANCELLED, finished_at=utcnow())
    resp = client.post(f"/reports/{old.id}/retry", headers={**HX, "HX-Target": f"job-{old.id}"})
    html = resp.get_data(as_text=True)
    new = db.session.scalar(sa.select(ReportJob).where(ReportJob.retry_of_id == old.id))
    assert resp.status_code == 200 and new is not None and sent == [new.id]
    # the old row, first (htmx swaps it in place), still its own CANCELLED self
    main = html[:html.index("<template>")]
    assert main.lstrip().startswith(f'<tr id="job-{old.id}"')
    assert 'data-status="CANCELLED"' in main and 'data-status="PENDING"' not in main
    assert f'Retrying as <a href="/reports/{new.id}">report #{new.id}</a>' in main
    # the new attempt: a row of its own at the top of the table, "retry of #old"
    assert '<tbody hx-swap-oob="afterbegin:#job-rows">' in html
    row = html[html.index(f'<tr id="job-{new.id}"'):]
    row = row[:row.index("</tr>")]
    assert 'data-status="PENDING"' in row and "highlight" in row
    assert f'retry of <a href="/reports/{old.id}">#{old.id}</a>' in row
    # and the poller restarts, following it
    poller = _poller(html)
    assert 'hx-swap-oob="true"' in poller and 'hx-trigger="load delay:500ms"' in poller
    # the same again while that attempt is active: no second row
    again = client.post(f"/reports/{old.id}/retry",
                        headers={**HX, "HX-Target": f"job-{old.id}"}).get_data(as_text=True)
    assert "hx-swap-oob" not in again and "Already being generated again as" in again


def test_a_retry_the_worker_finished_before_the_answer_is_announced_at_once(
        client, user, monkeypatch):
    """No poll follows a new attempt that is already final when the answer is
    rendered, so the answer itself fills the live region."""
    from tasks.reports import run_job

    monkeypatch.setattr(lifecycle, "_publish", run_job)  # the worker wins the race
    old = _job(user, JobStatus.CANCELLED, finished_at=utcnow())
    html = client.post(f"/reports/{old.id}/retry",
                       headers={**HX, "HX-Target": f"job-{old.id}"}).get_data(as_text=True)
    new = db.session.scalar(sa.select(ReportJob).where(ReportJob.retry_of_id == old.id))
    assert new.status is JobStatus.COMPLETED
    assert f'<tr id="job-{new.id}"' in html and 'data-status="COMPLETED"' in html
    assert "hx-trigger" not in _poller(html)
    assert '<div id="job-announcements" hx-swap-oob="innerHTML">' in html
    assert f"Report #{new.id} is ready to download." in html


def test_a_retry_still_pending_is_left_to_the_poll_to_announce(client, user, sent):
    old = _job(user, JobStatus.CANCELLED, finished_at=utcnow())
    html = client.post(f"/reports/{old.id}/retry",
                       headers={**HX, "HX-Target": f"job-{old.id}"}).get_data(as_text=True)
    assert "job-announcements" not in html and "hx-trigger" in _poller(html)


def test_retry_on_the_job_page_keeps_its_status_and_links_the_new_attempt(client, user, sent):
    old = _job(user, JobStatus.FAILED, error="Boom.", finished_at=utcnow())
    html = client.post(f"/reports/{old.id}/retry",
                       headers={**HX, "HX-Target": f"job-{old.id}-status"}).get_data(as_text=True)
    assert html.lstrip().startswith(f'<span class="job-status" id="job-{old.id}-status"')
    assert 'data-status="FAILED"' in html and "hx-swap-oob" not in html
    assert re.search(r'Retrying as <a href="/reports/(\d+)">report #\1</a>', html)


def test_a_refused_retry_with_htmx_answers_in_the_row_instead_of_redirecting(
        client, user, sent):
    done = _job(user)
    _finish(done)
    resp = client.post(f"/reports/{done.id}/retry", headers={**HX, "HX-Target": f"job-{done.id}"})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200 and html.lstrip().startswith(f'<tr id="job-{done.id}"')
    assert "Only failed or cancelled reports can be retried" in html and sent == []


@pytest.mark.parametrize("page", ["reports", "job", "order"])
def test_each_page_with_jobs_has_one_region_for_their_news_and_one_poller(client, user, page):
    order = create_order(user, "ACME", [ItemInput("Tea", 1, Decimal("1.00"))])
    job = _job(user, order_id=order.id)
    path = {"reports": "/reports/", "job": f"/reports/{job.id}", "order": f"/orders/{order.id}"}
    html = client.get(path[page]).get_data(as_text=True)
    assert html.count('id="job-announcements"') == 1 and html.count('id="job-poller"') == 1
    region = re.search(r'<div id="job-announcements"[^>]*>', html).group(0)
    assert 'aria-live="polite"' in region and "visually-hidden" in region
