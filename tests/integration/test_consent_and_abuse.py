"""The anti-abuse rules end to end with real processes (delivery_stack.py: a
real worker, SMTP server and webhook receiver, on SQLite and PostgreSQL):
nobody outside the operator's allowed domains gets a report before saying
yes, one click stops them, "never from this sender" stops every schedule of
that sender; thirty-one Run now at once start one run; what a user reads of
a failed delivery names no address or port of anyone's network; signing up
with mail on answers the same for a known and a new address."""
from __future__ import annotations

import re
import threading
from collections import Counter
from contextlib import contextmanager
from html.parser import HTMLParser

import pytest
import sqlalchemy as sa

from tests.conftest import logged_in_client, workspace_of
from tests.integration.delivery_stack import (
    PUBLIC_URL,
    attempts_of,
    closed_port,
    get_json,
    make_orders,
    make_schedule,
    recipients,
    run_now,
    settled_run,
    text_of,
    worker_node,
)
from tests.leaks import no_internals
from webapp.extensions import db
from webapp.models import ReportJob, ScheduleRecipient, User

pytestmark = pytest.mark.integration

VICTIM = "victim@partner.test"  # not on the allowed domains (example.com)
NEWCOMER_PASSWORD = "lantern orbit quietly 47 marmalade"
ONE_CLICK = "List-Unsubscribe=One-Click"


# --- helpers ------------------------------------------------------------------------------

def links_in(received, path: str) -> list[str]:
    """The PUBLIC_URL links in a mail's text whose path starts with `path`, as
    paths for the test client (PUBLIC_URL is not where this app answers)."""
    found = re.findall(re.escape(PUBLIC_URL + path) + r"\S*", text_of(received))
    assert found, f"no {path} link in {text_of(received)!r}"
    return [link.removeprefix(PUBLIC_URL) for link in found]


def email_delivery(run: dict) -> dict:
    [delivery] = [d for d in run["deliveries"] if d["channel"] == "email"]
    return delivery


@contextmanager
def csrf_on(app):
    """CSRF protection as in production (the test app turns it off): a mail
    client's one-click POST carries no token and no cookie, and must work."""
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        yield
    finally:
        app.config["WTF_CSRF_ENABLED"] = False


@contextmanager
def worker_not_consuming(env):
    """The worker takes nothing from its queue meanwhile (Celery's remote
    control, the real worker): the run started first stays open for every
    other request, so "one run at a time" is what answers them, not the
    worker's speed at finishing the first one in between."""
    control = env.app.extensions["celery"].control
    queue = env.app.config["REPORTS_QUEUE"]
    node = [worker_node(env.app)]
    assert control.cancel_consumer(queue, destination=node, reply=True, timeout=10), \
        "the worker did not answer cancel_consumer"
    try:
        yield
    finally:
        assert control.add_consumer(queue, destination=node, reply=True, timeout=10), \
            "the worker did not answer add_consumer"


