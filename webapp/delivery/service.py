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

from .. import quotas
from ..extensions import db
from ..models import (
    Delivery,
    DeliveryAttempt,
    JobStatus,
    Order,
    ReportJob,
    Schedule,
    ScheduleRun,
    User,
    utcnow,
)
from ..notices import services as notices
from ..storage import storage
from ..timezones import local, zone_of
from . import consent

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


def new_rows(job_id: int, run_id: int | None, owner_id: int, emails: list[str],
             webhook_url: str | None, *, notice: bool, now: dt.datetime) -> list[dict]:
    """The delivery rows of one job (for a Core insert): one per e-mail
    recipient (each its own message, retries and outcome), the webhook, the
    in-app notice."""
    base = {"job_id": job_id, "run_id": run_id, "status": "pending", "attempts": 0,
            "next_attempt_at": now, "created_at": now}
    rows = [{**base, "channel": "email", "target": address} for address in emails]
    if webhook_url:
        rows.append({**base, "channel": "webhook", "target": webhook_url})
    if notice:
        rows.append({**base, "channel": "notice", "target": str(owner_id)})
    return rows


def retry_delays() -> list[float]:
    text = str(current_app.config["DELIVERY_RETRY_DELAYS"])
    return [float(part) for part in text.split(",") if part.strip()]


def max_attempts() -> int:
    return len(retry_delays()) + 1


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
                                    f"{_words(delay)}.",
                          "next_attempt_at": now + dt.timedelta(seconds=delay)}
            else:
                status, values = "failed", {"detail": outcome.detail, "finished_at": now}
        done = conn.execute(sa.update(table).where(*mine).values(status=status, **values))
        if done.rowcount != 1:
            return "lost"  # claimed again meanwhile (this attempt outlived its lease)
        if status == "failed":
            notices.add(conn, context.owner.id, "delivery", _failed_words(delivery, context,
                                                                            outcome),
                        job_id=delivery.job_id,
                        schedule_id=context.schedule.id if context.schedule else None)
        if status in ("delivered", "failed", "skipped") and delivery.run_id:
            _finish_run(conn, delivery.run_id, now)
    if status == "pending":
        _publish(delivery.id, countdown=(values["next_attempt_at"] - now).total_seconds())
    return status


def _failed_words(delivery: Delivery, context: _Context, outcome: Outcome) -> str:
    # the webhook by its schedule, not its URL: a URL may name a host and port
    where = {"email": f"E-mail to {delivery.target}",
             "webhook": "The webhook"}.get(delivery.channel, "Notice")
    what = context.title()
    tries = f"after {delivery.attempts} attempts" if delivery.attempts > 1 else "at once"
    return (f"{where} failed {tries}: {outcome.detail} The report itself is fine: "
            f"{what} stays on the Reports page.")


