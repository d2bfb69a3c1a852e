"""A hostile account cannot turn the server against others: recipients are
asked once and get nothing until they say yes, one click stops them, one
recipient string is one address, and every quota holds under concurrency
(answered 429 with Retry-After, never 500). Real SMTP server, both databases,
an injected clock instead of a worker (tests/integration has the worker)."""
from __future__ import annotations

import datetime as dt
import re
import threading
from decimal import Decimal

import pytest
import sqlalchemy as sa

from tests.conftest import logged_in_client
from webapp.delivery import consent
from webapp.delivery import services as delivery
from webapp.extensions import db
from webapp.links import serializer
from webapp.models import (
    Delivery,
    MailSend,
    OrderStatus,
    ReportJob,
    Schedule,
    ScheduleRecipient,
    ScheduleRun,
    User,
    utcnow,
)
from webapp.orders.services import ItemInput, create_order
from webapp.schedules import runs

UTC = dt.UTC
MONDAY_7 = dt.datetime(2026, 11, 30, 6, 0, tzinfo=UTC)  # 07:00 in Berlin
WEEKLY = {"name": "Weekly sales", "cron": "0 7 * * 1", "timezone": "Europe/Berlin",
          "report": {"kind": "summary", "format": "csv", "range": "last_7_full_days"}}
FOREIGN = "victim@partner.test"


def _create(client, **changes) -> dict:
    answer = client.post("/api/schedules", json={**WEEKLY, **changes})
    assert answer.status_code == 201, answer.get_json()
    return answer.get_json()


def _due(schedule_id: int, at: dt.datetime = MONDAY_7) -> None:
    table = Schedule.__table__
    with db.engine.begin() as conn:
        conn.execute(sa.update(table).where(table.c.id == schedule_id).values(next_run_at=at))


def _finish_jobs() -> None:
    """The worker's part, as far as deliveries care: every job ends COMPLETED
    (the e-mail then says "ready"; no file is needed for a summary's e-mail
    beyond its size, which stays unknown, so it is linked, not attached)."""
    jobs = ReportJob.__table__
    with db.engine.begin() as conn:
        conn.execute(sa.update(jobs).where(jobs.c.status.in_(["PENDING", "PROCESSING"]))
                     .values(status="COMPLETED", finished_at=utcnow()))


def _send_all(now: dt.datetime) -> dict[str, str]:
    """Send every due delivery once, as the worker would: {target: status}."""
    db.session.rollback()
    table = Delivery.__table__
    with db.engine.connect() as conn:
        ids = conn.execute(sa.select(table.c.id).where(table.c.status == "pending")
                           .order_by(table.c.id)).scalars().all()
    result = {}
    for delivery_id in ids:
        status = delivery.send(delivery_id, now)
        result[db.session.get(Delivery, delivery_id).target] = status
    return result


def _run_once(schedule_id: int, at: dt.datetime) -> dict[str, str]:
    _due(schedule_id, at)
    runs.tick(at)
    _finish_jobs()
    return _send_all(at + dt.timedelta(seconds=1))


def _link(text: str, path: str) -> str:
    found = re.search(rf"https?://[^\s]+({re.escape(path)}[^\s]*)", text)
    assert found, text
    return found.group(1)


def _recipients(client, schedule_id: int) -> dict[str, str]:
    db.session.rollback()
    body = client.get(f"/api/schedules/{schedule_id}").get_json()
    return {r["address"]: r["status"] for r in body["recipients"]}


@pytest.fixture
def mail(app, smtp_server):
    app.config.update(SMTP_URL=smtp_server.url, MAIL_FROM="reports@example.com",
                      PUBLIC_URL="http://reports.example")
    return smtp_server


@pytest.fixture
def order(user):
    made = create_order(user, "ACME", [ItemInput("Tea", 3, Decimal("2.50"))])
    made.status = OrderStatus.COMPLETED
    db.session.commit()
    return made


# --- one recipient is one address ---------------------------------------------------

