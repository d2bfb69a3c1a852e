"""From due slots to report jobs: the beat tick and "Run now".

    tick(now) ─► schedules whose next_run_at has come ─► the slot each stands for
      ─► INSERT runs … ON CONFLICT (schedule_id, due_at) DO NOTHING ─► for the runs
      inserted: report jobs, their "requested" events, deliveries ─► next_run_at moves on
      ─► commit ─► publish the jobs

Exactly once: a slot is a row of schedule_runs, unique per (schedule, due
time). Two beats, or a tick retried after a crash, insert the same rows;
only the first insert of each gets a job. Everything for a batch is written
with a few multi-row statements (10,000 due schedules in one minute is
`make bench`'s case), then the jobs are published after the commit.

After downtime a schedule runs once, for its latest missed slot, and the
run says how many slots it stands for (no flood of old reports)."""
from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.dialects import postgresql, sqlite

from .. import quotas
from ..delivery.services import new_rows
from ..errors import QuotaExceeded, TooManyJobs
from ..extensions import db
from ..models import (
    Delivery,
    JobStatus,
    ReportEvent,
    ReportFormat,
    ReportJob,
    ReportKind,
    Schedule,
    ScheduleRun,
    utcnow,
)
from ..notices import services as notices
from ..reports import lifecycle
from ..reports.params import ReportParams
from ..timezones import local
from ..words import seconds_in_words
from .cron import Cron, CronError
from .ranges import relative_range

log = logging.getLogger(__name__)

BATCH = 1000
MISSED_CAP = 1000  # counting missed slots stops here ("1000 or more")


@dataclass(frozen=True)
class Slot:
    """One run to start: the schedule's row,
    the due time it stands for, why, and where the schedule goes next."""

    schedule: sa.Row
    due_at: dt.datetime
    trigger: str  # schedule | catch_up | manual
    note: str | None
    next_run_at: dt.datetime | None  # None: leave it (a manual run)
    seen_next_run_at: dt.datetime | None = None  # for the conditional move


def _schedules():
    return sa.select(Schedule.__table__)


def _when(instant: dt.datetime, zone: str) -> str:
    return f"{local(instant, zone):%Y-%m-%d %H:%M} {zone}"


def plan(row, now: dt.datetime) -> Slot:
    """The run a due schedule starts now: its latest slot at or before now
    (the one at next_run_at, or, after downtime, the newest it missed)."""
    cron = Cron.parse(row.cron)
    due = row.next_run_at
    latest = cron.latest_at_or_before(now, row.timezone)
    note, trigger = None, "schedule"
    if latest is not None and latest > due:
        missed = cron.count_between(due, latest, row.timezone, cap=MISSED_CAP)
        many = f"{missed}{'+' if missed >= MISSED_CAP else ''}"
        trigger = "catch_up"
        note = (f"Catch-up run: the service was not running at {_when(due, row.timezone)}"
                f"{f' and {missed - 1} later time' if missed > 1 else ''}"
                f"{'s' if missed > 2 else ''}; {many} missed run{'s' if missed != 1 else ''} "
                f"made up by this one, for {_when(latest, row.timezone)}.")
        due = latest
    elif now - due > dt.timedelta(minutes=5):
        note = f"Ran late: due at {_when(due, row.timezone)}; the service was not running."
    return Slot(row, due, trigger, note, cron.next_after(now, row.timezone), row.next_run_at)


