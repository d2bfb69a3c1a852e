"""Customers of a workspace: look up, search, create, change, delete, and
the matching of a free-text name to a record (the API's old `customer`
string, imports). Each public function that writes is one transaction,
except find_or_create, which joins the caller's."""
from __future__ import annotations

import difflib
from dataclasses import dataclass, fields
from decimal import Decimal

import sqlalchemy as sa

from .. import audit
from ..auth.current import Actor, as_actor, visible
from ..errors import Conflict, CustomerNotFound, InvalidInput
from ..extensions import db
from ..models import MAX_ID, Customer, Order, OrderStatus, utcnow
from ..orders.validation import parse_name, search_key
from ..pagination import Page
from .countries import COUNTRIES

MAX_SUGGESTIONS = 8


@dataclass(frozen=True)
class CustomerInput:
    """What a person may set on a customer; None and "" mean empty."""
    name: str
    email: str | None = None
    address: str | None = None
    postcode: str | None = None
    city: str | None = None
    country: str | None = None
    tax_id: str | None = None
    notes: str | None = None


_LIMITS = {"email": 254, "postcode": 20, "city": 100, "tax_id": 50, "address": 1000,
           "notes": 2000}


def clean_input(given: CustomerInput) -> CustomerInput:
    """The input with each field checked and tidied; InvalidInput names every
    field that is wrong, so a form shows them all at once."""
    errors: dict[str, list[str]] = {}
    values: dict[str, str | None] = {}
    try:
        values["name"] = parse_name(given.name, "Name")
    except ValueError as exc:
        errors["name"] = [str(exc)]
    for field in fields(CustomerInput)[1:]:
        raw = getattr(given, field.name)
        if raw is not None and not isinstance(raw, str):
            errors[field.name] = [f"{field.name.replace('_', ' ').capitalize()} must be text."]
            continue
        text = (raw or "").replace("\r\n", "\n").strip()
        if field.name not in ("address", "notes"):
            text = " ".join(text.split())
        limit = _LIMITS.get(field.name)
        if limit and len(text) > limit:
            errors[field.name] = [f"At most {limit:,} characters (got {len(text):,})."]
        values[field.name] = text or None
    email = values.get("email")
    if email and ("@" not in email or " " in email or email.startswith("@")
                  or email.endswith("@")):
        errors["email"] = ["Give an e-mail address like name@example.com, or leave it empty."]
    country = values.get("country")
    if country:
        code = country.upper()
        if code not in COUNTRIES:
            errors["country"] = ["Pick a country (an ISO 3166 code such as DE, FR or US)."]
        values["country"] = code
    if errors:
        first = next(iter(errors.values()))[0]
        raise InvalidInput(first if len(errors) == 1 else "Some fields need a look.", errors)
    return CustomerInput(**values)


def get_customer(actor: Actor, customer_id: int) -> Customer:
    """The customer if `actor` is a member of its workspace; otherwise not found."""
    actor = as_actor(actor)
    customer = db.session.get(Customer, customer_id) if 0 < customer_id <= MAX_ID else None
    if not actor.sees(customer):
        raise CustomerNotFound(customer_id)
    return customer


def list_customers(actor: Actor, *, search: str = "", page: int = 1,
                   per_page: int = 20) -> Page:
    """The workspace's customers by name; search is "contains", any case or
    accent (the orders search's rule)."""
    actor = as_actor(actor)
    query = visible(sa.select(Customer), Customer, actor)
    matching = Customer.name_like(search)
    if matching is not None:
        query = query.where(matching)
    total = db.session.scalar(sa.select(sa.func.count()).select_from(query.subquery()))
    rows = db.session.scalars(query.order_by(Customer.name_key, Customer.id)
                              .limit(per_page).offset((page - 1) * per_page)).all()
    return Page(items=list(rows), page=page, per_page=per_page, total=total or 0)


def suggest(actor: Actor, text: str, limit: int = MAX_SUGGESTIONS) -> list[Customer]:
    """Customers for a type-ahead: names starting with the text first, then
    containing it."""
    actor = as_actor(actor)
    key = search_key(text or "")
    if not key:
        return []
    matching = Customer.name_like(text)
    starts = sa.case((Customer.name_key.like(_escape(key) + "%", escape="\\"), 0), else_=1)
    return list(db.session.scalars(
        visible(sa.select(Customer), Customer, actor).where(matching)
        .order_by(starts, Customer.name_key, Customer.id).limit(limit)))


def close_matches(actor: Actor, text: str, limit: int = 5) -> list[Customer]:
    """Customers whose name shares a word with `text`, else whose name is
    spelled alike ("Mueller" for "Müller"), for "did you mean"."""
    actor = as_actor(actor)
    key = search_key(text or "")
    words = [w for w in key.split() if len(w) >= 3][:5]
    if words:
        found = list(db.session.scalars(
            visible(sa.select(Customer), Customer, actor)
            .where(sa.or_(*(Customer.name_like(w) for w in words)))
            .order_by(Customer.name_key).limit(limit)))
        if found:
            return found
    # spelled alike: the closest keys among the workspace's first SPELLING_POOL customers
    pool = db.session.execute(visible(sa.select(Customer.id, Customer.name_key), Customer,
                                      actor).order_by(Customer.id).limit(SPELLING_POOL)).all()
    scored = sorted(((_likeness(key, name_key), cid) for cid, name_key in pool), reverse=True)
    ids = [cid for score, cid in scored[:limit] if score >= 0.75]
    by_id = {c.id: c for c in db.session.scalars(sa.select(Customer).where(Customer.id.in_(ids)))}
    return [by_id[cid] for cid in ids]


