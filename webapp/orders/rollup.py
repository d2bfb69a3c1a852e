"""product_months, kept in step with the orders (models.ProductMonth).

Every flush that adds, changes or deletes an order or a line item moves the
rollup by the difference it makes: the order's contribution as the database
holds it before the flush (read with Core, so nothing autoflushes) is taken
away and its contribution as the session holds it is added, each in the
month of its order date. A contribution is per product: gross and net revenue
in cents, units, and one order.
Only completed orders contribute. So the rollup follows the services, the
CLI, tests that set attributes directly, and anything else going through the
ORM; Core bulk loads (bench data, the fault suite's seed) call rebuild()."""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from ..models import Order, OrderItem, OrderStatus, ProductMonth

Key = tuple[int, dt.date, str]  # owner, month, product
Delta = dict[Key, list[int]]  # [gross cents, units, orders, net cents]


def month_of(day: dt.date) -> dt.date:
    return dt.date(day.year, day.month, 1)


def _cell() -> list[int]:
    return [0, 0, 0, 0]


def _cents(value: Decimal) -> int:
    return int((Decimal(value) * 100).to_integral_value())


def _stored(conn, order_ids: set[int]) -> Delta:
    """The contributions of these orders as the database holds them now."""
    found: Delta = defaultdict(_cell)
    if not order_ids:
        return found
    rows = conn.execute(
        sa.select(Order.id, Order.workspace_id, Order.order_date, OrderItem.product,
                  OrderItem.quantity, OrderItem.gross, OrderItem.net)
        .join(OrderItem, OrderItem.order_id == Order.id)
        .where(Order.id.in_(sorted(order_ids)), Order.status == OrderStatus.COMPLETED))
    seen: set[tuple[int, str]] = set()
    for order_id, workspace_id, day, product, qty, gross, net in rows:
        if isinstance(day, str):  # SQLite through Core without the type's processing
            day = dt.date.fromisoformat(day)
        cell = found[(workspace_id, month_of(day), product)]
        cell[0] += _cents(gross)
        cell[1] += qty
        cell[3] += _cents(net)
        if (order_id, product) not in seen:
            seen.add((order_id, product))
            cell[2] += 1
    return found


def _in_session(orders: list[Order]) -> Delta:
    """The contributions of these orders as the session holds them."""
    found: Delta = defaultdict(_cell)
    for order in orders:
        if order.status is not OrderStatus.COMPLETED or order.workspace_id is None:
            continue
        month = month_of(order.order_date)
        products = set()
        for item in order.items:
            cell = found[(order.workspace_id, month, item.product)]
            cell[0] += _cents(item.gross or 0)
            cell[1] += item.quantity
            cell[3] += _cents(item.net or 0)
            products.add(item.product)
        for product in products:
            found[(order.workspace_id, month, product)][2] += 1
    return found


def _touched(session: Session) -> tuple[list[Order], set[int]]:
    """The orders a flush may change the contribution of: (as they will be,
    ids of those already stored)."""
    orders: dict[int, Order] = {}
    stored: set[int] = set()
    deleted = set(session.deleted)
    for obj in (*session.new, *session.dirty, *deleted):
        order = obj if isinstance(obj, Order) else (
            obj.order if isinstance(obj, OrderItem) else None)
        if isinstance(obj, OrderItem) and order is None and obj.order_id is not None:
            stored.add(obj.order_id)  # an orphan item: its order is re-read below
            order = session.get(Order, obj.order_id)
        if order is None:
            continue
        orders[id(order)] = order
        if order.id is not None:
            stored.add(order.id)
    after = [o for o in orders.values() if o not in deleted]
    return after, stored


@event.listens_for(Session, "before_flush")
def _keep_in_step(session: Session, _context, _instances) -> None:
    if not any(isinstance(o, (Order, OrderItem))
               for o in (*session.new, *session.dirty, *session.deleted)):
        return
    after, stored = _touched(session)
    conn = session.connection()
    delta: Delta = defaultdict(_cell)
    for key, values in _stored(conn, stored).items():
        delta[key] = [d - v for d, v in zip(delta[key], values, strict=True)]
    for key, values in _in_session(after).items():
        delta[key] = [d + v for d, v in zip(delta[key], values, strict=True)]
    _apply(conn, {k: v for k, v in delta.items() if any(v)})


def _apply(conn, delta: Delta) -> None:
    if not delta:
        return
    table = ProductMonth.__table__
    stmt = (postgresql if conn.dialect.name == "postgresql" else sqlite).insert(table)
    stmt = stmt.on_conflict_do_update(
        index_elements=[table.c.workspace_id, table.c.month, table.c.product],
        set_={"revenue_cents": table.c.revenue_cents + stmt.excluded.revenue_cents,
              "net_cents": table.c.net_cents + stmt.excluded.net_cents,
              "units": table.c.units + stmt.excluded.units,
              "orders": table.c.orders + stmt.excluded.orders})
    conn.execute(stmt, [{"workspace_id": owner, "month": month, "product": product,
                         "revenue_cents": cents, "units": units, "orders": orders,
                         "net_cents": net}
                        for (owner, month, product), (cents, units, orders, net)
                        in sorted(delta.items())])
    # cells no completed order has any more; only the keys just moved
    by_month: dict[tuple[int, dt.date], list[str]] = defaultdict(list)
    for owner, month, product in delta:
        by_month[(owner, month)].append(product)
    for (owner, month), products in by_month.items():
        conn.execute(table.delete().where(
            table.c.workspace_id == owner, table.c.month == month,
            table.c.product.in_(products), table.c.orders <= 0))


# the month of an order's date and its items' revenue in cents, per database
# (migrations/versions/0013 fills the table with the same SQL)
_MONTH = {
    "postgresql": "CAST(date_trunc('month', o.order_date) AS date)",
    "sqlite": "date(o.order_date, 'start of month')",
}
_CENTS = {
    "postgresql": "CAST(SUM(i.{0} * 100) AS BIGINT)",
    "sqlite": "SUM(CAST(round(i.{0} * 100) AS INTEGER))",
}


def rebuild(conn, workspace_id: int | None = None) -> None:
    """Recompute the rollup from the items (all owners, or one), for loads
    that bypass the ORM: one INSERT … SELECT … GROUP BY in the database."""
    table = ProductMonth.__table__
    conn.execute(table.delete() if workspace_id is None
                 else table.delete().where(table.c.workspace_id == workspace_id))
    dialect = conn.dialect.name
    month, gross, net = (_MONTH[dialect], _CENTS[dialect].format("gross"),
                         _CENTS[dialect].format("net"))
    mine = "" if workspace_id is None else "AND o.workspace_id = :owner "
    conn.execute(sa.text(
        "INSERT INTO product_months (workspace_id, month, product, revenue_cents, net_cents, "
        "units, orders) "
        f"SELECT o.workspace_id, {month}, i.product, {gross}, {net}, SUM(i.quantity), "
        "COUNT(DISTINCT o.id) FROM orders o JOIN order_items i ON i.order_id = o.id "
        f"WHERE o.status = 'completed' {mine}GROUP BY o.workspace_id, {month}, i.product"),
        {} if workspace_id is None else {"owner": workspace_id})
