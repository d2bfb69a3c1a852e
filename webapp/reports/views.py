"""Report pages: request, status partial, download, delete."""
from __future__ import annotations

from urllib.parse import urlsplit

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
from ..customers.forms import picked
from ..errors import Conflict, InvalidInput
from ..htmx import is_htmx
from ..http_errors import on_rate_limit
from ..models import RETRYABLE_STATUSES, JobStatus, ReportFormat
from ..orders.services import get_order
from ..orders.validation import has_control_characters
from ..pagination import page_arg
from ..schedules.services import run_live_state, run_under_way, runs_by_ids, runs_of_jobs
from ..security import limit_requests, local_path
from ..worker_beats import worker_alive
from . import services
from .downloads import send_download
from .forms import OrderReportForm, SummaryReportForm, summary_form_from_query
from .messages import requested_message
from .params import ReportParams
from .presets import PRESETS, dates_of, matching_preset, spelled, user_today

bp = Blueprint("reports", __name__, url_prefix="/reports")


def _safe_next(default: str) -> str:
    return local_path(request.form.get("next"), default)


@bp.get("/")
def index():
    # filled in from the query string: a preset (?preset=last_month), or the
    # choices of the request just made (see request_summary); else this month
    return _render_index(summary_form_from_query(request.args))


def _render_index(form, status: int = 200, form_error: str | None = None):
    page = services.list_jobs(actor(), page=page_arg(),
                              per_page=current_app.config["REPORTS_PER_PAGE"])
    return render_template("reports/index.html", page=page, form=form, form_error=form_error,
                           presets=PRESETS, spelled=spelled, dates_of=dates_of,
                           today=user_today(),
                           active_preset=matching_preset(form.date_from.data, form.date_to.data,
                                                         user_today()),
                           worker_alive=worker_alive()), status


@bp.post("/")
@limit_requests
def request_summary():
    form = SummaryReportForm()
    if not form.validate_on_submit():
        return _render_index(form, 422)
    try:
        job, created = services.request_summary_report(
            actor(), form.date_from.data, form.date_to.data,
            _customer_choice(), ReportFormat(form.format.data),
            notify_email=form.notify_email.data)
    except services.TooManyJobs as exc:
        return _render_index(form, 429, form_error=exc.message)
    except InvalidInput as exc:  # no such customer, or e-mail asked for where there is none
        field = form.customer if "customer" in (exc.errors or {}) else form.notify_email
        field.errors = [exc.message]
        return _render_index(form, 422)
    flash(*requested_message(job, created))
    # back to the form with the same choices, so the next report is one change away
    return redirect(url_for(".index", **form.query()), 303)


def _customer_choice() -> int | str | None:
    """The summary's customer: the id the picker chose, else the typed text
    (matched by the service, which names close spellings when none fits)."""
    choice = picked(request.form)
    return choice if isinstance(choice, int) else (choice.strip() or None)


@on_rate_limit("reports.request_summary")
def _summary_rate_limited(message: str):
    # flask-limiter refused before the view ran: the form again, as posted
    return _render_index(SummaryReportForm(), 429, form_error=message)


@bp.post("/order/<int:order_id>")
@limit_requests
def request_order(order_id: int):
    get_order(actor(), order_id)  # 404 first, whatever the form says
    form = OrderReportForm()
    if not form.validate_on_submit():
        flash("Pick CSV, PDF or XLSX.", "error")
        return redirect(url_for("orders.show", order_id=order_id), 303)
    try:
        job, created = services.request_order_report(actor(), order_id,
                                                     ReportFormat(form.format.data),
                                                     notify_email=form.notify_email.data)
    except (services.TooManyJobs, InvalidInput) as exc:
        if is_htmx():
            raise  # a notice on the page, like the rate limit's (webapp/errors.py)
        flash(exc.message, "error")
        return redirect(url_for("orders.show", order_id=order_id), 303)
    message, category = requested_message(job, created)
    if is_htmx():
        return _order_jobs(order_id, notice=message, highlight=job.id)
    flash(message, category)
    return redirect(url_for("orders.show", order_id=order_id), 303)


def _order_jobs(order_id: int, notice: str | None, highlight: int | None = None):
    """The order page's report list (the Generate buttons' htmx target) with a notice."""
    jobs = services.list_jobs(actor(), order_id=order_id, per_page=50).items
    return render_template("reports/_job_table.html", jobs=jobs, highlight=highlight,
                           worker_alive=worker_alive(),
                           back=url_for("orders.show", order_id=order_id), notice=notice)


