"""Order business rules. Each public function is one transaction."""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import sqlalchemy as sa

from ..auth.current import may_see, visible
from ..errors import InvalidInput, OrderNotFound
from ..extensions import db
from ..models import MAX_ID, Order, OrderItem, OrderStatus, User
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


def create_order(owner: User, customer: str, items: list[ItemInput]) -> Order:
    _check_items(items)
    order = Order(owner_id=owner.id, customer=customer, status=OrderStatus.OPEN)
    _replace_items(order, items)
    db.session.add(order)
    db.session.commit()
    return order




def get_order(owner: User, order_id: int) -> Order:
    """The order if `owner` may see it; another user's order is "not found"
    (never "forbidden"), so ids cannot be probed."""
    order = db.session.get(Order, order_id) if 0 < order_id <= MAX_ID else None
    if not may_see(owner, order):
        raise OrderNotFound(order_id)
    return order


def update_order(owner: User, order_id: int, *, customer: str | None = None,
                 items: list[ItemInput] | None = None,
                 status: OrderStatus | None = None) -> Order:
    order = get_order(owner, order_id)
    if customer is not None:
        order.customer = customer
    if items is not None:
        _check_items(items)
        _replace_items(order, items)
    if status is not None:
        order.status = status
    db.session.commit()
    return order


def delete_order(owner: User, order_id: int) -> None:
    order = get_order(owner, order_id)
    cancel_open_jobs_of_order(db.session.connection(), order.id)
    db.session.delete(order)
    db.session.commit()


def list_orders(owner: User, *, search: str = "", page: int = 1, per_page: int = 20) -> Page:
    query = visible(sa.select(Order), Order, owner)
    matching = Order.customer_like(search)
    if matching is not None:
        query = query.where(matching)
    total = db.session.scalar(sa.select(sa.func.count()).select_from(query.subquery()))
    rows = db.session.scalars(
        query.order_by(Order.created_at.desc(), Order.id.desc())
        .limit(per_page).offset((page - 1) * per_page)
    ).all()
    return Page(items=list(rows), page=page, per_page=per_page, total=total or 0)


def customer_names(owner: User, limit: int = 200) -> list[str]:
    """Distinct customers, for the report form's suggestions."""
    return list(db.session.scalars(
        visible(sa.select(Order.customer), Order, owner).distinct().order_by(Order.customer)
        .limit(limit)))
