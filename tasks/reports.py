"""The report task: the pipeline from a job id to a file.

    claim ─► count rows ─► stream rows ─► generator writes .tmp ─► rename ─► complete
                                                     └─(any failure)─► fail / hand back

Every change of the job's status is made by webapp/reports/lifecycle.py
(conditional UPDATEs, the lease, the words a user reads); this module only
decides what to write and where."""
from __future__ import annotations

import datetime as dt
import importlib
import logging
import secrets
import sqlite3
import threading
import time
from decimal import Decimal
from pathlib import Path

import sqlalchemy as sa
from celery import shared_task
from flask import current_app

from tasks.generators import ReportMeta
from tasks.generators.audit_csv import write_audit_csv
from tasks.generators.document import DocumentLine, OrderDocument, Party
from tasks.pg_copy import copy_csv
from tasks.rows import count_rows, stream_audit_rows, stream_rows
from webapp.customers.countries import country_name
from webapp.delivery.services import dispatch_job
from webapp.errors import ORDER_DELETED
from webapp.extensions import db
from webapp.models import Order, ReportFormat, ReportJob, ReportKind, User, Workspace
from webapp.orders.money import normalise_rate
from webapp.reports import lifecycle
from webapp.reports.lifecycle import ReportDataError
from webapp.reports.overview import compute as compute_overview
from webapp.reports.params import params_of, summary_span_error
from webapp.storage import create_scratch_file, storage
from webapp.timezones import zone_of

log = logging.getLogger(__name__)

# "module:function", imported on first use: fpdf2 alone is ~40 MB resident, so
# a worker process that only ever writes CSV never loads it (tests put plain
# functions here)
GENERATORS = {ReportFormat.CSV: "tasks.generators.csv_report:write_csv",
              ReportFormat.PDF: "tasks.generators.pdf:write_pdf",
              ReportFormat.XLSX: "tasks.generators.xlsx_report:write_xlsx"}


def generator_for(fmt: ReportFormat):
    found = GENERATORS[fmt]
    if callable(found):
        return found
    module, _, name = found.partition(":")
    return getattr(importlib.import_module(module), name)
PROGRESS_INTERVAL = 0.5  # seconds between progress writes, at most


class JobAborted(Exception):
    """The job was cancelled, deleted or taken over while this process ran it."""


def _meta(job: ReportJob) -> ReportMeta:
    params = params_of(job)
    scope = params.describe()
    # times in the zone of who asked (the workspace's default once they left)
    asker = db.session.get(User, job.created_by_id) if job.created_by_id else None
    workspace = db.session.get(Workspace, job.workspace_id)
    zone = zone_of(asker) if asker else workspace.default_timezone
    currency = workspace.currency
    overview = document = None
    if job.kind is ReportKind.ORDER:
        # scoped like the rows: an order id that now names someone else's order
        # (or none) means the owner's order is gone
        order = db.session.scalar(sa.select(Order).where(*params.where(job.workspace_id)))
        if order is None:
            raise ReportDataError(ORDER_DELETED)
        scope = [f"Number: {order.number}", f"Customer: {order.customer}",
                 f"Status: {order.status.label}", f"Order date: {order.order_date:%Y-%m-%d}"]
        if job.format is ReportFormat.PDF:
            document = order_document(order, workspace, zone)
    elif job.kind is ReportKind.AUDIT:
        zone = params.timezone  # the days its filter picked
    elif job.kind is ReportKind.SUMMARY:
        # a summary's days are those of the zone it was asked in
        zone = params.timezone
        too_long = summary_span_error(params.date_from, params.date_to)
        if too_long:  # stored before the rule, or retried from such a job
            raise ReportDataError(too_long)
        if job.format is not ReportFormat.CSV:  # CSV is data, not a document
            overview = compute_overview(job.workspace_id, params, currency)
    title = f"Order {order.number}" if job.kind is ReportKind.ORDER else params.title()
    return ReportMeta(kind=job.kind.value, title=title, scope=scope, currency=currency,
                      timezone=zone, overview=overview, document=document,
                      csv_excel=bool(asker and asker.csv_excel),
                      decimal_comma=bool(asker and asker.csv_excel and asker.csv_decimal_comma))


def order_document(order: Order, workspace: Workspace, zone: str) -> OrderDocument:
    """What the order's PDF carries: the workspace as seller, the customer
    record as buyer (as they are now: a file made before keeps what it printed)."""
    buyer = order.customer_record
    seller_lines = tuple(line.strip() for line in (workspace.address or "").splitlines()
                         if line.strip())
    buyer_lines = [line.strip() for line in (buyer.address or "").splitlines() if line.strip()]
    place = " ".join(part for part in (buyer.postcode, buyer.city) if part)
    buyer_lines += [place] if place else []
    buyer_lines += [country_name(buyer.country)] if buyer.country else []
    shipping = None
    if order.shipping_net or order.shipping_tax:
        shipping = DocumentLine("Shipping", 1, order.shipping, Decimal(0), Decimal(0),
                                normalise_rate(order.shipping_tax_rate), order.shipping_net,
                                order.shipping_tax, order.shipping_gross)
    return OrderDocument(
        title=workspace.document_title, number=order.number, order_date=order.order_date,
        status=order.status.label,
        seller=Party(workspace.legal_name or workspace.name, seller_lines, workspace.tax_id),
        buyer=Party(buyer.name, tuple(buyer_lines), buyer.tax_id, buyer.email),
        currency=workspace.currency, timezone=zone, generated_at=dt.datetime.now(dt.UTC),
        external_ref=order.external_ref, notes=order.notes, logo=workspace.logo,
        shipping=shipping, prices_include_tax=order.prices_include_tax)


