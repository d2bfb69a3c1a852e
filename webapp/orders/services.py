"""Order business rules. Each public function is one transaction."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from .. import audit
from ..auth.current import Actor, as_actor, visible
from ..customers import services as customers
from ..errors import Conflict, InvalidInput, OrderNotFound
from ..extensions import db
from ..models import MAX_ID, Customer, Order, OrderItem, OrderStatus, Workspace
from ..pagination import Page
from ..reports.lifecycle import cancel_open_jobs_of_order
from ..timezones import today, zone_of
from .validation import MAX_ITEMS


@dataclass(frozen=True)
class ItemInput:
    product: str
    quantity: int
    unit_price: Decimal  # net, or gross where the workspace enters prices with tax
    tax_rate: Decimal = Decimal(0)  # percent
    discount_rate: Decimal = Decimal(0)  # percent of quantity × unit price


class DuplicateReference(Conflict):
    """POST with an external_ref the workspace already has: 409, with where
    the existing order is."""

    def __init__(self, order: Order):
        super().__init__(f"Order {order.number} already has the external reference "
                         f"“{order.external_ref}”; change it with PUT "
                         f"/api/orders/by-ref/{order.external_ref}, or send another one.")
        self.order_id, self.number = order.id, order.number


# an order may be dated up to this many days after today in its maker's zone
# (a shop a time zone ahead), and any day before
DAYS_AHEAD = 1


def _check_items(items: list[ItemInput]) -> None:
    if not items:
        raise InvalidInput("An order needs at least one item.",
                           {"items": ["Add at least one item."]})
    if len(items) > MAX_ITEMS:
        raise InvalidInput(f"An order can have at most {MAX_ITEMS} items.",
                           {"items": [f"At most {MAX_ITEMS} items per order."]})


def _replace_items(order: Order, items: list[ItemInput]) -> None:
    order.items = [OrderItem(product=i.product, quantity=i.quantity, unit_price=i.unit_price,
                             tax_rate=i.tax_rate, discount_rate=i.discount_rate)
                   for i in items]


def _check_date(actor: Actor, day: dt.date) -> None:
    latest = today(zone_of(actor.user)) + dt.timedelta(days=DAYS_AHEAD)
    if day > latest:
        message = (f"The order date can be at most {DAYS_AHEAD} day after today "
                   f"({latest:%Y-%m-%d}).")
        raise InvalidInput(message, {"order_date": [message]})


def _customer_for(actor: Actor, customer: str | int | Customer) -> Customer:
    """A record of the actor's workspace: by id (400 if it is not theirs,
    naming the field), as given, or matched or created from a name."""
    if isinstance(customer, Customer):
        record = customer
    elif isinstance(customer, int):
        record = db.session.get(Customer, customer) if 0 < customer <= MAX_ID else None
    else:
        return customers.find_or_create(actor, customer)
    if record is None or record.workspace_id != actor.workspace_id:
        message = f"Customer {customer if isinstance(customer, int) else record.id} does not exist."
        raise InvalidInput(message, {"customer_id": [message]})
    return record


def _check_reference(actor: Actor, ref: str | None, order_id: int | None = None) -> None:
    if not ref:
        return
    other = db.session.scalar(sa.select(Order).where(
        Order.workspace_id == actor.workspace_id, Order.external_ref == ref))
    if other is not None and other.id != order_id:
        raise DuplicateReference(other)


def _next_number(workspace_id: int) -> str:
    """The workspace's next order number, taken in this transaction: the row
    stays locked until it ends, so two orders never get one number, and an
    order that rolls back gives its number back (gap-free in the normal path)."""
    prefix, number = db.session.execute(
        sa.update(Workspace).where(Workspace.id == workspace_id)
        .values(next_order_number=Workspace.next_order_number + 1)
        .returning(Workspace.order_prefix, Workspace.next_order_number - 1)
        .execution_options(synchronize_session=False)).one()
    return f"{prefix}{number:06d}"


def create_order(actor: Actor, customer: str | int | Customer, items: list[ItemInput], *,
                 order_date: dt.date | None = None, external_ref: str | None = None,
                 notes: str | None = None, shipping: Decimal = Decimal(0),
                 shipping_tax_rate: Decimal = Decimal(0),
                 status: OrderStatus = OrderStatus.OPEN) -> Order:
    """A new order of the actor's workspace, numbered from its sequence and
    dated today in the actor's zone unless order_date says otherwise.
    `customer` is a record, its id, or a name matched to a record (any case
    or accent) or made into one."""
    actor = as_actor(actor)
    actor.require("order.create")
    _check_items(items)
    day = order_date or today(zone_of(actor.user))
    _check_date(actor, day)
    _check_reference(actor, external_ref)
    record = _customer_for(actor, customer)
    workspace = actor.workspace
    order = Order(workspace_id=actor.workspace_id, created_by_id=actor.user_id,
                  customer_id=record.id, customer=record.name, status=status,
                  order_date=day, external_ref=external_ref, notes=notes,
                  shipping=shipping, shipping_tax_rate=shipping_tax_rate,
                  prices_include_tax=workspace.prices_include_tax,
                  number=_next_number(actor.workspace_id))
    _replace_items(order, items)
    order.recompute_totals(workspace.currency)
    db.session.add(order)
    try:
        db.session.flush()
    except IntegrityError:  # the same external_ref, inserted at the same instant
        db.session.rollback()
        _check_reference(actor, external_ref)
        raise
    audit.record(actor, "order.created", f"order {order.id}", f"{order.number}, {order.customer}")
    db.session.commit()
    return order




def get_order(actor: Actor, order_id: int) -> Order:
    """The order if `actor` is a member of its workspace; any other order is
    "not found" (never "forbidden"), so ids cannot be probed."""
    actor = as_actor(actor)
    order = db.session.get(Order, order_id) if 0 < order_id <= MAX_ID else None
    if not actor.sees(order):
        raise OrderNotFound(order_id)
    return order


def _order_to_change(actor: Actor, order_id: int, action: str) -> Order:
    order = get_order(actor, order_id)
    actor.at(order.workspace_id).require(action)
    return order


_UNSET = object()


def update_order(actor: Actor, order_id: int, *, customer: str | int | Customer | None = None,
                 items: list[ItemInput] | None = None, status: OrderStatus | None = None,
                 order_date: dt.date | None = None, external_ref=_UNSET, notes=_UNSET,
                 shipping: Decimal | None = None,
                 shipping_tax_rate: Decimal | None = None) -> Order:
    """Change what is given (None: keep; external_ref and notes may be set
    to None). The totals follow the items and shipping by the order's own
    way of entering prices (net or gross), whatever the setting is now."""
    actor = as_actor(actor)
    order = _order_to_change(actor, order_id, "order.change")
    here = actor.at(order.workspace_id)
    changed = []
    if customer is not None:
        record = _customer_for(here, customer)
        if record.id != order.customer_id:
            order.customer_id, order.customer = record.id, record.name
            changed.append("customer")
    if order_date is not None and order_date != order.order_date:
        _check_date(here, order_date)
        order.order_date = order_date
        changed.append("order date")
    if external_ref is not _UNSET and external_ref != order.external_ref:
        _check_reference(here, external_ref, order.id)
        order.external_ref = external_ref
        changed.append("external reference")
    if notes is not _UNSET and notes != order.notes:
        order.notes = notes
        changed.append("notes")
    if shipping is not None and shipping != order.shipping:
        order.shipping = shipping
        changed.append("shipping")
    if shipping_tax_rate is not None and shipping_tax_rate != order.shipping_tax_rate:
        order.shipping_tax_rate = shipping_tax_rate
        changed.append("shipping tax rate")
    if items is not None:
        _check_items(items)
        _replace_items(order, items)
        changed.append("items")
    if items is not None or "shipping" in changed or "shipping tax rate" in changed:
        order.recompute_totals(here.workspace.currency)
    if status is not None and status != order.status:
        order.status = status
        changed.append(f"status → {status.value}")
    audit.record(here, "order.changed", f"order {order.id}",
                 ", ".join(changed) or "nothing")
    db.session.commit()
    return order


def order_by_reference(actor: Actor, ref: str) -> Order:
    """The order of the current workspace with this external reference."""
    actor = as_actor(actor)
    order = db.session.scalar(sa.select(Order).where(
        Order.workspace_id == actor.workspace_id, Order.external_ref == ref))
    if order is None:
        raise OrderNotFound(f"with external reference “{ref}”")
    return order


def delete_order(actor: Actor, order_id: int) -> None:
    actor = as_actor(actor)
    order = _order_to_change(actor, order_id, "order.delete")
    cancel_open_jobs_of_order(db.session.connection(), order.id)
    audit.record(actor.at(order.workspace_id), "order.deleted", f"order {order.id}",
                 f"{order.number}, {order.customer}")
    db.session.delete(order)
    db.session.commit()


def list_orders(actor: Actor, *, search: str = "", page: int = 1, per_page: int = 20) -> Page:
    actor = as_actor(actor)
    query = visible(sa.select(Order), Order, actor)
    matching = Order.customer_like(search)
    if matching is not None:
        query = query.where(matching)
    total = db.session.scalar(sa.select(sa.func.count()).select_from(query.subquery()))
    rows = db.session.scalars(
        query.order_by(Order.order_date.desc(), Order.id.desc())
        .limit(per_page).offset((page - 1) * per_page)
    ).all()
    return Page(items=list(rows), page=page, per_page=per_page, total=total or 0)


def customer_names(actor: Actor, limit: int = 200) -> list[str]:
    """The workspace's customers' names, for the report form's suggestions."""
    actor = as_actor(actor)
    return list(db.session.scalars(
        visible(sa.select(Customer.name), Customer, actor).order_by(Customer.name_key)
        .limit(limit)))
