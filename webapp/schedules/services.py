"""A workspace's schedules: create, change, pause and resume, run now,
delete, list, and each one's runs. Pages and the API both call these;
members may change them, viewers only look, anyone else gets 404."""
from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field, replace

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import selectinload

from .. import audit, quotas
from ..auth.current import Actor, as_actor
from ..delivery import consent
from ..delivery.addresses import AddressError, parse_address
from ..delivery.mail import MailConfigError, parse_smtp_url
from ..delivery.webhooks import WebhookUrlError, check_url, new_secret
from ..errors import Conflict, InvalidInput, NotFound, OrderNotFound, QuotaExceeded
from ..extensions import db
from ..models import (
    MAX_ID,
    Delivery,
    ReportFormat,
    ReportJob,
    ReportKind,
    Schedule,
    ScheduleRun,
    utcnow,
)
from ..orders.services import get_order
from ..orders.validation import parse_name
from ..pagination import Page
from ..timezones import is_zone
from . import runs
from .cron import Cron, CronError, describe
from .ranges import LABELS as RANGE_LABELS

MAX_RECIPIENTS = 20
KINDS = (ReportKind.SUMMARY, ReportKind.ORDER)


class ScheduleNotFound(NotFound):
    def __init__(self, schedule_id):
        super().__init__(f"Schedule {schedule_id} does not exist.")


@dataclass(frozen=True)
class ScheduleSpec:
    """Everything a schedule is, as a member gives it (a form or a JSON body)."""

    name: str
    kind: ReportKind
    format: ReportFormat
    cron: str
    timezone: str
    range: str | None = None
    customer: str | None = None
    order_id: int | None = None
    emails: list[str] = field(default_factory=list)
    webhook_url: str | None = None

    @classmethod
    def of(cls, schedule: Schedule) -> ScheduleSpec:
        return cls(name=schedule.name, kind=schedule.kind, format=schedule.format,
                   cron=schedule.cron, timezone=schedule.timezone, range=schedule.range,
                   customer=schedule.customer, order_id=schedule.order_id,
                   emails=list(schedule.emails or []), webhook_url=schedule.webhook_url)


def check(actor: Actor, spec: ScheduleSpec) -> ScheduleSpec:
    """The spec cleaned, or InvalidInput with every field's problem (keys as
    the API names them: name, report.range, cron, timezone, email, webhook_url).
    An order of another workspace is 404, as everywhere."""
    actor = as_actor(actor)
    errors: dict[str, list[str]] = {}
    config = current_app.config

    def bad(key: str, message: str) -> None:
        errors.setdefault(key, []).append(message)

    try:
        name = parse_name(spec.name, "Name")
    except ValueError as exc:
        name = spec.name
        bad("name", str(exc))
    kind, range_, customer, order_id = spec.kind, spec.range, spec.customer, spec.order_id
    if kind not in KINDS:
        bad("report.kind", "Must be 'summary' or 'order'.")
    elif kind is ReportKind.SUMMARY:
        order_id = None
        if range_ not in RANGE_LABELS:
            bad("report.range", f"Must be one of {', '.join(RANGE_LABELS)}.")
        customer = (customer or "").strip() or None
        if customer:
            try:
                customer = parse_name(customer, "Customer")
            except ValueError as exc:
                bad("report.customer", str(exc))
    else:
        range_, customer = None, None
        if not isinstance(order_id, int) or not 0 < order_id <= MAX_ID:
            bad("report.order_id", "Give the id of one of your orders.")
    try:
        cron = Cron.parse(spec.cron or "").text
    except CronError as exc:
        cron = spec.cron
        bad("cron", str(exc))
    if not is_zone(spec.timezone):
        bad("timezone", "Must be an IANA time zone such as Europe/Berlin or UTC.")
    emails = []
    for address in spec.emails or []:
        try:
            cleaned = parse_address(address)
        except AddressError as exc:
            bad("email", f"“{address}” is not an e-mail address: it {exc}.")
            continue
        if cleaned not in emails:
            emails.append(cleaned)
    if len(emails) > MAX_RECIPIENTS:  # counted after parsing: one string is one address
        bad("email", f"At most {MAX_RECIPIENTS} recipients; this schedule has {len(emails)}.")
    if emails and not config["SMTP_URL"]:
        bad("email", "E-mail delivery is not set up on this server (SMTP_URL is not set); "
                     "ask its administrator, or use a webhook.")
    elif emails:
        try:
            parse_smtp_url(config["SMTP_URL"])
        except MailConfigError as exc:
            bad("email", f"E-mail delivery is misconfigured on this server: {exc}")
    webhook_url = (spec.webhook_url or "").strip() or None
    if webhook_url:
        try:
            check_url(webhook_url, allow_private=config["WEBHOOK_ALLOW_PRIVATE"])
        except WebhookUrlError as exc:
            bad("webhook_url", str(exc))
    if errors:
        raise InvalidInput("The schedule is not valid.", errors)
    if kind is ReportKind.ORDER:
        order = get_order(actor, order_id)
        if order.workspace_id != actor.workspace_id:  # a schedule reports on its own orders
            raise OrderNotFound(order_id)
        order_id = order.id
    return ScheduleSpec(name=name, kind=kind, format=spec.format, cron=cron,
                        timezone=spec.timezone, range=range_, customer=customer,
                        order_id=order_id, emails=emails, webhook_url=webhook_url)