@pytest.mark.parametrize("address, why", [
    ("victim@evil.example,root,postmaster,all-staff", "comma"),
    ("a@evil.example;b@evil.example", "semicolon"),
    ("Boss<boss@evil.example>", "angle bracket"),
    ("boss@evil.example\u2028x@evil.example", "U+2028"),
    ("boss@evil.example\u200b", "U+200B"),
    ("boss @evil.example", "U+0020"),
    ("root", "exactly one @"),
    ("boss@[127.0.0.1]", "square bracket"),
])
def test_a_recipient_that_is_not_exactly_one_address_is_a_400_naming_the_field(
        client, mail, address, why):
    answer = client.post("/api/schedules", json={**WEEKLY, "email": [address]})
    assert answer.status_code == 400, answer.get_json()
    [message] = answer.get_json()["errors"]["email"]
    assert why in message and "not an e-mail address" in message
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Schedule)) == 0


def test_recipients_are_counted_after_parsing_and_the_cap_holds(client, mail):
    many = [f"p{n}@partner.test" for n in range(21)]
    answer = client.post("/api/schedules", json={**WEEKLY, "email": many})
    assert answer.status_code == 400
    assert "at most 20" in answer.get_json()["errors"]["email"][0].lower()
    # the same address twice (in any case) is one recipient
    made = _create(client, email=["Boss@Partner.test", "boss@partner.test"])
    assert made["email"] == ["boss@partner.test"]


def test_the_schedule_form_keeps_what_was_typed_and_says_which_address_is_wrong(client, mail):
    page = client.post("/schedules/new", data={
        "name": "Weekly", "kind": "summary", "range": "last_7_days", "format": "pdf",
        "frequency": "weekly", "time": "07:00", "weekday": "0", "day": "1",
        "timezone": "Europe/Berlin", "emails": "ok@partner.test\nbad\u2028@partner.test"})
    assert page.status_code == 422
    text = page.get_data(as_text=True)
    assert "U+2028" in text and "ok@partner.test" in text


# --- consent ------------------------------------------------------------------------

def test_a_foreign_recipient_gets_one_request_and_no_report_until_it_confirms(
        client, app, user, mail, order):
    made = _create(client, email=[FOREIGN])
    [recipient] = db.session.scalars(sa.select(ScheduleRecipient)).all()
    assert _recipients(client, made["id"]) == {FOREIGN: "pending"}

    # the worker's task: one confirmation e-mail, and only one however often it runs
    assert consent.ask(recipient.id)[0] == "sent"
    assert consent.ask(recipient.id)[0] == "not-needed"
    [asked] = mail.wait_for(1)
    assert asked.rcpt_tos == [FOREIGN]
    text = asked.message.get_body(("plain",)).get_content()
    assert "alice@example.com wants to send you the reports" in text and "Weekly sales" in text
    assert asked.message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"

    # a run before the answer: the e-mail is skipped, saying why; the run is fine
    sent = _run_once(made["id"], MONDAY_7)
    assert sent[FOREIGN] == "skipped"
    run = db.session.scalar(sa.select(ScheduleRun))
    assert run.outcome == "ok" and "waiting for confirmation" in run.detail
    assert len(mail.messages) == 1

    # opening the link (as a mail scanner does) changes nothing; the button does
    visitor = app.test_client()
    path = _link(text, "/recipients/")
    page = visitor.get(path)
    assert page.status_code == 200 and "Yes, send me these reports" in page.get_data(as_text=True)
    assert _recipients(client, made["id"]) == {FOREIGN: "pending"}
    assert visitor.post(f"{path}/confirm").status_code == 200
    assert _recipients(client, made["id"]) == {FOREIGN: "confirmed"}

    sent = _run_once(made["id"], MONDAY_7 + dt.timedelta(days=7))
    assert sent[FOREIGN] == "delivered"
    report = mail.wait_for(2)[1]
    assert report.message["Subject"] == "Report ready: Weekly sales"
    unsubscribe = report.message["List-Unsubscribe"].strip("<>")
    assert report.message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"

    # RFC 8058: a bare POST from the mail client, no cookie, no CSRF token
    path = unsubscribe.removeprefix("http://reports.example")
    assert app.test_client().get(path).status_code == 200  # a page, nothing more
    assert _recipients(client, made["id"]) == {FOREIGN: "confirmed"}
    one_click = app.test_client().post(path, data="List-Unsubscribe=One-Click",
                                       content_type="application/x-www-form-urlencoded")
    assert one_click.status_code == 200
    assert _recipients(client, made["id"]) == {FOREIGN: "unsubscribed"}
    assert _run_once(made["id"], MONDAY_7 + dt.timedelta(days=14))[FOREIGN] == "skipped"
    assert len(mail.messages) == 2
    # an old confirmation link does not undo the unsubscribe
    app.test_client().post(f"{_link(text, '/recipients/')}/confirm")
    assert _recipients(client, made["id"]) == {FOREIGN: "unsubscribed"}