def tick(now: dt.datetime | None = None, batch: int = BATCH) -> dict[str, int]:
    """Start every due run once. Returns counts (for logs, tests, the bench)."""
    now = now or utcnow()
    schedules = Schedule.__table__
    counts = {"runs": 0, "skipped": 0}
    after_id = 0
    # runs that waited for room go before new ones
    started: list[int] = start_waiting(now)
    counts["resumed"] = len(started)
    while True:
        with db.engine.connect() as conn:
            rows = conn.execute(_schedules().where(
                schedules.c.paused_at.is_(None), schedules.c.next_run_at <= now,
                schedules.c.id > after_id).order_by(schedules.c.id).limit(batch)).all()
        if not rows:
            break
        after_id = rows[-1].id
        slots = []
        for row in rows:
            try:
                slots.append(plan(row, now))
            except CronError as exc:  # a cron that stopped making sense: say so, stop
                _pause(row, f"Its timing no longer works: {exc}", now)
            except LookupError:  # a zone this machine no longer knows (tzdata changed)
                _pause(row, f"Its time zone {row.timezone} is not known on this server; "
                            "pick another one.", now)
        job_ids = start(slots, now)
        counts["runs"] += len(job_ids)
        counts["skipped"] += len(slots) - len(job_ids)
        started += job_ids
    # published once every batch is committed: a slow broker delays the
    # reports, never the recording of the runs (a job not published is
    # re-sent by the sweeper)
    for job_id in started:
        lifecycle.enqueue(job_id)
    return counts


def _pause(row, reason: str, now: dt.datetime) -> None:
    schedules = Schedule.__table__
    with db.engine.begin() as conn:
        done = conn.execute(sa.update(schedules).where(
            schedules.c.id == row.id, schedules.c.paused_at.is_(None))
            .values(paused_at=now, pause_reason=reason))
        if done.rowcount:
            notices.add(conn, row.workspace_id, row.created_by_id, "paused",
                        f"“{row.name}” paused itself: {reason}", schedule_id=row.id)


def run_now(schedule_id: int, now: dt.datetime | None = None) -> int | None:
    """A manual run of one schedule (its owner checked by the caller): the
    new job's id, already published, or None if it could not start."""
    now = now or utcnow()
    with db.engine.connect() as conn:
        row = conn.execute(_schedules()
                           .where(Schedule.__table__.c.id == schedule_id)).one()
    job_ids = start([Slot(row, now, "manual", "Started by hand (Run now).", None)], now,
                    manual=True)
    for job_id in job_ids:
        lifecycle.enqueue(job_id)
    return job_ids[0] if job_ids else None


def params_for(row, due_at: dt.datetime) -> ReportParams:
    """What the run covers: its relative range read on the due day, in the
    schedule's zone (a catch-up run covers what its slot would have)."""
    kind = ReportKind(row.kind)
    if kind is ReportKind.ORDER:
        return ReportParams.order(row.order_id)
    today = local(due_at, row.timezone).date()
    date_from, date_to = relative_range(row.range, today)
    return ReportParams.summary(date_from, date_to, row.customer, timezone=row.timezone)


def _insert(conn, table: sa.Table):
    return (postgresql if conn.dialect.name == "postgresql" else sqlite).insert(table)


def start(slots: list[Slot], now: dt.datetime, *, manual: bool = False) -> list[int]:
    """Record the runs of `slots` that nobody recorded yet, each with its job
    and deliveries, and move the schedules on; one transaction. Returns the
    new jobs' ids, for the caller to publish after the commit.

    The owners' open-jobs budget is shared with one-off requests: a
    scheduled run that meets it is recorded as waiting and starts in order
    when there is room (start_waiting, every tick); nothing is dropped. A
    manual run (Run now) that meets it, or whose schedule has a run still
    open, or whose owner has used the hour's e-mails, is refused with 429."""
    if not slots:
        return []
    runs, schedules = ScheduleRun.__table__, Schedule.__table__
    by_schedule = {slot.schedule.id: slot for slot in slots}
    with db.engine.begin() as conn:
        owners = {slot.schedule.workspace_id for slot in slots}
        quotas.lock_owners(conn, owners)
        if manual:
            _may_run_now(conn, slots[0], now)
        # rows as parameter lists, not built into the statement: SQLAlchemy
        # compiles each statement once and sends the rows in batches (building
        # 400,000 bound values into the SQL took most of a 10,000-schedule tick)
        inserted = conn.execute(
            _insert(conn, runs).on_conflict_do_nothing(index_elements=["schedule_id", "due_at"])
            .returning(runs.c.id, runs.c.schedule_id),
            [{"schedule_id": s.schedule.id, "due_at": s.due_at, "trigger": s.trigger,
              "note": s.note, "created_at": now, "waiting": False} for s in slots]).all()
        inserted.sort()  # in the order the slots came: the waiting line's order
        room = _room(conn, owners)
        launch, wait = [], []
        for run_id, schedule_id in inserted:
            slot = by_schedule[schedule_id]
            owner = slot.schedule.workspace_id
            if room.get(owner, 0) > 0 or manual:
                room[owner] = room.get(owner, 0) - 1
                launch.append((run_id, slot.schedule, slot.due_at, slot.trigger))
            else:
                wait.append(run_id)
        if wait:
            conn.execute(sa.update(runs).where(runs.c.id == sa.bindparam("run"))
                         .values(waiting=True, detail=WAITING),
                         [{"run": run_id} for run_id in wait])
        job_ids = _launch(conn, launch, now)
        moves = [{"sid": s.schedule.id, "seen": s.seen_next_run_at, "next": s.next_run_at}
                 for s in slots if s.next_run_at is not None]
        if moves:
            # only where no other tick moved it first
            conn.execute(sa.update(schedules).where(
                schedules.c.id == sa.bindparam("sid"),
                schedules.c.next_run_at == sa.bindparam("seen"))
                .values(next_run_at=sa.bindparam("next")), moves)
    return job_ids


