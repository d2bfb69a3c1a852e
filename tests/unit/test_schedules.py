"""Schedules: the API, the tick (exactly once, catch-up, DST), runs and
deliveries, on both databases. The clock is injected (`now=`); e-mail and
webhooks go to real servers started by the tests (tests/smtp.py,
tests/webhook_receiver.py). The same pipeline with a real worker is in
tests/integration/test_scheduled_delivery.py."""
from __future__ import annotations

import datetime as dt
import json
import threading
from decimal import Decimal

import pytest
import sqlalchemy as sa

from webapp.delivery import services as delivery
from webapp.extensions import db
from webapp.models import (
    Delivery,
    JobStatus,
    Notice,
    OrderStatus,
    ReportJob,
    Schedule,
    ScheduleRun,
    utcnow,
)
from webapp.orders.services import ItemInput, create_order, delete_order
from webapp.schedules import runs

UTC = dt.UTC
# Monday 2026-11-30, 07:00 in Berlin (CET, UTC+1)
MONDAY_7_BERLIN = dt.datetime(2026, 11, 30, 6, 0, tzinfo=UTC)
WEEKLY = {"name": "Weekly sales", "cron": "0 7 * * 1", "timezone": "Europe/Berlin",
          "report": {"kind": "summary", "format": "csv", "range": "last_7_full_days"}}


def _create(client, body=None, **changes):
    answer = client.post("/api/schedules", json={**(body or WEEKLY), **changes})
    assert answer.status_code == 201, answer.get_json()
    return answer.get_json()


def _set(schedule_id: int, **values) -> None:
    table = Schedule.__table__
    with db.engine.begin() as conn:
        conn.execute(sa.update(table).where(table.c.id == schedule_id).values(**values))


def _runs(schedule_id: int | None = None) -> list[ScheduleRun]:
    db.session.expire_all()
    query = sa.select(ScheduleRun).order_by(ScheduleRun.id)
    if schedule_id:
        query = query.where(ScheduleRun.schedule_id == schedule_id)
    return list(db.session.scalars(query))


def _end_job(job_id: int, status: JobStatus, error: str | None = None) -> None:
    """The job ends as the worker would leave it (the worker's own path is in
    the integration test): its status and, when completed, a file."""
    table = ReportJob.__table__
    values = {"status": status.value, "finished_at": dt.datetime.now(UTC), "error": error}
    if status is JobStatus.COMPLETED:
        from flask import current_app

        name = f"{job_id}-test.csv"
        path = __import__("pathlib").Path(current_app.config["REPORTS_DIR"]) / name
        path.write_bytes(b"order_id,customer\n1,ACME\n")
        values.update(file_name=name, size=path.stat().st_size,
                      expires_at=dt.datetime.now(UTC) + dt.timedelta(days=7))
    with db.engine.begin() as conn:
        conn.execute(sa.update(table).where(table.c.id == job_id).values(**values))
        delivery.notices_with_outcome(conn, job_id, dt.datetime.now(UTC))


def _send_all(now: dt.datetime | None = None) -> list[str]:
    table = Delivery.__table__
    with db.engine.connect() as conn:
        ids = conn.execute(sa.select(table.c.id).where(table.c.status == "pending")
                           .order_by(table.c.id)).scalars().all()
    return [delivery.send(i, now) for i in ids]


# --- the API ---------------------------------------------------------------------------

def test_a_new_schedule_answers_its_next_run_and_its_webhook_secret_once(
        client, app, webhook_receiver):
    app.config["WEBHOOK_ALLOW_PRIVATE"] = True
    made = _create(client, webhook_url=webhook_receiver.url())
    assert made["when"] == "Every Monday at 07:00 (Europe/Berlin)"
    assert made["webhook_secret"].startswith("whsec_")
    next_run = dt.datetime.fromisoformat(made["next_run_at"].replace("Z", "+00:00"))
    assert next_run > dt.datetime.now(UTC)
    assert next_run.astimezone(__import__("zoneinfo").ZoneInfo("Europe/Berlin")).strftime(
        "%a %H:%M") == "Mon 07:00"
    again = client.get(made["url"]).get_json()
    assert "webhook_secret" not in again
    assert again["report"] == {"kind": "summary", "format": "csv", "range": "last_7_full_days",
                               "customer": None, "order_id": None}
    listed = client.get("/api/schedules").get_json()
    assert [s["id"] for s in listed["items"]] == [made["id"]]
    rotated = client.patch(made["url"], json={"rotate_secret": True}).get_json()
    assert rotated["webhook_secret"].startswith("whsec_")
    assert rotated["webhook_secret"] != made["webhook_secret"]