def test_never_from_this_sender_covers_every_schedule_of_that_account(client, app, mail, order):
    first = _create(client, email=[FOREIGN])
    recipient = db.session.scalar(sa.select(ScheduleRecipient))
    consent.ask(recipient.id)
    text = mail.wait_for(1)[0].message.get_body(("plain",)).get_content()
    never = _link(text, "/recipients/").split("?")[0] + "/never"
    assert app.test_client().post(never).status_code == 200
    assert _recipients(client, first["id"]) == {FOREIGN: "declined"}

    second = _create(client, name="Another", email=[FOREIGN])
    assert _recipients(client, second["id"]) == {FOREIGN: "declined"}
    again = db.session.scalars(sa.select(ScheduleRecipient).where(
        ScheduleRecipient.schedule_id == second["id"])).one()
    assert consent.ask(again.id)[0] == "not-needed"  # not even asked
    assert _run_once(second["id"], MONDAY_7)[FOREIGN] == "skipped"
    assert len(mail.messages) == 1


def test_a_tampered_or_foreign_link_is_refused(client, app, mail):
    made = _create(client, email=[FOREIGN])
    token = serializer(consent.CONFIRM).dumps(
        [db.session.scalar(sa.select(ScheduleRecipient.id)), FOREIGN])
    visitor = app.test_client()
    assert visitor.post(f"/recipients/{token[:-2]}xx/confirm").status_code == 404
    # an unsubscribe token does not confirm (a salt per purpose)
    other = serializer(consent.UNSUBSCRIBE).dumps(
        [db.session.scalar(sa.select(ScheduleRecipient.id)), FOREIGN])
    assert visitor.post(f"/recipients/{other}/confirm").status_code == 404
    assert _recipients(client, made["id"]) == {FOREIGN: "pending"}


def test_the_owners_own_address_gets_nothing_until_it_is_verified(client, app, user, mail,
                                                                   order):
    made = _create(client, email=["alice@example.com"])
    assert _recipients(client, made["id"]) == {"alice@example.com": "unverified"}
    assert _run_once(made["id"], MONDAY_7)["alice@example.com"] == "skipped"
    asked = client.post("/api/reports", json={"kind": "order", "format": "csv",
                                              "order_id": order.id, "notify_email": True})
    assert asked.status_code == 400 and "not verified" in asked.get_json()["detail"]

    user.email_verified_at = utcnow()
    db.session.commit()
    assert _recipients(client, made["id"]) == {"alice@example.com": "verified"}
    assert _run_once(made["id"], MONDAY_7 + dt.timedelta(days=7))["alice@example.com"] \
        == "delivered"


def test_allowed_domains_need_no_confirmation(client, app, mail, order):
    app.config["MAIL_ALLOWED_DOMAINS"] = "partner.test, example.org"
    made = _create(client, email=[FOREIGN, "x@elsewhere.test"])
    assert _recipients(client, made["id"]) == {FOREIGN: "allowed",
                                               "x@elsewhere.test": "pending"}
    sent = _run_once(made["id"], MONDAY_7)
    assert (sent[FOREIGN], sent["x@elsewhere.test"]) == ("delivered", "skipped")
    assert [m.rcpt_tos for m in mail.messages] == [[FOREIGN]]


def test_the_account_page_verifies_the_owners_address_by_a_link(client, app, user, mail):
    page = client.get("/account").get_data(as_text=True)
    assert "not verified" in page
    token = serializer("verify-email").dumps([user.id, user.email])
    assert client.get(f"/account/verify/{token}x").status_code == 404
    answer = client.get(f"/account/verify/{token}")
    assert answer.status_code == 303
    db.session.refresh(user)
    assert user.email_verified


