"""JSON API over the same services as the pages.

Bodies in and out are the models of schemas.py; each view's @describe is its
entry in /api/openapi.json (openapi.py); errors are RFC 9457 problems
(errors.py)."""
from __future__ import annotations

from flask import Blueprint, current_app, jsonify, request, url_for
from pydantic import BaseModel, ValidationError

from .. import audit
from ..auth.current import actor
from ..errors import InvalidInput, OrderNotFound
from ..models import Order, ReportFormat, ReportJob, ReportKind
from ..orders import services as orders
from ..orders.services import ItemInput
from ..orders.validation import parse_reference
from ..reports import representation
from ..reports import services as reports
from ..reports.downloads import send_download
from ..reports.params import ReportParams
from ..schedules import services as schedules
from ..schedules.services import ScheduleSpec
from ..security import limit_order_writes, limit_requests
from ..timezones import zone_of
from ..workspaces.roles import ACTIONS
from .openapi import (
    CONTENT_DISPOSITION,
    LOCATION,
    Reply,
    describe,
    links_by_id,
    openapi_document,
)
from .parsing import invalid_input, json_body, page_query, validated
from .schemas import (
    AuditEntryOut,
    AuditPage,
    AuditQuery,
    AuditReportIn,
    DeliveryAttemptOut,
    DeliveryOut,
    JobOut,
    JobPage,
    MeOut,
    OrderIn,
    OrderItemOut,
    OrderOut,
    OrderPage,
    OrderPatch,
    OrderReportIn,
    OrdersReportIn,
    PageQuery,
    RecipientOut,
    ReportRequest,
    RunOut,
    RunPage,
    ScheduleIn,
    ScheduleOut,
    SchedulePage,
    SchedulePatch,
    ScheduleReportOut,
    WorkspaceOut,
)

bp = Blueprint("api", __name__, url_prefix="/api")

ORDER_INVALID = "The order is not valid."


def _json(model: BaseModel, status: int = 200, headers: dict | None = None):
    # exclude_unset: a field left out on purpose (an event's worker, for
    # non-admins) stays out; every other field is always set
    return jsonify(model.model_dump(mode="json", exclude_unset=True)), status, headers or {}


def order_out(order: Order) -> OrderOut:
    return OrderOut(
        id=order.id, number=order.number, external_ref=order.external_ref,
        order_date=order.order_date, customer_id=order.customer_id, customer=order.customer,
        status=order.status, notes=order.notes, prices_include_tax=order.prices_include_tax,
        created_at=order.created_at, updated_at=order.updated_at,
        items=[OrderItemOut(id=i.id, product=i.product, quantity=i.quantity,
                            unit_price=i.unit_price, tax_rate=i.tax_rate,
                            discount_rate=i.discount_rate, discount=i.discount, net=i.net,
                            tax=i.tax, gross=i.gross, line_total=i.net)
               for i in order.items],
        item_count=order.item_count, shipping=order.shipping,
        shipping_tax_rate=order.shipping_tax_rate, shipping_net=order.shipping_net,
        shipping_tax=order.shipping_tax, discount_total=order.discount_total,
        net_total=order.net_total, tax_total=order.tax_total, total=order.total,
        url=url_for("api.get_order", order_id=order.id))


def job_out(job: ReportJob, admin: bool | None = None) -> JobOut:
    return representation.job_out(job, admin=actor().user.site_admin if admin is None else admin)


def _page(model, page, render):
    return model(items=[render(x) for x in page.items], page=page.page,
                 per_page=page.per_page, total=page.total, pages=page.pages)


def _items(body) -> list[ItemInput] | None:
    if body.items is None:
        return None
    return [ItemInput(product=i.product, quantity=i.quantity, unit_price=i.unit_price,
                      tax_rate=i.tax_rate, discount_rate=i.discount)
            for i in body.items]


def _customer_of(body) -> int | str | None:
    """customer_id, else the name; both sent must agree on nothing: the id wins."""
    return body.customer_id if body.customer_id is not None else body.customer


