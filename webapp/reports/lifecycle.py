"""The report job's life, in one place: every change of a job's status goes
through this module, with its event, whoever makes it (a web request, the
worker, the sweeper).

    PENDING ──claim──► PROCESSING ──complete──► COMPLETED ──expire──► EXPIRED
       ▲                  │  │ └──fail──► FAILED
       └──hand_back/requeue┘  └──cancel──► CANCELLED   (cancel also from PENDING)

Every transition is a conditional UPDATE (`transition`): it happens only if
the job is still where the caller thinks it is, so two deliveries, a cancel
racing a completion, or a sweeper racing a worker cannot both win. A running
job holds a lease (`heartbeat_at`, renewed by `Lease`); a job whose lease ran
out, or whose process is gone from this host, is taken over or failed.

Detail texts are read by the job's owner: plain words, never raw error text.
The process that took a step (host:pid) goes into the event's `worker`
column, which only admins see."""
from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import threading
import time
from pathlib import Path

import sqlalchemy as sa
from celery.exceptions import SoftTimeLimitExceeded
from flask import current_app

from .. import events
from ..errors import ORDER_DELETED
from ..extensions import db
from ..models import (
    ACTIVE_STATUSES,
    JobStatus,
    ReportEvent,
    ReportFormat,
    ReportJob,
    ReportKind,
    utcnow,
)
from ..storage import StorageError
from ..words import seconds_in_words
from .params import ReportParams

log = logging.getLogger(__name__)

TASK_NAME = "reports.generate"
# The host part of claimed_by ("host:pid"): pid checks only hold on the same
# host. HOSTNAME (what containers set) wins, so that workers sharing a kernel
# but not a host name (tests, pods) never judge each other's pids.
HOST = os.environ.get("HOSTNAME") or socket.gethostname()



class ReportDataError(Exception):
    """The job cannot be produced from what is in the database; the message is for the user."""


# --- the building blocks ------------------------------------------------------

def jobs_table() -> sa.Table:
    return ReportJob.__table__


def status_is(*statuses: JobStatus):
    column = jobs_table().c.status
    if len(statuses) == 1:
        return column == statuses[0].value
    return column.in_([s.value for s in statuses])


def record_event(conn, job_id: int, event: str, detail: str | None = None,
                 worker: str | None = None) -> None:
    conn.execute(sa.insert(ReportEvent.__table__).values(
        job_id=job_id, at=utcnow(), event=event, detail=detail, worker=worker))


def transition(conn, job_id: int, where, event: str, detail: str | None = None,
               worker: str | None = None, **values) -> bool:
    """UPDATE the job only if `where` still holds; record the event if it did."""
    jobs = jobs_table()
    result = conn.execute(sa.update(jobs).where(jobs.c.id == job_id, *where).values(**values))
    if result.rowcount != 1:
        return False
    record_event(conn, job_id, event, detail, worker)
    return True


def identity() -> str:
    """This process, as recorded in claimed_by: host:pid."""
    return f"{HOST}:{os.getpid()}"


def _mine():
    return [status_is(JobStatus.PROCESSING), jobs_table().c.claimed_by == identity()]


# --- creation and publishing ------------------------------------------------------

def new_job(workspace_id: int, fmt: ReportFormat, params: ReportParams, dedupe_key: str, *,
            order_id: int | None = None, retry_of: int | None = None,
            created_by: int | None = None) -> ReportJob:
    """A PENDING job with its "requested" event, added to the session (the
    caller commits, then calls enqueue)."""
    job = ReportJob(workspace_id=workspace_id, created_by_id=created_by, kind=params.kind,
                    format=fmt, params=params.to_json(),
                    order_id=order_id, dedupe_key=dedupe_key, status=JobStatus.PENDING,
                    retry_of_id=retry_of,
                    max_attempts=current_app.config["REPORT_MAX_ATTEMPTS"],
                    enqueued_at=utcnow())
    job.events.append(ReportEvent(
        event="requested", detail=f"retry of report #{retry_of}" if retry_of else None))
    db.session.add(job)
    return job


