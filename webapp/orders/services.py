"""Order business rules. Each public function is one transaction."""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import sqlalchemy as sa

from .. import audit
from ..auth.current import Actor, as_actor, visible
from ..errors import InvalidInput, OrderNotFound
from ..extensions import db
from ..models import MAX_ID, Order, OrderItem, OrderStatus
from ..pagination import Page
from ..reports.lifecycle import cancel_open_jobs_of_order
from .validation import MAX_ITEMS


@dataclass(frozen=True)
class ItemInput:
    product: str
    quantity: int
    unit_price: Decimal


def _check_items(items: list[ItemInput]) -> None:
    if not items:
        raise InvalidInput("An order needs at least one item.",
                           {"items": ["Add at least one item."]})
    if len(items) > MAX_ITEMS:
        raise InvalidInput(f"An order can have at most {MAX_ITEMS} items.",
                           {"items": [f"At most {MAX_ITEMS} items per order."]})


def _replace_items(order: Order, items: list[ItemInput]) -> None:
    order.items = [OrderItem(product=i.product, quantity=i.quantity, unit_price=i.unit_price)
                   for i in items]
    order.recompute_totals()


def create_order(actor: Actor, customer: str, items: list[ItemInput]) -> Order:
    actor = as_actor(actor)
    actor.require("order.create")
    _check_items(items)
    order = Order(workspace_id=actor.workspace_id, created_by_id=actor.user_id,
                  customer=customer, status=OrderStatus.OPEN)
    _replace_items(order, items)
    db.session.add(order)
    db.session.flush()
    audit.record(actor, "order.created", f"order {order.id}", order.customer)
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


def update_order(actor: Actor, order_id: int, *, customer: str | None = None,
                 items: list[ItemInput] | None = None,
                 status: OrderStatus | None = None) -> Order:
    actor = as_actor(actor)
    order = _order_to_change(actor, order_id, "order.change")
    if customer is not None:
        order.customer = customer
    if items is not None:
        _check_items(items)
        _replace_items(order, items)
    if status is not None:
        order.status = status
    changed = [name for name, given in (("customer", customer), ("items", items),
                                        ("status", status)) if given is not None]
    audit.record(actor.at(order.workspace_id), "order.changed", f"order {order.id}",
                 ", ".join(changed) + (f" → {status.value}" if status is not None else ""))
    db.session.commit()
    return order


def delete_order(actor: Actor, order_id: int) -> None:
    actor = as_actor(actor)
    order = _order_to_change(actor, order_id, "order.delete")
    cancel_open_jobs_of_order(db.session.connection(), order.id)
    audit.record(actor.at(order.workspace_id), "order.deleted", f"order {order.id}",
                 order.customer)
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
        query.order_by(Order.created_at.desc(), Order.id.desc())
        .limit(per_page).offset((page - 1) * per_page)
    ).all()
    return Page(items=list(rows), page=page, per_page=per_page, total=total or 0)


def customer_names(actor: Actor, limit: int = 200) -> list[str]:
    """Distinct customers, for the report form's suggestions."""
    actor = as_actor(actor)
    return list(db.session.scalars(
        visible(sa.select(Order.customer), Order, actor).distinct().order_by(Order.customer)
        .limit(limit)))