ORDER_FIELDS = ("order_date", "external_ref", "notes", "shipping", "shipping_tax_rate")

# From an answer with an order, report job or schedule to what can be done with it
ORDER_LINKS = links_by_id("order_id", "get_order", "update_order", "delete_order")
JOB_LINKS = links_by_id("job_id", "get_report", "cancel_report", "retry_report",
                        "download_report", "delete_report")
SCHEDULE_LINKS = links_by_id("schedule_id", "get_schedule", "update_schedule",
                             "run_schedule", "list_schedule_runs", "delete_schedule")
WRITE_LIMIT = "Too many order writes in a short time (ORDER_WRITE_RATE_LIMIT)."


# --- orders -----------------------------------------------------------------

@bp.post("/orders")
@describe("Create an order", body=OrderIn,
          description="The order gets the workspace's next number. An external_ref the "
                      "workspace already has answers 409 with the existing order's "
                      "Location (change it with PUT /api/orders/by-ref/{ref}).",
          replies={201: Reply("The new order.", OrderOut, headers=LOCATION,
                              links=ORDER_LINKS)},
          errors={400: None, 409: "The external_ref belongs to another order (Location "
                                  "says which).", 413: None, 429: WRITE_LIMIT})
@limit_order_writes
def create_order():
    body = validated(OrderIn, json_body(), ORDER_INVALID)
    if body.customer_id is None and body.customer is None:
        message = "Name the customer: customer_id, or customer (a name)."
        raise InvalidInput(ORDER_INVALID, {"customer_id": [message]})
    try:
        order = orders.create_order(
            actor(), _customer_of(body), _items(body), status=body.status,
            **{name: getattr(body, name) for name in ORDER_FIELDS})
    except orders.DuplicateReference as exc:
        exc.headers = {"Location": url_for(".get_order", order_id=exc.order_id)}
        raise
    return _json(order_out(order), 201, {"Location": url_for(".get_order", order_id=order.id)})


@bp.put("/orders/by-ref/<ref>")
@describe("Create or replace the order with this external reference",
          body=OrderIn,
          description="Idempotent: the order whose external_ref is {ref} gets the body's "
                      "customer, items, date, shipping, notes and status (its number "
                      "stays); without one, a new order is made with that reference. An "
                      "external_ref in the body must be {ref} or left out.",
          replies={200: Reply("The order, changed.", OrderOut, links=ORDER_LINKS),
                   201: Reply("A new order.", OrderOut, headers=LOCATION, links=ORDER_LINKS)},
          errors={400: None, 413: None, 429: WRITE_LIMIT})
@limit_order_writes
def put_order_by_ref(ref: str):
    body = validated(OrderIn, json_body(), ORDER_INVALID)
    try:
        ref = parse_reference(ref)
    except ValueError as exc:
        raise InvalidInput(str(exc), {"ref": [str(exc)]}) from None
    if not ref or (body.external_ref is not None and body.external_ref != ref):
        message = "The body's external_ref must be the one in the URL (or left out)."
        raise InvalidInput(ORDER_INVALID, {"external_ref": [message]})
    if body.customer_id is None and body.customer is None:
        message = "Name the customer: customer_id, or customer (a name)."
        raise InvalidInput(ORDER_INVALID, {"customer_id": [message]})
    fields = {name: getattr(body, name) for name in ORDER_FIELDS}
    fields["external_ref"] = ref
    try:
        existing = orders.order_by_reference(actor(), ref)
    except OrderNotFound:
        order = orders.create_order(actor(), _customer_of(body), _items(body),
                                    status=body.status, **fields)
        return _json(order_out(order), 201,
                     {"Location": url_for(".get_order", order_id=order.id)})
    order = orders.update_order(actor(), existing.id, customer=_customer_of(body),
                                items=_items(body), status=body.status, **fields)
    return _json(order_out(order))


@bp.get("/orders")
@describe("List orders, newest first", query=PageQuery,
          replies={200: Reply("One page of orders.", OrderPage)},
          errors={400: "page or per_page is not a whole number in range."})