@pytest.mark.parametrize(("change", "field", "words"), [
    ({"cron": "0 7 * *"}, "cron", "5 fields"),
    ({"cron": "61 7 * * *"}, "cron", "out of range"),
    ({"timezone": "Mars/Olympus"}, "timezone", "IANA"),
    ({"report": {"kind": "summary", "format": "csv", "range": "fortnight"}}, "report.range",
     ""),
    ({"email": ["not-an-address"]}, "email", "not an e-mail address"),
    ({"webhook_url": "ftp://example.com/x"}, "webhook_url", "http"),
    ({"webhook_url": "http://127.0.0.1:9/hook"}, "webhook_url", "loopback"),
    ({"name": ""}, "name", "required"),
])
def test_a_bad_schedule_is_a_400_naming_the_field(client, app, change, field, words):
    app.config["SMTP_URL"] = "smtp://127.0.0.1:2525"
    answer = client.post("/api/schedules", json={**WEEKLY, **change})
    assert answer.status_code == 400, answer.get_json()
    errors = answer.get_json()["errors"]
    assert field in errors, errors
    assert words.lower() in " ".join(errors[field]).lower()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Schedule)) == 0


def test_e_mail_is_refused_with_a_reason_where_there_is_no_smtp(client, app):
    app.config["SMTP_URL"] = ""
    answer = client.post("/api/schedules", json={**WEEKLY, "email": ["a@example.com"]})
    assert answer.status_code == 400
    assert "SMTP_URL is not set" in answer.get_json()["errors"]["email"][0]
    refused = client.post("/api/reports", json={
        "kind": "summary", "format": "csv", "date_from": "2026-11-01",
        "date_to": "2026-11-30", "notify_email": True})
    assert refused.status_code == 400
    assert "SMTP_URL" in refused.get_json()["detail"]


def test_another_users_schedule_is_not_found_everywhere(client, app, user):
    from tests.conftest import logged_in_client, make_user

    made = _create(client)
    other = logged_in_client(app, make_user("mallory@example.com"))
    sid = made["id"]
    for method, path in (("get", f"/api/schedules/{sid}"), ("patch", f"/api/schedules/{sid}"),
                         ("delete", f"/api/schedules/{sid}"),
                         ("post", f"/api/schedules/{sid}/run"),
                         ("get", f"/api/schedules/{sid}/runs"),
                         ("get", f"/schedules/{sid}"), ("get", f"/schedules/{sid}/edit")):
        kwargs = {"json": {"name": "x"}} if method == "patch" else {}
        assert getattr(other, method)(path, **kwargs).status_code == 404, path
    assert other.get("/api/schedules").get_json()["items"] == []
    # and an order of someone else cannot be scheduled
    order = create_order(user, "ACME", [ItemInput("Tea", 1, Decimal("2.00"))])
    answer = other.post("/api/schedules", json={
        **WEEKLY, "report": {"kind": "order", "format": "pdf", "order_id": order.id}})
    assert answer.status_code == 404


# --- the tick: exactly once ---------------------------------------------------------------

def test_a_due_schedule_runs_once_with_its_range_read_on_the_due_day(client, user):
    made = _create(client)
    _set(made["id"], next_run_at=MONDAY_7_BERLIN)
    assert runs.tick(MONDAY_7_BERLIN - dt.timedelta(seconds=1))["runs"] == 0
    assert runs.tick(MONDAY_7_BERLIN + dt.timedelta(seconds=5))["runs"] == 1
    assert runs.tick(MONDAY_7_BERLIN + dt.timedelta(seconds=20))["runs"] == 0
    [run] = _runs()
    assert run.due_at == MONDAY_7_BERLIN and run.trigger == "schedule" and run.note is None
    job = run.job
    assert job.status is JobStatus.PENDING and job.workspace_id == user.id
    # last 7 full days on Monday the 30th in Berlin: Monday 23rd to Sunday 29th
    assert job.params == {"date_from": "2026-11-23", "date_to": "2026-11-29",
                          "customer": None, "timezone": "Europe/Berlin"}
    assert [d.channel for d in run.deliveries] == ["notice"]
    schedule = db.session.get(Schedule, made["id"])
    assert schedule.next_run_at == MONDAY_7_BERLIN + dt.timedelta(days=7)


