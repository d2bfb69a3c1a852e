"""The sweeper: turns lost work into a recorded outcome. Run by Celery beat
every SWEEP_INTERVAL seconds and once when a worker starts. It decides which
jobs need attention; webapp/reports/lifecycle.py makes each change.

- PENDING jobs not picked up for a while are sent again (their message was
  never published, or the broker lost it).
- PROCESSING jobs whose lease ran out (or whose process is gone from this
  host) go back to PENDING for another attempt, or end FAILED when out of
  attempts or past the hard time limit.
- COMPLETED reports past their expiry lose their file and become EXPIRED."""
from __future__ import annotations

import datetime as dt
import logging

import sqlalchemy as sa
from celery import shared_task
from flask import current_app

from webapp.extensions import db
from webapp.models import JobStatus, utcnow
from webapp.reports import lifecycle
from webapp.reports.lifecycle import jobs_table, status_is
from webapp.storage import storage

log = logging.getLogger(__name__)


def sweep(now: dt.datetime | None = None) -> dict[str, int]:
    config = current_app.config
    now = now or utcnow()
    jobs = jobs_table()
    counts = {"requeued": 0, "failed": 0, "resent": 0, "expired": 0}

    with db.engine.connect() as conn:
        running = conn.execute(sa.select(jobs.c.id, jobs.c.attempts, jobs.c.max_attempts,
                                         jobs.c.started_at, jobs.c.claimed_by,
                                         jobs.c.heartbeat_at)
                               .where(status_is(JobStatus.PROCESSING))).all()
    for job in running:
        # dead: its lease ran out, or (sooner) its process is gone from this host
        if lifecycle.lease_expired(job.heartbeat_at, now) or \
                lifecycle.owner_is_dead(job.claimed_by):
            outcome = lifecycle.requeue_or_fail_dead(job, now)
            if outcome:
                counts[outcome] += 1

    resend_cutoff = now - dt.timedelta(seconds=config["SWEEP_PENDING_AFTER"])
    with db.engine.connect() as conn:
        waiting = conn.execute(sa.select(jobs.c.id).where(
            status_is(JobStatus.PENDING), jobs.c.deleted_at.is_(None),
            sa.or_(jobs.c.enqueued_at.is_(None), jobs.c.enqueued_at < resend_cutoff))).scalars()
        waiting = list(waiting)
    counts["resent"] = sum(lifecycle.resend(job_id, now) for job_id in waiting)

    with db.engine.connect() as conn:
        expired = conn.execute(sa.select(jobs.c.id, jobs.c.file_name).where(
            status_is(JobStatus.COMPLETED), jobs.c.expires_at < now)).all()
    store = storage()
    for job in expired:
        if lifecycle.expire(job.id):
            counts["expired"] += 1
        if job.file_name:
            store.delete(job.file_name)
    if any(counts.values()):
        log.warning("sweeper: %s", counts)
    return counts


@shared_task(name="reports.sweep", ignore_result=True)
def sweep_task() -> dict[str, int]:
    return sweep()