def list_orders():
    query = page_query()
    found = orders.list_orders(actor(), page=query.page, per_page=query.per_page)
    return _json(_page(OrderPage, found, order_out))


@bp.get("/orders/<int:order_id>")
@describe("Get an order", replies={200: Reply("The order.", OrderOut)}, errors={404: None})
def get_order(order_id: int):
    return _json(order_out(orders.get_order(actor(), order_id)))


@bp.patch("/orders/<int:order_id>")
@describe("Change an order", body=OrderPatch,
          description="Only the fields sent change; `items` replaces every item. Nothing "
                      "changes if any field is invalid. A missing order is 404 whatever "
                      "the body says.",
          replies={200: Reply("The order as it is now.", OrderOut)},
          errors={400: None, 404: None, 413: None, 429: WRITE_LIMIT})
@limit_order_writes
def update_order(order_id: int):
    orders.get_order(actor(), order_id)  # 404 before 400: say the order is missing first
    body = validated(OrderPatch, json_body(), ORDER_INVALID)
    sent = body.model_fields_set
    changes = {name: getattr(body, name) for name in ORDER_FIELDS if name in sent}
    for name in ("order_date", "shipping", "shipping_tax_rate"):
        if name in changes and changes[name] is None:
            raise InvalidInput(ORDER_INVALID, {name: ["Must not be null."]})
    order = orders.update_order(actor(), order_id, customer=_customer_of(body),
                                items=_items(body), status=body.status, **changes)
    return _json(order_out(order))


@bp.delete("/orders/<int:order_id>")
@describe("Delete an order", description="Its reports in progress are cancelled.",
          replies={204: Reply("Deleted.")},
          errors={404: None, 429: WRITE_LIMIT})
@limit_order_writes
def delete_order(order_id: int):
    orders.delete_order(actor(), order_id)
    return "", 204


# --- reports ----------------------------------------------------------------

REQUESTED = Reply("A new job, recorded and queued.", JobOut, headers=LOCATION,
                  links=JOB_LINKS)
ALREADY = Reply("The same report is already pending or running: that job.", JobOut,
                headers=LOCATION, links=JOB_LINKS)


@bp.post("/reports")
@describe("Ask for a report", body=ReportRequest,
          description="An order's report, a summary of completed orders over a date "
                      "range, every order matching a search (kind \"orders\"), or the "
                      "audit trail as CSV (kind \"audit\", owners and admins). Asking "
                      "again for a report that is still pending or running answers that "
                      "job (200) instead of a new one (202).",
          replies={202: REQUESTED, 200: ALREADY},
          errors={400: None, 403: "Your role may not ask for this report.",
                  404: "No such order, or it is not yours.", 413: None,
                  429: "Too many report requests in a short time (REPORT_RATE_LIMIT), or "
                       "too many reports in progress (REPORT_MAX_OPEN_JOBS)."})
@limit_requests
def create_report():
    asked = validated(ReportRequest, json_body()).root
    notify = asked.notify_email
    if isinstance(asked, OrderReportIn):
        job, created = reports.request_order_report(actor(), asked.order_id, asked.format,
                                                    notify_email=notify)
    elif isinstance(asked, OrdersReportIn):
        job, created = reports.request_report(actor(), ReportParams.listing(asked.search),
                                              asked.format, notify_email=notify)
    elif isinstance(asked, AuditReportIn):
        job, created = reports.request_audit_export(
            actor(), action=asked.action, person=asked.person, date_from=asked.date_from,
            date_to=asked.date_to, notify_email=notify)
    else:
        job, created = reports.request_summary_report(
            actor(), asked.date_from, asked.date_to, asked.customer, asked.format,
            notify_email=notify)
    return _json(job_out(job), 202 if created else 200,
                 {"Location": url_for(".get_report", job_id=job.id)})


@bp.get("/reports")
@describe("List report jobs, newest first", query=PageQuery,
          replies={200: Reply("One page of report jobs.", JobPage)},
          errors={400: "page or per_page is not a whole number in range."})
