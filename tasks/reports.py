"""The report task: take a job id, claim the job, stream its rows through a
generator into a temporary file, move the file into place, record the outcome.

Every state change is a short committed transaction made by a conditional
UPDATE, so pollers see it at once and two deliveries of one job cannot both
run it. While it runs, the job's lease (heartbeat_at) is renewed; a job whose
lease ran out belongs to a dead process and is taken over or failed."""
from __future__ import annotations

import datetime as dt
import logging
import os
import secrets
import socket
import threading
import time
from pathlib import Path

import sqlalchemy as sa
from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from flask import current_app

from tasks.generators import ReportMeta
from tasks.generators.csv_report import write_csv
from tasks.generators.pdf_report import write_pdf
from tasks.pg_copy import copy_csv
from tasks.rows import count_rows, owned_by_job_owner, stream_rows
from webapp.errors import ORDER_DELETED
from webapp.extensions import db
from webapp.models import (
    JobStatus,
    Order,
    ReportEvent,
    ReportFormat,
    ReportJob,
    ReportKind,
    utcnow,
)

log = logging.getLogger(__name__)

GENERATORS = {ReportFormat.CSV: write_csv, ReportFormat.PDF: write_pdf}
PROGRESS_INTERVAL = 0.5  # seconds between progress writes, at most
HOST = socket.gethostname()


class ReportDataError(Exception):
    """The job cannot be produced from what is in the database; the message is for the user."""


class JobAborted(Exception):
    """The job was cancelled, deleted or taken over while this process ran it."""


def identity() -> str:
    return f"{HOST}:{os.getpid()}"


def jobs_table() -> sa.Table:
    return ReportJob.__table__


def record_event(conn, job_id: int, event: str, detail: str | None = None,
                 worker: str | None = None) -> None:
    """`detail` is shown to the job's owner: plain words, never raw error text.
    `worker` (host:pid) is shown to admins only."""
    conn.execute(sa.insert(ReportEvent.__table__).values(
        job_id=job_id, at=utcnow(), event=event, detail=detail, worker=worker))


def transition(conn, job_id: int, where, event: str, detail: str | None = None,
               worker: str | None = None, **values) -> bool:
    """UPDATE the job only if `where` still holds; log the event if it did."""
    jobs = jobs_table()
    result = conn.execute(sa.update(jobs).where(jobs.c.id == job_id, *where).values(**values))
    if result.rowcount != 1:
        return False
    record_event(conn, job_id, event, detail, worker)
    return True


def status_is(status: JobStatus):
    return jobs_table().c.status == status.value


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


def limit_words(seconds: int) -> str:
    if seconds % 60 == 0:
        minutes = seconds // 60
        return f"{minutes} minute{'s' if minutes != 1 else ''}"
    return f"{seconds} second{'s' if seconds != 1 else ''}"


def worker_lost_reason(attempts: int) -> str:
    return (f"The worker running this report stopped unexpectedly (worker lost) "
            f"{attempts} time{'s' if attempts != 1 else ''}; giving up.")


def claim(job_id: int) -> str:
    """Take the job for this process. Returns "claimed", "skipped" (someone
    else has it or it is final) or "failed" (out of attempts)."""
    jobs = jobs_table()
    lease = current_app.config["REPORT_LEASE_SECONDS"]
    now = utcnow()
    with db.engine.begin() as conn:
        row = conn.execute(sa.select(jobs.c.status, jobs.c.claimed_by, jobs.c.heartbeat_at,
                                     jobs.c.attempts, jobs.c.max_attempts)
                           .where(jobs.c.id == job_id)).one_or_none()
        if row is None:
            return "skipped"
        status = JobStatus(row.status)
        if status is JobStatus.PROCESSING:
            stale = row.heartbeat_at is None or \
                row.heartbeat_at < now - dt.timedelta(seconds=lease)
            if not (stale or owner_is_dead(row.claimed_by)):
                return "skipped"  # alive elsewhere: a duplicate delivery
            guard = [status_is(JobStatus.PROCESSING), jobs.c.claimed_by == row.claimed_by]
            event = "restarted"
        elif status is JobStatus.PENDING:
            guard, event = [status_is(JobStatus.PENDING)], "started"
        else:
            return "skipped"
        if row.attempts >= row.max_attempts:
            reason = worker_lost_reason(row.attempts)
            done = transition(conn, job_id, guard, "failed", reason,
                              status=JobStatus.FAILED.value, error=reason, finished_at=now,
                              claimed_by=None)
            return "failed" if done else "skipped"
        detail = f"attempt {row.attempts + 1} of {row.max_attempts}"
        done = transition(conn, job_id, guard, event, detail, identity(),
                          status=JobStatus.PROCESSING.value, started_at=now, heartbeat_at=now,
                          claimed_by=identity(), attempts=jobs.c.attempts + 1, rows_done=0,
                          error=None)
        return "claimed" if done else "skipped"


def _mine():
    return [status_is(JobStatus.PROCESSING), jobs_table().c.claimed_by == identity()]