WAITING = ("Waiting for its turn: your reports in progress have reached the limit "
           "of this server; it starts as soon as one of them ends.")


def _room(conn, owners) -> dict[int, int]:
    """Jobs each owner may still start now. Runs already waiting go first:
    an owner with any gets no room for new ones."""
    runs, schedules = ScheduleRun.__table__, Schedule.__table__
    busy = quotas.open_jobs(conn, owners)
    queued = set(conn.execute(sa.select(schedules.c.workspace_id).join(
        runs, runs.c.schedule_id == schedules.c.id).where(
        runs.c.waiting.is_(True), schedules.c.workspace_id.in_(list(owners))
    ).distinct()).scalars())
    limit = quotas.max_open_jobs()
    return {owner: 0 if owner in queued else limit - busy.get(owner, 0) for owner in owners}


def _may_run_now(conn, slot: Slot, now: dt.datetime) -> None:
    row = slot.schedule
    runs, jobs = ScheduleRun.__table__, ReportJob.__table__
    active = [s.value for s in JobStatus if not s.is_final]
    open_run = conn.execute(sa.select(runs.c.id).select_from(
        runs.outerjoin(jobs, jobs.c.id == runs.c.job_id)).where(
        runs.c.schedule_id == row.id,
        sa.or_(runs.c.waiting.is_(True), jobs.c.status.in_(active))).limit(1)).first()
    if open_run:
        raise QuotaExceeded(f"A run of “{row.name}” is still in progress; Run now again "
                            "when it has finished.", retry_after=10)
    busy = quotas.open_jobs(conn, [row.workspace_id]).get(row.workspace_id, 0)
    if busy >= quotas.max_open_jobs():
        raise TooManyJobs(f"You already have {busy} reports in progress; wait for one to "
                          "finish or cancel one, then run it again.", retry_after=10)
    if row.emails:
        wait = quotas.mail_wait(conn, row.workspace_id, now)
        if wait:
            raise QuotaExceeded(
                f"Your account has sent {quotas.mail_limit()} e-mails in the last hour, the "
                f"most this server allows; run it again in {seconds_in_words(wait)}.",
                retry_after=wait)


