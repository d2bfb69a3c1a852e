"""The audit log page: filters by action, person and dates, paged with HTMX."""
from __future__ import annotations

import datetime as dt

from flask import Blueprint, flash, redirect, render_template, request, url_for

from .. import audit
from ..auth.current import actor
from ..errors import InvalidInput, TooManyJobs
from ..htmx import is_htmx
from ..pagination import page_arg
from ..reports import services as reports
from ..reports.messages import requested_message
from ..security import limit_requests
from ..timezones import zone_of

bp = Blueprint("audit", __name__, url_prefix="/team/audit")


def _day(values, name: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(values.get(name, ""))
    except ValueError:
        return None


def _filters(values) -> dict:
    """The page's filters from its query (or the export form's copy of it)."""
    action = values.get("action") or None
    return {"action": action if action in audit.ACTIONS else None,
            "person": (values.get("person") or "").strip()[:254] or None,
            "date_from": _day(values, "date_from"), "date_to": _day(values, "date_to")}


@bp.get("/")
def index():
    here = actor()
    filters = _filters(request.args)
    page = audit.entries(here, **filters, zone=zone_of(here), page=page_arg())
    args = {k: (v.isoformat() if isinstance(v, dt.date) else v)
            for k, v in filters.items() if v}
    template = "workspaces/_audit_rows.html" if is_htmx() else "workspaces/audit.html"
    return render_template(template, page=page, filters=filters, args=args,
                           actions=audit.ACTIONS, people=audit.people(here))


@bp.post("/export")
@limit_requests
def export():
    """The entries the page shows (its filters), as a CSV report job."""
    filters = _filters(request.form)
    back = url_for(".index", **{k: (v.isoformat() if isinstance(v, dt.date) else v)
                                for k, v in filters.items() if v})
    try:
        job, created = reports.request_audit_export(actor(), **filters)
    except (InvalidInput, TooManyJobs) as exc:
        flash(exc.message, "error")
        return redirect(back, 303)
    flash(*requested_message(job, created))
    return redirect(url_for("reports.show", job_id=job.id), 303)