def test_two_beats_at_once_start_one_run_per_slot(client, app):
    app.config["REPORT_MAX_OPEN_JOBS"] = 100  # every run starts: none waits its turn
    made = [_create(client, name=f"S{i}") for i in range(20)]
    for s in made:
        _set(s["id"], next_run_at=MONDAY_7_BERLIN)
    barrier = threading.Barrier(2)
    counts = []

    def beat():
        with app.app_context():
            barrier.wait()
            counts.append(runs.tick(MONDAY_7_BERLIN + dt.timedelta(seconds=3))["runs"])
            db.session.remove()

    threads = [threading.Thread(target=beat) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sum(counts) == 20, counts
    found = _runs()
    assert len(found) == 20 and len({r.schedule_id for r in found}) == 20
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ReportJob)) == 20


def test_a_retried_tick_inserts_nothing_twice(client):
    made = _create(client)
    _set(made["id"], next_run_at=MONDAY_7_BERLIN)
    with db.engine.connect() as conn:
        row = conn.execute(runs._schedules()
                           .where(Schedule.__table__.c.id == made["id"])).one()
    slot = runs.plan(row, MONDAY_7_BERLIN)
    assert len(runs.start([slot], MONDAY_7_BERLIN)) == 1
    assert runs.start([slot], MONDAY_7_BERLIN) == []  # the unique (schedule, due time)
    assert len(_runs()) == 1


def test_after_downtime_only_the_latest_missed_slot_runs_and_says_so(client):
    made = _create(client)
    three_weeks_ago = MONDAY_7_BERLIN - dt.timedelta(days=21)
    _set(made["id"], next_run_at=three_weeks_ago)
    now = MONDAY_7_BERLIN + dt.timedelta(hours=2)
    assert runs.tick(now)["runs"] == 1
    [run] = _runs()
    assert run.trigger == "catch_up" and run.due_at == MONDAY_7_BERLIN
    assert "3 missed runs" in run.note and "2026-11-09 07:00" in run.note
    assert run.job.params["date_from"] == "2026-11-23"
    assert db.session.get(Schedule, made["id"]).next_run_at == MONDAY_7_BERLIN + dt.timedelta(
        days=7)


@pytest.mark.parametrize("day", [dt.date(2026, 3, 29), dt.date(2026, 10, 25)])
def test_a_daily_0230_runs_once_on_both_dst_change_days_in_berlin(client, day):
    made = _create(client, cron="30 2 * * *")
    start = dt.datetime.combine(day - dt.timedelta(days=1), dt.time(12), tzinfo=UTC)
    _set(made["id"], next_run_at=runs.Cron.parse("30 2 * * *").next_after(start,
                                                                             "Europe/Berlin"))
    now = start
    while now < start + dt.timedelta(days=1, hours=12):  # a beat every 15 s, for a day
        runs.tick(now)
        now += dt.timedelta(seconds=15)
    found = _runs()
    berlin = __import__("zoneinfo").ZoneInfo("Europe/Berlin")
    assert [r.due_at.astimezone(berlin).date() for r in found] == [day]
    assert all(r.trigger == "schedule" and r.note is None for r in found)


def test_a_paused_schedule_does_not_run_and_resumes_from_now(client):
    made = _create(client)
    paused = client.patch(made["url"], json={"paused": True}).get_json()
    assert paused["paused"] and paused["pause_reason"] == "Paused by alice@example.com."
    _set(made["id"], next_run_at=MONDAY_7_BERLIN - dt.timedelta(days=14))
    assert runs.tick(MONDAY_7_BERLIN)["runs"] == 0
    resumed = client.patch(made["url"], json={"paused": False}).get_json()
    assert not resumed["paused"] and resumed["failed_runs"] == 0
    next_run = dt.datetime.fromisoformat(resumed["next_run_at"].replace("Z", "+00:00"))
    assert next_run > dt.datetime.now(UTC)  # no make-up runs for the paused weeks


def test_run_now_answers_202_with_a_job_also_while_paused(client, sent):
    made = _create(client)
    client.patch(made["url"], json={"paused": True})
    answer = client.post(f"{made['url']}/run")
    assert answer.status_code == 202
    job = answer.get_json()
    assert job["status"] == "PENDING" and sent == [job["id"]]
    listed = client.get(made["runs_url"]).get_json()["items"]
    assert [(r["trigger"], r["report"]["id"]) for r in listed] == [("manual", job["id"])]
    assert listed[0]["deliveries"][0]["channel"] == "notice"


