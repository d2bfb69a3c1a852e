"""Report jobs: request (with dedupe), look up, list, download, delete.

A request only records a job and enqueues its id after the commit; the
worker (tasks/reports.py) does the rest."""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.exc import IntegrityError

from ..auth.current import may_see, visible
from ..errors import (
    Conflict,
    DomainError,
    InvalidInput,
    ORDER_DELETED,
    JobNotFound,
    OrderNotFound,
    ReportGone,
    ReportNotReady,
)
from ..extensions import db
from ..models import (
    ACTIVE_STATUSES,
    RETRYABLE_STATUSES,
    JobStatus,
    ReportEvent,
    ReportFormat,
    ReportJob,
    ReportKind,
    User,
    utcnow,
)
from ..orders.services import MAX_ID, Page, get_order

log = logging.getLogger(__name__)

TASK_NAME = "reports.generate"


def _publish(job_id: int) -> None:
    current_app.extensions["celery"].send_task(TASK_NAME, args=[job_id])


def enqueue(job_id: int) -> bool:
    """Hand the job id to the broker. A failure is logged, not raised: the job is
    committed and stays PENDING, and the sweeper sends it again later, so
    nothing the user asked for is lost and the request never hangs. (Whoever
    calls this has stamped the job's enqueued_at, which the sweeper reads.)"""
    try:
        _publish(job_id)
    except Exception as exc:  # any broker/transport error
        log.warning("could not enqueue report job %s (%s); it stays PENDING", job_id, exc)
        return False
    return True


def _serialise_requests_of(owner: User) -> None:
    """Lock the owner's row until this transaction ends, so the open-jobs count
    below and the insert that follows cannot interleave with another request of
    the same user (without it, 30 simultaneous requests all see 9 open jobs).
    It must be the transaction's first write: on SQLite it takes the database's
    write lock (waiting via busy_timeout), on PostgreSQL a row lock."""
    users = User.__table__
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(sa.select(users.c.id).where(users.c.id == owner.id).with_for_update())
    else:
        db.session.execute(sa.update(users).where(users.c.id == owner.id)
                           .values(id=users.c.id))


def _check_open_jobs(owner: User) -> None:
    limit = current_app.config["REPORT_MAX_OPEN_JOBS"]
    open_jobs = db.session.scalar(sa.select(sa.func.count()).select_from(ReportJob).where(
        ReportJob.owner_id == owner.id, ReportJob.status.in_(ACTIVE_STATUSES)))
    if open_jobs >= limit:
        raise TooManyJobs(f"You already have {open_jobs} reports in progress; wait for one to "
                          "finish or cancel one, then ask again.")