def start_waiting(now: dt.datetime, batch: int = BATCH) -> list[int]:
    """Start waiting runs, oldest first, as far as their owners' budgets
    allow. Returns the new jobs' ids, for the caller to publish."""
    runs = ScheduleRun.__table__
    with db.engine.connect() as conn:
        owners = set(conn.execute(sa.select(Schedule.__table__.c.workspace_id).join(
            runs, runs.c.schedule_id == Schedule.__table__.c.id)
            .where(runs.c.waiting.is_(True)).distinct().limit(batch)).scalars())
    if not owners:
        return []
    with db.engine.begin() as conn:
        quotas.lock_owners(conn, owners)
        busy = quotas.open_jobs(conn, owners)
        room = {owner: quotas.max_open_jobs() - busy.get(owner, 0) for owner in owners}
        waiting = conn.execute(
            _schedules().add_columns(
                runs.c.id.label("run_id"), runs.c.due_at.label("run_due_at"),
                runs.c.trigger.label("run_trigger"))
            .join(runs, runs.c.schedule_id == Schedule.__table__.c.id)
            .where(runs.c.waiting.is_(True),
                   Schedule.__table__.c.workspace_id.in_(list(owners)))
            .order_by(runs.c.id)).all()
        launch = []
        for row in waiting:
            if room[row.workspace_id] > 0:
                room[row.workspace_id] -= 1
                launch.append((row.run_id, row, row.run_due_at, row.run_trigger))
        if launch:
            conn.execute(sa.update(runs).where(runs.c.id == sa.bindparam("run"))
                         .values(waiting=False, detail=None),
                         [{"run": item[0]} for item in launch])
        return _launch(conn, launch, now)


def _launch(conn, launch: list[tuple], now: dt.datetime) -> list[int]:
    """Jobs, "requested" events and deliveries for runs that start now:
    (run id, schedule row, due time, trigger) each. A run whose order was
    deleted fails at once and pauses its schedule."""
    runs, jobs = ScheduleRun.__table__, ReportJob.__table__
    schedules, events = Schedule.__table__, ReportEvent.__table__
    max_attempts = current_app.config["REPORT_MAX_ATTEMPTS"]
    new_jobs, orphans, started = [], [], []
    for run_id, row, due_at, trigger in launch:
        if ReportKind(row.kind) is ReportKind.ORDER and row.order_id is None:
            orphans.append((run_id, row))
            continue
        started.append((run_id, row, due_at, trigger))
        params = params_for(row, due_at)
        new_jobs.append({
            "workspace_id": row.workspace_id, "created_by_id": row.created_by_id,
            "kind": params.kind.value,
            "format": ReportFormat(row.format).value, "params": params.to_json(),
            "order_id": params.order_id, "dedupe_key": f"schedule-run:{run_id}",
            "status": JobStatus.PENDING.value, "attempts": 0,
            "max_attempts": max_attempts, "rows_done": 0, "enqueued_at": now,
            "created_at": now})
    job_of_run: dict[int, int] = {}
    if new_jobs:
        made = conn.execute(sa.insert(jobs).returning(jobs.c.id, jobs.c.dedupe_key),
                            new_jobs).all()
        job_of_run = {int(key.rsplit(":", 1)[1]): job_id for job_id, key in made}
        conn.execute(sa.update(runs).where(runs.c.id == sa.bindparam("run"))
                     .values(job_id=sa.bindparam("job")),
                     [{"run": run, "job": job} for run, job in job_of_run.items()])
        requested, deliveries = [], []
        for run_id, row, due_at, trigger in started:
            job_id = job_of_run[run_id]
            due = _when(due_at, row.timezone)
            requested.append({"job_id": job_id, "at": now, "event": "requested",
                              "detail": f"run of the schedule “{row.name}” "
                                        f"({trigger}, due {due})"})
            deliveries += new_rows(job_id, run_id, row.created_by_id, list(row.emails or []),
                                   row.webhook_url, notice=True, now=now)
        conn.execute(sa.insert(events), requested)
        conn.execute(sa.insert(Delivery.__table__), deliveries)
    for run_id, row in orphans:
        reason = "Its order was deleted, so there is nothing to report on."
        conn.execute(sa.update(runs).where(runs.c.id == run_id).values(
            outcome="failed", detail=reason, finished_at=now, waiting=False))
        done = conn.execute(sa.update(schedules).where(
            schedules.c.id == row.id, schedules.c.paused_at.is_(None))
            .values(paused_at=now, pause_reason=reason))
        if done.rowcount:
            notices.add(conn, row.workspace_id, row.created_by_id, "paused",
                        f"“{row.name}” paused itself: {reason}", schedule_id=row.id)
    return list(job_of_run.values())