def fire_at_once(clients, path: str) -> list:
    """POST path from each client in its own thread, all released by one barrier."""
    barrier = threading.Barrier(len(clients))
    answers: list = [None] * len(clients)

    def request(n: int) -> None:
        barrier.wait(timeout=30)
        answers[n] = clients[n].post(path)

    threads = [threading.Thread(target=request, args=(n,)) for n in range(len(clients))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return answers


class _Texts(HTMLParser):
    """The text of every element whose class list holds `wanted`, inside an
    element whose class list holds `inside` (nested elements included)."""

    VOID = {"br", "img", "input", "meta", "link", "hr", "wbr", "source"}

    def __init__(self, html: str, wanted: str, inside: str | None = None):
        super().__init__()
        self.wanted, self.inside = wanted, inside
        self.texts: list[str] = []
        self._stack: list[tuple[bool, bool]] = []  # (is wanted, is inside) per open element
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        if tag in self.VOID:
            return
        classes = (dict(attrs).get("class") or "").split()
        self._stack.append((self.wanted in classes, bool(self.inside) and self.inside in classes))
        if self._stack[-1][0] and self._within():
            self.texts.append("")

    def handle_endtag(self, tag):
        if tag not in self.VOID and self._stack:
            self._stack.pop()

    def handle_data(self, data):
        if any(wanted for wanted, _ in self._stack) and self._within():
            self.texts[-1] += data

    def _within(self) -> bool:
        return self.inside is None or any(inside for _, inside in self._stack)


def _texts(html: str, wanted: str, inside: str | None = None) -> list[str]:
    return [" ".join(text.split()) for text in _Texts(html, wanted, inside).texts]


# --- consent ------------------------------------------------------------------------------

def test_a_foreign_address_gets_no_report_until_it_confirms_and_none_after_one_click(env):
    make_orders(env.client, 1)
    schedule = make_schedule(env, email=[VICTIM], webhook_url=None)

    [ask] = env.smtp.wait_for(1)
    assert ask.rcpt_tos == [VICTIM]
    assert ask.message["Subject"] == f"Do you want reports from {env.user.email}?"
    assert list(ask.message.iter_attachments()) == []
    confirm_link, never_link = links_in(ask, "/recipients/")
    assert never_link == f"{confirm_link}?never=1"
    assert recipients(env.client, schedule) == {VICTIM: "pending"}

    # not confirmed: the run goes on, the e-mail is skipped, nothing reaches the address
    run_now(env, schedule)
    run = settled_run(env, schedule)
    skipped = email_delivery(run)
    assert skipped["status"] == "skipped" and skipped["attempts"] == [], skipped
    assert "waiting for confirmation" in skipped["detail"], skipped
    assert run["outcome"] == "ok", run
    assert run["detail"].startswith("Delivered (1 of 2). Not sent: "), run
    assert len(env.smtp.messages) == 1  # the question, and no report

    # opening the link (a mail scanner does) shows a page and changes nothing
    stranger = env.app.test_client()
    page = stranger.get(confirm_link)
    assert page.status_code == 200
    assert "Do you want these reports?" in page.get_data(as_text=True)
    assert recipients(env.client, schedule) == {VICTIM: "pending"}
    with csrf_on(env.app):
        confirmed = env.app.test_client().post(f"{confirm_link}/confirm")
    assert confirmed.status_code == 200, confirmed.get_data(as_text=True)
    assert "Confirmed" in confirmed.get_data(as_text=True)
    assert recipients(env.client, schedule) == {VICTIM: "confirmed"}

    # confirmed: one report, with a one-click unsubscribe (RFC 8058)
    run_now(env, schedule)
    run = settled_run(env, schedule)
    assert attempts_of(email_delivery(run)) == [(1, True, 250)], run
    assert run["detail"] == "Delivered (2 of 2).", run
    [_, report] = env.smtp.wait_for(2)
    assert report.rcpt_tos == [VICTIM]
    assert report.message["Subject"] == "Report ready: Monthly sales"
    unsubscribe = report.message["List-Unsubscribe"]
    assert re.fullmatch(rf"<{re.escape(PUBLIC_URL)}/unsubscribe/[\w.-]+>", unsubscribe), \
        unsubscribe
    assert report.message["List-Unsubscribe-Post"] == ONE_CLICK
    assert unsubscribe.strip("<>") in text_of(report)  # for readers whose client has no button

    # the mail client's one-click POST: no cookie, no token, no log-in
    with csrf_on(env.app):
        done = env.app.test_client().post(
            unsubscribe.strip("<>").removeprefix(PUBLIC_URL), data=ONE_CLICK,
            content_type="application/x-www-form-urlencoded")
    assert done.status_code == 200, done.get_data(as_text=True)
    assert recipients(env.client, schedule) == {VICTIM: "unsubscribed"}

    run_now(env, schedule)
    run = settled_run(env, schedule)
    skipped = email_delivery(run)
    assert skipped["status"] == "skipped" and "unsubscribed" in skipped["detail"], skipped
    assert len(env.smtp.messages) == 2
    assert get_json(env.client, schedule["runs_url"])["total"] == 3


def test_never_from_this_sender_stops_every_schedule_of_that_sender(env):
    make_orders(env.client, 1)
    first = make_schedule(env, name="Weekly sales", email=[VICTIM], webhook_url=None)
    [ask] = env.smtp.wait_for(1)
    _, never_link = links_in(ask, "/recipients/")

    stranger = env.app.test_client()
    page = stranger.get(never_link)
    assert page.status_code == 200
    assert f"Never send me anything from {env.user.email}" in page.get_data(as_text=True)
    with csrf_on(env.app):
        declined = env.app.test_client().post(never_link.replace("?never=1", "/never"))
    assert declined.status_code == 200, declined.get_data(as_text=True)
    assert f"You will not hear from {env.user.email}" in declined.get_data(as_text=True)

    # a second schedule of the same sender: not even a question goes out
    second = make_schedule(env, name="Daily sales", email=[VICTIM], webhook_url=None)
    for schedule in (first, second):
        [standing] = get_json(env.client, schedule["url"])["recipients"]
        assert standing["status"] == "declined" and not standing["may_send"], standing

    for schedule in (first, second):
        run_now(env, schedule)
    for schedule in (first, second):
        skipped = email_delivery(settled_run(env, schedule))
        assert skipped["status"] == "skipped" and skipped["attempts"] == [], skipped
        assert "declined" in skipped["detail"], skipped
    db.session.rollback()
    asked = db.session.scalar(sa.select(ScheduleRecipient.asked_at).where(
        ScheduleRecipient.schedule_id == second["id"]))
    assert asked is None  # never asked, not even at send time
    assert [m.message["Subject"] for m in env.smtp.messages] == [ask.message["Subject"]]


# --- quotas -------------------------------------------------------------------------------

def test_thirty_one_simultaneous_run_nows_start_one_run_and_one_mail_per_recipient(env):
    make_orders(env.client, 1)
    schedule = make_schedule(env, webhook_url=None)  # boss@ and ann@example.com: allowed
    clients = [logged_in_client(env.app, env.user) for _ in range(31)]

    with worker_not_consuming(env):
        answers = fire_at_once(clients, f"/api/schedules/{schedule['id']}/run")
        assert sorted(a.status_code for a in answers) == [202] + [429] * 30
        db.session.rollback()
        jobs = db.session.scalar(sa.select(sa.func.count()).select_from(ReportJob)
                                 .where(ReportJob.workspace_id == workspace_of(env.user)))
        assert jobs == 1
    for answer in answers:
        if answer.status_code != 429:
            continue
        assert answer.headers["Retry-After"].isdigit(), answer.headers
        assert int(answer.headers["Retry-After"]) > 0
        assert answer.content_type == "application/problem+json"
        problem = answer.get_json()
        assert problem["status"] == 429 and "still in progress" in problem["detail"], problem

    run = settled_run(env, schedule)
    assert run["outcome"] == "ok" and run["detail"] == "Delivered (3 of 3).", run
    mails = env.smtp.wait_for(2)
    assert Counter(m.rcpt_tos[0] for m in mails) == {"boss@example.com": 1,
                                                     "ann@example.com": 1}
    assert get_json(env.client, schedule["runs_url"])["total"] == 1


# --- what users read of a failure ---------------------------------------------------------

SMTP_WORDS = "5.7.1 relay from 10.20.30.40 denied by mx7.corp.internal:2525"
RECEIVER_WORDS = b"upstream database 10.0.0.7:5432 refused the connection"


def test_no_delivery_text_a_user_can_read_names_an_internal_address_or_port(env):
    make_orders(env.client, 1)
    dead_url = f"http://127.0.0.1:{closed_port()}/hook"
    to_dead_ends = make_schedule(env, name="Dead ends", email=["boss@example.com"],
                                 webhook_url=dead_url)
    to_failing_hook = make_schedule(env, name="Failing hook", email=[])
    env.smtp.reject("RCPT", 550, SMTP_WORDS, times=1)
    env.hooks.script([500, 500, 500])
    env.hooks.reply_body = RECEIVER_WORDS

    for schedule in (to_dead_ends, to_failing_hook):
        run_now(env, schedule)
    runs = [settled_run(env, schedule) for schedule in (to_dead_ends, to_failing_hook)]

    # what failed, and how (so the texts checked below are the failure texts)
    by_target = {d["target"]: d for run in runs for d in run["deliveries"]}
    assert by_target["boss@example.com"]["status"] == "failed"
    assert attempts_of(by_target["boss@example.com"]) == [(1, False, 550)]
    assert "(550)" in by_target["boss@example.com"]["detail"]
    assert by_target[dead_url]["status"] == "failed" and len(by_target[dead_url]["attempts"]) == 3
    assert "could not connect" in by_target[dead_url]["detail"]
    assert attempts_of(by_target[env.hooks.url()]) == [(1, False, 500), (2, False, 500),
                                                       (3, False, 500)]
    assert len(env.hooks.wait_for(3)) == 3
    assert [run["outcome"] for run in runs] == ["failed", "failed"]

    # the runs API: run, delivery and attempt details
    for run in runs:
        no_internals(run["detail"])
        for delivery in run["deliveries"]:
            no_internals(delivery["detail"] or "")
            for attempt in delivery["attempts"]:
                no_internals(attempt["detail"] or "")

    # the notices page: each notice, without the webhook URLs the user typed
    db.session.rollback()
    notices = _texts(env.client.get("/notices/").get_data(as_text=True), "notice-item")
    failures = [text for text in notices if "failed" in text]
    assert len(failures) == 3, notices
    for text in notices:
        no_internals(text.replace(dead_url, "<your URL>").replace(env.hooks.url(), "<your URL>"))

    # the schedule pages' delivery and outcome cells
    for schedule in (to_dead_ends, to_failing_hook):
        page = env.client.get(f"/schedules/{schedule['id']}")
        assert page.status_code == 200
        cells = _texts(page.get_data(as_text=True), "small", inside="runs")
        assert cells, "no small texts in the runs table"
        for text in cells:
            no_internals(text)

    # the operator's log has the whole story
    log = env.worker.output_since_start()
    assert "10.20.30.40" in log and "mx7.corp.internal:2525" in log
    assert "10.0.0.7:5432" in log


# --- signing up with mail on --------------------------------------------------------------

def _signup(app, email: str):
    return app.test_client().post("/signup", data={
        "email": email, "password": NEWCOMER_PASSWORD, "confirm": NEWCOMER_PASSWORD,
        "timezone": "UTC"})


def _same_for_everyone(html: str, email: str) -> str:
    """The page with the address and the per-visitor CSRF token taken out."""
    html = html.replace(email, "<address>")
    return re.sub(r'("X-CSRFToken": "|name="csrf_token" value=")[^"]*', r"\1<token>", html)


def test_signing_up_answers_alike_for_new_and_known_addresses_and_the_link_makes_the_account(
        env):
    newcomer, known = "newcomer@partner.test", env.user.email
    known_hash = env.user.password_hash

    fresh, taken = _signup(env.app, newcomer), _signup(env.app, known)
    assert fresh.status_code == taken.status_code == 200
    assert "Check your inbox" in fresh.get_data(as_text=True)
    assert (_same_for_everyone(fresh.get_data(as_text=True), newcomer)
            == _same_for_everyone(taken.get_data(as_text=True), known))

    mails = {m.rcpt_tos[0]: m for m in env.smtp.wait_for(2)}
    assert set(mails) == {newcomer, known}
    assert mails[known].message["Subject"] == "Someone tried to sign up with your address"
    assert "/signup/finish/" not in text_of(mails[known])
    [finish] = links_in(mails[newcomer], "/signup/finish/")
    db.session.rollback()
    assert db.session.get(User, env.user.id).password_hash == known_hash  # nothing changed

    visitor = env.app.test_client()
    assert visitor.get(finish).status_code == 200
    wrong = visitor.post(finish, data={"password": "not the one I chose at all"})
    assert wrong.status_code == 422, wrong.get_data(as_text=True)
    db.session.rollback()
    assert db.session.scalar(sa.select(User).where(User.email == newcomer)) is None

    right = visitor.post(finish, data={"password": NEWCOMER_PASSWORD})
    assert right.status_code in (302, 303), right.get_data(as_text=True)
    db.session.rollback()
    account = db.session.scalar(sa.select(User).where(User.email == newcomer))
    assert account is not None and account.email_verified_at is not None

    again = env.app.test_client()
    assert again.get(finish).status_code == 404
    assert again.post(finish, data={"password": NEWCOMER_PASSWORD}).status_code == 404
    assert len(env.smtp.messages) == 2