def _dedupe_key(owner_id: int, kind: ReportKind, fmt: ReportFormat, params: dict) -> str:
    canonical = json.dumps([owner_id, kind.value, fmt.value, params], sort_keys=True,
                           ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


class TooManyJobs(DomainError):
    status_code = 429


def _active_job(key: str) -> ReportJob | None:
    return db.session.scalar(
        sa.select(ReportJob).where(ReportJob.dedupe_key == key,
                                   ReportJob.status.in_(ACTIVE_STATUSES)))


def _request(owner: User, kind: ReportKind, fmt: ReportFormat, params: dict,
             order_id: int | None = None, retry_of: int | None = None) -> tuple[ReportJob, bool]:
    """Return (job, created). An equal job still PENDING/PROCESSING is returned
    instead of a new one; the partial unique index makes this hold even for
    requests that arrive at the same instant."""
    key = _dedupe_key(owner.id, kind, fmt, params)
    for _ in range(3):
        _serialise_requests_of(owner)
        existing = _active_job(key)
        if existing is not None:
            db.session.rollback()  # release the lock
            return existing, False
        try:
            _check_open_jobs(owner)
        except TooManyJobs:
            db.session.rollback()
            raise
        job = ReportJob(owner_id=owner.id, kind=kind, format=fmt, params=params,
                        order_id=order_id,
                        dedupe_key=key, status=JobStatus.PENDING, retry_of_id=retry_of,
                        max_attempts=current_app.config["REPORT_MAX_ATTEMPTS"],
                        enqueued_at=utcnow())
        job.events.append(ReportEvent(
            event="requested", detail=f"retry of report #{retry_of}" if retry_of else None))
        db.session.add(job)
        try:
            db.session.commit()
        except IntegrityError:
            # Another request inserted the same active job between our check and
            # our insert: take theirs.
            db.session.rollback()
            continue
        enqueue(job.id)
        return job, True
    existing = _active_job(key)
    if existing is None:  # pragma: no cover - would need three races in a row
        raise RuntimeError("could not record the report request")
    return existing, False


def request_order_report(owner: User, order_id: int,
                         fmt: ReportFormat) -> tuple[ReportJob, bool]:
    order = get_order(owner, order_id)
    return _request(owner, ReportKind.ORDER, fmt, {"order_id": order.id}, order_id=order.id)


def request_summary_report(owner: User, date_from: dt.date, date_to: dt.date,
                           customer: str | None, fmt: ReportFormat) -> tuple[ReportJob, bool]:
    """Completed orders in the date range; an admin's summary covers every user's orders."""
    if date_from > date_to:
        raise InvalidInput("The start date is after the end date.",
                           {"date_to": ["Must be on or after the start date."]})
    params = {"date_from": date_from.isoformat(), "date_to": date_to.isoformat(),
              "customer": customer or None}
    return _request(owner, ReportKind.SUMMARY, fmt, _summary_scope(owner, params))


def _summary_scope(owner: User, params: dict) -> dict:
    # Asked for, not granted: the worker re-checks that the owner is still an
    # admin when it runs (tasks/rows.py).
    params = {k: v for k, v in params.items() if k != "all_owners"}
    if owner.is_admin:
        params["all_owners"] = True
    return params


def get_job(owner: User, job_id: int) -> ReportJob:
    job = db.session.get(ReportJob, job_id) if 0 < job_id <= MAX_ID else None
    if not may_see(owner, job) or job.deleted_at is not None:
        raise JobNotFound(job_id)
    return job


def list_jobs(owner: User, *, page: int = 1, per_page: int = 20,
              order_id: int | None = None) -> Page:
    query = visible(sa.select(ReportJob), ReportJob, owner).where(
        ReportJob.deleted_at.is_(None))
    if order_id is not None:
        query = query.where(ReportJob.order_id == order_id)
    total = db.session.scalar(sa.select(sa.func.count()).select_from(query.subquery()))
    jobs = db.session.scalars(
        query.order_by(ReportJob.created_at.desc(), ReportJob.id.desc())
        .limit(per_page).offset((page - 1) * per_page)).all()
    return Page(items=list(jobs), page=page, per_page=per_page, total=total or 0)


def reports_dir() -> Path:
    return Path(current_app.config["REPORTS_DIR"])


def _slug(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:40]


def download_name(job: ReportJob) -> str:
    ext = job.format.value
    if job.kind is ReportKind.ORDER:
        return f"order-{job.params['order_id']}-{job.created_at:%Y%m%d-%H%M}.{ext}"
    customer = _slug(job.params.get("customer") or "")
    who = f"-{customer}" if customer else ""
    return (f"completed-orders{who}-{job.params['date_from']}-to-{job.params['date_to']}"
            f".{ext}")


@dataclass(frozen=True)
class Download:
    path: Path
    name: str
    mimetype: str


def get_download(owner: User, job_id: int) -> Download:
    job = get_job(owner, job_id)
    expired = job.status is JobStatus.EXPIRED or (
        job.status is JobStatus.COMPLETED and job.expires_at and job.expires_at <= utcnow())
    if expired:
        raise ReportGone(f"Report {job.id} has expired and its file was removed; "
                         "generate it again.")
    if job.status is not JobStatus.COMPLETED or not job.file_name:
        raise ReportNotReady(job)
    path = reports_dir() / job.file_name
    if not path.is_file():
        raise ReportGone(f"The file of report {job.id} is no longer on the server.")
    db.session.add(ReportEvent(job_id=job.id, event="downloaded"))
    db.session.commit()
    return Download(path=path, name=download_name(job), mimetype=job.format.mimetype)


def _set_status(job: ReportJob, allowed: tuple[JobStatus, ...], event: str,
                detail: str | None = None, **values) -> bool:
    """Conditional UPDATE from one of `allowed`, with its event; False if the job moved on."""
    table = ReportJob.__table__
    result = db.session.execute(
        sa.update(table).where(table.c.id == job.id,
                               table.c.status.in_([s.value for s in allowed])).values(**values))
    if result.rowcount != 1:
        db.session.rollback()
        return False
    db.session.add(ReportEvent(job_id=job.id, event=event, detail=detail))
    db.session.commit()
    db.session.refresh(job)
    return True


def cancel_job(owner: User, job_id: int) -> ReportJob:
    """PENDING or PROCESSING → CANCELLED. A running worker notices at its next
    progress write (within about a second) and removes its partial file."""
    job = get_job(owner, job_id)
    if not _set_status(job, ACTIVE_STATUSES, "cancelled", status=JobStatus.CANCELLED.value,
                       finished_at=utcnow(), claimed_by=None):
        db.session.refresh(job)
        raise Conflict(f"Report {job.id} is already {job.status.value}; nothing to cancel.")
    return job


def retry_job(owner: User, job_id: int) -> tuple[ReportJob, bool]:
    """A new attempt with the same parameters, for a FAILED or CANCELLED job."""
    job = get_job(owner, job_id)
    if job.status not in RETRYABLE_STATUSES:
        raise Conflict(f"Only failed or cancelled reports can be retried; report {job.id} "
                       f"is {job.status.value}.")
    params = dict(job.params)
    if job.kind is ReportKind.ORDER:
        # The order must still exist and still be this user's: the old job
        # only remembers an id.
        try:
            if job.order_id is None or job.order_id != params.get("order_id"):
                raise OrderNotFound(params.get("order_id"))
            get_order(owner, job.order_id)
        except OrderNotFound:
            raise Conflict(f"Report {job.id} cannot be generated again: "
                           "its order was deleted.") from None
    else:
        params = _summary_scope(owner, params)
    new, created = _request(owner, job.kind, job.format, params,
                            order_id=job.order_id, retry_of=job.id)
    db.session.add(ReportEvent(job_id=job.id, event="retried", detail=f"as report #{new.id}"))
    db.session.commit()
    return new, created


def delete_job(owner: User, job_id: int) -> None:
    """Hide the job and remove its file; its history stays in the database.
    An active job is cancelled first, so its worker stops and cleans up."""
    job = get_job(owner, job_id)
    file_name = job.file_name
    now = utcnow()
    if job.status in ACTIVE_STATUSES:
        _set_status(job, ACTIVE_STATUSES, "cancelled", "deleted while active",
                    status=JobStatus.CANCELLED.value, finished_at=now, claimed_by=None)
    job.deleted_at, job.file_name = now, None
    db.session.add(ReportEvent(job_id=job.id, event="deleted"))
    db.session.commit()
    # After the commit: a failed unlink leaves an orphan file, never a job
    # that points at nothing.
    if file_name:
        (reports_dir() / file_name).unlink(missing_ok=True)


def cancel_open_jobs_of_order(order_id: int) -> int:
    """Within the caller's transaction (the order's deletion): every active
    report of the order ends CANCELLED with the reason, so no worker can later
    run it against whatever the id comes to mean."""
    table = ReportJob.__table__
    now = utcnow()
    ids = db.session.scalars(sa.select(table.c.id).where(
        table.c.order_id == order_id,
        table.c.status.in_([s.value for s in ACTIVE_STATUSES]))).all()
    for job_id in ids:
        result = db.session.execute(
            sa.update(table).where(table.c.id == job_id,
                                   table.c.status.in_([s.value for s in ACTIVE_STATUSES]))
            .values(status=JobStatus.CANCELLED.value, finished_at=now, claimed_by=None,
                    error=ORDER_DELETED))
        if result.rowcount == 1:
            db.session.add(ReportEvent(job_id=job_id, event="cancelled", detail=ORDER_DELETED))
    return len(ids)
