"""The queries behind each report, streamed in batches as plain tuples
(never ORM objects, never the whole report in memory)."""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from tasks.generators import Row
from webapp.models import Order, OrderItem, OrderStatus, ReportJob, ReportKind

BATCH = 2000

_COLUMNS = (
    Order.id,
    Order.created_at,
    Order.customer,
    # the stored word itself: no Enum object per row
    sa.type_coerce(Order.status, sa.String),
    OrderItem.product,
    OrderItem.quantity,
    OrderItem.unit_price,
)


def _where(job: ReportJob) -> list:
    if job.kind is ReportKind.ORDER:
        # the owner was checked when the job was requested
        return [Order.id == job.params["order_id"]]
    start = dt.datetime.combine(dt.date.fromisoformat(job.params["date_from"]), dt.time(),
                                tzinfo=dt.UTC)
    last = dt.date.fromisoformat(job.params["date_to"])
    clauses = [Order.status == OrderStatus.COMPLETED, Order.created_at >= start]
    if last < dt.date.max:  # the day after 9999-12-31 does not exist: no upper bound then
        clauses.append(Order.created_at < dt.datetime.combine(
            last + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC))
    if not job.params.get("all_owners"):
        clauses.append(Order.owner_id == job.owner_id)
    if job.params.get("customer"):
        clauses.append(sa.func.lower(Order.customer) == job.params["customer"].lower())
    return clauses


def rows_select(job: ReportJob) -> sa.Select:
    return (sa.select(*_COLUMNS).join(OrderItem, OrderItem.order_id == Order.id)
            .where(*_where(job)).order_by(Order.id, OrderItem.id))


def count_rows(engine: Engine, job: ReportJob) -> int:
    stmt = (sa.select(sa.func.count()).select_from(Order)
            .join(OrderItem, OrderItem.order_id == Order.id).where(*_where(job)))
    with engine.connect() as conn:
        return conn.scalar(stmt) or 0


def stream_rows(engine: Engine, job: ReportJob) -> Iterator[Row]:
    """Yield report rows in batches of BATCH from a server-side cursor."""
    with engine.connect() as conn:
        result = conn.execution_options(stream_results=True, yield_per=BATCH).execute(
            rows_select(job))
        for batch in result.partitions():
            for order_id, created, customer, status, product, qty, price in batch:
                yield Row(order_id, created, customer, status, product, qty, price, qty * price)