def _likeness(key: str, name_key: str) -> float:
    """How alike a typed text and a name are: the whole name, or its best
    word against each typed word (so "mueller" finds "müller & söhne")."""
    best = difflib.SequenceMatcher(None, key, name_key).ratio()
    for typed in (w for w in key.split() if len(w) >= 3):
        for word in (w for w in name_key.split() if len(w) >= 3):
            best = max(best, difflib.SequenceMatcher(None, typed, word).ratio())
    return best


SPELLING_POOL = 5000


def _escape(key: str) -> str:
    return key.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def create_customer(actor: Actor, given: CustomerInput) -> Customer:
    actor = as_actor(actor)
    actor.require("customer.create")
    clean = clean_input(given)
    customer = Customer(workspace_id=actor.workspace_id, **clean.__dict__)
    db.session.add(customer)
    db.session.flush()
    audit.record(actor, "customer.created", f"customer {customer.id}", customer.name)
    db.session.commit()
    return customer


def update_customer(actor: Actor, customer_id: int, given: CustomerInput) -> Customer:
    """Change a customer; a new name shows at once on every order of theirs
    (their copy of it is rewritten in this transaction). Files made before
    keep what they printed."""
    actor = as_actor(actor)
    customer = get_customer(actor, customer_id)
    here = actor.at(customer.workspace_id)
    here.require("customer.change")
    clean = clean_input(given)
    changed = [name for name, value in clean.__dict__.items()
               if getattr(customer, name) != value]
    for name, value in clean.__dict__.items():
        setattr(customer, name, value)
    if "name" in changed:
        db.session.execute(
            sa.update(Order).where(Order.customer_id == customer.id)
            .values(customer=customer.name, customer_key=customer.name_key,
                    updated_at=utcnow()).execution_options(synchronize_session="fetch"))
    if changed:
        audit.record(here, "customer.changed", f"customer {customer.id}", ", ".join(changed))
    db.session.commit()
    return customer


def delete_customer(actor: Actor, customer_id: int) -> None:
    """Delete a customer no order refers to; with orders, say so (409)."""
    actor = as_actor(actor)
    customer = get_customer(actor, customer_id)
    here = actor.at(customer.workspace_id)
    here.require("customer.delete")
    orders = db.session.scalar(sa.select(sa.func.count()).where(Order.customer_id == customer.id))
    if orders:
        raise Conflict(f"{customer.name} has {orders:,} order{'s' if orders != 1 else ''}; "
                       "a customer with orders cannot be deleted. Delete or move the orders "
                       "first.")
    audit.record(here, "customer.deleted", f"customer {customer.id}", customer.name)
    db.session.delete(customer)
    db.session.commit()


def find_or_create(actor: Actor, name: str) -> Customer:
    """The workspace's customer whose name searches alike (any case or
    accent, spaces folded), the oldest if several; otherwise a new one, in
    the caller's transaction (nothing is committed here)."""
    clean = parse_name(name, "Customer")
    found = db.session.scalar(
        sa.select(Customer).where(Customer.workspace_id == actor.workspace_id,
                                  Customer.name_key == search_key(clean))
        .order_by(Customer.id).limit(1))
    if found is not None:
        return found
    actor.require("customer.create")
    customer = Customer(workspace_id=actor.workspace_id, name=clean)
    db.session.add(customer)
    db.session.flush()
    audit.record(actor, "customer.created", f"customer {customer.id}", customer.name)
    return customer


def match_one(actor: Actor, text: str) -> Customer:
    """The one customer a free-text filter means: the exact name (any case
    or accent), else the only one containing it. InvalidInput otherwise,
    naming close matches, so a filter never silently selects nothing."""
    actor = as_actor(actor)
    key = search_key(text or "")
    exact = db.session.scalars(
        visible(sa.select(Customer), Customer, actor).where(Customer.name_key == key)
        .order_by(Customer.id).limit(2)).all()
    if len(exact) >= 1:
        return exact[0]
    containing = suggest(actor, text, limit=6)
    if len(containing) == 1:
        return containing[0]
    close = containing or close_matches(actor, text)
    hint = ("; did you mean " + ", ".join(f"“{c.name}” (id {c.id})" for c in close[:5]) + "?"
            if close else "; no customer name is close to it.")
    message = (f"No single customer matches “{text}”" if containing else
               f"No customer matches “{text}”") + hint
    raise InvalidInput(message, {"customer": [message]})


@dataclass(frozen=True)
class CustomerTotals:
    orders: int
    completed: int
    gross: Decimal  # completed orders
    net: Decimal


def totals_of(customer: Customer) -> CustomerTotals:
    """The customer's orders counted, and the completed ones summed."""
    completed = Order.status == OrderStatus.COMPLETED
    row = db.session.execute(
        sa.select(sa.func.count(),
                  sa.func.count().filter(completed),
                  sa.func.coalesce(sa.func.sum(Order.total).filter(completed), 0),
                  sa.func.coalesce(sa.func.sum(Order.net_total).filter(completed), 0))
        .where(Order.customer_id == customer.id)).one()
    cent = Decimal("0.01")
    return CustomerTotals(orders=row[0], completed=row[1],
                          gross=Decimal(str(row[2])).quantize(cent),
                          net=Decimal(str(row[3])).quantize(cent))


def orders_of(customer: Customer, page: int, per_page: int) -> Page:
    """One page of the customer's orders, the latest order date first."""
    query = sa.select(Order).where(Order.customer_id == customer.id)
    total = db.session.scalar(sa.select(sa.func.count()).select_from(query.subquery()))
    rows = db.session.scalars(query.order_by(Order.order_date.desc(), Order.id.desc())
                              .limit(per_page).offset((page - 1) * per_page))
    return Page(items=list(rows), page=page, per_page=per_page, total=total or 0)