def list_reports():
    query = page_query()
    return _json(_page(JobPage, reports.list_jobs(actor(), page=query.page,
                                                  per_page=query.per_page), job_out))


@bp.get("/reports/<int:job_id>")
@describe("Get a report job (poll it until its status is final)",
          replies={200: Reply("The job.", JobOut)}, errors={404: None})
def get_report(job_id: int):
    return _json(job_out(reports.get_job(actor(), job_id)))


@bp.get("/reports/<int:job_id>/download")
@describe("Download a report's file",
          description="CSV, PDF or XLSX, as the report was asked for. Where reports are "
                      "kept in an S3-compatible store (REPORTS_STORAGE=s3://…), the answer "
                      "is a redirect to the file there, valid for REPORTS_S3_URL_SECONDS "
                      "(unless the server streams it: REPORTS_S3_DOWNLOAD=proxy).",
          replies={200: Reply("The file, as an attachment.",
                              files=tuple(f.mimetype for f in ReportFormat),
                              headers=CONTENT_DISPOSITION),
                   302: Reply("The file is in the report store: fetch it from Location (a "
                              "signed URL, short-lived; the store names it and sets its "
                              "type).",
                              headers={"Location": ("The file's signed URL in the store.",
                                                    True)})},
          errors={404: None, 409: "The report is not COMPLETED (yet).", 410: None})
def download_report(job_id: int):
    return send_download(job_id)


@bp.post("/reports/<int:job_id>/cancel")
@describe("Cancel a report in progress", replies={200: Reply("The cancelled job.", JobOut)},
          errors={404: None, 409: "The job is already final; nothing to cancel."})
def cancel_report(job_id: int):
    return _json(job_out(reports.cancel_job(actor(), job_id)))


@bp.post("/reports/<int:job_id>/retry")
@describe("Generate a failed or cancelled report again",
          replies={202: Reply("The new attempt, recorded and queued.", JobOut,
                              headers=LOCATION, links=JOB_LINKS),
                   200: ALREADY},
          errors={404: None,
                  409: "Only FAILED or CANCELLED jobs can be retried, and an order report "
                       "only while its order exists.",
                  429: "Too many report requests in a short time (REPORT_RATE_LIMIT), or "
                       "too many reports in progress (REPORT_MAX_OPEN_JOBS)."})
@limit_requests
def retry_report(job_id: int):
    job, created = reports.retry_job(actor(), job_id)
    return _json(job_out(job), 202 if created else 200,
                 {"Location": url_for(".get_report", job_id=job.id)})


@bp.delete("/reports/<int:job_id>")
@describe("Delete a report", description="An active job is cancelled first; its file goes, "
                                         "its history stays.",
          replies={204: Reply("Deleted.")}, errors={404: None})
def delete_report(job_id: int):
    reports.delete_job(actor(), job_id)
    return "", 204


# --- schedules ----------------------------------------------------------------

SCHEDULE_ERRORS = {400: "Invalid input: a bad cron, time zone, range, e-mail address or "
                        "webhook URL (`errors` says which), or e-mail without SMTP_URL.",
                   404: "No such schedule, or it is not yours (or the order is not)."}


def schedule_out(schedule, secret: str | None = None) -> ScheduleOut:
    out = ScheduleOut(
        id=schedule.id, name=schedule.name,
        report=ScheduleReportOut(kind=schedule.kind, format=schedule.format,
                                 range=schedule.range, customer=schedule.customer,
                                 order_id=schedule.order_id),
        cron=schedule.cron, timezone=schedule.timezone, when=schedules.when(schedule),
        email=list(schedule.emails or []),
        recipients=[RecipientOut(address=address, status=standing.status,
                                 may_send=standing.may_send, detail=standing.words)
                    for address, standing in schedules.recipients(actor(), schedule)],
        webhook_url=schedule.webhook_url,
        paused=schedule.paused, pause_reason=schedule.pause_reason,
        failed_runs=schedule.failed_runs, next_run_at=schedule.next_run_at,
        created_at=schedule.created_at, updated_at=schedule.updated_at,
        url=url_for("api.get_schedule", schedule_id=schedule.id),
        runs_url=url_for("api.list_schedule_runs", schedule_id=schedule.id))
    if secret:
        out.webhook_secret = secret  # set only here: exclude_unset leaves it out elsewhere
    return out