def test_an_order_schedule_whose_order_was_deleted_pauses_itself(client, user):
    order = create_order(user, "ACME", [ItemInput("Tea", 1, Decimal("2.00"))])
    made = _create(client, report={"kind": "order", "format": "pdf", "order_id": order.id})
    delete_order(user, order.id)
    _set(made["id"], next_run_at=MONDAY_7_BERLIN)
    runs.tick(MONDAY_7_BERLIN)
    [run] = _runs()
    assert run.outcome == "failed" and run.job_id is None
    schedule = db.session.get(Schedule, made["id"])
    assert schedule.paused and "order was deleted" in schedule.pause_reason
    assert client.post(f"{made['url']}/run").status_code == 409
    assert db.session.scalar(sa.select(Notice.kind)) == "paused"


# --- runs, deliveries, the streak ------------------------------------------------------------

def test_five_failed_runs_in_a_row_pause_the_schedule_and_say_why(client, app, user):
    made = _create(client)
    for week in range(5):
        due = MONDAY_7_BERLIN + dt.timedelta(days=7 * week)
        _set(made["id"], next_run_at=due)
        assert runs.tick(due)["runs"] == 1
        _end_job(_runs()[-1].job_id, JobStatus.FAILED, "The database could not be read.")
        schedule = db.session.get(Schedule, made["id"], populate_existing=True)
        assert schedule.failed_runs == week + 1
        assert schedule.paused == (week == 4)
    assert [r.outcome for r in _runs()] == ["failed"] * 5
    assert "Paused after 5 failed runs" in schedule.pause_reason
    assert "database could not be read" in schedule.pause_reason
    kinds = db.session.scalars(sa.select(Notice.kind).order_by(Notice.id)).all()
    assert kinds == ["failed"] * 5 + ["paused"]
    # a later success would have reset the streak
    client.patch(made["url"], json={"paused": False})
    assert db.session.get(Schedule, made["id"], populate_existing=True).failed_runs == 0


def test_a_webhook_answering_500_twice_is_delivered_on_attempt_3(
        client, app, webhook_receiver):
    app.config.update(WEBHOOK_ALLOW_PRIVATE=True, DELIVERY_RETRY_DELAYS="10,30,60",
                      PUBLIC_URL="https://reports.example.com/app")  # served under a path
    made = _create(client, webhook_url=webhook_receiver.url())
    webhook_receiver.secret = made["webhook_secret"]
    webhook_receiver.script([500, 500])
    _set(made["id"], next_run_at=MONDAY_7_BERLIN)
    runs.tick(MONDAY_7_BERLIN)
    run = _runs()[0]
    _end_job(run.job_id, JobStatus.COMPLETED)
    now = MONDAY_7_BERLIN + dt.timedelta(minutes=1)
    assert _send_all(now) == ["pending"]
    assert _send_all(now + dt.timedelta(seconds=5)) == ["not-due"]  # waits its delay
    assert _send_all(now + dt.timedelta(seconds=10)) == ["pending"]
    assert _send_all(now + dt.timedelta(seconds=40)) == ["delivered"]
    got = webhook_receiver.wait_for(3)
    assert [r.verified for r in got] == [True, True, True]
    # one message: the same id and body on every attempt
    assert len({r.headers["webhook-id"] for r in got}) == 1
    assert len({r.body for r in got}) == 1
    body = json.loads(got[0].body)
    assert body["type"] == "report.completed"
    assert body["schedule"]["name"] == "Weekly sales"
    assert body["report"]["id"] == run.job_id
    assert body["report"]["download_url"] == (
        f"https://reports.example.com/app/api/reports/{run.job_id}/download")
    assert body["schedule"]["url"] == f"https://reports.example.com/app{made['url']}"
    listed = client.get(made["runs_url"]).get_json()["items"][0]
    hook = next(d for d in listed["deliveries"] if d["channel"] == "webhook")
    assert hook["status"] == "delivered"
    assert [(a["attempt"], a["ok"], a["code"]) for a in hook["attempts"]] == [
        (1, False, 500), (2, False, 500), (3, True, 200)]
    assert listed["outcome"] == "ok"


