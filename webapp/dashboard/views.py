"""The dashboard: how the user's completed orders went over a range, with
charts, and the same range as a downloadable summary report.

One URL answers the whole page, or only the panel for htmx (the range links
and form swap the panel and push the URL, so a link to it is shareable and
Back works; without JavaScript they load the page)."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, session, url_for

from ..auth.current import actor
from ..errors import InvalidInput
from ..htmx import is_htmx
from ..http_errors import on_rate_limit
from ..models import ReportFormat
from ..reports import services as report_services
from ..reports.messages import requested_message
from ..reports.presets import LABELS, dates_of, spelled, user_today
from ..security import limit_requests
from . import charts, services

bp = Blueprint("dashboard", __name__)

FORMATS = (ReportFormat.PDF, ReportFormat.XLSX, ReportFormat.CSV)
# the ranges offered as links (any preset is understood in the URL)
PRESETS = tuple((name, LABELS[name]) for name in (
    "last_7_days", "last_30_days", "last_90_days", "this_month", "last_month", "this_quarter",
    "this_year"))


def _panel_only() -> bool:
    # a history miss reloads the URL for the whole page, not the panel
    return is_htmx() and not request.headers.get("HX-History-Restore-Request")


BASIS_KEY = "dashboard_basis"  # the session remembers the revenue basis last picked


def _basis() -> str:
    """Revenue gross or net: ?basis= picks (and the session remembers it),
    else the last pick of this session, else gross."""
    asked = request.args.get("basis")
    if asked in (services.GROSS, services.NET):
        session[BASIS_KEY] = asked
        return asked
    return session.get(BASIS_KEY, services.GROSS)


def _render(choice: services.RangeChoice, overview=None, error: InvalidInput | None = None,
            status: int = 200):
    context = {"choice": choice, "overview": overview, "error": error, "presets": PRESETS,
               "formats": FORMATS, "charts": charts, "today": user_today(), "spelled": spelled,
               "dates_of": dates_of,
               "basis": overview.basis if overview else _basis()}
    if _panel_only():
        # htmx 2 swaps 2xx answers only: a refused range is still a panel to show
        body = render_template("dashboard/_panel.html", **context)
        status = 200
    else:
        body = render_template("dashboard/index.html", **context)
    return body, status, {"Vary": "HX-Request"}


@bp.get("/dashboard")
def index():
    choice = services.choose_range(request.args, user_today())
    try:
        overview = services.overview(actor(), choice, _basis())
    except InvalidInput as exc:
        return _render(choice, error=exc, status=400)
    return _render(choice, overview)


@bp.post("/dashboard/report")
@limit_requests
def request_report():
    """"Download this as …": the dashboard's range as a summary report."""
    choice = services.choose_range(request.form, user_today())
    try:
        fmt = ReportFormat(request.form.get("format", ""))
    except ValueError:
        return _render(choice, error=InvalidInput("Pick PDF, XLSX or CSV."), status=422)
    try:
        params = services.summary_params(actor(), choice)
        job, created = report_services.request_summary_report(
            actor(), params.date_from, params.date_to, None, fmt)
    except InvalidInput as exc:
        return _render(choice, error=exc, status=422)
    except report_services.TooManyJobs as exc:
        flash(exc.message, "error")
        return redirect(url_for(".index", **choice.query()), 303)
    flash(*requested_message(job, created))
    return redirect(url_for("reports.show", job_id=job.id), 303)


@on_rate_limit("dashboard.request_report")
def _rate_limited(message: str):
    # refused before the view ran: back to the dashboard with the range and why
    flash(message, "error")
    choice = services.choose_range(request.form, user_today())
    return redirect(url_for(".index", **choice.query()), 303)
