"""What deliveries say: a report's title, the in-app notice of a job that
ended, the report e-mail (a text part and an HTML part from
templates/email/, one layout), the webhook's JSON, and the e-mails that are
not reports (sign-up link, address verification, a recipient's
confirmation request). Built here once; sending lives in services.py."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa
from flask import current_app, render_template, url_for

from ..extensions import db
from ..links import public_url
from ..models import JobStatus, Order, ReportJob, Schedule, ScheduleRun, Workspace
from ..reports.params import ReportParams, download_name, params_of
from ..reports.representation import job_out
from ..timezones import local
from ..words import size_in_words


@dataclass(frozen=True)
class Mail:
    subject: str
    text: str
    html: str | None = None


def render_mail(name: str, subject: str, **context) -> Mail:
    """templates/email/<name>.txt and .html with the same context."""
    context = {"subject": subject, **context}
    return Mail(subject, render_template(f"email/{name}.txt", **context).strip() + "\n",
                render_template(f"email/{name}.html", **context))


def what(kind: str, params: dict, fmt: str) -> str:
    """"Completed orders, 2026-11-01 to 2026-11-30 (PDF)"."""
    return f"{ReportParams.from_json(kind, params).short()} ({fmt.upper()})"


def title(job_id: int, what_: str, schedule_name: str | None) -> str:
    return f"“{schedule_name}”, {what_}" if schedule_name else f"Report #{job_id}, {what_}"


def job_notice(title_: str, status: str, error: str | None) -> tuple[str, str]:
    """(kind, text) of the in-app notice of a job that ended."""
    if status == JobStatus.COMPLETED.value:
        return "ready", f"{title_} is ready to download."
    return "failed", f"{title_} failed: {error or 'no reason given'}"


def delivery_failed(channel: str, target: str, attempts: int, detail: str,
                    title_: str) -> str:
    # the webhook by its schedule, not its URL: a URL may name a host and port
    where = {"email": f"E-mail to {target}", "webhook": "The webhook"}.get(channel, "Notice")
    tries = f"after {attempts} attempts" if attempts > 1 else "at once"
    return (f"{where} failed {tries}: {detail} The report itself is fine: "
            f"{title_} stays on the Reports page.")


def headline(job: ReportJob) -> str:
    """The report's totals in one line, from the orders it covers."""
    row = db.session.execute(
        sa.select(sa.func.count(Order.id), sa.func.coalesce(sa.func.sum(Order.item_count), 0),
                  sa.func.coalesce(sa.func.sum(Order.total), 0))
        .where(*params_of(job).where(job.workspace_id))).one()
    currency = db.session.get(Workspace, job.workspace_id).currency
    orders = f"{row[0]:,} order{'s' if row[0] != 1 else ''}"
    return f"{orders}, {int(row[1]):,} line items, revenue {row[2]:,.2f} {currency}"


def report_mail(job: ReportJob, *, zone: str, title_: str, schedule: Schedule | None,
                run: ScheduleRun | None, unsubscribe_url: str | None) -> tuple[Mail, bool]:
    """The e-mail of a report that ended, and whether its file goes attached."""
    config = current_app.config
    params = params_of(job)
    name = schedule.name if schedule else params.short()
    completed = job.status is JobStatus.COMPLETED
    attached = (completed and job.size is not None
                and job.size <= config["MAIL_ATTACH_MAX_MB"] * 1024 * 1024)
    context = {
        "title": title_, "completed": completed, "scope": params.describe() if completed else [],
        "headline": headline(job) if completed else "", "attached": attached,
        "file_name": download_name(job), "size": size_in_words(job.size or 0),
        "attach_max_mb": config["MAIL_ATTACH_MAX_MB"], "page": public_url(f"/reports/{job.id}"),
        "until": f"{local(job.expires_at, zone):%Y-%m-%d %H:%M}" if job.expires_at else None,
        "zone": zone, "error": job.error or "no reason given",
        "schedule_name": schedule.name if schedule else None,
        "schedule_url": public_url(f"/schedules/{schedule.id}") if schedule else None,
        "run_note": run.note if run else None, "unsubscribe_url": unsubscribe_url,
    }
    subject = f"Report ready: {name}" if completed else f"Report failed: {name}"
    return render_mail("report", subject, **context), attached


def webhook_payload(job: ReportJob, schedule: Schedule | None, run: ScheduleRun | None,
                    now: dt.datetime) -> dict:
    """{"type", "timestamp", "schedule", "run", "report"}: `report` is the job as
    GET /api/reports/<id> shows it, its links absolute under PUBLIC_URL."""
    # url_for needs a request context for bare paths; public_url puts
    # PUBLIC_URL (and its path) in front once
    with current_app.test_request_context("/"):
        report = job_out(job, admin=False).model_dump(mode="json", exclude_unset=True)
        schedule_path = (url_for("api.get_schedule", schedule_id=schedule.id)
                         if schedule else None)
    for key in ("status_url", "download_url"):
        if report.get(key):
            report[key] = public_url(report[key])
    return {
        "type": "report.completed" if job.status is JobStatus.COMPLETED else "report.failed",
        "timestamp": now.isoformat().replace("+00:00", "Z"),
        "schedule": {"id": schedule.id, "name": schedule.name, "cron": schedule.cron,
                     "timezone": schedule.timezone, "url": public_url(schedule_path)}
        if schedule else None,
        "run": {"id": run.id, "due_at": run.due_at.isoformat().replace("+00:00", "Z"),
                "trigger": run.trigger, "note": run.note} if run else None,
        "report": report,
    }


# --- e-mails that are not reports -------------------------------------------------

def recipient_request(owner: str, schedule_name: str, confirm_url: str, never_url: str,
                      days: int) -> Mail:
    return render_mail("confirm_recipient", f"Do you want reports from {owner}?",
                       owner=owner, schedule_name=schedule_name, site=public_url("/"),
                       confirm_url=confirm_url, never_url=never_url, days=days)


def signup_link(link: str, hours: int) -> Mail:
    return render_mail("signup_link", "Finish creating your account", link=link,
                       hours=hours, site=current_app.config["PUBLIC_URL"])


def signup_attempt(email: str) -> Mail:
    return render_mail("signup_attempt", "Someone tried to sign up with your address",
                       email=email, site=current_app.config["PUBLIC_URL"],
                       login_url=public_url("/login"))


def verify_address(email: str, link: str, days: int) -> Mail:
    return render_mail("verify_address", "Verify your e-mail address", email=email,
                       link=link, days=days, site=current_app.config["PUBLIC_URL"])


def invitation(inviter: str, workspace: str, role: str, link: str, days: int) -> Mail:
    return render_mail("invitation", f"{inviter} invites you to “{workspace}”",
                       inviter=inviter, workspace=workspace, role=role, link=link, days=days,
                       site=current_app.config["PUBLIC_URL"])