def test_a_webhook_that_never_answers_fails_after_its_last_retry_and_loses_nothing(
        client, app, webhook_receiver):
    app.config.update(WEBHOOK_ALLOW_PRIVATE=True, DELIVERY_RETRY_DELAYS="1,1")
    made = _create(client, webhook_url=webhook_receiver.url())
    webhook_receiver.script([503, 503, 503])
    _set(made["id"], next_run_at=MONDAY_7_BERLIN)
    runs.tick(MONDAY_7_BERLIN)
    run = _runs()[0]
    _end_job(run.job_id, JobStatus.COMPLETED)
    now = MONDAY_7_BERLIN + dt.timedelta(minutes=1)
    for step in range(3):
        _send_all(now + dt.timedelta(seconds=2 * step))
    hook = db.session.scalar(sa.select(Delivery).where(Delivery.channel == "webhook"))
    assert hook.status == "failed" and hook.attempts == 3
    assert "webhook answered 503" in hook.detail
    notice = db.session.scalar(sa.select(Notice).where(Notice.kind == "delivery"))
    assert "The webhook failed" in notice.text and "after 3 attempts" in notice.text
    assert db.session.get(ScheduleRun, run.id).outcome == "failed"
    # the report itself is untouched and downloadable
    assert client.get(f"/api/reports/{run.job_id}/download").status_code == 200


def test_e_mail_attaches_small_files_and_links_large_ones(client, app, user, smtp_server):
    # colleagues' domain: no confirmation needed (consent has its own tests)
    app.config.update(SMTP_URL=smtp_server.url, MAIL_FROM="reports@example.com",
                      MAIL_ALLOWED_DOMAINS="example.com")
    order = create_order(user, "ACME", [ItemInput("Tea", 3, Decimal("2.50"))])
    order.status = OrderStatus.COMPLETED
    db.session.commit()
    made = _create(client, email=["boss@example.com", "Ann@Example.com"])
    assert made["email"] == ["boss@example.com", "ann@example.com"]
    for attach_mb, week in ((10, 0), (0, 1)):
        app.config["MAIL_ATTACH_MAX_MB"] = attach_mb
        due = MONDAY_7_BERLIN + dt.timedelta(days=7 * week)
        _set(made["id"], next_run_at=due)
        runs.tick(due)
        run = _runs()[-1]
        _end_job(run.job_id, JobStatus.COMPLETED)
        assert sorted(_send_all(due + dt.timedelta(minutes=1))) == ["delivered", "delivered"]
    mails = smtp_server.wait_for(4)
    assert sorted(m.rcpt_tos[0] for m in mails) == ["ann@example.com", "ann@example.com",
                                                    "boss@example.com", "boss@example.com"]
    attached = [m for m in mails if list(m.message.iter_attachments())]
    linked = [m for m in mails if not list(m.message.iter_attachments())]
    assert len(attached) == 2 and len(linked) == 2
    part = next(attached[0].message.iter_attachments())
    assert part.get_content() in (b"order_id,customer\n1,ACME\n", "order_id,customer\n1,ACME\n")
    assert attached[0].message["Subject"] == "Report ready: Weekly sales"
    text = attached[0].message.get_body(("plain",)).get_content()
    assert "Completed orders from 2026-11-23 to 2026-11-29" in text
    assert "Totals:" in text and "revenue" in text
    link_text = linked[0].message.get_body(("plain",)).get_content()
    assert "larger than the 0 MB" in link_text
    assert f"{app.config['PUBLIC_URL']}/reports/" in link_text
    listed = client.get(made["runs_url"]).get_json()["items"][0]
    mail = next(d for d in listed["deliveries"] if d["channel"] == "email")
    assert mail["attempts"][0]["code"] == 250


def test_a_refused_address_is_a_failed_delivery_with_the_smtp_reply(
        client, app, smtp_server):
    app.config.update(SMTP_URL=smtp_server.url, DELIVERY_RETRY_DELAYS="1",
                      MAIL_ALLOWED_DOMAINS="example.com")
    made = _create(client, email=["gone@example.com"])
    smtp_server.reject("RCPT", 550, "5.1.1 no such user")
    _set(made["id"], next_run_at=MONDAY_7_BERLIN)
    runs.tick(MONDAY_7_BERLIN)
    _end_job(_runs()[0].job_id, JobStatus.COMPLETED)
    assert _send_all(MONDAY_7_BERLIN + dt.timedelta(minutes=1)) == ["failed"]  # 5xx: final
    mail = db.session.scalar(sa.select(Delivery).where(Delivery.channel == "email"))
    assert mail.attempts == 1 and "refused the recipient (550)" in mail.detail