# --- quotas ---------------------------------------------------------------------------

def _fire(clients, path: str) -> list:
    barrier = threading.Barrier(len(clients))
    answers: list = [None] * len(clients)

    def call(n: int) -> None:
        barrier.wait(timeout=30)
        answers[n] = clients[n].post(path)

    threads = [threading.Thread(target=call, args=(n,)) for n in range(len(clients))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return answers


def test_thirty_one_simultaneous_run_nows_start_one_run(client, app, user, sent):
    made = _create(client)
    clients = [logged_in_client(app, user) for _ in range(31)]
    answers = _fire(clients, f"/api/schedules/{made['id']}/run")
    codes = sorted(a.status_code for a in answers)
    assert codes == [202] + [429] * 30, codes
    refused = next(a for a in answers if a.status_code == 429)
    assert int(refused.headers["Retry-After"]) >= 1
    assert "still in progress" in refused.get_json()["detail"]
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ReportJob)) == 1
    assert len(sent) == 1


def test_run_now_shares_the_open_jobs_budget_with_one_off_reports(client, app, sent):
    app.config["REPORT_MAX_OPEN_JOBS"] = 2
    made = _create(client)
    for day in (1, 2):
        asked = client.post("/api/reports", json={
            "kind": "summary", "format": "csv", "date_from": "2026-01-01",
            "date_to": f"2026-01-0{day}"})
        assert asked.status_code == 202
    answer = client.post(f"/api/schedules/{made['id']}/run")
    assert answer.status_code == 429 and "Retry-After" in answer.headers
    assert "2 reports in progress" in answer.get_json()["detail"]
    page = client.post(f"/schedules/{made['id']}/run", follow_redirects=True)
    assert page.status_code == 200 and "2 reports in progress" in page.get_data(as_text=True)


def test_scheduled_runs_that_meet_the_budget_wait_their_turn_in_order(client, app, user, sent):
    app.config["REPORT_MAX_OPEN_JOBS"] = 2
    made = [_create(client, name=f"S{n}") for n in range(4)]
    for schedule in made:
        _due(schedule["id"])
    counts = runs.tick(MONDAY_7)
    assert counts["runs"] == 2
    db.session.rollback()
    found = db.session.scalars(sa.select(ScheduleRun).order_by(ScheduleRun.id)).all()
    assert [r.waiting for r in found] == [False, False, True, True]
    assert all(r.job_id is None and r.outcome is None for r in found[2:])
    page = client.get(f"/schedules/{found[2].schedule_id}").get_data(as_text=True)
    assert "Waiting" in page and "waiting for its turn" in page.lower()
    api = client.get(f"/api/schedules/{found[2].schedule_id}/runs").get_json()
    assert api["items"][0]["waiting"] is True

    # nothing ends: the next tick starts nothing; one ends: the oldest waiting starts
    assert runs.tick(MONDAY_7 + dt.timedelta(seconds=15))["runs"] == 0
    jobs = ReportJob.__table__
    with db.engine.begin() as conn:
        conn.execute(sa.update(jobs).where(jobs.c.id == found[0].job_id)
                     .values(status="COMPLETED"))
    assert runs.tick(MONDAY_7 + dt.timedelta(seconds=30))["resumed"] == 1
    db.session.rollback()
    found = db.session.scalars(sa.select(ScheduleRun).order_by(ScheduleRun.id)).all()
    assert [r.waiting for r in found] == [False, False, False, True]
    assert found[2].job_id is not None and found[2].detail is None
    # its report covers the slot it was due for, not the time it started
    assert db.session.get(ReportJob, found[2].job_id).params["date_to"] == "2026-11-29"


