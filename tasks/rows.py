"""The queries behind each report, streamed in batches as plain tuples
(never ORM objects, never the whole report in memory)."""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from tasks.generators import Row
from tasks.generators.audit_csv import AuditRow
from webapp.models import AuditEntry, Order, OrderItem, ReportJob, ReportKind
from webapp.orders.money import normalise_rate
from webapp.reports.params import params_of

BATCH = 2000

SHIPPING = "Shipping"  # the product name of an order's shipping row


def _item_columns():
    return (Order.id, Order.number, Order.order_date, Order.customer,
            # the stored word itself: no Enum object per row
            sa.type_coerce(Order.status, sa.String),
            OrderItem.product, OrderItem.quantity, OrderItem.unit_price,
            OrderItem.discount_rate, OrderItem.discount, OrderItem.net, OrderItem.tax_rate,
            OrderItem.tax, OrderItem.gross)


def _shipping_columns():
    zero = sa.literal(0, sa.Numeric(12, 2))
    return (Order.id, Order.number, Order.order_date, Order.customer,
            sa.type_coerce(Order.status, sa.String),
            sa.literal(SHIPPING, sa.String), sa.literal(1, sa.Integer), Order.shipping,
            zero, zero, Order.shipping_net, Order.shipping_tax_rate, Order.shipping_tax,
            Order.shipping_net + Order.shipping_tax)


def has_shipping():
    return Order.shipping_net + Order.shipping_tax != 0


def _where(job: ReportJob) -> list:
    # the filter, ownership included, is the parameters' own (ReportParams.where)
    return params_of(job).where(job.workspace_id)


def rows_select(job: ReportJob) -> sa.Select:
    """Every item of the job's orders, then each order's shipping row (if it
    charges any), an order's rows together: by order date and id for a
    summary (the detail after the overview reads in time order), by id
    otherwise."""
    where = _where(job)
    summary = job.kind is ReportKind.SUMMARY
    first = Order.order_date if summary else Order.id
    items = (sa.select(*_item_columns(), first.label("k1"), sa.literal(0).label("k2"),
                       OrderItem.id.label("k3"))
             .join(OrderItem, OrderItem.order_id == Order.id).where(*where))
    shipping = (sa.select(*_shipping_columns(), first.label("k1"), sa.literal(1).label("k2"),
                          sa.literal(0).label("k3"))
                .where(*where, has_shipping()))
    both = sa.union_all(items, shipping).subquery()
    columns = list(both.c)
    keys = [both.c.k1, columns[0]] if summary else [both.c.k1]  # columns[0]: the order id
    return sa.select(*columns[:14]).order_by(*keys, both.c.k2, both.c.k3)


def count_rows(engine: Engine, job: ReportJob) -> int:
    """The report's row count, for progress and the PDF limit, from the
    orders' own item_count (kept with their items by every writer, bulk loads
    included) plus one per order that charges shipping: counting the joined
    items took 0.2 s of a 1M-row CSV's ~2.7 s, this a few ms. A count that is
    off costs speed, not rows: copy_csv checks it and hands a job whose rows
    do not match to the Python writer."""
    if job.kind is ReportKind.AUDIT:
        stmt = sa.select(sa.func.count()).select_from(AuditEntry).where(*_where(job))
    else:
        stmt = sa.select(sa.func.coalesce(sa.func.sum(Order.item_count), 0)
                         + sa.func.coalesce(sa.func.sum(sa.case((has_shipping(), 1),
                                                                else_=0)), 0)
                         ).where(*_where(job))
    with engine.connect() as conn:
        return int(conn.scalar(stmt))


def stream_rows(engine: Engine, job: ReportJob) -> Iterator[Row]:
    """Yield report rows in batches of BATCH from a server-side cursor.

    SQLAlchemy binds the parameters, but the rows are read from the DBAPI
    cursor itself: per-row result processing (type decorators, Row objects)
    cost more than writing the CSV. Values that repeat across rows (an order's
    date, a price, a rate) are converted once and cached."""
    sqlite = engine.dialect.name == "sqlite"
    dates: dict = {}
    amounts: dict = {}
    rates: dict = {}

    def money(value):
        found = amounts.get(value)
        if found is None:
            if len(amounts) > 10_000:
                amounts.clear()
            found = amounts[value] = Decimal(f"{value:.2f}")
        return found

    def rate(value):
        found = rates.get(value)
        if found is None:
            found = rates[value] = normalise_rate(Decimal(str(value)))
        return found

    for batch in _raw_batches(engine, rows_select(job)):
        for (order_id, number, day, customer, status, product, qty, price, discount_rate,
             discount, net, tax_rate, tax, gross) in batch:
            if day.__class__ is str:  # SQLite's date text
                date = dates.get(day)
                if date is None:
                    if len(dates) > 10_000:
                        dates.clear()
                    date = dates[day] = dt.date.fromisoformat(day)
                day = date
            if sqlite:  # SQLite hands back floats; money is Decimal from here on
                price, discount, net, tax, gross = (money(price), money(discount), money(net),
                                                    money(tax), money(gross))
            yield Row(order_id, number, day, customer, status, product, qty, price,
                      rate(discount_rate), discount, net, rate(tax_rate), tax, gross)


def stream_audit_rows(engine: Engine, job: ReportJob) -> Iterator[AuditRow]:
    """The audit entries an AUDIT job selects, newest first (as the page lists them)."""
    stmt = (sa.select(AuditEntry.id, AuditEntry.at, AuditEntry.actor, AuditEntry.action,
                      AuditEntry.target, AuditEntry.detail, AuditEntry.via)
            .where(*_where(job)).order_by(AuditEntry.id.desc()))
    for batch in _raw_batches(engine, stmt):
        for entry_id, at, person, action, target, detail, via in batch:
            yield AuditRow(entry_id, _as_utc(at), person, action, target, detail, via)


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