def _touch(job_id: int, **values) -> bool:
    """Renew the lease (and record progress); False once the job is no longer ours."""
    with db.engine.begin() as conn:
        jobs = jobs_table()
        result = conn.execute(sa.update(jobs).where(jobs.c.id == job_id, *_mine())
                              .values(heartbeat_at=utcnow(), **values))
        return result.rowcount == 1


class Lease(threading.Thread):
    """Renews the job's heartbeat while slow steps run (the count query, the
    PDF's final write), and notices cancellation between progress writes."""

    def __init__(self, app, job_id: int, interval: float):
        super().__init__(daemon=True, name=f"lease-{job_id}")
        self.app, self.job_id, self.interval = app, job_id, interval
        self.stopped = threading.Event()
        self.lost = False

    def run(self) -> None:
        with self.app.app_context():
            while not self.stopped.wait(self.interval):
                try:
                    if not _touch(self.job_id):
                        self.lost = True
                        return
                except sa.exc.SQLAlchemyError:
                    log.warning("could not renew the lease of job %s", self.job_id, exc_info=True)

    def stop(self) -> None:
        self.stopped.set()


def _meta(job: ReportJob) -> ReportMeta:
    currency = current_app.config["CURRENCY"]
    if job.kind is ReportKind.ORDER:
        order_id = job.params["order_id"]
        # scoped like the rows: an order id that now names someone else's order
        # (or none) means the owner's order is gone
        order = db.session.scalar(sa.select(Order).where(
            Order.id == order_id, owned_by_job_owner(job, all_owners=True)))
        if order is None:
            raise ReportDataError(ORDER_DELETED)
        scope = [f"Customer: {order.customer}", f"Status: {order.status.label}",
                 f"Order date: {order.created_at:%Y-%m-%d %H:%M} UTC"]
        return ReportMeta(kind="order", title=f"Order #{order_id}", scope=scope,
                          currency=currency)
    p = job.params
    scope = [f"Completed orders from {p['date_from']} to {p['date_to']} (UTC dates)"]
    scope.append(f"Customer: {p['customer']}" if p.get("customer") else "All customers")
    return ReportMeta(kind="summary", title="Completed orders", scope=scope,
                      currency=currency)


def _remove_quietly(path: Path) -> None:
    # Cleanup must never hide the original failure (the folder may be the problem).
    try:
        path.unlink(missing_ok=True)
    except OSError as exc:
        log.warning("could not remove %s: %s", path, exc)


def reason_for(exc: BaseException) -> str:
    """A failure in words a user can act on; the traceback goes to the log."""
    if isinstance(exc, ReportDataError):
        return str(exc)
    if isinstance(exc, SoftTimeLimitExceeded):
        limit = limit_words(current_app.config["REPORT_SOFT_TIME_LIMIT"])
        return f"Took longer than {limit} and was stopped."
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
    return (f"Unexpected error while generating the report ({type(exc).__name__}); "
            "see the worker log.")


def is_transient(exc: BaseException) -> bool:
    """Errors worth another attempt: the database or the network went away."""
    if isinstance(exc, sa.exc.DBAPIError) and exc.connection_invalidated:
        return True
    return isinstance(exc, (sa.exc.OperationalError, sa.exc.InterfaceError, ConnectionError))


