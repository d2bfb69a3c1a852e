"""The report task: take a job id, claim the job, stream its rows through a
generator into a temporary file, move the file into place, record the outcome.

Every state change is a short committed transaction made by a conditional
UPDATE, so pollers see it at once and a second delivery of the same job does
nothing."""
from __future__ import annotations

import logging
import os
import secrets
import time
from pathlib import Path

import sqlalchemy as sa
from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from flask import current_app

from tasks.generators import ReportMeta
from tasks.generators.csv_report import write_csv
from tasks.generators.pdf_report import write_pdf
from tasks.rows import count_rows, stream_rows
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


class ReportDataError(Exception):
    """The job cannot be produced from what is in the database; the message is for the user."""


@shared_task(name="reports.generate", ignore_result=True)
def generate_report(job_id: int) -> str:
    return run_job(job_id)


def _jobs():
    return ReportJob.__table__


def _transition(conn, job_id: int, from_status: JobStatus, event: str, detail: str | None = None,
                **values) -> bool:
    jobs = _jobs()
    result = conn.execute(
        sa.update(jobs).where(jobs.c.id == job_id, jobs.c.status == from_status.value)
        .values(**values))
    if result.rowcount != 1:
        return False
    conn.execute(sa.insert(ReportEvent.__table__).values(
        job_id=job_id, at=utcnow(), event=event, detail=detail))
    return True


def claim(job_id: int) -> bool:
    """PENDING → PROCESSING, for exactly one delivery of the job."""
    with db.engine.begin() as conn:
        return _transition(conn, job_id, JobStatus.PENDING, "started",
                           status=JobStatus.PROCESSING.value, started_at=utcnow(),
                           attempts=_jobs().c.attempts + 1, rows_done=0, error=None)


def _set_progress(job_id: int, done: int, total: int | None = None) -> None:
    jobs = _jobs()
    values = {"rows_done": done}
    if total is not None:
        values["rows_total"] = total
    with db.engine.begin() as conn:
        conn.execute(sa.update(jobs).where(jobs.c.id == job_id,
                                           jobs.c.status == JobStatus.PROCESSING.value)
                     .values(**values))


def _meta(job: ReportJob, total: int) -> ReportMeta:
    currency = current_app.config["CURRENCY"]
    if job.kind is ReportKind.ORDER:
        order_id = job.params["order_id"]
        order = db.session.get(Order, order_id)
        if order is None:
            raise ReportDataError(f"Order {order_id} no longer exists.")
        scope = [f"Customer: {order.customer}", f"Status: {order.status.label}",
                 f"Order date: {order.created_at:%Y-%m-%d %H:%M} UTC"]
        return ReportMeta(kind="order", title=f"Order #{order_id}", scope=scope,
                          currency=currency, total_rows=total)
    p = job.params
    scope = [f"Completed orders from {p['date_from']} to {p['date_to']} (UTC dates)"]
    scope.append(f"Customer: {p['customer']}" if p.get("customer") else "All customers")
    return ReportMeta(kind="summary", title="Completed orders", scope=scope,
                      currency=currency, total_rows=total)


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
        minutes = round(current_app.config["CELERY"]["task_soft_time_limit"] / 60)
        return f"Took longer than {minutes} minutes and was stopped."
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


def run_job(job_id: int, generators: dict | None = None) -> str:
    if not claim(job_id):
        log.info("report job %s is not PENDING (gone, or already taken); nothing to do", job_id)
        return "skipped"
    job = db.session.get(ReportJob, job_id)
    if job is None:  # deleted between claim and load
        return "deleted"
    started = time.monotonic()
    folder = Path(current_app.config["REPORTS_DIR"])
    token = secrets.token_hex(8)
    ext = job.format.value
    final = folder / f"{job_id}-{token}.{ext}"
    tmp = folder / f".{job_id}-{token}.{ext}.tmp"
    try:
        total = count_rows(db.engine, job)
        meta = _meta(job, total)
        db.session.rollback()  # end the read transaction; the rest streams on its own connection
        _set_progress(job_id, 0, total)
        last = [time.monotonic()]

        def progress(done: int) -> None:
            now = time.monotonic()
            if now - last[0] >= PROGRESS_INTERVAL:
                last[0] = now
                _set_progress(job_id, done)

        generate = (generators or GENERATORS)[job.format]
        folder.mkdir(parents=True, exist_ok=True)
        written = generate(stream_rows(db.engine, job), meta, tmp, progress=progress)
        os.replace(tmp, final)
        size = final.stat().st_size
        with db.engine.begin() as conn:
            done = _transition(
                conn, job_id, JobStatus.PROCESSING, "completed",
                f"{written} rows, {size} bytes in {time.monotonic() - started:.2f} s",
                status=JobStatus.COMPLETED.value, finished_at=utcnow(), file_name=final.name,
                size=size, rows_done=written, rows_total=written)
        if not done:  # deleted (or taken over) while we worked: our file belongs to nobody
            _remove_quietly(final)
            return "orphaned"
        log.info("report job %s completed: %s rows, %s bytes", job_id, written, size)
        return "completed"
    except BaseException as exc:
        _remove_quietly(tmp)
        reason = reason_for(exc)
        log.exception("report job %s failed: %s", job_id, reason)
        db.session.rollback()
        with db.engine.begin() as conn:
            _transition(conn, job_id, JobStatus.PROCESSING, "failed", reason,
                        status=JobStatus.FAILED.value, finished_at=utcnow(), error=reason)
        if not isinstance(exc, Exception):
            raise  # KeyboardInterrupt / SystemExit keep their meaning
        return "failed"