def _publish(job_id: int) -> None:
    current_app.extensions["celery"].send_task(TASK_NAME, args=[job_id])


def enqueue(job_id: int) -> bool:
    """Hand the committed job's id to the broker. A failure is logged, not
    raised: the job stays PENDING and the sweeper sends it again later, so
    nothing is lost and the request never hangs. (Whoever calls this has
    stamped the job's enqueued_at, which the sweeper reads.)"""
    try:
        _publish(job_id)
    except Exception as exc:  # any broker/transport error
        log.warning("could not enqueue report job %s (%s); it stays PENDING", job_id, exc)
        return False
    return True


# --- the owner's actions ----------------------------------------------------------------

def cancel(conn, job_id: int, detail: str | None = None, error: str | None = None) -> bool:
    """PENDING or PROCESSING → CANCELLED, in the caller's transaction. A running
    worker notices within CANCEL_CHECK_SECONDS (its Lease), stops the statement
    it waits for and removes its partial file."""
    return transition(conn, job_id, [status_is(*ACTIVE_STATUSES)], "cancelled", detail,
                      status=JobStatus.CANCELLED.value, finished_at=utcnow(), claimed_by=None,
                      error=error)


def delete(conn, job_id: int) -> None:
    """Hide the job (soft delete: its history stays) and forget its file,
    cancelling it first if it is still active."""
    cancel(conn, job_id, "deleted while active")
    conn.execute(sa.update(jobs_table()).where(jobs_table().c.id == job_id)
                 .values(deleted_at=utcnow(), file_name=None))
    record_event(conn, job_id, "deleted")


def cancel_open_jobs_of_order(conn, order_id: int) -> int:
    """Every active report of an order that is being deleted ends CANCELLED
    with the reason, so no worker can run it later against whatever the id
    comes to mean. In the caller's transaction (the deletion's)."""
    jobs = jobs_table()
    ids = conn.execute(sa.select(jobs.c.id).where(
        jobs.c.order_id == order_id, status_is(*ACTIVE_STATUSES))).scalars().all()
    return sum(cancel(conn, job_id, ORDER_DELETED, ORDER_DELETED) for job_id in ids)


# --- the worker's side ------------------------------------------------------------------

def owner_is_dead(claimed_by: str | None) -> bool:
    """True when the process named in claimed_by is known to be gone: on this
    host we can ask the OS; a process elsewhere is judged by its lease instead."""
    if not claimed_by or ":" not in claimed_by:
        return False
    host, _, pid = claimed_by.rpartition(":")
    if host != HOST or not pid.isdigit():
        return False
    if int(pid) == os.getpid():
        return True  # this process is free, so its earlier run of the job is over
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return _is_zombie(int(pid))


def _is_zombie(pid: int) -> bool:
    # A killed process whose parent died too may linger unreaped; it runs nothing.
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[-1].split()[0] in ("Z", "X")


def lease_expired(heartbeat_at: dt.datetime | None, now: dt.datetime) -> bool:
    lease = dt.timedelta(seconds=current_app.config["REPORT_LEASE_SECONDS"])
    return heartbeat_at is None or heartbeat_at < now - lease


