"""Schedule pages: list, create, show (with runs), edit, pause/resume, run now, delete."""
from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for

from ..auth.current import actor
from ..errors import DomainError, InvalidInput, QuotaExceeded
from ..filters import localtime
from ..models import ReportFormat, ReportKind
from ..pagination import page_arg
from ..ranges import spelled
from ..reports.messages import requested_message
from ..security import limit_order_writes, limit_requests
from ..timezones import today, zone_of
from ..worker_beats import worker_alive
from . import services
from .cron import CronError, simple
from .forms import FIELD_OF, ScheduleForm
from .ranges import LABELS as RANGE_LABELS
from .services import ScheduleSpec

bp = Blueprint("schedules", __name__, url_prefix="/schedules")


@bp.context_processor
def _words():
    return {"range_labels": RANGE_LABELS, "range_today": _range_today}


def _range_today(name: str | None, zone: str | None = None) -> str:
    """A range's dates for a run today in `zone` (the viewer's by default), as
    the dashboard and the summary form spell them: "Dec 1–7, including today"."""
    if name not in RANGE_LABELS:
        return ""
    words = spelled(name, today(zone or zone_of(actor())))
    return words.partition(": ")[2]


@bp.app_template_global()
def run_state(run) -> str:
    """A run's cells as the page shows them, for the poll (see
    services.run_live_state); global because the poll answer (reports.live)
    renders the cells too."""
    return services.run_live_state(run)


@bp.get("/")
def index():
    page = services.list_schedules(actor(), page=page_arg(), per_page=50)
    return render_template("schedules/index.html", page=page,
                           last=services.last_runs(page.items), when=services.when)


def _render_form(form, schedule=None, status: int = 200):
    return render_template("schedules/form.html", form=form, schedule=schedule,
                           smtp=bool(current_app.config["SMTP_URL"])), status


@bp.get("/new")
def new():
    form = ScheduleForm(formdata=None, timezone=zone_of(actor()))
    if request.args.get("order_id", "").isdigit():  # "Schedule this" from an order
        form.kind.data, form.order_id.data = ReportKind.ORDER.value, int(request.args["order_id"])
    return _render_form(form)


def _spec(form: ScheduleForm) -> ScheduleSpec:
    """The form as a spec; a timing the plain choices cannot express is an
    InvalidInput on the field that is wrong."""
    if form.frequency.data == "custom":
        cron = (form.cron.data or "").strip()
    else:
        try:
            cron = simple(form.frequency.data, (form.time.data or "").strip(),
                          weekday=form.weekday.data, day=form.day.data)
        except CronError as exc:
            raise InvalidInput(str(exc), {"time": [str(exc)]}) from None
    kind = form.kind.data if form.kind.data in ("summary", "order") else "summary"
    fmt = form.format.data if form.format.data in {f.value for f in ReportFormat} else "pdf"
    return ScheduleSpec(name=form.name.data or "", kind=ReportKind(kind),
                        format=ReportFormat(fmt), cron=cron, timezone=form.timezone.data or "",
                        range=form.range.data, customer=form.customer.data,
                        order_id=form.order_id.data, emails=form.addresses(),
                        webhook_url=form.webhook_url.data)


def _show_errors(form: ScheduleForm, exc: DomainError) -> None:
    for key, messages in (exc.errors or {"name": [exc.message]}).items():
        field = getattr(form, FIELD_OF.get(key, key), None) or form.name
        if key == "cron" and form.frequency.data != "custom":
            field = form.time
        field.errors = [*field.errors, *messages]


@bp.post("/new")
@limit_order_writes
def create():
    form = ScheduleForm()
    if not form.validate_on_submit():
        return _render_form(form, status=422)
    try:
        schedule, secret = services.create(actor(), _spec(form))
    except InvalidInput as exc:
        _show_errors(form, exc)
        return _render_form(form, status=422)
    except QuotaExceeded as exc:  # the form keeps what was typed
        _show_errors(form, exc)
        return _render_form(form, status=429)
    when = services.when(schedule)
    flash(f"Schedule “{schedule.name}” saved. It runs {when[0].lower()}{when[1:]}.", "success")
    if secret:
        flash(f"Webhook signing secret (shown this once; keep it): {secret}", "secret")
    return redirect(url_for(".show", schedule_id=schedule.id), 303)