def _remove_quietly(path: Path) -> None:
    # Cleanup must never hide the original failure (the folder may be the problem).
    try:
        path.unlink(missing_ok=True)
    except OSError as exc:
        log.warning("could not remove %s: %s", path, exc)


def _forget(store, key: str) -> None:
    # like _remove_quietly: cleanup must never hide the original outcome
    try:
        store.delete(key)
    except Exception as exc:  # a store that went away: the sweeper cannot know the key
        log.warning("could not remove %s from the report store: %s", key, exc)


def write_report(job: ReportJob, meta: ReportMeta, path: Path, total: int, progress) -> int:
    """Write the job's file to `path`; returns the rows written. CSV on
    PostgreSQL comes straight from COPY (about 3x faster), unless a cell holds
    a line break (copy_csv says so by returning None): then, and for
    everything else, the generator of the format writes it."""
    if job.kind is ReportKind.AUDIT:
        return write_audit_csv(stream_audit_rows(db.engine, job), meta, path, progress=progress)
    if job.format is ReportFormat.CSV and db.engine.dialect.name == "postgresql":
        written = copy_csv(db.engine, job, meta, path, total, progress)
        if written is not None:
            return written
    return generator_for(job.format)(stream_rows(db.engine, job), meta, path,
                                     progress=progress)


def run_job(job_id: int) -> str:
    """Run the job for one broker message (the first, or one sent again); returns
    what happened, for logs and tests."""
    # before any connection is checked out, so that each one is known
    interrupt = _interrupter(db.engine, threading.get_ident())
    outcome = lifecycle.claim(job_id)
    folder = Path(current_app.config["REPORTS_DIR"])
    if outcome in ("claimed", "failed"):
        # the job is this process's now (or over): a scratch file of an
        # earlier attempt here was left by a process that died mid-write
        _remove_scratch_of(folder, job_id)
    if outcome != "claimed":
        log.info("report job %s: %s (not PENDING, or running elsewhere)", job_id, outcome)
        return outcome
    job = db.session.get(ReportJob, job_id)
    if job is None:  # deleted between claim and load
        return "deleted"
    app = current_app._get_current_object()
    started = time.monotonic()
    token = secrets.token_hex(8)
    ext = job.format.value
    final = folder / f"{job_id}-{token}.{ext}"
    tmp = folder / f".{job_id}-{token}.{ext}.tmp"
    lease = lifecycle.Lease(app, job_id, max(0.2, app.config["REPORT_LEASE_SECONDS"] / 6),
                            on_lost=interrupt)
    store = storage()
    stored = False
    lease.start()
    try:
        meta = _meta(job)
        if lease.lost:
            raise JobAborted
        total = count_rows(db.engine, job)
        pdf_limit = app.config["REPORT_PDF_MAX_ROWS"]
        if job.format is ReportFormat.PDF and total > pdf_limit:
            # the count stays on the failed job: it tells that a retry would
            # fail the same way (lifecycle.pdf_over_cap), so none is offered
            lifecycle.touch(job_id, rows_total=total)
            raise ReportDataError(lifecycle.pdf_too_long_reason(params_of(job), total, pdf_limit))
        db.session.rollback()  # end the read transaction; the rest streams on its own connection
        if not lifecycle.touch(job_id, rows_total=total):
            raise JobAborted
        last = [time.monotonic()]
        marks = [25, 50, 75]  # quarter marks go into the job's history

        def progress(done: int) -> None:
            if lease.lost:
                raise JobAborted
            now = time.monotonic()
            if now - last[0] >= PROGRESS_INTERVAL:
                last[0] = now
                if not lifecycle.touch(job_id, rows_done=done):
                    raise JobAborted
                percent = done * 100 // total if total else 100
                if marks and percent >= marks[0]:
                    while marks and percent >= marks[0]:
                        marks.pop(0)
                    lifecycle.note_progress(job_id, f"{percent}% ({done:,} of {total:,} rows)")

        folder.mkdir(parents=True, exist_ok=True)
        create_scratch_file(tmp)  # private from the first byte; the generator fills it
        written = write_report(job, meta, tmp, total, progress)
        if lease.lost:
            raise JobAborted
        size = tmp.stat().st_size
        store.put(tmp, final.name)  # in place only once complete (renamed or uploaded)
        stored = True
        if not lifecycle.complete(
                job_id, file_name=final.name, size=size, rows=written,
                detail=f"{written} rows, {size} bytes in {time.monotonic() - started:.2f} s"):
            _forget(store, final.name)  # cancelled, deleted or taken over at the last moment
            return "aborted"
        log.info("report job %s completed: %s rows, %s bytes", job_id, written, size)
        return "completed"
    except JobAborted:
        _remove_quietly(tmp)
        if stored:
            _forget(store, final.name)
        log.info("report job %s stopped: cancelled, deleted or taken over", job_id)
        return "aborted"
    except BaseException as exc:
        lease.stop()  # the outcome below is written without being interrupted
        # the file is in place only once the job says COMPLETED; if that last
        # write failed (the database went away), the next attempt makes a new one
        _remove_quietly(tmp)
        if stored:
            _forget(store, final.name)
        db.session.rollback()
        if lease.lost and isinstance(exc, Exception):
            # the lease saw the job end elsewhere and interrupted its statement
            log.info("report job %s stopped: cancelled, deleted or taken over (%s)",
                     job_id, type(exc).__name__)
            return "aborted"
        if not isinstance(exc, Exception):
            # SystemExit / KeyboardInterrupt: the process is being stopped (a hard
            # time limit, a cold shutdown). Leave the job PROCESSING: the sweeper
            # sees its owner gone and decides (time limit, or another attempt).
            log.warning("report job %s interrupted by %s", job_id, type(exc).__name__)
            raise
        if lifecycle.is_transient(exc):
            return _retry_later(job_id, exc)
        reason = lifecycle.reason_for(exc)
        if isinstance(exc, ReportDataError):  # expected: the reason says it all
            log.warning("report job %s failed: %s", job_id, reason)
        else:
            log.exception("report job %s failed: %s", job_id, reason)
        lifecycle.fail(job_id, reason)
        return "failed"
    finally:
        lease.stop()


