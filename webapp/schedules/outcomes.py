"""A schedule's rule for its runs: once every delivery of a run is final,
the run gets its outcome (ok, failed, cancelled), and the schedule its
streak of failed runs, which pauses it at SCHEDULE_FAILURES_BEFORE_PAUSE.
Called by delivery (webapp/delivery/services.py) in the transaction that
ends a run's last delivery."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from flask import current_app

from ..models import Delivery, JobStatus, ReportJob, Schedule, ScheduleRun
from ..notices import services as notices


def finish_run(conn, run_id: int, now: dt.datetime) -> None:
    """Once every delivery of the run is final: the run's outcome, and the
    schedule's streak of failed runs (which pauses it at the limit)."""
    table, runs, jobs = Delivery.__table__, ScheduleRun.__table__, ReportJob.__table__
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
        row = conn.execute(sa.select(schedules.c.workspace_id, schedules.c.created_by_id,
                                     schedules.c.name).where(schedules.c.id == schedule_id)).one()
        notices.add(conn, row.workspace_id, row.created_by_id, "paused",
                    f"“{row.name}” paused itself: {reason} Resume it once the cause is fixed.",
                    schedule_id=schedule_id)
