"""Deliveries: getting a final report to where it should go, and recording it.

    job final ─► deliveries due ─► send (claim, one attempt) ─┬─► delivered
                                                               ├─► pending (retry later)
                                                               └─► failed ─► a notice

A delivery is created with its job (a schedule's run, or "e-mail me when
it's ready") and waits until the job is final. The worker that ends the job
publishes its deliveries at once (`dispatch_job`); the beat tick publishes
whatever is due and was not sent (`publish_due`), so a lost message only
delays a delivery. Sending is claimed by a conditional UPDATE, like a job,
so two deliveries of one message never both send. When every delivery of a
schedule's run is final, the run gets its outcome and the schedule its
failure streak (schedules pause themselves after too many failed runs).
A failed delivery never touches the report: it stays downloadable."""
from __future__ import annotations

import datetime as dt
import json
import logging
import secrets
from dataclasses import dataclass

import sqlalchemy as sa
from flask import current_app

from .. import events, quotas
from ..extensions import db
from ..models import (
    Delivery,
    DeliveryAttempt,
    JobStatus,
    Membership,
    ReportJob,
    Schedule,
    ScheduleRun,
    User,
    utcnow,
)
from ..notices import services as notices
from ..reports.params import download_name
from ..schedules import outcomes
from ..storage import storage
from ..timezones import zone_of
from ..words import seconds_in_words
from . import consent, mail, messages, webhooks

log = logging.getLogger(__name__)

TASK_NAME = "deliveries.send"
FINAL = [s.value for s in JobStatus if s.is_final]
# a claimed delivery whose sender died is sent again after this long
SENDING_LEASE = dt.timedelta(minutes=5)
# published by the tick only when the worker's own publish seems lost
TICK_GRACE = dt.timedelta(seconds=30)


@dataclass(frozen=True)
class Outcome:
    ok: bool
    detail: str
    code: int | None = None
    transient: bool = False  # worth another attempt
    skip: bool = False  # not to be sent at all (no consent): ends "skipped", not failed
    defer: int = 0  # seconds: not now (a quota), no attempt counted


def deliveries_table() -> sa.Table:
    return Delivery.__table__


def new_rows(job_id: int, run_id: int | None, person_id: int | None, emails: list[str],
             webhook_url: str | None, *, notice: bool, now: dt.datetime) -> list[dict]:
    """The delivery rows of one job (for a Core insert): one per e-mail
    recipient (each its own message, retries and outcome), the webhook, the
    in-app notice (for `person_id`, who asked or answers for the schedule)."""
    base = {"job_id": job_id, "run_id": run_id, "status": "pending", "attempts": 0,
            "next_attempt_at": now, "created_at": now}
    rows = [{**base, "channel": "email", "target": address} for address in emails]
    if webhook_url:
        rows.append({**base, "channel": "webhook", "target": webhook_url})
    if notice and person_id is not None:
        rows.append({**base, "channel": "notice", "target": str(person_id)})
    return rows


def retry_delays() -> list[float]:
    text = str(current_app.config["DELIVERY_RETRY_DELAYS"])
    return [float(part) for part in text.split(",") if part.strip()]


# --- publishing --------------------------------------------------------------------

def _publish(delivery_id: int, countdown: float | None = None) -> None:
    try:
        current_app.extensions["celery"].send_task(TASK_NAME, args=[delivery_id],
                                                   countdown=countdown)
    except Exception as exc:  # the broker is down: the tick publishes it later
        log.warning("could not publish delivery %s (%s); the tick will", delivery_id, exc)


def dispatch_job(job_id: int) -> int:
    """Publish the pending deliveries of a job that just ended."""
    table = deliveries_table()
    with db.engine.connect() as conn:
        ids = conn.execute(sa.select(table.c.id).where(
            table.c.job_id == job_id, table.c.status == "pending")).scalars().all()
    for delivery_id in ids:
        _publish(delivery_id)
    return len(ids)