def next_run(cron: str, zone: str, now: dt.datetime) -> dt.datetime:
    return Cron.parse(cron).next_after(now, zone)


def when(schedule: Schedule) -> str:
    """"Every Monday at 07:00 (Europe/Berlin)"."""
    return f"{describe(schedule.cron)} ({schedule.timezone})"


def create(actor: Actor, spec: ScheduleSpec, now: dt.datetime | None = None
           ) -> tuple[Schedule, str | None]:
    """The new schedule and its webhook secret (shown once; None without a
    webhook). Its maker answers for it: their verified address needs no
    confirmation, and their notices tell of its runs."""
    actor = as_actor(actor)
    actor.require("schedule.create")
    now = now or utcnow()
    spec = check(actor, spec)
    _check_schedule_quota(actor)
    secret = new_secret() if spec.webhook_url else None
    schedule = Schedule(workspace_id=actor.workspace_id, created_by_id=actor.user_id,
                        name=spec.name, kind=spec.kind, format=spec.format,
                        range=spec.range, customer=spec.customer, order_id=spec.order_id,
                        cron=spec.cron, timezone=spec.timezone, emails=spec.emails,
                        webhook_url=spec.webhook_url, webhook_secret=secret, failed_runs=0,
                        next_run_at=next_run(spec.cron, spec.timezone, now),
                        created_at=now, updated_at=now)
    db.session.add(schedule)
    db.session.flush()
    asks = consent.sync(schedule, actor.user, spec.emails, now)
    audit.record(actor, "schedule.created", f"schedule {schedule.id}", schedule.name)
    db.session.commit()
    consent.publish_asks(asks)
    return schedule, secret


def _check_schedule_quota(actor: Actor) -> None:
    """SCHEDULES_MAX_PER_USER (per workspace), counted under the workspace's
    lock (this transaction's first statement), so a burst of creations
    counts one by one."""
    workspace_id = actor.workspace_id
    db.session.rollback()  # end check()'s reads: the lock must come first
    quotas.lock_owners(db.session.connection(), [workspace_id])
    limit = current_app.config["SCHEDULES_MAX_PER_USER"]
    count = db.session.scalar(sa.select(sa.func.count()).select_from(Schedule)
                              .where(Schedule.workspace_id == workspace_id))
    if count >= limit:
        db.session.rollback()
        raise QuotaExceeded(f"This workspace has {count} schedules, the most this server allows "
                            f"({limit}); delete one to make another.", retry_after=3600)


def get(actor: Actor, schedule_id: int) -> Schedule:
    actor = as_actor(actor)
    schedule = db.session.get(Schedule, schedule_id) if 0 < schedule_id <= MAX_ID else None
    if not actor.sees(schedule):
        raise ScheduleNotFound(schedule_id)
    return schedule