def run_out(run) -> RunOut:
    return RunOut(
        id=run.id, due_at=run.due_at, trigger=run.trigger, note=run.note, outcome=run.outcome,
        waiting=run.waiting,
        detail=run.detail, created_at=run.created_at, finished_at=run.finished_at,
        report=job_out(run.job) if run.job else None,
        deliveries=[DeliveryOut(
            channel=d.channel, target="you (in the app)" if d.channel == "notice" else d.target,
            status=d.status, detail=d.detail,
            next_attempt_at=d.next_attempt_at if d.status == "pending" else None,
            attempts=[DeliveryAttemptOut(attempt=a.attempt, at=a.at, ok=a.ok, code=a.code,
                                         detail=a.detail) for a in d.attempt_log])
            for d in run.deliveries])


def _spec(body: ScheduleIn) -> ScheduleSpec:
    report = body.report
    return ScheduleSpec(name=body.name, kind=ReportKind(report.kind), format=report.format,
                        cron=body.cron, timezone=body.timezone or zone_of(actor()),
                        range=report.range, customer=report.customer,
                        order_id=report.order_id, emails=body.email,
                        webhook_url=body.webhook_url)


@bp.post("/schedules")
@describe("Create a schedule", body=ScheduleIn,
          description="A report that runs by itself on a cron in a time zone, and goes by "
                      "e-mail and/or a signed webhook, and always to the in-app notices. "
                      "The answer holds `webhook_secret` this once.",
          replies={201: Reply("The new schedule, with its next run.", ScheduleOut,
                              headers=LOCATION, links=SCHEDULE_LINKS)},
          errors={**SCHEDULE_ERRORS, 413: None,
                  429: "You have SCHEDULES_MAX_PER_USER schedules already (or too many "
                       "writes in a short time)."})
@limit_order_writes
def create_schedule():
    body = validated(ScheduleIn, json_body(), "The schedule is not valid.")
    schedule, secret = schedules.create(actor(), _spec(body))
    return _json(schedule_out(schedule, secret), 201,
                 {"Location": url_for(".get_schedule", schedule_id=schedule.id)})


@bp.get("/schedules")
@describe("List your schedules, by name", query=PageQuery,
          replies={200: Reply("One page of schedules.", SchedulePage)},
          errors={400: "page or per_page is not a whole number in range."})
def list_schedules():
    query = page_query()
    found = schedules.list_schedules(actor(), page=query.page, per_page=query.per_page)
    return _json(_page(SchedulePage, found, schedule_out))


@bp.get("/schedules/<int:schedule_id>")
@describe("Get a schedule", replies={200: Reply("The schedule.", ScheduleOut)},
          errors={404: SCHEDULE_ERRORS[404]})
def get_schedule(schedule_id: int):
    return _json(schedule_out(schedules.get(actor(), schedule_id)))


@bp.patch("/schedules/<int:schedule_id>")
@describe("Change, pause or resume a schedule", body=SchedulePatch,
          description="Only the fields sent change. Resuming starts from now: slots missed "
                      "while paused are not made up.",
          replies={200: Reply("The schedule as it is now.", ScheduleOut)},
          errors={**SCHEDULE_ERRORS, 413: None})
@limit_order_writes
def update_schedule(schedule_id: int):
    schedule = schedules.get(actor(), schedule_id)  # 404 before 400
    body = validated(SchedulePatch, json_body(), "The schedule is not valid.")
    sent = body.model_fields_set
    changes = {}
    if "report" in sent:
        report = body.report
        changes.update(kind=ReportKind(report.kind), format=report.format, range=report.range,
                       customer=report.customer, order_id=report.order_id)
    for field, name in (("name", "name"), ("cron", "cron"), ("timezone", "timezone"),
                        ("email", "emails"), ("webhook_url", "webhook_url")):
        if field in sent:
            changes[name] = getattr(body, field)
    schedule, secret = schedules.update(
        actor(), schedule.id, changes, paused=body.paused if "paused" in sent else None,
        rotate_secret=bool(body.rotate_secret))
    return _json(schedule_out(schedule, secret))


