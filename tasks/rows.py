"""The queries behind each report, streamed in batches as plain tuples
(never ORM objects, never the whole report in memory)."""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from tasks.generators import Row
from webapp.models import Order, OrderItem, OrderStatus, ReportJob, ReportKind, User

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


def owner_is_admin_now(job: ReportJob):
    """SQL: the job's owner is an admin at the moment the query runs (not when
    the job was requested: a demoted admin's old or retried job loses the scope)."""
    return sa.exists().where(User.id == job.owner_id, User.is_admin.is_(True))


def owned_by_job_owner(job: ReportJob, *, all_owners: bool = False):
    """The row filter every report query carries: the job owner's own orders,
    or everyone's when the owner asks as an admin and is one when it runs.
    The request path checked ownership too; this holds even if that check was
    bypassed or the order id now names another user's order."""
    if all_owners:
        return sa.or_(Order.owner_id == job.owner_id, owner_is_admin_now(job))
    return Order.owner_id == job.owner_id


def _where(job: ReportJob) -> list:
    if job.kind is ReportKind.ORDER:
        # an admin may report on anyone's order (it saw it to ask for it)
        return [Order.id == job.params["order_id"],
                owned_by_job_owner(job, all_owners=True)]
    start = dt.datetime.combine(dt.date.fromisoformat(job.params["date_from"]), dt.time(),
                                tzinfo=dt.UTC)
    last = dt.date.fromisoformat(job.params["date_to"])
    clauses = [Order.status == OrderStatus.COMPLETED, Order.created_at >= start]
    if last < dt.date.max:  # the day after 9999-12-31 does not exist: no upper bound then
        clauses.append(Order.created_at < dt.datetime.combine(
            last + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC))
    clauses.append(owned_by_job_owner(job, all_owners=bool(job.params.get("all_owners"))))
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
    """Yield report rows in batches of BATCH from a server-side cursor.

    SQLAlchemy binds the parameters, but the rows are read from the DBAPI
    cursor itself: per-row result processing (type decorators, Row objects)
    cost more than writing the CSV. Values that repeat across rows (an order's
    date, a price) are converted once and cached."""
    sqlite = engine.dialect.name == "sqlite"
    dates: dict = {}
    prices: dict = {}
    for batch in _raw_batches(engine, rows_select(job)):
        for order_id, created, customer, status, product, qty, price in batch:
            date = dates.get(created)
            if date is None:
                if len(dates) > 10_000:
                    dates.clear()
                date = dates[created] = _as_utc(created)
            if sqlite:  # SQLite hands back floats; money is Decimal from here on
                amount = prices.get(price)
                if amount is None:
                    if len(prices) > 10_000:
                        prices.clear()
                    amount = prices[price] = Decimal(f"{price:.2f}")
                price = amount
            yield Row(order_id, date, customer, status, product, qty, price, qty * price)


def _raw_batches(engine: Engine, stmt: sa.Select) -> Iterator[list[tuple]]:
    """Plain DBAPI tuples in batches of BATCH, never the whole result at once."""
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            # a named (server-side) cursor: PostgreSQL sends BATCH rows at a time.
            # The parameters need no conversion for psycopg (aware datetimes, str, int).
            compiled = stmt.compile(dialect=engine.dialect,
                                    compile_kwargs={"render_postcompile": True})
            with conn.connection.driver_connection.cursor(name="report_rows") as cursor:
                cursor.itersize = BATCH
                cursor.execute(str(compiled), compiled.params)
                while batch := cursor.fetchmany(BATCH):
                    yield batch
            conn.rollback()
        else:
            # sqlite3 steps through the result as it is fetched; SQLAlchemy binds
            # the parameters (naive UTC text for the dates)
            result = conn.execute(stmt)
            try:
                while batch := result.cursor.fetchmany(BATCH):
                    yield batch
            finally:
                result.close()


def _as_utc(value) -> dt.datetime:
    if isinstance(value, str):  # SQLite stores naive UTC text
        value = dt.datetime.fromisoformat(value)
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)