def _to_change(actor: Actor, schedule_id: int, action: str) -> tuple[Schedule, Actor]:
    schedule = get(actor, schedule_id)
    here = actor.at(schedule.workspace_id)
    here.require(action)
    return schedule, here


def update(actor: Actor, schedule_id: int, changes: dict, *, paused: bool | None = None,
           rotate_secret: bool = False, now: dt.datetime | None = None
           ) -> tuple[Schedule, str | None]:
    """Change the fields in `changes` (ScheduleSpec's names), and pause or
    resume. Returns the schedule and a webhook secret when a new one was made
    (a first webhook URL, or rotate_secret)."""
    actor = as_actor(actor)
    now = now or utcnow()
    schedule, actor = _to_change(actor, schedule_id, "schedule.change")
    before = ScheduleSpec.of(schedule)
    spec = check(actor, replace(before, **changes)) if changes else before
    secret = None
    if spec.webhook_url and (rotate_secret or not schedule.webhook_secret):
        secret = new_secret()
        schedule.webhook_secret = secret
    elif not spec.webhook_url:
        schedule.webhook_secret = None
    timing_changed = (spec.cron, spec.timezone) != (before.cron, before.timezone)
    for name in ("name", "kind", "format", "range", "customer", "order_id", "cron",
                 "timezone", "emails", "webhook_url"):
        setattr(schedule, name, getattr(spec, name))
    if paused is True and schedule.paused_at is None:
        schedule.paused_at, schedule.pause_reason = now, f"Paused by {actor.user.email}."
    elif paused is False and schedule.paused_at is not None:
        # from now on: a resumed schedule does not make up for the paused time
        schedule.paused_at, schedule.pause_reason, schedule.failed_runs = None, None, 0
        timing_changed = True
    if timing_changed:
        schedule.next_run_at = next_run(spec.cron, spec.timezone, now)
    schedule.updated_at = now
    asks = consent.sync(schedule, consent.person_of(schedule) or actor.user, spec.emails, now)
    changed = [name for name in changes if getattr(before, name) != getattr(spec, name)]
    if paused is not None:
        changed.append("paused" if paused else "resumed")
    if rotate_secret:
        changed.append("new webhook secret")
    audit.record(actor, "schedule.changed", f"schedule {schedule.id}",
                 ", ".join(changed) or None)
    db.session.commit()
    consent.publish_asks(asks)
    return schedule, secret


def recipients(actor: Actor, schedule: Schedule) -> list[tuple[str, consent.Standing]]:
    """Each address of the schedule and where it stands (confirmed, waiting…)."""
    actor = as_actor(actor)
    return consent.recipients_of(schedule, consent.person_of(schedule) or actor.user)


def delete(actor: Actor, schedule_id: int) -> None:
    """The schedule and its runs go; the reports it made stay on the Reports page."""
    actor = as_actor(actor)
    schedule, actor = _to_change(actor, schedule_id, "schedule.delete")
    audit.record(actor, "schedule.deleted", f"schedule {schedule.id}", schedule.name)
    db.session.delete(schedule)
    db.session.commit()


def run_now(actor: Actor, schedule_id: int, now: dt.datetime | None = None) -> ReportJob:
    actor = as_actor(actor)
    schedule, actor = _to_change(actor, schedule_id, "schedule.run")
    if schedule.kind is ReportKind.ORDER and schedule.order_id is None:
        raise Conflict(f"Schedule {schedule.id} cannot run: its order was deleted.")
    schedule_id = schedule.id
    # the session's connection goes back to the pool before the run takes its
    # own (reading schedule.id after this would take it again: a burst of
    # requests each holding two would drain the pool)
    db.session.rollback()
    job_id = runs.run_now(schedule_id, now)
    if job_id is None:  # its order went between the check and the run
        raise Conflict(f"Schedule {schedule_id} could not start a run: its order was deleted.")
    audit.record(actor, "schedule.run", f"schedule {schedule_id}", f"report {job_id}")
    db.session.commit()
    return db.session.get(ReportJob, job_id)