def publish_due(now: dt.datetime | None = None, limit: int = 1000) -> int:
    """Publish deliveries whose job is final and whose time has come but
    that nobody sent: the worker's publish was lost, a retry's countdown
    message was lost, or their sender died mid-send."""
    now = now or utcnow()
    table, jobs = deliveries_table(), ReportJob.__table__
    with db.engine.connect() as conn:
        ids = conn.execute(
            sa.select(table.c.id).join(jobs, jobs.c.id == table.c.job_id).where(
                jobs.c.status.in_(FINAL),
                sa.or_(sa.and_(table.c.status == "pending",
                               table.c.next_attempt_at <= now - TICK_GRACE),
                       sa.and_(table.c.status == "sending",
                               table.c.claimed_at < now - SENDING_LEASE)))
            .order_by(table.c.id).limit(limit)).scalars().all()
    for delivery_id in ids:
        _publish(delivery_id)
    return len(ids)


# --- sending -----------------------------------------------------------------------

def _claim(delivery_id: int, now: dt.datetime) -> bool:
    table, jobs = deliveries_table(), ReportJob.__table__
    job_final = sa.exists().where(jobs.c.id == table.c.job_id, jobs.c.status.in_(FINAL))
    with db.engine.begin() as conn:
        result = conn.execute(sa.update(table).where(
            table.c.id == delivery_id, job_final,
            sa.or_(sa.and_(table.c.status == "pending", table.c.next_attempt_at <= now),
                   sa.and_(table.c.status == "sending",
                           table.c.claimed_at < now - SENDING_LEASE)))
            .values(status="sending", claimed_at=now, attempts=table.c.attempts + 1))
        return result.rowcount == 1


def send(delivery_id: int, now: dt.datetime | None = None) -> str:
    """One attempt of one delivery; returns its status afterwards (or
    "skipped" when it was not ours to send)."""
    now = now or utcnow()
    if not _claim(delivery_id, now):
        return "not-due"
    delivery = db.session.get(Delivery, delivery_id, populate_existing=True)
    job = db.session.get(ReportJob, delivery.job_id, populate_existing=True)
    context = _Context.of(delivery, job)
    try:
        if job.deleted_at is not None or job.status in (JobStatus.CANCELLED, JobStatus.EXPIRED):
            outcome = None
        elif delivery.channel == "notice":
            outcome = _notice(context)
        elif delivery.channel == "email":
            outcome = _email(context)
        else:
            outcome = _webhook(context, now)
    except Exception as exc:  # a bug or a store that went away: record it, retry
        log.exception("delivery %s failed", delivery_id)
        outcome = Outcome(False, f"Could not send ({type(exc).__name__}).", transient=True)
    db.session.rollback()
    return _record(delivery, context, outcome, now)


def _record(delivery: Delivery, context: _Context, outcome: Outcome | None,
            now: dt.datetime) -> str:
    table = deliveries_table()
    mine = [table.c.id == delivery.id, table.c.status == "sending", table.c.claimed_at == now]
    with db.engine.begin() as conn:
        if outcome is None:  # the report was cancelled or deleted: nothing to send
            status, values = "skipped", {"detail": "The report was cancelled or deleted; "
                                                   "nothing was sent.", "finished_at": now}
        elif outcome.skip:
            status, values = "skipped", {"detail": outcome.detail, "finished_at": now}
        elif outcome.defer:
            # a quota, not a failure: the claim's attempt is given back
            status = "pending"
            values = {"detail": outcome.detail, "attempts": table.c.attempts - 1,
                      "next_attempt_at": now + dt.timedelta(seconds=outcome.defer)}
        else:
            conn.execute(sa.insert(DeliveryAttempt.__table__).values(
                delivery_id=delivery.id, attempt=delivery.attempts, at=now, ok=outcome.ok,
                code=outcome.code, detail=outcome.detail[:2000]))
            delays = retry_delays()
            if outcome.ok:
                status, values = "delivered", {"detail": outcome.detail, "finished_at": now}
            elif outcome.transient and delivery.attempts <= len(delays):
                delay = delays[delivery.attempts - 1]
                status = "pending"
                values = {"detail": f"{outcome.detail.rstrip('.')}. Next attempt in "
                                    f"{seconds_in_words(delay)}.",
                          "next_attempt_at": now + dt.timedelta(seconds=delay)}
            else:
                status, values = "failed", {"detail": outcome.detail, "finished_at": now}
        done = conn.execute(sa.update(table).where(*mine).values(status=status, **values))
        if done.rowcount != 1:
            return "lost"  # claimed again meanwhile (this attempt outlived its lease)
        if status == "failed":
            notices.add(conn, context.workspace_id, context.person_id, "delivery",
                        messages.delivery_failed(
                delivery.channel, delivery.target, delivery.attempts, outcome.detail,
                context.title()),
                        job_id=delivery.job_id,
                        schedule_id=context.schedule.id if context.schedule else None)
        if status in ("delivered", "failed", "skipped") and delivery.run_id:
            outcomes.finish_run(conn, delivery.run_id, now)
    if status == "pending":
        _publish(delivery.id, countdown=(values["next_attempt_at"] - now).total_seconds())
    return status


