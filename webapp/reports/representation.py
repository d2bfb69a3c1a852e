"""A report job as JSON: what GET /api/reports/<id> answers and what a
webhook carries as its `report`. One shape for both (webapp/api/schemas.py
declares it); links are paths, made absolute by whoever needs them so."""
from __future__ import annotations

from flask import url_for

from ..api.schemas import JobEventOut, JobOut
from ..models import JobStatus, ReportJob
from .params import download_name, params_of


def _event_out(event, admin: bool) -> JobEventOut:
    if admin:  # which host and process ran it: operators only
        return JobEventOut(at=event.at, event=event.event, detail=event.detail,
                           worker=event.worker)
    return JobEventOut(at=event.at, event=event.event, detail=event.detail)


def job_out(job: ReportJob, *, admin: bool) -> JobOut:
    done = job.status is JobStatus.COMPLETED
    return JobOut(
        id=job.id, kind=job.kind, format=job.format, params=params_of(job).to_json(),
        status=job.status,
        progress=job.progress, rows_done=job.rows_done, rows_total=job.rows_total,
        error=job.error, created_at=job.created_at, started_at=job.started_at,
        finished_at=job.finished_at, size=job.size, attempts=job.attempts,
        max_attempts=job.max_attempts, expires_at=job.expires_at, retry_of=job.retry_of_id,
        events=[_event_out(e, admin) for e in job.events],
        file_name=download_name(job) if done else None,
        status_url=url_for("api.get_report", job_id=job.id),
        download_url=url_for("api.download_report", job_id=job.id) if done else None)
