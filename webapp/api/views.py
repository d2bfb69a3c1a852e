"""JSON API over the same services as the pages."""
from __future__ import annotations

from flask import Blueprint, jsonify, url_for

from ..auth.current import actor
from ..errors import InvalidInput
from ..models import JobStatus, Order, OrderStatus, ReportFormat, ReportJob, ReportKind
from ..orders import services as orders
from ..orders.validation import parse_name
from ..reports import services as reports
from ..reports.views import limit_requests, send_download
from ..security import limit_order_writes
from .parsing import (
    iso_date,
    json_body,
    order_fields,
    page_params,
    positive_id,
    reject_unknown,
)

bp = Blueprint("api", __name__, url_prefix="/api")


def _iso(value):
    return value.isoformat().replace("+00:00", "Z") if value else None


def order_json(order: Order) -> dict:
    return {
        "id": order.id,
        "customer": order.customer,
        "status": order.status.value,
        "created_at": _iso(order.created_at),
        "updated_at": _iso(order.updated_at),
        "items": [{"id": i.id, "product": i.product, "quantity": i.quantity,
                   "unit_price": f"{i.unit_price:.2f}", "line_total": f"{i.line_total:.2f}"}
                  for i in order.items],
        "item_count": order.item_count,
        "total": f"{order.total:.2f}",
        "url": url_for("api.get_order", order_id=order.id),
    }


def _event_json(event, admin: bool) -> dict:
    body = {"at": _iso(event.at), "event": event.event, "detail": event.detail}
    if admin:  # which host and process ran it: operators only
        body["worker"] = event.worker
    return body


def job_json(job: ReportJob) -> dict:
    done = job.status is JobStatus.COMPLETED
    admin = actor().is_admin
    return {
        "id": job.id,
        "kind": job.kind.value,
        "format": job.format.value,
        "params": job.params,
        "status": job.status.value,
        "progress": job.progress,
        "rows_done": job.rows_done,
        "rows_total": job.rows_total,
        "error": job.error,
        "created_at": _iso(job.created_at),
        "started_at": _iso(job.started_at),
        "finished_at": _iso(job.finished_at),
        "size": job.size,
        "attempts": job.attempts,
        "max_attempts": job.max_attempts,
        "expires_at": _iso(job.expires_at),
        "retry_of": job.retry_of_id,
        "events": [_event_json(e, admin) for e in job.events],
        "file_name": reports.download_name(job) if done else None,
        "status_url": url_for("api.get_report", job_id=job.id),
        "download_url": url_for("api.download_report", job_id=job.id) if done else None,
    }


def _page_json(page, render) -> dict:
    return {"items": [render(x) for x in page.items], "page": page.page,
            "per_page": page.per_page, "total": page.total, "pages": page.pages}


@bp.post("/orders")
@limit_order_writes
def create_order():
    body = json_body()
    reject_unknown(body, {"customer", "items"})
    customer, items = order_fields(body, partial=False)
    order = orders.create_order(actor(), customer, items)
    return jsonify(order_json(order)), 201, {"Location": url_for(".get_order", order_id=order.id)}


@bp.get("/orders")
def list_orders():
    page, per_page = page_params()
    found = orders.list_orders(actor(), page=page, per_page=per_page)
    return jsonify(_page_json(found, order_json))


@bp.get("/orders/<int:order_id>")
def get_order(order_id: int):
    return jsonify(order_json(orders.get_order(actor(), order_id)))


@bp.patch("/orders/<int:order_id>")
@limit_order_writes
def update_order(order_id: int):
    orders.get_order(actor(), order_id)  # 404 before 400: say the order is missing first
    body = json_body()
    reject_unknown(body, {"customer", "items", "status"})
    status = None
    if "status" in body:
        try:
            status = OrderStatus(body["status"])
        except (ValueError, TypeError):
            raise InvalidInput("status must be one of open, completed, cancelled.",
                               {"status": ["Must be open, completed or cancelled."]}) from None
    customer, items = order_fields(body, partial=True)
    order = orders.update_order(actor(), order_id, customer=customer, items=items, status=status)
    return jsonify(order_json(order))


@bp.delete("/orders/<int:order_id>")
@limit_order_writes
def delete_order(order_id: int):
    orders.delete_order(actor(), order_id)
    return "", 204


@bp.post("/reports")
@limit_requests
def create_report():
    body = json_body()
    try:
        kind = ReportKind(body.get("kind"))
    except ValueError:
        raise InvalidInput("kind must be 'order' or 'summary'.",
                           {"kind": ["Must be 'order' or 'summary'."]}) from None
    try:
        fmt = ReportFormat(body.get("format"))
    except ValueError:
        raise InvalidInput("format must be 'csv' or 'pdf'.",
                           {"format": ["Must be 'csv' or 'pdf'."]}) from None
    if kind is ReportKind.ORDER:
        reject_unknown(body, {"kind", "format", "order_id"})
        job, created = reports.request_order_report(actor(), positive_id(body.get("order_id"),
                                                                "order_id"), fmt)
    else:
        reject_unknown(body, {"kind", "format", "date_from", "date_to", "customer"})
        customer = body.get("customer")
        if customer is not None and not (isinstance(customer, str) and not customer.strip()):
            try:
                customer = parse_name(customer, "Customer")
            except ValueError as exc:
                raise InvalidInput(str(exc), {"customer": [str(exc)]}) from None
        job, created = reports.request_summary_report(
            actor(), iso_date(body.get("date_from"), "date_from"),
            iso_date(body.get("date_to"), "date_to"),
            (customer or "").strip() or None, fmt)
    return jsonify(job_json(job)), 202 if created else 200, {
        "Location": url_for(".get_report", job_id=job.id)}


@bp.get("/reports")
def list_reports():
    page, per_page = page_params()
    return jsonify(_page_json(reports.list_jobs(actor(), page=page, per_page=per_page), job_json))


@bp.get("/reports/<int:job_id>")
def get_report(job_id: int):
    return jsonify(job_json(reports.get_job(actor(), job_id)))


@bp.get("/reports/<int:job_id>/download")
def download_report(job_id: int):
    return send_download(job_id)


@bp.post("/reports/<int:job_id>/cancel")
def cancel_report(job_id: int):
    return jsonify(job_json(reports.cancel_job(actor(), job_id)))


@bp.post("/reports/<int:job_id>/retry")
@limit_requests
def retry_report(job_id: int):
    job, created = reports.retry_job(actor(), job_id)
    return jsonify(job_json(job)), 202 if created else 200, {
        "Location": url_for(".get_report", job_id=job.id)}


@bp.delete("/reports/<int:job_id>")
def delete_report(job_id: int):
    reports.delete_job(actor(), job_id)
    return "", 204