def test_a_cancelled_report_sends_nothing_and_does_not_count_as_a_failure(client):
    made = _create(client)
    _set(made["id"], next_run_at=MONDAY_7_BERLIN)
    runs.tick(MONDAY_7_BERLIN)
    run = _runs()[0]
    assert client.post(f"/api/reports/{run.job_id}/cancel").status_code == 200
    assert _send_all(MONDAY_7_BERLIN + dt.timedelta(minutes=1)) == ["skipped"]
    run = _runs()[0]
    assert run.outcome == "cancelled"
    assert db.session.get(Schedule, made["id"], populate_existing=True).failed_runs == 0


def test_deleting_a_schedule_keeps_its_reports(client):
    made = _create(client)
    _set(made["id"], next_run_at=MONDAY_7_BERLIN)
    runs.tick(MONDAY_7_BERLIN)
    job_id = _runs()[0].job_id
    assert client.delete(made["url"]).status_code == 204
    assert client.get(made["url"]).status_code == 404
    assert client.get(f"/api/reports/{job_id}").status_code == 200


# --- one-off reports: "e-mail me when it's ready" ---------------------------------------------

def test_notify_email_adds_one_e_mail_to_the_owner_even_for_the_same_report(
        client, app, user, sent):
    app.config["SMTP_URL"] = "smtp://127.0.0.1:2525"
    user.email_verified_at = utcnow()
    db.session.commit()
    body = {"kind": "summary", "format": "csv", "date_from": "2026-11-01",
            "date_to": "2026-11-30"}
    first = client.post("/api/reports", json=body).get_json()
    again = client.post("/api/reports", json={**body, "notify_email": True})
    assert again.status_code == 200 and again.get_json()["id"] == first["id"]
    client.post("/api/reports", json={**body, "notify_email": True})
    mails = db.session.scalars(sa.select(Delivery)).all()
    assert [(d.channel, d.target, d.job_id) for d in mails] == [
        ("email", user.email, first["id"])]


# --- the bell ------------------------------------------------------------------------------

def test_the_bell_counts_unread_notices_and_the_poll_refreshes_it(client, app, user, sent):
    made = _create(client)
    _set(made["id"], next_run_at=MONDAY_7_BERLIN)
    runs.tick(MONDAY_7_BERLIN)
    job_id = _runs()[0].job_id
    page = client.get("/reports/").get_data(as_text=True)
    assert 'id="notice-bell"' in page and "bell-count" not in page
    _end_job(job_id, JobStatus.COMPLETED)
    polled = client.get(f"/reports/live?job={job_id}:PENDING").get_data(as_text=True)
    assert 'id="notice-bell"' in polled and 'hx-swap-oob="true"' in polled
    assert 'aria-label="Notices, 1 unread"' in polled
    listed = client.get("/notices/").get_data(as_text=True)
    assert "Report ready" in listed and "is ready to download" in listed
    assert 'aria-label="Notices, 1 unread"' not in client.get("/reports/").get_data(
        as_text=True)


def test_a_delivery_whose_sender_died_mid_send_is_sent_again_by_the_tick(
        client, app, webhook_receiver, monkeypatch):
    """A worker killed while sending leaves the delivery "sending": after the
    claim's lease the tick publishes it again and it is delivered once."""
    app.config.update(WEBHOOK_ALLOW_PRIVATE=True)
    made = _create(client, webhook_url=webhook_receiver.url())
    _set(made["id"], next_run_at=MONDAY_7_BERLIN)
    runs.tick(MONDAY_7_BERLIN)
    _end_job(_runs()[0].job_id, JobStatus.COMPLETED)
    hook = db.session.scalar(sa.select(Delivery).where(Delivery.channel == "webhook"))
    died_at = MONDAY_7_BERLIN + dt.timedelta(minutes=1)
    assert delivery._claim(hook.id, died_at)  # claimed, then the process was killed
    published: list[int] = []
    monkeypatch.setattr(delivery, "_publish", lambda i, countdown=None: published.append(i))
    assert delivery.publish_due(died_at + dt.timedelta(minutes=2)) == 0  # still its lease
    assert delivery.send(hook.id, died_at + dt.timedelta(minutes=2)) == "not-due"
    later = died_at + delivery.SENDING_LEASE + dt.timedelta(seconds=1)
    assert delivery.publish_due(later) == 1 and published == [hook.id]
    assert delivery.send(hook.id, later) == "delivered"
    assert len(webhook_receiver.wait_for(1)) == 1
    db.session.expire_all()
    hook = db.session.get(Delivery, hook.id)
    assert hook.attempts == 2 and [a.ok for a in hook.attempt_log] == [True]