def claim(job_id: int) -> str:
    """Take the job for this process. Returns "claimed", "skipped" (someone
    else has it or it is final) or "failed" (out of attempts)."""
    jobs = jobs_table()
    now = utcnow()
    with db.engine.begin() as conn:
        row = conn.execute(sa.select(jobs.c.status, jobs.c.claimed_by, jobs.c.heartbeat_at,
                                     jobs.c.attempts, jobs.c.max_attempts)
                           .where(jobs.c.id == job_id)).one_or_none()
        if row is None:
            return "skipped"
        status = JobStatus(row.status)
        if status is JobStatus.PROCESSING:
            if not (lease_expired(row.heartbeat_at, now) or owner_is_dead(row.claimed_by)):
                return "skipped"  # alive elsewhere: the broker sent the message twice
            guard = [status_is(JobStatus.PROCESSING), jobs.c.claimed_by == row.claimed_by]
            event = "restarted"
        elif status is JobStatus.PENDING:
            guard, event = [status_is(JobStatus.PENDING)], "started"
        else:
            return "skipped"
        if row.attempts >= row.max_attempts:
            reason = worker_lost_reason(row.attempts)
            done = transition(conn, job_id, guard, "failed", reason, row.claimed_by,
                              status=JobStatus.FAILED.value, error=reason, finished_at=now,
                              claimed_by=None)
            return "failed" if done else "skipped"
        detail = f"attempt {row.attempts + 1} of {row.max_attempts}"
        done = transition(conn, job_id, guard, event, detail, identity(),
                          status=JobStatus.PROCESSING.value, started_at=now, heartbeat_at=now,
                          claimed_by=identity(), attempts=jobs.c.attempts + 1, rows_done=0,
                          error=None)
        return "claimed" if done else "skipped"


def touch(job_id: int, **values) -> bool:
    """Renew the lease (and record progress); False once the job is no longer ours."""
    with db.engine.begin() as conn:
        jobs = jobs_table()
        result = conn.execute(sa.update(jobs).where(jobs.c.id == job_id, *_mine())
                              .values(heartbeat_at=utcnow(), **values))
        return result.rowcount == 1


def note_progress(job_id: int, detail: str) -> None:
    with db.engine.begin() as conn:
        record_event(conn, job_id, "progress", detail)


def still_mine(job_id: int) -> bool:
    """Is the job still PROCESSING by this process (not cancelled, deleted or taken over)?"""
    with db.engine.connect() as conn:
        return conn.scalar(sa.select(sa.literal(1)).select_from(jobs_table())
                           .where(jobs_table().c.id == job_id, *_mine())) is not None


# How soon a running job notices that it was cancelled, whatever step it is
# in (the overview's aggregates and the count run before any progress write).
CANCEL_CHECK_SECONDS = 0.5


class Lease(threading.Thread):
    """Renews the job's heartbeat every `interval` while slow steps run (the
    count query, the overview, the PDF's final write) and checks every
    CANCEL_CHECK_SECONDS that the job is still ours. Once it is not, `lost`
    is set and `on_lost` is called, then again at each check until stopped: it
    interrupts the statement the job is waiting for, including one started
    after the first call."""

    def __init__(self, app, job_id: int, interval: float, on_lost=None):
        super().__init__(daemon=True, name=f"lease-{job_id}")
        self.app, self.job_id, self.interval = app, job_id, interval
        self.on_lost = on_lost
        self.stopped = threading.Event()
        self.lost = False
        self._interrupting = threading.Lock()  # held while on_lost runs

    def run(self) -> None:
        with self.app.app_context():
            renew_at = time.monotonic() + self.interval
            while not self.stopped.wait(min(self.interval, CANCEL_CHECK_SECONDS)):
                renew = time.monotonic() >= renew_at
                try:
                    if not self.lost:
                        if renew:
                            renew_at = time.monotonic() + self.interval
                        self.lost = not (touch if renew else still_mine)(self.job_id)
                    if self.lost and self.on_lost is not None:
                        with self._interrupting:
                            if not self.stopped.is_set():
                                self.on_lost()
                except sa.exc.SQLAlchemyError:
                    if renew:  # the checks between renewals fail quietly alike
                        log.warning("could not renew the lease of job %s", self.job_id,
                                    exc_info=True)
                except Exception:  # an interrupt that failed must not end the watch
                    log.warning("could not interrupt job %s", self.job_id, exc_info=True)

    def stop(self) -> None:
        """Stop watching. Once this returns on_lost is not running and never
        will, so it cannot interrupt the next job's statements."""
        self.stopped.set()
        with self._interrupting:
            pass