def _remove_scratch_of(folder: Path, job_id: int) -> None:
    for leftover in folder.glob(f".{job_id}-*.tmp"):
        _remove_quietly(leftover)


# --- interrupting the job's statement ----------------------------------------------
# The connections each thread has checked out of the pool, so that the lease
# thread can stop whatever statement the job's thread waits for (an aggregate
# of the overview, the count, COPY, a fetch of rows) once the job is cancelled.
_checked_out: dict[object, tuple[int, object]] = {}  # pool record -> (thread, DB-API conn)
_checked_out_lock = threading.Lock()


def _on_checkout(dbapi_connection, record, proxy) -> None:
    with _checked_out_lock:
        _checked_out[record] = (threading.get_ident(), dbapi_connection)


def _on_checkin(dbapi_connection, record) -> None:
    with _checked_out_lock:
        _checked_out.pop(record, None)


def _interrupter(engine, thread: int):
    """A function that interrupts every statement running on the connections
    `thread` has checked out: PostgreSQL gets a cancel request (the statement
    fails with QueryCanceled), SQLite's interrupt() stops it at its next step.
    A connection with nothing running is left as it is."""
    if not sa.event.contains(engine, "checkout", _on_checkout):
        sa.event.listen(engine, "checkout", _on_checkout)
        sa.event.listen(engine, "checkin", _on_checkin)

    def interrupt() -> None:
        with _checked_out_lock:
            connections = [conn for owner, conn in _checked_out.values() if owner == thread]
        for conn in connections:
            driver = getattr(conn, "driver_connection", conn)
            if isinstance(driver, sqlite3.Connection):
                driver.interrupt()
            else:  # psycopg: safe from another thread, bounded in time
                driver.cancel_safe(timeout=2)
    return interrupt


class RetryLater(Exception):
    def __init__(self, countdown: float):
        super().__init__(countdown)
        self.countdown = countdown


def _retry_later(job_id: int, exc: Exception) -> str:
    """Hand the job back as PENDING for another attempt; the task schedules
    it. If even that write fails, the lease runs out and the sweeper re-queues it."""
    try:
        attempts = lifecycle.hand_back(job_id, exc)
    except sa.exc.SQLAlchemyError:
        log.warning("could not hand job %s back; the sweeper will", job_id, exc_info=True)
        attempts = 1
    if attempts is None:
        return "failed"
    raise RetryLater(min(60.0, 2.0 ** attempts))


def _deliver(job_id: int, outcome: str) -> None:
    """A job that ended now: its deliveries (e-mail, webhook, notice) go out
    at once (the beat's tick would find them too, a little later)."""
    if outcome in ("completed", "failed"):
        try:
            dispatch_job(job_id)
        except Exception:  # the database went away: the tick publishes them later
            log.warning("could not publish the deliveries of job %s", job_id, exc_info=True)


@shared_task(name=lifecycle.TASK_NAME, bind=True, ignore_result=True)
def generate_report(self, job_id: int) -> str:
    try:
        outcome = run_job(job_id)
        _deliver(job_id, outcome)
        return outcome
    except RetryLater as later:
        raise self.retry(countdown=later.countdown, max_retries=None) from None
    except sa.exc.SQLAlchemyError as exc:
        if not lifecycle.is_transient(exc):
            raise
        # the claim itself could not reach the database: the job is still PENDING
        raise self.retry(countdown=2.0, max_retries=10) from exc