@bp.delete("/schedules/<int:schedule_id>")
@describe("Delete a schedule", description="Its runs go; the reports it made stay.",
          replies={204: Reply("Deleted.")}, errors={404: SCHEDULE_ERRORS[404]})
@limit_order_writes
def delete_schedule(schedule_id: int):
    schedules.delete(actor(), schedule_id)
    return "", 204


@bp.post("/schedules/<int:schedule_id>/run")
@describe("Run a schedule now",
          description="A run like a scheduled one (same report, same deliveries), also "
                      "while the schedule is paused.",
          replies={202: REQUESTED},
          errors={404: SCHEDULE_ERRORS[404], 409: "Its order was deleted.",
                  429: "Too many report requests in a short time (REPORT_RATE_LIMIT), a run "
                       "of this schedule still in progress, your reports in progress at "
                       "REPORT_MAX_OPEN_JOBS, or your e-mails of the last hour at "
                       "MAIL_MAX_PER_HOUR (Retry-After says when to try again)."})
@limit_requests
def run_schedule(schedule_id: int):
    job = schedules.run_now(actor(), schedule_id)
    return _json(job_out(job), 202, {"Location": url_for(".get_report", job_id=job.id)})


@bp.get("/schedules/<int:schedule_id>/runs")
@describe("A schedule's runs, newest first", query=PageQuery,
          description="Each run with its report job and every delivery attempt (channel, "
                      "time, outcome, HTTP status or SMTP reply).",
          replies={200: Reply("One page of runs.", RunPage)},
          errors={400: "page or per_page is not a whole number in range.",
                  404: SCHEDULE_ERRORS[404]})
def list_schedule_runs(schedule_id: int):
    schedules.get(actor(), schedule_id)  # 404 before 400
    query = page_query()
    found = schedules.list_runs(actor(), schedule_id, page=query.page,
                                per_page=query.per_page)
    return _json(_page(RunPage, found, run_out))


# --- who, and the audit trail ------------------------------------------------------

@bp.get("/me")
@describe("Who this token acts for", replies={200: Reply("The person, workspace, role and "
                                                          "scope.", MeOut)})
def me():
    here = actor()
    return _json(MeOut(email=here.user.email, role=here.role.value, scope=here.scope,
                       workspace=WorkspaceOut(id=here.workspace_id, name=here.workspace.name,
                                              currency=here.workspace.currency),
                       may=[action for action in ACTIONS if here.may(action)]))


@bp.get("/audit")
@describe("The workspace's audit trail, newest first (owners and admins)", query=AuditQuery,
          replies={200: Reply("One page of entries.", AuditPage)},
          errors={400: "A query parameter is malformed.",
                  403: "Only owners and admins read the audit log."})
def list_audit():
    try:
        query = AuditQuery.model_validate(request.args.to_dict())
    except ValidationError as exc:
        raise InvalidInput("A query parameter is malformed.",
                           invalid_input(exc, AuditQuery, {}).errors) from None
    here = actor()
    found = audit.entries(here, action=query.action, person=query.person,
                          date_from=query.date_from, date_to=query.date_to,
                          zone=zone_of(here), page=query.page, per_page=query.per_page)
    return _json(_page(AuditPage, found, lambda e: AuditEntryOut(
        id=e.id, at=e.at, actor=e.actor, action=e.action, target=e.target, detail=e.detail,
        via=e.via)))


# --- the description ----------------------------------------------------------

@bp.get("/openapi.json")
@describe("This API's description (OpenAPI 3.1); no token needed", public=True,
          replies={200: Reply("The OpenAPI document.", schema={"type": "object"})})
def openapi():
    return jsonify(openapi_document(current_app))


from . import customers as _customers  # noqa: E402,F401