def complete(job_id: int, *, file_name: str, size: int, rows: int, detail: str) -> bool:
    """PROCESSING (ours) → COMPLETED with its file; False if the job was
    cancelled, deleted or taken over meanwhile (the caller removes the file)."""
    finished = utcnow()
    expires = finished + dt.timedelta(days=current_app.config["REPORT_TTL_DAYS"])
    with db.engine.begin() as conn:
        done = transition(conn, job_id, _mine(), "completed", detail, identity(),
                          status=JobStatus.COMPLETED.value, finished_at=finished,
                          file_name=file_name, size=size, rows_done=rows, rows_total=rows,
                          expires_at=expires, claimed_by=None)
        if done:
            events.job_ended.send(None, conn=conn, job_id=job_id, now=finished)
        return done


def fail(job_id: int, reason: str) -> bool:
    """PROCESSING (ours) → FAILED with a reason for the owner."""
    now = utcnow()
    with db.engine.begin() as conn:
        done = transition(conn, job_id, _mine(), "failed", reason, identity(),
                          status=JobStatus.FAILED.value, finished_at=now, error=reason,
                          claimed_by=None)
        if done:
            events.job_ended.send(None, conn=conn, job_id=job_id, now=now)
        return done


def hand_back(job_id: int, exc: Exception) -> int | None:
    """After a transient error: PROCESSING (ours) → PENDING for another attempt,
    or FAILED when out of attempts. Returns the attempts so far (for the
    back-off) or None if the job ended FAILED."""
    log.warning("report job %s hit a transient error, will retry: %s", job_id, exc)
    jobs = jobs_table()
    with db.engine.begin() as conn:
        row = conn.execute(sa.select(jobs.c.attempts, jobs.c.max_attempts)
                           .where(jobs.c.id == job_id)).one()
        if row.attempts >= row.max_attempts:
            part = ("The file store" if isinstance(exc, StorageError)
                    else "The database or broker")
            reason = (f"{part} kept failing; gave up after "
                      f"{row.attempts} attempts ({type(exc).__name__}).")
            transition(conn, job_id, _mine(), "failed", reason, identity(),
                       status=JobStatus.FAILED.value, finished_at=utcnow(), error=reason,
                       claimed_by=None)
            return None
        # the raw error (addresses, SQL) went to the log above; the owner
        # reads plain words
        transition(conn, job_id, _mine(), "retrying",
                   "The database or the broker could not be reached; trying again.",
                   identity(), status=JobStatus.PENDING.value, claimed_by=None,
                   heartbeat_at=None)
        return row.attempts


# --- the sweeper's side ------------------------------------------------------------------

def requeue_or_fail_dead(job, now: dt.datetime) -> str | None:
    """A PROCESSING job whose owner is gone: back to PENDING for another
    attempt ("requeued", then published), or FAILED when out of attempts or
    past the hard time limit. `job` is a row with id, attempts, max_attempts,
    started_at, claimed_by. Returns what happened, or None if it moved on."""
    config = current_app.config
    guard = [status_is(JobStatus.PROCESSING), jobs_table().c.claimed_by == job.claimed_by]
    hard_cutoff = now - dt.timedelta(seconds=config["REPORT_HARD_TIME_LIMIT"])
    if job.started_at and job.started_at <= hard_cutoff:
        reason = time_limit_reason(config["REPORT_HARD_TIME_LIMIT"])
    elif job.attempts >= job.max_attempts:
        reason = worker_lost_reason(job.attempts)
    else:
        reason = None
    with db.engine.begin() as conn:
        if reason:
            done = transition(conn, job.id, guard, "failed", reason, job.claimed_by,
                              status=JobStatus.FAILED.value, error=reason, finished_at=now,
                              claimed_by=None)
            return "failed" if done else None
        done = transition(conn, job.id, guard, "requeued",
                          "the worker running it stopped; it goes back to the queue",
                          job.claimed_by, status=JobStatus.PENDING.value, claimed_by=None,
                          heartbeat_at=None, enqueued_at=now)
    if done:
        enqueue(job.id)
        return "requeued"
    return None