@bp.get("/<int:schedule_id>")
def show(schedule_id: int):
    schedule = services.get(actor(), schedule_id)
    runs = services.list_runs(actor(), schedule.id, page=page_arg(), per_page=20)
    jobs = [run.job for run in runs.items if run.job]
    return render_template("schedules/show.html", schedule=schedule, runs=runs, jobs=jobs,
                           live_runs=[r for r in runs.items if services.run_under_way(r)],
                           when=services.when(schedule), worker_alive=worker_alive(),
                           recipients=services.recipients(actor(), schedule))


@bp.get("/<int:schedule_id>/edit")
def edit(schedule_id: int):
    schedule = services.get(actor(), schedule_id)
    form = ScheduleForm(formdata=None, obj=schedule)
    form.kind.data, form.format.data = schedule.kind.value, schedule.format.value
    form.emails.data = "\n".join(schedule.emails or [])
    form.fill_timing(schedule.cron)
    return _render_form(form, schedule)


@bp.post("/<int:schedule_id>/edit")
@limit_order_writes
def update(schedule_id: int):
    schedule = services.get(actor(), schedule_id)
    form = ScheduleForm()
    if not form.validate_on_submit():
        return _render_form(form, schedule, 422)
    try:
        spec = _spec(form)
        changes = {name: getattr(spec, name) for name in ScheduleSpec.__dataclass_fields__}
        schedule, secret = services.update(actor(), schedule.id, changes)
    except InvalidInput as exc:
        _show_errors(form, exc)
        return _render_form(form, schedule, 422)
    flash(f"Schedule “{schedule.name}” saved.", "success")
    if secret:
        flash(f"Webhook signing secret (shown this once; keep it): {secret}", "secret")
    return redirect(url_for(".show", schedule_id=schedule.id), 303)


@bp.post("/<int:schedule_id>/pause")
@limit_order_writes
def pause(schedule_id: int):
    schedule, _ = services.update(actor(), schedule_id, {}, paused=True)
    flash(f"“{schedule.name}” is paused; it does not run until you resume it.", "success")
    return redirect(url_for(".show", schedule_id=schedule.id), 303)


@bp.post("/<int:schedule_id>/resume")
@limit_order_writes
def resume(schedule_id: int):
    schedule, _ = services.update(actor(), schedule_id, {}, paused=False)
    flash(f"“{schedule.name}” runs again; next run {_local_next(schedule)}.", "success")
    return redirect(url_for(".show", schedule_id=schedule.id), 303)


@bp.post("/<int:schedule_id>/secret")
@limit_order_writes
def rotate_secret(schedule_id: int):
    schedule, secret = services.update(actor(), schedule_id, {}, rotate_secret=True)
    if secret:
        flash(f"New webhook signing secret (shown this once; the old one no longer signs): "
              f"{secret}", "secret")
    else:
        flash("This schedule has no webhook, so it has no secret.", "info")
    return redirect(url_for(".show", schedule_id=schedule.id), 303)


def _local_next(schedule) -> str:
    return localtime(schedule.next_run_at) if schedule.next_run_at else "never"


@bp.post("/<int:schedule_id>/run")
@limit_requests
def run_now(schedule_id: int):
    try:
        job = services.run_now(actor(), schedule_id)
    except QuotaExceeded as exc:
        flash(exc.message, "error")
    else:
        flash(*requested_message(job, True))
    return redirect(url_for(".show", schedule_id=schedule_id), 303)


@bp.get("/<int:schedule_id>/delete")
def confirm_delete(schedule_id: int):
    return render_template("schedules/delete.html", schedule=services.get(actor(), schedule_id))


@bp.post("/<int:schedule_id>/delete")
@limit_order_writes
def delete(schedule_id: int):
    schedule = services.get(actor(), schedule_id)
    name = schedule.name
    services.delete(actor(), schedule_id)
    flash(f"Schedule “{name}” deleted. The reports it made stay on the Reports page.", "success")
    return redirect(url_for(".index"), 303)