def _words(seconds: float) -> str:
    if seconds >= 60 and seconds % 60 == 0:
        minutes = int(seconds // 60)
        return f"{minutes} minute{'s' if minutes != 1 else ''}"
    return f"{seconds:g} s"


# --- a run's outcome and its schedule's streak ---------------------------------------

def _finish_run(conn, run_id: int, now: dt.datetime) -> None:
    """Once every delivery of the run is final: the run's outcome, and the
    schedule's streak of failed runs (which pauses it at the limit)."""
    table, runs, jobs = deliveries_table(), ScheduleRun.__table__, ReportJob.__table__
    states = conn.execute(sa.select(table.c.status, table.c.channel, table.c.detail)
                          .where(table.c.run_id == run_id).order_by(table.c.id)).all()
    if any(s.status in ("pending", "sending") for s in states):
        return
    run = conn.execute(sa.select(runs.c.schedule_id, jobs.c.status, jobs.c.error)
                       .select_from(runs.outerjoin(jobs, jobs.c.id == runs.c.job_id))
                       .where(runs.c.id == run_id)).one()
    failed = [s for s in states if s.status == "failed"]
    skipped = [s for s in states if s.status == "skipped"]
    if run.status == JobStatus.CANCELLED.value:
        outcome, detail = "cancelled", "The report was cancelled."
    elif run.status != JobStatus.COMPLETED.value:
        outcome, detail = "failed", f"The report failed: {run.error or 'no reason given'}"
    elif failed:
        outcome, detail = "failed", f"{failed[0].channel.capitalize()}: {failed[0].detail}"
    else:
        sent = len(states) - len(skipped)
        outcome, detail = "ok", f"Delivered ({sent} of {len(states)})."
        if skipped:  # recipients who have not said yes: not a failure of the run
            detail += f" Not sent: {skipped[0].detail}"
            if len(skipped) > 1:
                detail += f" (and {len(skipped) - 1} more)"
    settled = conn.execute(sa.update(runs).where(runs.c.id == run_id, runs.c.outcome.is_(None))
                           .values(outcome=outcome, detail=detail, finished_at=now))
    if settled.rowcount == 1 and outcome != "cancelled":
        count_run(conn, run.schedule_id, ok=outcome == "ok", detail=detail, now=now)


def count_run(conn, schedule_id: int, *, ok: bool, detail: str, now: dt.datetime) -> None:
    """A finished run moves its schedule's streak: a success resets it; the
    Nth failure in a row pauses the schedule, says why, and tells its owner."""
    schedules = Schedule.__table__
    if ok:
        conn.execute(sa.update(schedules).where(schedules.c.id == schedule_id)
                     .values(failed_runs=0))
        return
    conn.execute(sa.update(schedules).where(schedules.c.id == schedule_id)
                 .values(failed_runs=schedules.c.failed_runs + 1))
    limit = current_app.config["SCHEDULE_FAILURES_BEFORE_PAUSE"]
    reason = f"Paused after {limit} failed runs in a row. The last: {detail}"
    paused = conn.execute(sa.update(schedules).where(
        schedules.c.id == schedule_id, schedules.c.failed_runs >= limit,
        schedules.c.paused_at.is_(None)).values(paused_at=now, pause_reason=reason))
    if paused.rowcount == 1:
        row = conn.execute(sa.select(schedules.c.owner_id, schedules.c.name)
                           .where(schedules.c.id == schedule_id)).one()
        notices.add(conn, row.owner_id, "paused",
                    f"“{row.name}” paused itself: {reason} Resume it once the cause is fixed.",
                    schedule_id=schedule_id)


# --- what each channel sends ----------------------------------------------------------

@dataclass
class _Context:
    delivery: Delivery
    job: ReportJob
    owner: User
    run: ScheduleRun | None
    schedule: Schedule | None

    @classmethod
    def of(cls, delivery: Delivery, job: ReportJob) -> _Context:
        run = db.session.get(ScheduleRun, delivery.run_id) if delivery.run_id else None
        schedule = db.session.get(Schedule, run.schedule_id) if run else None
        return cls(delivery, job, db.session.get(User, job.owner_id), run, schedule)

    def title(self) -> str:
        what = f"{self.job.report.short()} ({self.job.format.value.upper()})"
        if self.schedule:
            return f"“{self.schedule.name}”, {what}"
        return f"Report #{self.job.id}, {what}"

    @property
    def completed(self) -> bool:
        return self.job.status is JobStatus.COMPLETED


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
    from ..reports.params import ReportParams

    what = (f"{ReportParams.from_json(job.kind, job.params).short()} "
            f"({job.format.upper()})")
    for delivery_id, run_id in waiting:
        schedule = conn.execute(sa.select(schedules.c.id, schedules.c.name).join(
            runs, runs.c.schedule_id == schedules.c.id).where(runs.c.id == run_id)
        ).one_or_none() if run_id else None
        title = f"“{schedule.name}”, {what}" if schedule else f"Report #{job_id}, {what}"
        if job.status == JobStatus.COMPLETED.value:
            kind, text = "ready", f"{title} is ready to download."
        else:
            kind, text = "failed", f"{title} failed: {job.error or 'no reason given'}"
        notices.add(conn, job.owner_id, kind, text, job_id=job_id,
                    schedule_id=schedule.id if schedule else None)
        conn.execute(sa.update(table).where(table.c.id == delivery_id).values(
            status="delivered", attempts=1, detail="Shown in the app.", finished_at=now))
        conn.execute(sa.insert(DeliveryAttempt.__table__).values(
            delivery_id=delivery_id, attempt=1, at=now, ok=True, detail="Shown in the app."))
        if run_id:
            _finish_run(conn, run_id, now)


def _notice(context: _Context) -> Outcome:
    job = context.job
    if context.completed:
        kind, text = "ready", f"{context.title()} is ready to download."
    else:
        kind, text = "failed", f"{context.title()} failed: {job.error or 'no reason given'}"
    with db.engine.begin() as conn:
        notices.add(conn, context.owner.id, kind, text, job_id=job.id,
                    schedule_id=context.schedule.id if context.schedule else None)
    return Outcome(True, "Shown in the app.")


def public_url(path: str) -> str:
    return current_app.config["PUBLIC_URL"].rstrip("/") + path


def _headline(job: ReportJob) -> str:
    """The report's totals in one line, from the orders it covers."""
    params = job.report
    row = db.session.execute(
        sa.select(sa.func.count(Order.id), sa.func.coalesce(sa.func.sum(Order.item_count), 0),
                  sa.func.coalesce(sa.func.sum(Order.total), 0))
        .where(*params.where(job.owner_id))).one()
    currency = current_app.config["CURRENCY"]
    orders = f"{row[0]:,} order{'s' if row[0] != 1 else ''}"
    return f"{orders}, {int(row[1]):,} line items, revenue {row[2]:,.2f} {currency}"


def _email(context: _Context) -> Outcome:
    from ..reports.services import download_name
    from . import mail

    config = current_app.config
    if not config["SMTP_URL"]:
        return Outcome(False, "E-mail is not set up on this server (SMTP_URL is not set).")
    try:
        settings = mail.parse_smtp_url(config["SMTP_URL"])
    except mail.MailConfigError as exc:
        return Outcome(False, f"The server's SMTP_URL is not usable: {exc}")
    job, zone = context.job, zone_of(context.owner)
    address = context.delivery.target
    headers: dict[str, str] = {}
    if context.schedule:
        check = consent.check_send(context.schedule.id, context.owner, address)
        if check.ask:
            consent.publish_asks([check.recipient_id])
        if not check.standing.may_send:
            return Outcome(False, f"{address}: {check.standing.words}.", skip=True)
        headers = consent.unsubscribe_headers(check.recipient_id, address)
    elif not context.owner.email_verified:
        return Outcome(False, f"{address} is not verified yet: verify it on your account "
                              "page to get e-mails.", skip=True)
    wait = quotas.reserve_mail(context.owner.id, utcnow())
    if wait:
        return Outcome(False, f"Waiting: this account sent {quotas.mail_limit()} e-mails in "
                              f"the last hour, the most this server allows; it goes out in "
                              f"{_words(wait)}.", defer=wait)
    page = public_url(f"/reports/{job.id}")
    lines = [context.title(), ""]
    attachment = None
    name = context.schedule.name if context.schedule else job.report.short()
    if context.completed:
        subject = f"Report ready: {name}"
        lines += [*job.report.describe(), f"Totals: {_headline(job)}", ""]
        limit = config["MAIL_ATTACH_MAX_MB"] * 1024 * 1024
        name = download_name(job)
        if job.size is not None and job.size <= limit:
            attachment = (name, storage().read(job.file_name), job.format.mimetype)
            lines.append(f"The file is attached: {name} ({_size(job.size)}).")
        else:
            lines.append(f"The file ({_size(job.size or 0)}) is larger than the "
                         f"{config['MAIL_ATTACH_MAX_MB']} MB this server attaches to e-mails; "
                         f"download it from the report's page (log in first): {page}")
        if job.expires_at:
            until = local(job.expires_at, zone)
            lines.append(f"It can be downloaded until {until:%Y-%m-%d %H:%M} ({zone}).")
    else:
        subject = f"Report failed: {name}"
        lines += [f"It could not be generated: {job.error or 'no reason given'}", "",
                  f"Details: {page}"]
    if context.schedule:
        lines += ["", f"Sent by the schedule “{context.schedule.name}”. Change or pause it: "
                      f"{public_url(f'/schedules/{context.schedule.id}')}"]
        if context.run and context.run.note:
            lines.append(context.run.note)
    else:
        lines += ["", "You asked to be e-mailed when this report was ready."]
    if context.schedule:
        lines += ["", "Stop these e-mails (one click, no log-in): "
                      + headers["List-Unsubscribe"].strip("<>")]
    message = mail.build_message(sender=config["MAIL_FROM"], to=[address],
                                 subject=subject, text="\n".join(lines), attachment=attachment)
    for name, value in headers.items():
        message[name] = value
    result = mail.send(settings, message)
    if not result.ok:  # the full text (server, port, its words) is for operators only
        log.warning("delivery %s: e-mail failed: %s", context.delivery.id, result.log_detail)
    return Outcome(result.ok, result.reply, result.code, result.transient)


def _size(size: int) -> str:
    if size >= 1024 * 1024:
        return f"{size / 1024 / 1024:.1f} MB"
    return f"{max(1, round(size / 1024))} KB"


def webhook_payload(context: _Context, now: dt.datetime) -> dict:
    from flask import url_for

    from ..api.views import job_out

    job = context.job
    # bare paths from url_for; public_url() puts PUBLIC_URL (and its path) in front once
    with current_app.test_request_context("/"):
        report = job_out(job, admin=False).model_dump(mode="json", exclude_unset=True)
        for key in ("status_url", "download_url"):
            if report.get(key):
                report[key] = public_url(report[key])
        schedule = context.schedule
        payload = {
            "type": "report.completed" if context.completed else "report.failed",
            "timestamp": now.isoformat().replace("+00:00", "Z"),
            "schedule": {"id": schedule.id, "name": schedule.name, "cron": schedule.cron,
                         "timezone": schedule.timezone,
                         "url": public_url(url_for("api.get_schedule",
                                                   schedule_id=schedule.id))}
            if schedule else None,
            "run": {"id": context.run.id, "due_at": context.run.due_at.isoformat()
                    .replace("+00:00", "Z"), "trigger": context.run.trigger,
                    "note": context.run.note} if context.run else None,
            "report": report,
        }
    return payload


def _webhook(context: _Context, now: dt.datetime) -> Outcome:
    from . import webhooks

    delivery, config = context.delivery, current_app.config
    secret = context.schedule.webhook_secret if context.schedule else None
    if not secret:
        return Outcome(False, "The schedule has no webhook secret any more.")
    message_id, payload = delivery.message_id, delivery.payload
    if payload is None:
        # fixed at the first attempt: every retry is the same message
        message_id = f"msg_{secrets.token_urlsafe(18)}"
        payload = json.dumps(webhook_payload(context, now), ensure_ascii=False,
                             separators=(",", ":"))
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
        log.warning("delivery %s: webhook failed: %s", context.delivery.id, result.log_detail)
    # every failure of a webhook may pass (a deploy, a restart): retry them all
    return Outcome(result.ok, result.detail, result.status, transient=not result.ok)