def resend(job_id: int, now: dt.datetime) -> bool:
    """A PENDING job not picked up: publish it again (a duplicate message is
    harmless: only one message can claim the job)."""
    with db.engine.begin() as conn:
        conn.execute(sa.update(jobs_table()).where(jobs_table().c.id == job_id)
                     .values(enqueued_at=now))
    return enqueue(job_id)


def expire(job_id: int) -> bool:
    """COMPLETED → EXPIRED once its file is due for removal (the caller removes it)."""
    with db.engine.begin() as conn:
        return transition(conn, job_id, [status_is(JobStatus.COMPLETED)], "expired",
                          f"file removed after {current_app.config['REPORT_TTL_DAYS']} days",
                          status=JobStatus.EXPIRED.value, file_name=None)


# --- the words a user reads -------------------------------------------------------------

def time_limit_reason(seconds: int) -> str:
    return f"Took longer than {seconds_in_words(seconds)} and was stopped."


def worker_lost_reason(attempts: int) -> str:
    return (f"The worker running this report stopped unexpectedly (worker lost) "
            f"{attempts} time{'s' if attempts != 1 else ''}; giving up.")


def pdf_too_long_reason(params: ReportParams, rows: int, cap: int) -> str:
    """Why a PDF of `rows` line items is refused, with the way out this kind of
    report has: every kind has CSV; only a summary has dates to narrow, and
    the orders list has its search."""
    ways = ["Ask for the CSV"]
    if params.kind is ReportKind.SUMMARY:
        ways.append("narrow the dates" if params.customer_id or params.customer
                    else "narrow the dates or pick one customer")
    elif params.kind is ReportKind.ORDERS:
        ways.append("narrow the list with a search")
    return (f"This report has {rows:,} line items; PDFs stop at {cap:,}. "
            f"{', or '.join(ways)}.")


def pdf_over_cap(job) -> bool:
    """A PDF job that failed because it had more line items than a PDF may
    hold (the worker records the count): another attempt fails the same way
    unless the cap was raised since."""
    return (job.format is ReportFormat.PDF and job.status is JobStatus.FAILED
            and (job.rows_total or 0) > current_app.config["REPORT_PDF_MAX_ROWS"])


def reason_for(exc: BaseException) -> str:
    """A failure in words a user can act on; the traceback goes to the log."""
    if isinstance(exc, ReportDataError):
        return str(exc)
    if isinstance(exc, SoftTimeLimitExceeded):
        return time_limit_reason(current_app.config["REPORT_SOFT_TIME_LIMIT"])
    if isinstance(exc, OSError):
        detail = exc.strerror or type(exc).__name__
        folder = current_app.config["REPORTS_DIR"]
        if exc.filename and not str(exc.filename).startswith(str(folder)):
            # e.g. a font file: a broken installation, not a full disk
            name = Path(str(exc.filename)).name
            return f"Could not read {name}, which the report needs ({detail})."
        return f"Could not write the report file ({detail})."
    if isinstance(exc, sa.exc.SQLAlchemyError):
        return "The database could not be read while generating the report."
    if isinstance(exc, StorageError):
        return "The report file could not be stored (the file store did not answer)."
    return (f"Unexpected error while generating the report ({type(exc).__name__}); "
            "see the worker log.")


def is_transient(exc: BaseException) -> bool:
    """Errors worth another attempt: the database or the network went away."""
    if isinstance(exc, sa.exc.DBAPIError) and exc.connection_invalidated:
        return True
    return isinstance(exc, (sa.exc.OperationalError, sa.exc.InterfaceError, ConnectionError,
                            StorageError))