@on_rate_limit("reports.request_order")
def _order_rate_limited(message: str):
    """A refused Generate button (the rate limit) without htmx: back to the order
    with the message, not a dead-end page. With htmx the app's handler already
    answers with a notice on the page (None: leave it to it)."""
    if is_htmx():
        return None
    flash(message, "error")
    return redirect(url_for("orders.show", order_id=request.view_args["order_id"]), 303)


@bp.get("/<int:job_id>")
def show(job_id: int):
    return render_template("reports/show.html", job=services.get_job(actor(), job_id),
                           worker_alive=worker_alive())


@bp.get("/<int:job_id>/status")
def status(job_id: int):
    """One job's status partial (scripts and older pages use it; the pages
    themselves follow their jobs with one poll, see `live`)."""
    return render_template("reports/_status.html", job=services.get_job(actor(), job_id),
                           worker_alive=worker_alive())


# --- live status: one poll per page -------------------------------------------------

@bp.app_template_global()
def live_state(job, alive: bool = True) -> str:
    """What the page shows of a job that can still change, in a few characters
    (sent back by the page's poller with the job's id): the poll re-renders a
    job only when this differs. A job waiting while no worker runs says so,
    and says otherwise once one runs."""
    if job.status is JobStatus.PROCESSING:
        return f"PROCESSING.{job.progress}.{job.rows_total or 0}.{job.attempts}"
    if job.status is JobStatus.PENDING and not alive:
        return "PENDING.noworker"
    return job.status.value


@bp.app_template_global()
def retry_offered(job) -> bool:
    """Retry is shown for a failed or cancelled job that another attempt could
    finish (not for one whose order is gone, nor a PDF over the row cap)."""
    return job.status in RETRYABLE_STATUSES and services.retry_refusal(job) is None


@bp.app_template_global()
def poll_delay_ms(step: int) -> int:
    """The poller's delay before its step-th request: STATUS_POLL_FIRST_MS,
    doubling each time, at most STATUS_POLL_SECONDS (0.5, 1, 2, 2, … s)."""
    config = current_app.config
    longest = int(config["STATUS_POLL_SECONDS"] * 1000)
    return min(config["STATUS_POLL_FIRST_MS"] << min(max(step, 0), 16), longest)


def _watched(values: list[str], limit: int) -> dict[int, str]:
    """The page's `job` parameters ("<id>:<state>") as {id: state}: the first
    `limit` well-formed ones; anything else is ignored."""
    seen: dict[int, str] = {}
    for value in values:
        job_id, _, state = value.partition(":")
        if job_id.isdigit() and len(job_id) <= 12 and len(state) <= 60:
            seen.setdefault(int(job_id), state)
            if len(seen) >= limit:
                break
    return seen


def _page_path() -> str:
    """The page a request came from (htmx sends its URL), for the rows' Delete
    to come back to; the reports list when unknown."""
    url = urlsplit(request.headers.get("HX-Current-URL", ""))
    return local_path(url.path + (f"?{url.query}" if url.query else ""), url_for(".index"))


@bp.get("/live")
def live():
    """The page's one status poll: the active jobs it shows ("job=<id>:<state>",
    at most STATUS_POLL_MAX_JOBS), the poller's step and the page's layout
    (view=row for job tables, status for a job's own page). One query for all
    jobs; ids the user may not see, deleted or unknown, are left out like
    jobs that do not exist. Answers the poller again (next delay, or no
    trigger once nothing is active), an out-of-band swap per job that changed,
    and the words for those that finished, for the page's live region."""
    seen = _watched(request.args.getlist("job"), current_app.config["STATUS_POLL_MAX_JOBS"])
    step = request.args.get("step", "0")
    step = int(step) if step.isdigit() and len(step) <= 3 else 0
    view = "status" if request.args.get("view") == "status" else "row"
    jobs = services.jobs_by_ids(actor(), seen)
    alive = worker_alive() if any(j.status is JobStatus.PENDING for j in jobs) else True
    changed = [j for j in jobs if live_state(j, alive) != seen[j.id]]
    runs, changed_runs = _runs_to_show(changed) if view == "status" else ([], [])
    return render_template(
        "reports/_live.html", jobs=[j for j in jobs if not j.is_final], changed=changed,
        changed_runs=changed_runs, live_runs=[r for r in runs if run_under_way(r)],
        live_view=view, poll_step=step + 1, worker_alive=alive, back=_page_path())


