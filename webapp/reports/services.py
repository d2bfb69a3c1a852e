"""Report jobs as a user sees them: request (with dedupe and the open-jobs
cap), look up, list, download, cancel, retry, delete.

A request only records a job and enqueues its id after the commit; the
worker (tasks/reports.py) does the rest. Every status change goes through
lifecycle.py; what a report covers is a ReportParams (params.py)."""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.exc import IntegrityError

from .. import quotas
from ..auth.current import may_see, visible
from ..delivery.services import dispatch_job, new_rows
from ..errors import (
    Conflict,
    InvalidInput,
    JobNotFound,
    OrderNotFound,
    ReportGone,
    ReportNotReady,
    TooManyJobs,
)
from ..extensions import db
from ..models import (
    ACTIVE_STATUSES,
    MAX_ID,
    RETRYABLE_STATUSES,
    Delivery,
    JobStatus,
    ReportFormat,
    ReportJob,
    ReportKind,
    User,
    utcnow,
)
from ..orders.services import get_order
from ..pagination import Page
from ..storage import storage
from ..timezones import zone_of
from . import lifecycle
from .lifecycle import enqueue
from .params import ReportParams, download_name, params_of

log = logging.getLogger(__name__)



def _serialise_requests_of(owner: User) -> None:
    """Lock the owner's row until this transaction ends (webapp/quotas.py), so
    the open-jobs count below and the insert that follows cannot interleave
    with another request of the same user (without it, 30 simultaneous
    requests all see 9 open jobs). The transaction's first statement."""
    quotas.lock_owners(db.session.connection(), [owner.id])


def _check_open_jobs(owner: User) -> None:
    open_jobs = quotas.open_jobs(db.session.connection(), [owner.id]).get(owner.id, 0)
    if open_jobs >= quotas.max_open_jobs():
        raise TooManyJobs(f"You already have {open_jobs} reports in progress; wait for one to "
                          "finish or cancel one, then ask again.")