def test_schedules_per_user_hold_under_concurrency(client, app, user):
    app.config["SCHEDULES_MAX_PER_USER"] = 3
    clients = [logged_in_client(app, user) for _ in range(8)]
    barrier = threading.Barrier(len(clients))
    codes: list = [None] * len(clients)

    def create(n: int) -> None:
        barrier.wait(timeout=30)
        answer = clients[n].post("/api/schedules", json={**WEEKLY, "name": f"S{n}"})
        codes[n] = (answer.status_code, answer.headers.get("Retry-After"))

    threads = [threading.Thread(target=create, args=(n,)) for n in range(len(clients))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(code for code, _ in codes) == [201] * 3 + [429] * 5, codes
    assert all(wait for code, wait in codes if code == 429)
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Schedule)) == 3
    answer = client.post("/api/schedules", json=WEEKLY)
    assert answer.status_code == 429
    assert "the most this server allows (3)" in answer.get_json()["detail"]


def test_e_mails_per_hour_wait_instead_of_failing_and_run_now_says_when(
        client, app, mail, order):
    app.config.update(MAIL_MAX_PER_HOUR=2, MAIL_ALLOWED_DOMAINS="partner.test")
    made = _create(client, email=[f"p{n}@partner.test" for n in range(3)])
    sent = _run_once(made["id"], MONDAY_7)
    assert sorted(sent.values()) == ["delivered", "delivered", "delivered", "pending"], sent
    assert len(mail.wait_for(2)) == 2
    waiting = db.session.scalar(sa.select(Delivery).where(Delivery.status == "pending"))
    assert "2 e-mails in the last hour" in waiting.detail and waiting.attempts == 0
    assert waiting.next_attempt_at > MONDAY_7 + dt.timedelta(minutes=59)

    now = utcnow()  # Run now counts against the real clock
    workspace_id = db.session.get(Schedule, made["id"]).workspace_id
    with db.engine.begin() as conn:
        conn.execute(sa.insert(MailSend.__table__),
                     [{"workspace_id": workspace_id, "at": now}] * 2)
    _finish_jobs()
    answer = client.post(f"/api/schedules/{made['id']}/run")
    assert answer.status_code == 429
    assert 3500 <= int(answer.headers["Retry-After"]) <= 3601
    assert "e-mails in the last hour" in answer.get_json()["detail"]


# --- sign-up with mail on -------------------------------------------------------------

@pytest.fixture
def mailed(app, mail, monkeypatch):
    """The e-mails sign-up publishes, sent at once to the real SMTP server
    (the worker's part, without a worker)."""
    from webapp.delivery import outbox

    def now(to, body, *, workspace_id=None):
        outbox.send(to, body, workspace_id=workspace_id)
        return True

    monkeypatch.setattr(outbox, "queue", now)
    return mail


def _signup(app, email: str, password: str = "correct-horse-battery-staple"):
    return app.test_client().post("/signup", data={
        "email": email, "password": password, "confirm": password, "timezone": "UTC"})


def test_sign_up_answers_the_same_for_known_and_new_addresses(app, user, mailed):
    known = _signup(app, "alice@example.com")
    new = _signup(app, "new@example.com")
    assert known.status_code == new.status_code == 200
    assert (known.get_data(as_text=True).replace("alice@example.com", "X")
            == new.get_data(as_text=True).replace("new@example.com", "X"))
    got = {m.rcpt_tos[0]: m for m in mailed.wait_for(2)}
    assert got["alice@example.com"].message["Subject"] == \
        "Someone tried to sign up with your address"
    text = got["new@example.com"].message.get_body(("plain",)).get_content()
    assert "/signup/finish/" in text
    # nothing is an account before the link: a log-in says what it says for anyone
    assert db.session.scalar(sa.select(User).where(User.email == "new@example.com")) is None


def test_the_sign_up_link_needs_the_password_chosen_and_works_once(app, mailed):
    _signup(app, "new@example.com")
    text = mailed.wait_for(1)[0].message.get_body(("plain",)).get_content()
    path = _link(text, "/signup/finish/")
    visitor = app.test_client()
    assert visitor.get(path).status_code == 200
    wrong = visitor.post(path, data={"password": "not-the-one-chosen"})
    assert wrong.status_code == 422
    assert "not the password you chose" in wrong.get_data(as_text=True)
    right = visitor.post(path, data={"password": "correct-horse-battery-staple"})
    assert right.status_code == 303
    made = db.session.scalar(sa.select(User).where(User.email == "new@example.com"))
    assert made is not None and made.email_verified
    assert app.test_client().get(path).status_code == 404  # once only
