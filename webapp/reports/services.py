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

from .. import audit, quotas
from ..auth.current import Actor, as_actor, visible
from ..customers.services import get_customer, match_one
from ..delivery.services import dispatch_job, new_rows
from ..errors import (
    Conflict,
    CustomerNotFound,
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



def _serialise_requests_of(workspace_id: int) -> None:
    """Lock the workspace's row until this transaction ends (webapp/quotas.py),
    so the open-jobs count below and the insert that follows cannot
    interleave with another request of the same workspace (without it, 30
    simultaneous requests all see 9 open jobs). The transaction's first statement."""
    quotas.lock_owners(db.session.connection(), [workspace_id])


def _check_open_jobs(workspace_id: int) -> None:
    open_jobs = quotas.open_jobs(db.session.connection(), [workspace_id]).get(workspace_id, 0)
    if open_jobs >= quotas.max_open_jobs():
        raise TooManyJobs(f"This workspace already has {open_jobs} reports in progress; wait "
                          "for one to finish or cancel one, then ask again.")


def _dedupe_key(workspace_id: int, fmt: ReportFormat, params: ReportParams) -> str:
    canonical = json.dumps([workspace_id, params.kind.value, fmt.value, params.to_json()],
                           sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _active_job(key: str) -> ReportJob | None:
    return db.session.scalar(
        sa.select(ReportJob).where(ReportJob.dedupe_key == key,
                                   ReportJob.status.in_(ACTIVE_STATUSES)))


def request_report(actor: Actor, params: ReportParams, fmt: ReportFormat, *,
                   retry_of: int | None = None,
                   notify_email: bool = False) -> tuple[ReportJob, bool]:
    """Return (job, created). An equal job still PENDING/PROCESSING is returned
    instead of a new one; the partial unique index makes this hold even for
    requests that arrive at the same instant. notify_email: e-mail the person
    asking when it is ready (or failed), also when the answer is an existing job.

    An order's report is made in the order's workspace (its URL works for
    any member); lists and summaries in the current one."""
    actor = as_actor(actor)
    if params.kind is ReportKind.ORDER:
        order = get_order(actor, params.order_id)  # 404 for an order of no workspace of theirs
        actor = actor.at(order.workspace_id)
    actor.require("report.request")
    if params.kind is ReportKind.AUDIT:
        actor.require("audit.read")
    if fmt not in params.formats():
        only = ", ".join(f.value.upper() for f in params.formats())
        raise InvalidInput(f"{params.title()} reports are made as {only} only.",
                           {"format": [f"Must be {only.lower()}."]})
    if notify_email and not current_app.config["SMTP_URL"]:
        raise InvalidInput(NO_MAIL, {"notify_email": [NO_MAIL]})
    if notify_email and not actor.user.email_verified:
        raise InvalidInput(UNVERIFIED, {"notify_email": [UNVERIFIED]})
    order_id = params.order_id if params.kind is ReportKind.ORDER else None
    workspace_id, person = actor.workspace_id, actor.user
    key = _dedupe_key(workspace_id, fmt, params)
    for _ in range(3):
        _serialise_requests_of(workspace_id)
        existing = _active_job(key)
        if existing is not None:
            if notify_email:
                _email_owner_when_done(person, existing)
            db.session.rollback()  # release the lock
            return existing, False
        try:
            _check_open_jobs(workspace_id)
        except TooManyJobs:
            db.session.rollback()
            raise
        job = lifecycle.new_job(workspace_id, fmt, params, key, order_id=order_id,
                                retry_of=retry_of, created_by=person.id)
        try:
            db.session.flush()  # the job's id (the unique index may refuse it already here)
        except IntegrityError:
            db.session.rollback()
            continue
        audit.record(actor, "report.requested", f"report {job.id}",
                     f"{params.kind.value} {fmt.value}"
                     + (f", retry of report {retry_of}" if retry_of else ""))
        if notify_email:
            _add_owner_email(person, job)
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


def _add_owner_email(owner, job: ReportJob) -> bool:
    """An e-mail delivery to `owner` (the person asking, a User) for `job`,
    unless it has one already."""
    have = db.session.scalar(sa.select(Delivery.id).where(
        Delivery.job_id == job.id, Delivery.channel == "email",
        Delivery.target == owner.email, Delivery.run_id.is_(None)))
    if have:
        return False
    for row in new_rows(job.id, None, owner.id, [owner.email], None, notice=False,
                        now=utcnow()):
        db.session.add(Delivery(**row))
    return True


def _email_owner_when_done(owner, job: ReportJob) -> None:
    """For a job that already exists: add the e-mail in its own commit; a
    job that ended meanwhile gets it sent at once."""
    if _add_owner_email(owner, job):
        db.session.commit()
        db.session.refresh(job)
        if job.is_final:
            dispatch_job(job.id)


def request_order_report(actor: Actor, order_id: int, fmt: ReportFormat, *,
                         notify_email: bool = False) -> tuple[ReportJob, bool]:
    actor = as_actor(actor)
    return request_report(actor, ReportParams.order(order_id), fmt, notify_email=notify_email)


def request_summary_report(actor: Actor, date_from: dt.date, date_to: dt.date,
                           customer: int | str | None, fmt: ReportFormat, *,
                           notify_email: bool = False) -> tuple[ReportJob, bool]:
    """Completed orders of the workspace dated in the range. `customer`: a
    customer record's id, or a name meaning one record (matched as the
    customers search matches; InvalidInput naming close matches when it
    means none, so a filter never silently selects nothing)."""
    actor = as_actor(actor)
    record = _customer_filter(actor, customer)
    params = ReportParams.summary(date_from, date_to, record.name if record else None,
                                  timezone=zone_of(actor.user),
                                  customer_id=record.id if record else None)
    return request_report(actor, params, fmt, notify_email=notify_email)


def _customer_filter(actor: Actor, customer: int | str | None):
    if customer is None or (isinstance(customer, str) and not customer.strip()):
        return None
    if isinstance(customer, int):
        try:
            return get_customer(actor, customer)
        except CustomerNotFound:
            message = f"Customer {customer} does not exist."
            raise InvalidInput(message, {"customer": [message]}) from None
    return match_one(actor, customer)


def request_audit_export(actor: Actor, *, action: str | None = None,
                         person: str | None = None, date_from: dt.date | None = None,
                         date_to: dt.date | None = None,
                         notify_email: bool = False) -> tuple[ReportJob, bool]:
    """The audit trail as CSV, with the audit page's filters (the asker's days)."""
    actor = as_actor(actor)
    params = ReportParams.audit(action=action, person=person, date_from=date_from,
                                date_to=date_to, timezone=zone_of(actor.user))
    return request_report(actor, params, ReportFormat.CSV, notify_email=notify_email)


def _shown_to(actor: Actor, job: ReportJob | None) -> bool:
    """Whether `actor` sees `job`: a member of its workspace, and for an
    export of the audit trail one who may read that trail (owners, admins)."""
    if job is None or job.deleted_at is not None:
        return False
    here = actor.at(job.workspace_id)
    return here is not None and (job.kind is not ReportKind.AUDIT or here.may("audit.read"))


def get_job(actor: Actor, job_id: int) -> ReportJob:
    actor = as_actor(actor)
    job = db.session.get(ReportJob, job_id) if 0 < job_id <= MAX_ID else None
    if not _shown_to(actor, job):
        raise JobNotFound(job_id)
    return job


def _job_to_change(actor: Actor, job_id: int, action: str) -> tuple[ReportJob, Actor]:
    job = get_job(actor, job_id)
    here = actor.at(job.workspace_id)
    here.require(action)
    return job, here


# Built once, not per call: every open page asks this every few seconds, and
# building and keying a statement costs about as much as running it (bench/README.md).
_JOBS_BY_IDS = (sa.select(ReportJob)
                .where(ReportJob.id.in_(sa.bindparam("ids", expanding=True)),
                       ReportJob.deleted_at.is_(None))
                .order_by(ReportJob.id))
_OWN_JOBS_BY_IDS = _JOBS_BY_IDS.where(ReportJob.workspace_id == sa.bindparam("workspace_id"))


def jobs_by_ids(actor: Actor, job_ids, workspace_id: int | None = None) -> list[ReportJob]:
    """The jobs among `job_ids` of one workspace (the current one, or the
    page's own `workspace_id` if the actor is a member there) that are not
    deleted, in one query (a page's status poll). Ids of other workspaces'
    jobs, deleted or unknown ones are simply left out: the answer is the
    same for each."""
    actor = as_actor(actor)
    ids = sorted({i for i in job_ids if 0 < i <= MAX_ID})
    here = actor.at(workspace_id) if workspace_id is not None else actor
    if not ids or here is None:
        return []
    found = db.session.scalars(_OWN_JOBS_BY_IDS,
                               {"ids": ids, "workspace_id": here.workspace_id})
    return [job for job in found if job.kind is not ReportKind.AUDIT or here.may("audit.read")]


def list_jobs(actor: Actor, *, page: int = 1, per_page: int = 20,
              order_id: int | None = None) -> Page:
    actor = as_actor(actor)
    query = visible(sa.select(ReportJob), ReportJob, actor).where(
        ReportJob.deleted_at.is_(None))
    if order_id is not None:
        query = query.where(ReportJob.order_id == order_id)
    if not actor.may("audit.read"):  # the trail's exports are for those who may read it
        query = query.where(ReportJob.kind != ReportKind.AUDIT)
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


def get_download(actor: Actor, job_id: int) -> Download:
    actor = as_actor(actor)
    job = get_job(actor, job_id)
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
    audit.record(actor.at(job.workspace_id), "report.downloaded", f"report {job.id}")
    db.session.commit()
    return Download(key=job.file_name, name=download_name(job), mimetype=job.format.mimetype)


def cancel_job(actor: Actor, job_id: int) -> ReportJob:
    """PENDING or PROCESSING → CANCELLED. A running worker notices at its next
    progress write (within about a second) and removes its partial file."""
    actor = as_actor(actor)
    job, here = _job_to_change(actor, job_id, "report.cancel")
    cancelled = lifecycle.cancel(db.session.connection(), job.id)
    if cancelled:
        audit.record(here, "report.cancelled", f"report {job.id}")
    db.session.commit()
    db.session.refresh(job)
    if not cancelled:
        raise Conflict(f"Report {job.id} is already {job.status.value}; nothing to cancel.")
    return job


def retry_refusal(job: ReportJob) -> str | None:
    """Why a failed or cancelled job cannot be generated again as it was, or
    None: the pages offer Retry only where it can succeed."""
    # The order must still exist and still be this user's: the old job only
    # remembers an id. (request_report checks it again, as any request does.)
    if job.kind is ReportKind.ORDER and job.order_id != params_of(job).order_id:
        return f"Report {job.id} cannot be generated again: its order was deleted."
    if lifecycle.pdf_over_cap(job):
        return (f"Report {job.id} would fail the same way: it has {job.rows_total:,} line "
                f"items and a PDF holds at most "
                f"{current_app.config['REPORT_PDF_MAX_ROWS']:,}. Ask for the CSV instead.")
    return None


def retry_job(actor: Actor, job_id: int) -> tuple[ReportJob, bool]:
    """A new attempt with the same parameters, for a FAILED or CANCELLED job."""
    actor = as_actor(actor)
    job, here = _job_to_change(actor, job_id, "report.request")
    if job.status not in RETRYABLE_STATUSES:
        raise Conflict(f"Only failed or cancelled reports can be retried; report {job.id} "
                       f"is {job.status.value}.")
    params = params_of(job)
    why_not = retry_refusal(job)
    if why_not:
        raise Conflict(why_not)
    try:
        new, created = request_report(here, params, job.format, retry_of=job.id)
    except OrderNotFound:
        raise Conflict(f"Report {job.id} cannot be generated again: "
                       "its order was deleted.") from None
    lifecycle.record_event(db.session.connection(), job.id, "retried", f"as report #{new.id}")
    db.session.commit()
    return new, created


def delete_job(actor: Actor, job_id: int) -> None:
    """Hide the job and remove its file; its history stays in the database.
    An active job is cancelled first, so its worker stops and cleans up."""
    actor = as_actor(actor)
    job, here = _job_to_change(actor, job_id, "report.delete")
    file_name = job.file_name
    lifecycle.delete(db.session.connection(), job.id)
    audit.record(here, "report.deleted", f"report {job.id}")
    db.session.commit()
    # After the commit: a failed unlink leaves an orphan file, never a job
    # that points at nothing.
    if file_name:
        storage().delete(file_name)