# --- what each channel sends ----------------------------------------------------------

@dataclass
class _Context:
    delivery: Delivery
    job: ReportJob
    # who it is for: the schedule's person for a scheduled run, else who asked
    person: User | None
    run: ScheduleRun | None
    schedule: Schedule | None

    @classmethod
    def of(cls, delivery: Delivery, job: ReportJob) -> _Context:
        run = db.session.get(ScheduleRun, delivery.run_id) if delivery.run_id else None
        schedule = db.session.get(Schedule, run.schedule_id) if run else None
        person_id = schedule.created_by_id if schedule else job.created_by_id
        person = db.session.get(User, person_id) if person_id else None
        return cls(delivery, job, person, run, schedule)

    @property
    def workspace_id(self) -> int:
        return self.job.workspace_id

    @property
    def person_id(self) -> int | None:
        return self.person.id if self.person else None

    def title(self) -> str:
        what = messages.what(self.job.kind.value, self.job.params, self.job.format.value)
        return messages.title(self.job.id, what, self.schedule.name if self.schedule else None)

    @property
    def completed(self) -> bool:
        return self.job.status is JobStatus.COMPLETED


def subscribe() -> None:
    """Called by create_app: a job that ends gets its in-app notices at once."""
    events.job_ended.connect(_on_job_ended)


def _on_job_ended(_sender, *, conn, job_id: int, now: dt.datetime) -> None:
    notices_with_outcome(conn, job_id, now)


def notices_with_outcome(conn, job_id: int, now: dt.datetime) -> None:
    """The in-app notices of a job that just ended, in the transaction that
    ends it: the poll that shows the job final also shows the bell's new
    count. (A job ended by the sweeper gets its notice through send().)"""
    table = deliveries_table()
    waiting = conn.execute(sa.select(table.c.id, table.c.run_id).where(
        table.c.job_id == job_id, table.c.channel == "notice",
        table.c.status == "pending")).all()
    if not waiting:
        return
    jobs, runs, schedules = ReportJob.__table__, ScheduleRun.__table__, Schedule.__table__
    job = conn.execute(sa.select(jobs).where(jobs.c.id == job_id)).one()
    what = messages.what(job.kind, job.params, job.format)
    for delivery_id, run_id in waiting:
        schedule = conn.execute(sa.select(schedules.c.id, schedules.c.name,
                                          schedules.c.created_by_id).join(
            runs, runs.c.schedule_id == schedules.c.id).where(runs.c.id == run_id)
        ).one_or_none() if run_id else None
        title = messages.title(job_id, what, schedule.name if schedule else None)
        kind, text = messages.job_notice(title, job.status, job.error)
        person = schedule.created_by_id if schedule else job.created_by_id
        notices.add(conn, job.workspace_id, person, kind, text, job_id=job_id,
                    schedule_id=schedule.id if schedule else None)
        conn.execute(sa.update(table).where(table.c.id == delivery_id).values(
            status="delivered", attempts=1, detail="Shown in the app.", finished_at=now))
        conn.execute(sa.insert(DeliveryAttempt.__table__).values(
            delivery_id=delivery_id, attempt=1, at=now, ok=True, detail="Shown in the app."))
        if run_id:
            outcomes.finish_run(conn, run_id, now)


def _notice(context: _Context) -> Outcome:
    job = context.job
    kind, text = messages.job_notice(context.title(), job.status.value, job.error)
    workspace_id, person_id = context.workspace_id, context.person_id
    schedule_id = context.schedule.id if context.schedule else None
    job_id = job.id
    db.session.rollback()  # as in _email: no transaction held while another waits
    with db.engine.begin() as conn:
        notices.add(conn, workspace_id, person_id, kind, text, job_id=job_id,
                    schedule_id=schedule_id)
    return Outcome(True, "Shown in the app.")


