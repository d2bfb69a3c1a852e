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
    User,
    utcnow,
)
from ..notices import services as notices
from ..reports import lifecycle
from ..reports.params import ReportParams
from ..timezones import local
from .cron import Cron, CronError
from .ranges import relative_range

log = logging.getLogger(__name__)

BATCH = 1000
MISSED_CAP = 1000  # counting missed slots stops here ("1000 or more")


@dataclass(frozen=True)
class Slot:
    """One run to start: the schedule's row (with its owner's admin flag),
    the due time it stands for, why, and where the schedule goes next."""

    schedule: sa.Row
    due_at: dt.datetime
    trigger: str  # schedule | catch_up | manual
    note: str | None
    next_run_at: dt.datetime | None  # None: leave it (a manual run)
    seen_next_run_at: dt.datetime | None = None  # for the conditional move


def _schedules_with_owner():
    schedules, users = Schedule.__table__, User.__table__
    return (sa.select(schedules, users.c.is_admin.label("owner_is_admin"))
            .join(users, users.c.id == schedules.c.owner_id))


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
    started: list[int] = []
    while True:
        with db.engine.connect() as conn:
            rows = conn.execute(_schedules_with_owner().where(
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
            notices.add(conn, row.owner_id, "paused", f"“{row.name}” paused itself: {reason}",
                        schedule_id=row.id)


def run_now(schedule_id: int, now: dt.datetime | None = None) -> int | None:
    """A manual run of one schedule (its owner checked by the caller): the
    new job's id, already published, or None if it could not start."""
    now = now or utcnow()
    with db.engine.connect() as conn:
        row = conn.execute(_schedules_with_owner()
                           .where(Schedule.__table__.c.id == schedule_id)).one()
    job_ids = start([Slot(row, now, "manual", "Started by hand (Run now).", None)], now)
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
    params = ReportParams.summary(date_from, date_to, row.customer, timezone=row.timezone)
    # an admin's summary covers every user's orders, as when asked by hand
    return params.scoped_for(_Owner(bool(row.owner_is_admin)))


@dataclass(frozen=True)
class _Owner:
    is_admin: bool


def _insert(conn, table: sa.Table):
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(table)


def start(slots: list[Slot], now: dt.datetime) -> list[int]:
    """Record the runs of `slots` that nobody recorded yet, each with its job
    and deliveries, and move the schedules on; one transaction. Returns the
    new jobs' ids, for the caller to publish after the commit."""
    if not slots:
        return []
    from ..delivery.service import new_rows

    runs, jobs = ScheduleRun.__table__, ReportJob.__table__
    schedules, events = Schedule.__table__, ReportEvent.__table__
    by_schedule = {slot.schedule.id: slot for slot in slots}
    max_attempts = current_app.config["REPORT_MAX_ATTEMPTS"]
    with db.engine.begin() as conn:
        # rows as parameter lists, not built into the statement: SQLAlchemy
        # compiles each statement once and sends the rows in batches (building
        # 400,000 bound values into the SQL took most of a 10,000-schedule tick)
        inserted = conn.execute(
            _insert(conn, runs).on_conflict_do_nothing(index_elements=["schedule_id", "due_at"])
            .returning(runs.c.id, runs.c.schedule_id),
            [{"schedule_id": s.schedule.id, "due_at": s.due_at, "trigger": s.trigger,
              "note": s.note, "created_at": now} for s in slots]).all()
        new_jobs, orphans = [], []
        for run_id, schedule_id in inserted:
            slot = by_schedule[schedule_id]
            row = slot.schedule
            if ReportKind(row.kind) is ReportKind.ORDER and row.order_id is None:
                orphans.append((run_id, row))
                continue
            params = params_for(row, slot.due_at)
            new_jobs.append({
                "owner_id": row.owner_id, "kind": params.kind.value,
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
            for run_id, schedule_id in inserted:
                if run_id not in job_of_run:
                    continue
                slot, job_id = by_schedule[schedule_id], job_of_run[run_id]
                row = slot.schedule
                due = _when(slot.due_at, row.timezone)
                requested.append({"job_id": job_id, "at": now, "event": "requested",
                                  "detail": f"run of the schedule “{row.name}” "
                                            f"({slot.trigger}, due {due})"})
                deliveries += new_rows(job_id, run_id, row.owner_id, list(row.emails or []),
                                       row.webhook_url, notice=True, now=now)
            conn.execute(sa.insert(events), requested)
            conn.execute(sa.insert(Delivery.__table__), deliveries)
        for run_id, row in orphans:
            reason = "Its order was deleted, so there is nothing to report on."
            conn.execute(sa.update(runs).where(runs.c.id == run_id).values(
                outcome="failed", detail=reason, finished_at=now))
            done = conn.execute(sa.update(schedules).where(
                schedules.c.id == row.id, schedules.c.paused_at.is_(None))
                .values(paused_at=now, pause_reason=reason))
            if done.rowcount:
                notices.add(conn, row.owner_id, "paused",
                            f"“{row.name}” paused itself: {reason}", schedule_id=row.id)
        moves = [{"sid": s.schedule.id, "seen": s.seen_next_run_at, "next": s.next_run_at}
                 for s in slots if s.next_run_at is not None]
        if moves:
            # only where no other tick moved it first
            conn.execute(sa.update(schedules).where(
                schedules.c.id == sa.bindparam("sid"),
                schedules.c.next_run_at == sa.bindparam("seen"))
                .values(next_run_at=sa.bindparam("next")), moves)
    return list(job_of_run.values())