def run_job(job_id: int, generators: dict | None = None) -> str:
    """Run one delivery of the job; returns what happened, for logs and tests."""
    outcome = claim(job_id)
    if outcome != "claimed":
        log.info("report job %s: %s (not PENDING, or running elsewhere)", job_id, outcome)
        return outcome
    job = db.session.get(ReportJob, job_id)
    if job is None:  # deleted between claim and load
        return "deleted"
    app = current_app._get_current_object()
    started = time.monotonic()
    folder = Path(app.config["REPORTS_DIR"])
    token = secrets.token_hex(8)
    ext = job.format.value
    final = folder / f"{job_id}-{token}.{ext}"
    tmp = folder / f".{job_id}-{token}.{ext}.tmp"
    lease = Lease(app, job_id, max(0.2, app.config["REPORT_LEASE_SECONDS"] / 6))
    lease.start()
    try:
        meta = _meta(job)
        total = count_rows(db.engine, job)
        pdf_limit = app.config["REPORT_PDF_MAX_ROWS"]
        if job.format is ReportFormat.PDF and total > pdf_limit:
            raise ReportDataError(
                f"This report has {total:,} line items; PDFs stop at {pdf_limit:,}. "
                "Ask for the CSV, or narrow the dates or pick one customer.")
        db.session.rollback()  # end the read transaction; the rest streams on its own connection
        if not _touch(job_id, rows_total=total):
            raise JobAborted
        last = [time.monotonic()]
        marks = [25, 50, 75]  # quarter marks go into the job's history

        def progress(done: int) -> None:
            if lease.lost:
                raise JobAborted
            now = time.monotonic()
            if now - last[0] >= PROGRESS_INTERVAL:
                last[0] = now
                if not _touch(job_id, rows_done=done):
                    raise JobAborted
                percent = done * 100 // total if total else 100
                if marks and percent >= marks[0]:
                    while marks and percent >= marks[0]:
                        marks.pop(0)
                    with db.engine.begin() as conn:
                        record_event(conn, job_id, "progress",
                                     f"{percent}% ({done:,} of {total:,} rows)")

        folder.mkdir(parents=True, exist_ok=True)
        written = None
        if generators is None and job.format is ReportFormat.CSV and \
                db.engine.dialect.name == "postgresql":
            written = copy_csv(db.engine, job, tmp, total, progress)  # ~3x faster
        if written is None:
            generate = (generators or GENERATORS)[job.format]
            written = generate(stream_rows(db.engine, job), meta, tmp, progress=progress)
        if lease.lost:
            raise JobAborted
        os.replace(tmp, final)
        size = final.stat().st_size
        finished = utcnow()
        expires = finished + dt.timedelta(days=app.config["REPORT_TTL_DAYS"])
        with db.engine.begin() as conn:
            done = transition(
                conn, job_id, _mine(), "completed",
                f"{written} rows, {size} bytes in {time.monotonic() - started:.2f} s",
                status=JobStatus.COMPLETED.value, finished_at=finished, file_name=final.name,
                size=size, rows_done=written, rows_total=written, expires_at=expires,
                claimed_by=None)
        if not done:  # cancelled, deleted or taken over at the last moment
            _remove_quietly(final)
            return "aborted"
        log.info("report job %s completed: %s rows, %s bytes", job_id, written, size)
        return "completed"
    except JobAborted:
        _remove_quietly(tmp)
        _remove_quietly(final)
        log.info("report job %s stopped: cancelled, deleted or taken over", job_id)
        return "aborted"
    except BaseException as exc:
        # the file is in place only once the job says COMPLETED; if that last
        # write failed (the database went away), the next attempt makes a new one
        _remove_quietly(tmp)
        _remove_quietly(final)
        db.session.rollback()
        if not isinstance(exc, Exception):
            # SystemExit / KeyboardInterrupt: the process is being stopped (a hard
            # time limit, a cold shutdown). Leave the job PROCESSING: the sweeper
            # sees its owner gone and decides (time limit, or another attempt).
            log.warning("report job %s interrupted by %s", job_id, type(exc).__name__)
            raise
        if is_transient(exc):
            return _retry_later(job_id, exc)
        reason = reason_for(exc)
        if isinstance(exc, ReportDataError):  # expected: the reason says it all
            log.warning("report job %s failed: %s", job_id, reason)
        else:
            log.exception("report job %s failed: %s", job_id, reason)
        with db.engine.begin() as conn:
            transition(conn, job_id, _mine(), "failed", reason, status=JobStatus.FAILED.value,
                       finished_at=utcnow(), error=reason, claimed_by=None)
        return "failed"
    finally:
        lease.stop()


class RetryLater(Exception):
    def __init__(self, countdown: float):
        super().__init__(countdown)
        self.countdown = countdown


def _retry_later(job_id: int, exc: Exception) -> str:
    """Hand the job back as PENDING for another attempt; the caller (the task)
    schedules it. If even that write fails, the lease runs out and the sweeper
    re-queues it."""
    log.warning("report job %s hit a transient error, will retry: %s", job_id, exc)
    try:
        with db.engine.begin() as conn:
            row = conn.execute(sa.select(jobs_table().c.attempts, jobs_table().c.max_attempts)
                               .where(jobs_table().c.id == job_id)).one()
            if row.attempts >= row.max_attempts:
                reason = ("The database or broker kept failing; gave up after "
                          f"{row.attempts} attempts ({type(exc).__name__}).")
                transition(conn, job_id, _mine(), "failed", reason,
                           status=JobStatus.FAILED.value, finished_at=utcnow(), error=reason,
                           claimed_by=None)
                return "failed"
            # the raw error (addresses, SQL) went to the log above; the owner
            # reads plain words
            transition(conn, job_id, _mine(), "retrying",
                       "The database or the broker could not be reached; trying again.",
                       identity(), status=JobStatus.PENDING.value, claimed_by=None,
                       heartbeat_at=None)
            attempts = row.attempts
    except sa.exc.SQLAlchemyError:
        log.warning("could not hand job %s back; the sweeper will", job_id, exc_info=True)
        attempts = 1
    raise RetryLater(min(60.0, 2.0 ** attempts))


@shared_task(name="reports.generate", bind=True, ignore_result=True)
def generate_report(self, job_id: int) -> str:
    try:
        return run_job(job_id)
    except RetryLater as later:
        raise self.retry(countdown=later.countdown, max_retries=None) from None
    except sa.exc.SQLAlchemyError as exc:
        if not is_transient(exc):
            raise
        # the claim itself could not reach the database: the job is still PENDING
        raise self.retry(countdown=2.0, max_retries=10) from exc
