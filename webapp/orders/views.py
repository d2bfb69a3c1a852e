"""Order pages: parse input, call one service, render."""
from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for

from ..auth.current import actor
from ..errors import InvalidInput
from ..models import OrderStatus
from ..pagination import page_arg
from ..reports import services as report_services
from ..security import limit_order_writes
from ..timezones import today, zone_of
from ..worker_beats import worker_alive
from . import services
from .forms import OrderForm, edit_rows
from .validation import has_control_characters

bp = Blueprint("orders", __name__, url_prefix="/orders")


def _row_edit_requested() -> tuple[bool, str | None]:
    return "add_item" in request.form, request.form.get("remove_item")


@bp.get("/")
def index():
    search = request.args.get("q", "").strip()[:200]
    if has_control_characters(search):
        raise InvalidInput("The search text contains control characters; type plain text.")
    page = services.list_orders(actor(), search=search, page=page_arg(),
                                per_page=current_app.config["ORDERS_PER_PAGE"])
    return render_template("orders/index.html", page=page, search=search)


@bp.route("/new", methods=["GET", "POST"])
@limit_order_writes
def new():
    form = OrderForm() if request.method == "POST" else OrderForm.blank(
        today(zone_of(actor().user)))
    add, remove = _row_edit_requested()
    if add or remove is not None:  # the no-JavaScript path of the row buttons
        form = edit_rows(form, add, remove)
    elif form.validate_on_submit():
        try:
            order = services.create_order(actor(), form.customer_choice(), form.item_inputs(),
                                          **form.details())
        except (InvalidInput, services.DuplicateReference) as exc:  # shown on its field
            _show_on_form(form, exc)
        else:
            flash(f"Order {order.number} for {order.customer} saved.", "success")
            return redirect(url_for(".show", order_id=order.id))
    status = 422 if form.errors else 200
    return render_template("orders/form.html", form=form, order=None), status


def _show_on_form(form: OrderForm, exc) -> None:
    """A refusal of the service (a date too far ahead, a reference another
    order has, a customer of no workspace of theirs) next to its field."""
    placed = False
    errors = exc.errors or {}
    if isinstance(exc, services.DuplicateReference):
        errors = {"external_ref": [f"Order {exc.number} already has this reference."]}
    for name, messages in errors.items():
        field = form._fields.get(name)
        if field is not None:
            field.errors = list(field.errors or []) + list(messages)
            placed = True
    if not placed:
        form.form_errors.append(exc.message)


@bp.post("/items")
def item_rows():
    """HTMX: the items fieldset with one row added or removed, typed values kept."""
    add, remove = _row_edit_requested()
    form = edit_rows(OrderForm(), add, remove)
    return render_template("orders/_items.html", form=form)


@bp.get("/<int:order_id>")
def show(order_id: int):
    order = services.get_order(actor(), order_id)
    jobs = report_services.list_jobs(actor(), order_id=order_id, per_page=50).items
    return render_template("orders/show.html", order=order, jobs=jobs,
                           worker_alive=worker_alive())


@bp.route("/<int:order_id>/edit", methods=["GET", "POST"])
@limit_order_writes
def edit(order_id: int):
    order = services.get_order(actor(), order_id)
    form = OrderForm() if request.method == "POST" else OrderForm.for_order(order)
    add, remove = _row_edit_requested()
    if add or remove is not None:
        form = edit_rows(form, add, remove)
    elif form.validate_on_submit():
        try:
            services.update_order(actor(), order_id, customer=form.customer_choice(),
                                  items=form.item_inputs(), **form.details())
        except (InvalidInput, services.DuplicateReference) as exc:
            _show_on_form(form, exc)
        else:
            flash(f"Order {order.number} updated.", "success")
            return redirect(url_for(".show", order_id=order_id))
    status = 422 if form.errors else 200
    return render_template("orders/form.html", form=form, order=order), status


@bp.post("/<int:order_id>/status")
@limit_order_writes
def set_status(order_id: int):
    services.get_order(actor(), order_id)  # 404 first, whatever the form says
    try:
        status = OrderStatus(request.form.get("status", ""))
    except ValueError:
        flash("Unknown order status.", "error")
        return redirect(url_for(".show", order_id=order_id), 303)
    order = services.update_order(actor(), order_id, status=status)
    flash(f"Order {order.number} is now {order.status.label.lower()}.", "success")
    return redirect(url_for(".show", order_id=order_id), 303)


@bp.route("/<int:order_id>/delete", methods=["GET", "POST"])
@limit_order_writes
def delete(order_id: int):
    order = services.get_order(actor(), order_id)
    if request.method == "GET":
        return render_template("orders/delete.html", order=order)
    number = order.number
    services.delete_order(actor(), order_id)
    flash(f"Order {number} deleted.", "success")
    return redirect(url_for(".index"), 303)
