"""Report pages: request, status partial, download, delete."""
from __future__ import annotations

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)

from ..auth.current import actor
from ..errors import Conflict
from ..htmx import is_htmx
from ..models import ReportFormat
from ..orders.services import customer_names, get_order
from ..pagination import page_arg
from ..security import limit_requests, local_path
from ..workers import worker_alive
from . import services
from .downloads import send_download
from .forms import OrderReportForm, SummaryReportForm

bp = Blueprint("reports", __name__, url_prefix="/reports")


def _safe_next(default: str) -> str:
    return local_path(request.form.get("next"), default)


@bp.get("/")
def index():
    form = SummaryReportForm()
    return _render_index(form)


def _render_index(form, status: int = 200):
    page = services.list_jobs(actor(), page=page_arg(), per_page=current_app.config["REPORTS_PER_PAGE"])
    return render_template("reports/index.html", page=page, form=form,
                           customers=customer_names(actor()), worker_alive=worker_alive()), status


@bp.post("/")
@limit_requests
def request_summary():
    form = SummaryReportForm()
    if not form.validate_on_submit():
        return _render_index(form, 422)
    job, created = services.request_summary_report(
        actor(), form.date_from.data, form.date_to.data, (form.customer.data or "").strip() or None,
        ReportFormat(form.format.data))
    flash("Report requested; it is being generated." if created
          else f"The same report is already in progress (report #{job.id}).",
          "success" if created else "info")
    return redirect(url_for(".index"), 303)


@bp.post("/order/<int:order_id>")
@limit_requests
def request_order(order_id: int):
    get_order(actor(), order_id)  # 404 first, whatever the form says
    form = OrderReportForm()
    if not form.validate_on_submit():
        flash("Pick CSV or PDF.", "error")
        return redirect(url_for("orders.show", order_id=order_id), 303)
    job, created = services.request_order_report(actor(), order_id,
                                                 ReportFormat(form.format.data))
    if is_htmx():
        jobs = services.list_jobs(actor(), order_id=order_id, per_page=50).items
        return render_template("reports/_job_table.html", jobs=jobs, highlight=job.id,
                               worker_alive=worker_alive(),
                               back=url_for("orders.show", order_id=order_id),
                               notice=None if created else
                               f"The same {job.format.value.upper()} is already in progress.")
    flash("Report requested." if created else "The same report is already in progress.",
          "success" if created else "info")
    return redirect(url_for("orders.show", order_id=order_id), 303)


@bp.get("/<int:job_id>")
def show(job_id: int):
    return render_template("reports/show.html", job=services.get_job(actor(), job_id),
                           worker_alive=worker_alive())


@bp.get("/<int:job_id>/status")
def status(job_id: int):
    return render_template("reports/_status.html", job=services.get_job(actor(), job_id),
                           worker_alive=worker_alive())


@bp.post("/<int:job_id>/cancel")
def cancel(job_id: int):
    try:
        job = services.cancel_job(actor(), job_id)
    except Conflict as exc:
        job, message = services.get_job(actor(), job_id), exc.message
    else:
        message = None
    if is_htmx():
        return render_template("reports/_status.html", job=job, notice=message)
    flash(message or f"Report #{job_id} cancelled.", "info" if message else "success")
    return redirect(_safe_next(url_for(".show", job_id=job_id)), 303)


@bp.post("/<int:job_id>/retry")
@limit_requests
def retry(job_id: int):
    try:
        new, _ = services.retry_job(actor(), job_id)
    except Conflict as exc:
        flash(exc.message, "info")
        return redirect(_safe_next(url_for(".show", job_id=job_id)), 303)
    if is_htmx():
        return render_template("reports/_status.html", job=new, worker_alive=worker_alive(),
                               notice=f"Retrying as report #{new.id}.")
    flash(f"Retrying as report #{new.id}.", "success")
    return redirect(_safe_next(url_for(".show", job_id=new.id)), 303)


@bp.get("/<int:job_id>/download")
def download(job_id: int):
    return send_download(job_id)


@bp.post("/<int:job_id>/delete")
def delete(job_id: int):
    services.delete_job(actor(), job_id)
    flash(f"Report #{job_id} deleted.", "success")
    return redirect(_safe_next(url_for(".index")), 303)