def _dedupe_key(owner_id: int, fmt: ReportFormat, params: ReportParams) -> str:
    canonical = json.dumps([owner_id, params.kind.value, fmt.value, params.to_json()],
                           sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _active_job(key: str) -> ReportJob | None:
    return db.session.scalar(
        sa.select(ReportJob).where(ReportJob.dedupe_key == key,
                                   ReportJob.status.in_(ACTIVE_STATUSES)))


def request_report(owner: User, params: ReportParams, fmt: ReportFormat, *,
                   retry_of: int | None = None,
                   notify_email: bool = False) -> tuple[ReportJob, bool]:
    """Return (job, created). An equal job still PENDING/PROCESSING is returned
    instead of a new one; the partial unique index makes this hold even for
    requests that arrive at the same instant. notify_email: e-mail the owner
    when it is ready (or failed), also when the answer is an existing job."""
    if notify_email and not current_app.config["SMTP_URL"]:
        raise InvalidInput(NO_MAIL, {"notify_email": [NO_MAIL]})
    if notify_email and not owner.email_verified:
        raise InvalidInput(UNVERIFIED, {"notify_email": [UNVERIFIED]})
    params = params.scoped_for(owner)
    order_id = None
    if params.kind is ReportKind.ORDER:
        order_id = get_order(owner, params.order_id).id  # 404 for another user's order
    key = _dedupe_key(owner.id, fmt, params)
    for _ in range(3):
        _serialise_requests_of(owner)
        existing = _active_job(key)
        if existing is not None:
            if notify_email:
                _email_owner_when_done(owner, existing)
            db.session.rollback()  # release the lock
            return existing, False
        try:
            _check_open_jobs(owner)
        except TooManyJobs:
            db.session.rollback()
            raise
        job = lifecycle.new_job(owner.id, fmt, params, key, order_id=order_id,
                                retry_of=retry_of)
        if notify_email:
            db.session.flush()  # the job's id
            _add_owner_email(owner, job)
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


UNVERIFIED = ("Your e-mail address is not verified yet, so nothing can be sent to it: "
              "verify it on your account page (we e-mail you a link), then ask again.")
NO_MAIL = ("E-mail is not set up on this server (SMTP_URL is not set), so it cannot "
           "e-mail you; the report still shows here when it is ready.")


def _add_owner_email(owner: User, job: ReportJob) -> bool:
    """An e-mail delivery to the owner for `job`, unless it has one already."""
    have = db.session.scalar(sa.select(Delivery.id).where(
        Delivery.job_id == job.id, Delivery.channel == "email",
        Delivery.target == owner.email, Delivery.run_id.is_(None)))
    if have:
        return False
    for row in new_rows(job.id, None, owner.id, [owner.email], None, notice=False,
                        now=utcnow()):
        db.session.add(Delivery(**row))
    return True


def _email_owner_when_done(owner: User, job: ReportJob) -> None:
    """For a job that already exists: add the e-mail in its own commit; a
    job that ended meanwhile gets it sent at once."""
    if _add_owner_email(owner, job):
        db.session.commit()
        db.session.refresh(job)
        if job.is_final:
            dispatch_job(job.id)


def request_order_report(owner: User, order_id: int, fmt: ReportFormat, *,
                         notify_email: bool = False) -> tuple[ReportJob, bool]:
    return request_report(owner, ReportParams.order(order_id), fmt, notify_email=notify_email)


def request_summary_report(owner: User, date_from: dt.date, date_to: dt.date,
                           customer: str | None, fmt: ReportFormat, *,
                           notify_email: bool = False) -> tuple[ReportJob, bool]:
    """Completed orders in the date range (the owner's days, in the owner's
    zone); an admin's summary covers every user's orders."""
    return request_report(owner, ReportParams.summary(date_from, date_to, customer,
                                                      timezone=zone_of(owner)), fmt,
                          notify_email=notify_email)


def get_job(owner: User, job_id: int) -> ReportJob:
    job = db.session.get(ReportJob, job_id) if 0 < job_id <= MAX_ID else None
    if not may_see(owner, job) or job.deleted_at is not None:
        raise JobNotFound(job_id)
    return job


# Built once, not per call: every open page asks this every few seconds, and
# building and keying a statement costs about as much as running it (bench/README.md).
_JOBS_BY_IDS = (sa.select(ReportJob)
                .where(ReportJob.id.in_(sa.bindparam("ids", expanding=True)),
                       ReportJob.deleted_at.is_(None))
                .order_by(ReportJob.id))
_OWN_JOBS_BY_IDS = _JOBS_BY_IDS.where(ReportJob.owner_id == sa.bindparam("owner_id"))


def jobs_by_ids(owner: User, job_ids) -> list[ReportJob]:
    """The jobs among `job_ids` that `owner` may see and that are not deleted,
    in one query (a page's status poll). Ids of other users' jobs, deleted or
    unknown ones are simply left out: the answer is the same for each."""
    ids = sorted({i for i in job_ids if 0 < i <= MAX_ID})
    if not ids:
        return []
    if owner.is_admin:  # as visible(): an admin sees every user's jobs
        return list(db.session.scalars(_JOBS_BY_IDS, {"ids": ids}))
    return list(db.session.scalars(_OWN_JOBS_BY_IDS, {"ids": ids, "owner_id": owner.id}))


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


@dataclass(frozen=True)
class Download:
    key: str  # the file's name in the report store (webapp/storage.py)
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
    if not storage().exists(job.file_name):
        raise ReportGone(f"The file of report {job.id} is no longer on the server.")
    lifecycle.record_event(db.session.connection(), job.id, "downloaded")
    db.session.commit()
    return Download(key=job.file_name, name=download_name(job), mimetype=job.format.mimetype)


def cancel_job(owner: User, job_id: int) -> ReportJob:
    """PENDING or PROCESSING → CANCELLED. A running worker notices at its next
    progress write (within about a second) and removes its partial file."""
    job = get_job(owner, job_id)
    cancelled = lifecycle.cancel(db.session.connection(), job.id)
    db.session.commit()
    db.session.refresh(job)
    if not cancelled:
        raise Conflict(f"Report {job.id} is already {job.status.value}; nothing to cancel.")
    return job


def retry_job(owner: User, job_id: int) -> tuple[ReportJob, bool]:
    """A new attempt with the same parameters, for a FAILED or CANCELLED job."""
    job = get_job(owner, job_id)
    if job.status not in RETRYABLE_STATUSES:
        raise Conflict(f"Only failed or cancelled reports can be retried; report {job.id} "
                       f"is {job.status.value}.")
    params = params_of(job)
    # The order must still exist and still be this user's: the old job only
    # remembers an id. (request_report checks it again, as any request does.)
    if params.kind is ReportKind.ORDER and job.order_id != params.order_id:
        raise Conflict(f"Report {job.id} cannot be generated again: its order was deleted.")
    try:
        new, created = request_report(owner, params, job.format, retry_of=job.id)
    except OrderNotFound:
        raise Conflict(f"Report {job.id} cannot be generated again: "
                       "its order was deleted.") from None
    lifecycle.record_event(db.session.connection(), job.id, "retried", f"as report #{new.id}")
    db.session.commit()
    return new, created


def delete_job(owner: User, job_id: int) -> None:
    """Hide the job and remove its file; its history stays in the database.
    An active job is cancelled first, so its worker stops and cleans up."""
    job = get_job(owner, job_id)
    file_name = job.file_name
    lifecycle.delete(db.session.connection(), job.id)
    db.session.commit()
    # After the commit: a failed unlink leaves an orphan file, never a job
    # that points at nothing.
    if file_name:
        storage().delete(file_name)