def _runs_to_show(changed) -> tuple[list, list]:
    """A schedule's page: the runs it watches ("run=<id>:<state>", see
    schedules.services.run_live_state) and the runs of the jobs that just
    ended. Returns the runs still worth watching and those whose cells
    (deliveries, outcome) changed: a job's end, then each delivery's, swaps
    them in without a reload."""
    seen = _watched(request.args.getlist("run"), current_app.config["STATUS_POLL_MAX_JOBS"])
    runs = {run.id: run for run in runs_by_ids(actor(), seen)}
    changed_runs = {run.id: run for run in runs.values()
                    if run_live_state(run) != seen[run.id]}
    for run in runs_of_jobs([j.id for j in changed if j.is_final]).values():
        runs.setdefault(run.id, run)
        changed_runs[run.id] = runs[run.id]
    return list(runs.values()), list(changed_runs.values())


def _in_row(job) -> bool:
    """Whether the htmx request came from the job's row (a job table) rather
    than the status of the job's own page: htmx names the element it will
    replace (hx-target) in HX-Target."""
    return request.headers.get("HX-Target") == f"job-{job.id}"


def _render_job(job, **context):
    """The job's row or its status, whichever the htmx request replaces."""
    in_row = _in_row(job)
    return render_template("reports/_job_row.html" if in_row else "reports/_status.html",
                           job=job, in_row=in_row, worker_alive=worker_alive(),
                           back=_page_path(), **context)


@bp.post("/<int:job_id>/cancel")
def cancel(job_id: int):
    try:
        job = services.cancel_job(actor(), job_id)
    except Conflict as exc:
        job, message = services.get_job(actor(), job_id), exc.message
    else:
        message = None
    if is_htmx():
        return _render_job(job, job_notice=message)
    flash(message or f"Report #{job_id} cancelled.", "info" if message else "success")
    return redirect(_safe_next(url_for(".show", job_id=job_id)), 303)


@bp.post("/<int:job_id>/retry")
@limit_requests
def retry(job_id: int):
    """A new attempt as a new job. With htmx the old job stays as it is (its row
    or status keeps its own status, with a link to the new one); in a job table
    the new attempt is added as a row at the top, "retry of #N"."""
    try:
        new, created = services.retry_job(actor(), job_id)
    except Conflict as exc:
        if is_htmx():
            return _render_job(services.get_job(actor(), job_id), job_notice=exc.message)
        flash(exc.message, "info")
        return redirect(_safe_next(url_for(".show", job_id=job_id)), 303)
    if is_htmx():
        old = services.get_job(actor(), job_id)
        return render_template("reports/_retried.html", job=old, new=new, created=created,
                               in_row=_in_row(old), worker_alive=worker_alive(),
                               back=_page_path())
    flash(f"Retrying as report #{new.id}.", "success")
    return redirect(_safe_next(url_for(".show", job_id=new.id)), 303)


@bp.get("/<int:job_id>/download")
def download(job_id: int):
    return send_download(job_id)


@bp.get("/<int:job_id>/delete")
def confirm_delete(job_id: int):
    job = services.get_job(actor(), job_id)  # another user's job: 404 here too
    return render_template("reports/delete.html", job=job,
                           next=local_path(request.args.get("next"), url_for(".index")))


@bp.post("/<int:job_id>/delete")
def delete(job_id: int):
    services.delete_job(actor(), job_id)
    flash(f"Report #{job_id} deleted.", "success")
    return redirect(_safe_next(url_for(".index")), 303)


@bp.post("/export")
@limit_requests
def request_export():
    """"Export these orders" on the orders list: its search, as a report of
    every matching order (any status, any date)."""
    search = (request.form.get("q") or "").strip()[:200]
    back = url_for("orders.index", q=search or None)
    if has_control_characters(search):
        flash("The search text contains control characters; type plain text.", "error")
        return redirect(back, 303)
    try:
        fmt = ReportFormat(request.form.get("format", ""))
    except ValueError:
        flash("Pick CSV, PDF or XLSX.", "error")
        return redirect(back, 303)
    try:
        job, created = services.request_report(actor(), ReportParams.listing(search), fmt)
    except services.TooManyJobs as exc:
        flash(exc.message, "error")
        return redirect(back, 303)
    flash(*requested_message(job, created))
    return redirect(url_for(".show", job_id=job.id), 303)