def _email(context: _Context) -> Outcome:
    config = current_app.config
    if not config["SMTP_URL"]:
        return Outcome(False, "E-mail is not set up on this server (SMTP_URL is not set).")
    try:
        settings = mail.parse_smtp_url(config["SMTP_URL"])
    except mail.MailConfigError as exc:
        return Outcome(False, f"The server's SMTP_URL is not usable: {exc}")
    job, address = context.job, context.delivery.target
    headers: dict[str, str] = {}
    if context.schedule:
        if context.person is None:
            return Outcome(False, "Nobody answers for this schedule any more.", skip=True)
        check = consent.check_send(context.schedule, context.person, address)
        if check.ask:
            consent.publish_asks([check.recipient_id])
        if not check.standing.may_send:
            return Outcome(False, f"{address}: {check.standing.words}.", skip=True)
        headers = consent.unsubscribe_headers(check.recipient_id, address)
    else:  # "e-mail me": whoever asked it, while still a member
        person = _member_by_address(context.workspace_id, address)
        if person is None:
            return Outcome(False, f"{address} is no longer a member of this workspace.",
                           skip=True)
        context.person = person
    if context.schedule is None and not context.person.email_verified:
        return Outcome(False, f"{address} is not verified yet: verify it on your account "
                              "page to get e-mails.", skip=True)
    workspace_id, person = context.workspace_id, context.person
    # no read transaction left open while the quota locks on another connection
    db.session.rollback()
    wait = quotas.reserve_mail(workspace_id, utcnow())
    if wait:
        return Outcome(False, f"Waiting: this account sent {quotas.mail_limit()} e-mails in "
                              f"the last hour, the most this server allows; it goes out in "
                              f"{seconds_in_words(wait)}.", defer=wait)
    body, attach = messages.report_mail(
        job, zone=zone_of(person), title_=context.title(), schedule=context.schedule,
        run=context.run, unsubscribe_url=headers.get("List-Unsubscribe", "").strip("<>") or None)
    attachment = ((download_name(job), storage().read(job.file_name), job.format.mimetype)
                  if attach else None)
    message = mail.build_message(sender=config["MAIL_FROM"], to=[address],
                                 subject=body.subject, text=body.text, html=body.html,
                                 attachment=attachment)
    for name, value in headers.items():
        message[name] = value
    result = mail.send(settings, message)
    if not result.ok:  # the full text (server, port, its words) is for operators only
        log.warning("delivery %s: e-mail failed: %s", context.delivery.id, result.log_detail)
    return Outcome(result.ok, result.reply, result.code, result.transient)


def _member_by_address(workspace_id: int, address: str) -> User | None:
    return db.session.scalar(sa.select(User).join(Membership).where(
        User.email == address, Membership.workspace_id == workspace_id))


def _webhook(context: _Context, now: dt.datetime) -> Outcome:
    delivery, config = context.delivery, current_app.config
    secret = context.schedule.webhook_secret if context.schedule else None
    if not secret:
        return Outcome(False, "The schedule has no webhook secret any more.")
    message_id, payload = delivery.message_id, delivery.payload
    if payload is None:
        # fixed at the first attempt: every retry is the same message
        message_id = f"msg_{secrets.token_urlsafe(18)}"
        payload = json.dumps(
            messages.webhook_payload(context.job, context.schedule, context.run, now),
            ensure_ascii=False, separators=(",", ":"))
        db.session.rollback()  # the reads above; the write below is on its own connection
        table = deliveries_table()
        with db.engine.begin() as conn:
            conn.execute(sa.update(table).where(table.c.id == delivery.id).values(
                message_id=message_id, payload=payload))
    body = payload.encode()
    # the moment it is really sent (receivers check it against their clock)
    headers = webhooks.headers_for(secret, message_id, body, int(utcnow().timestamp()))
    result = webhooks.post(delivery.target, body, headers,
                           allow_private=config["WEBHOOK_ALLOW_PRIVATE"],
                           timeout=config["WEBHOOK_TIMEOUT"])
    if not result.ok:
        log.warning("delivery %s: webhook failed: %s", delivery.id, result.log_detail)
    # every failure of a webhook may pass (a deploy, a restart): retry them all
    return Outcome(result.ok, result.detail, result.status, transient=not result.ok)
