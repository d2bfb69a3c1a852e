"""Customer pages, and the customer picker's two endpoints (suggestions while
typing, and making a customer from the picker without leaving the page):
parse input, call one service, render."""
from __future__ import annotations

import re

from flask import Blueprint, flash, jsonify, redirect, render_template, request, url_for

from ..auth.current import actor
from ..errors import Conflict, DomainError, InvalidInput
from ..htmx import is_htmx
from ..orders.validation import has_control_characters, parse_name, search_key
from ..pagination import page_arg
from ..security import limit_order_writes
from . import services
from .countries import COUNTRIES
from .forms import CustomerForm

bp = Blueprint("customers", __name__, url_prefix="/customers")

PER_PAGE = 20
ORDERS_PER_PAGE = 20
# the listbox id a picker asks its options for (it prefixes the options' ids)
_LIST_ID = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,63}")


def _search_text() -> str:
    search = request.args.get("q", "").strip()[:200]
    if has_control_characters(search):
        raise InvalidInput("The search text contains control characters; type plain text.")
    return search


@bp.get("/")
def index():
    search = _search_text()
    page = services.list_customers(actor(), search=search, page=page_arg(), per_page=PER_PAGE)
    template = "customers/_results.html" if is_htmx() else "customers/index.html"
    return render_template(template, page=page, search=search, partial=is_htmx())


@bp.route("/new", methods=["GET", "POST"])
@limit_order_writes
def new():
    form = CustomerForm()
    problem = None
    if form.validate_on_submit():
        try:
            customer = services.create_customer(actor(), form.customer_input())
        except InvalidInput as exc:
            form.show_errors(exc.errors)
            problem = exc.message
        else:
            flash(f"Customer {customer.name} saved.", "success")
            return redirect(url_for(".show", customer_id=customer.id), 303)
    status = 422 if problem else 200
    return render_template("customers/form.html", form=form, customer=None,
                           problem=problem), status


@bp.get("/<int:customer_id>")
def show(customer_id: int):
    customer = services.get_customer(actor(), customer_id)
    return render_template("customers/show.html", customer=customer,
                           totals=services.totals_of(customer),
                           orders=services.orders_of(customer, page_arg(), ORDERS_PER_PAGE),
                           countries=COUNTRIES)


@bp.route("/<int:customer_id>/edit", methods=["GET", "POST"])
@limit_order_writes
def edit(customer_id: int):
    customer = services.get_customer(actor(), customer_id)  # 404 first, whatever the form says
    form = CustomerForm() if request.method == "POST" else CustomerForm.for_customer(customer)
    problem = None
    if form.validate_on_submit():
        try:
            services.update_customer(actor(), customer_id, form.customer_input())
        except InvalidInput as exc:
            form.show_errors(exc.errors)
            problem = exc.message
        else:
            flash(f"Customer {customer.name} updated.", "success")
            return redirect(url_for(".show", customer_id=customer_id), 303)
    status = 422 if problem else 200
    return render_template("customers/form.html", form=form, customer=customer,
                           problem=problem), status


@bp.route("/<int:customer_id>/delete", methods=["GET", "POST"])
@limit_order_writes
def delete(customer_id: int):
    customer = services.get_customer(actor(), customer_id)
    if request.method == "GET":
        return render_template("customers/delete.html", customer=customer, refused=None)
    name = customer.name
    try:
        services.delete_customer(actor(), customer_id)
    except Conflict as exc:
        return render_template("customers/delete.html", customer=customer,
                               refused=exc.message), 409
    flash(f"Customer {name} deleted.", "success")
    return redirect(url_for(".index"), 303)


# --- the picker ------------------------------------------------------------------

@bp.get("/suggest")
def suggest():
    """The picker's options for ?q=: a <ul role="listbox"> fragment, names
    starting with the text first. ?list= is the listbox's id; ?create=1 adds
    "Create customer “q”" when no customer has that very name (and the
    person may create one). Without ?q= the text comes as the picker's own
    field, named by ?field=."""
    args = request.args
    text = args.get("q", args.get(args.get("field") or "q", ""))[:200]
    list_id = args.get("list", "")
    if not _LIST_ID.fullmatch(list_id):
        list_id = "customer-listbox"
    found = [] if has_control_characters(text) else services.suggest(actor(), text)
    create = None
    if args.get("create") == "1" and actor().may("customer.create"):
        try:
            create = parse_name(text, "Customer")
        except ValueError:
            create = None
        if create and any(c.name_key == search_key(create) for c in found):
            create = None
    return render_template("customers/_options.html", customers=found, create=create,
                           list_id=list_id, text=text.strip(), limit=services.MAX_SUGGESTIONS)


@bp.post("/quick")
@limit_order_writes
def quick_create():
    """Make a customer from the picker ("Create customer “q”"): JSON {id,
    name, url} (201), or {error, errors} with the status of the refusal."""
    try:
        customer = services.create_customer(
            actor(), services.CustomerInput(name=request.form.get("name", "")))
    except DomainError as exc:
        return jsonify(error=exc.message, errors=exc.errors or {}), exc.status_code
    return jsonify(id=customer.id, name=customer.name,
                   url=url_for(".show", customer_id=customer.id)), 201
