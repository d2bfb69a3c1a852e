"""The sweeper: turns lost work into a recorded outcome. Run by Celery beat
every SWEEP_INTERVAL seconds and once when a worker starts.

- PENDING jobs not picked up for a while are sent again (their message was
  never published, or the broker lost it). A duplicate message is harmless:
  only one delivery can claim the job.
- PROCESSING jobs whose lease ran out belong to a dead process: they go back
  to PENDING for another attempt, or end FAILED when out of attempts or past
  the hard time limit.
- COMPLETED reports past their expiry lose their file and become EXPIRED."""
from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path

import sqlalchemy as sa
from celery import shared_task
from flask import current_app

from tasks.reports import (
    jobs_table,
    limit_words,
    owner_is_dead,
    status_is,
    transition,
    worker_lost_reason,
)
from webapp.extensions import db
from webapp.models import JobStatus, utcnow

log = logging.getLogger(__name__)


def sweep(now: dt.datetime | None = None) -> dict[str, int]:
    from webapp.reports.services import enqueue

    config = current_app.config
    now = now or utcnow()
    jobs = jobs_table()
    counts = {"requeued": 0, "failed": 0, "resent": 0, "expired": 0}
    lease_cutoff = now - dt.timedelta(seconds=config["REPORT_LEASE_SECONDS"])
    hard_cutoff = now - dt.timedelta(seconds=config["REPORT_HARD_TIME_LIMIT"])

    with db.engine.connect() as conn:
        running = conn.execute(sa.select(jobs.c.id, jobs.c.attempts, jobs.c.max_attempts,
                                         jobs.c.started_at, jobs.c.claimed_by,
                                         jobs.c.heartbeat_at)
                               .where(status_is(JobStatus.PROCESSING))).all()
    for job in running:
        # dead: its lease ran out, or (sooner) its process is gone from this host
        stale = job.heartbeat_at is None or job.heartbeat_at < lease_cutoff
        if not (stale or owner_is_dead(job.claimed_by)):
            continue
        guard = [status_is(JobStatus.PROCESSING), jobs.c.claimed_by == job.claimed_by]
        with db.engine.begin() as conn:
            if job.started_at and job.started_at <= hard_cutoff:
                reason = f"Took longer than {limit_words(config['REPORT_HARD_TIME_LIMIT'])} " \
                         "and was stopped."
            elif job.attempts >= job.max_attempts:
                reason = worker_lost_reason(job.attempts)
            else:
                reason = None
            if reason:
                if transition(conn, job.id, guard, "failed", reason,
                              status=JobStatus.FAILED.value, error=reason, finished_at=now,
                              claimed_by=None):
                    counts["failed"] += 1
                continue
            if transition(conn, job.id, guard, "requeued",
                          "the worker running it stopped; it goes back to the queue",
                          job.claimed_by,
                          status=JobStatus.PENDING.value, claimed_by=None, heartbeat_at=None,
                          enqueued_at=now):
                counts["requeued"] += 1
                conn.commit()
                enqueue(job.id)

    resend_cutoff = now - dt.timedelta(seconds=config["SWEEP_PENDING_AFTER"])
    with db.engine.begin() as conn:
        waiting = conn.execute(sa.select(jobs.c.id).where(
            status_is(JobStatus.PENDING), jobs.c.deleted_at.is_(None),
            sa.or_(jobs.c.enqueued_at.is_(None), jobs.c.enqueued_at < resend_cutoff))).scalars()
        waiting = list(waiting)
    for job_id in waiting:
        with db.engine.begin() as conn:
            conn.execute(sa.update(jobs).where(jobs.c.id == job_id).values(enqueued_at=now))
        if enqueue(job_id):
            counts["resent"] += 1

    with db.engine.connect() as conn:
        expired = conn.execute(sa.select(jobs.c.id, jobs.c.file_name).where(
            status_is(JobStatus.COMPLETED), jobs.c.expires_at < now)).all()
    folder = Path(config["REPORTS_DIR"])
    for job in expired:
        with db.engine.begin() as conn:
            if transition(conn, job.id, [status_is(JobStatus.COMPLETED)], "expired",
                          f"file removed after {config['REPORT_TTL_DAYS']} days",
                          status=JobStatus.EXPIRED.value, file_name=None):
                counts["expired"] += 1
        if job.file_name:
            (folder / job.file_name).unlink(missing_ok=True)
    if any(counts.values()):
        log.warning("sweeper: %s", counts)
    return counts


@shared_task(name="reports.sweep", ignore_result=True)
def sweep_task() -> dict[str, int]:
    return sweep()