def list_schedules(actor: Actor, *, page: int = 1, per_page: int = 20) -> Page:
    actor = as_actor(actor)
    query = sa.select(Schedule).where(Schedule.workspace_id == actor.workspace_id)
    total = db.session.scalar(sa.select(sa.func.count()).select_from(query.subquery()))
    items = db.session.scalars(query.order_by(Schedule.name, Schedule.id)
                               .limit(per_page).offset((page - 1) * per_page)).all()
    return Page(items=list(items), page=page, per_page=per_page, total=total or 0)


def list_runs(actor: Actor, schedule_id: int, *, page: int = 1, per_page: int = 20) -> Page:
    """Newest first, each with its job and every delivery attempt."""
    actor = as_actor(actor)
    schedule = get(actor, schedule_id)
    query = sa.select(ScheduleRun).where(ScheduleRun.schedule_id == schedule.id)
    total = db.session.scalar(sa.select(sa.func.count()).select_from(query.subquery()))
    items = db.session.scalars(
        query.options(selectinload(ScheduleRun.job).selectinload(ReportJob.events),
                      selectinload(ScheduleRun.deliveries)
                      .selectinload(Delivery.attempt_log))
        .order_by(ScheduleRun.due_at.desc(), ScheduleRun.id.desc())
        .limit(per_page).offset((page - 1) * per_page)).all()
    return Page(items=list(items), page=page, per_page=per_page, total=total or 0)


def run_live_state(run: ScheduleRun) -> str:
    """What a schedule's page shows of a run that is still under way, in a few
    characters (sent back by the page's poller with the run's id, like a
    job's): its outcome and each delivery's status and attempts. The poll
    swaps the run's cells in when this differs."""
    parts = [run.outcome or "", "w" if run.waiting else ""]
    parts += [f"{d.id}{d.status[:2]}{len(d.attempt_log)}" for d in run.deliveries]
    state = ".".join(parts)
    if len(state) > 60:  # many deliveries: the poll's parameters stay short
        state = hashlib.blake2s(state.encode(), digest_size=16).hexdigest()
    return state


def run_under_way(run: ScheduleRun) -> bool:
    """A run the page keeps polling for: no outcome yet (its report or a
    delivery is not done)."""
    return run.outcome is None


def runs_by_ids(actor: Actor, run_ids) -> list[ScheduleRun]:
    """The runs of these ids that the actor's workspace has, with their
    deliveries and attempts (the page's poll); others are left out like
    runs that do not exist."""
    ids = [i for i in run_ids if 0 < i <= MAX_ID]
    if not ids:
        return []
    actor = as_actor(actor)
    found = db.session.execute(
        sa.select(ScheduleRun, Schedule.workspace_id)
        .join(Schedule, Schedule.id == ScheduleRun.schedule_id).where(ScheduleRun.id.in_(ids))
        .options(selectinload(ScheduleRun.deliveries).selectinload(Delivery.attempt_log)))
    return [run for run, workspace_id in found if actor.at(workspace_id) is not None]


def last_runs(schedules: list[Schedule]) -> dict[int, ScheduleRun]:
    """Each schedule's newest run, in one query (the list page)."""
    ids = [s.id for s in schedules]
    if not ids:
        return {}
    newest = (sa.select(sa.func.max(ScheduleRun.id)).where(ScheduleRun.schedule_id.in_(ids))
              .group_by(ScheduleRun.schedule_id))
    found = db.session.scalars(sa.select(ScheduleRun).where(ScheduleRun.id.in_(newest)))
    return {run.schedule_id: run for run in found}


def runs_of_jobs(job_ids: list[int]) -> dict[int, ScheduleRun]:
    """The runs these jobs were made by, with their deliveries, by job id."""
    if not job_ids:
        return {}
    found = db.session.scalars(
        sa.select(ScheduleRun).where(ScheduleRun.job_id.in_(job_ids))
        .options(selectinload(ScheduleRun.deliveries).selectinload(Delivery.attempt_log)))
    return {run.job_id: run for run in found}
