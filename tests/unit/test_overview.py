"""The overview's numbers (webapp/reports/overview.py) against independent SQL
on random data (hypothesis), on SQLite and PostgreSQL: the oracle sums the line
items themselves (the overview sums the rollups kept on each order), finds
each period with its own range query, and reads no rollup column."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import make_user
from webapp.extensions import db
from webapp.models import OrderStatus
from webapp.orders.services import ItemInput, create_order
from webapp.reports import overview
from webapp.reports.params import ReportParams

ZONES = ["UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata", "Pacific/Auckland"]
DAY0 = dt.date(2026, 3, 1)
CUSTOMERS = ["ACME", "Café Lumière", "acme", "Bolt & Co", "日本茶"]
PRODUCTS = ["Widget", "Gadget", "Ürün", "Bolt", "Nut", "Gear"]

orders_strategy = st.lists(st.tuples(
    st.integers(0, 1),  # owner: 0 = the user, 1 = someone else
    st.sampled_from(CUSTOMERS),
    st.sampled_from(list(OrderStatus)),
    st.integers(-40 * 24 * 60, 80 * 24 * 60),  # minutes from DAY0 00:00 UTC
    st.lists(st.tuples(st.sampled_from(PRODUCTS), st.integers(1, 10_000),
                       st.decimals("0.01", "99999.99", places=2)), min_size=1, max_size=4),
), max_size=25)


def _insert(owners, orders) -> None:
    for who, customer, status, minutes, items in orders:
        order = create_order(owners[who], customer, [ItemInput(*i) for i in items])
        order.status = status
        order.created_at = dt.datetime.combine(DAY0, dt.time(), dt.UTC) + dt.timedelta(
            minutes=minutes)
    db.session.commit()


def _utc(day: dt.date, zone: str) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), ZoneInfo(zone)).astimezone(dt.UTC)


def _oracle(workspace_id: int, lo: dt.datetime, hi: dt.datetime, customer: str | None = None):
    """orders, items, units, revenue of the owner's completed orders in [lo, hi),
    from the line items, in plain SQL."""
    sqlite = db.engine.dialect.name == "sqlite"
    fmt = (lambda t: t.replace(tzinfo=None).isoformat(" ")) if sqlite else (lambda t: t)
    who = " AND lower(o.customer) = lower(:customer)" if customer else ""
    row = db.session.execute(sa.text(
        "SELECT count(DISTINCT o.id), count(i.id), coalesce(sum(i.quantity), 0), "
        "coalesce(sum(i.quantity * CAST(round(i.unit_price * 100) AS BIGINT)), 0) "
        "FROM orders o JOIN order_items i ON i.order_id = o.id "
        "WHERE o.workspace_id = :owner AND o.status = 'completed' "
        f"AND o.created_at >= :lo AND o.created_at < :hi{who}"),
        {"owner": workspace_id, "lo": fmt(lo), "hi": fmt(hi), "customer": customer}).one()
    return row[0], row[1], int(row[2]), Decimal(int(row[3])) / 100


def _oracle_ranked(workspace_id, lo, hi, column: str):
    sqlite = db.engine.dialect.name == "sqlite"
    fmt = (lambda t: t.replace(tzinfo=None).isoformat(" ")) if sqlite else (lambda t: t)
    rows = db.session.execute(sa.text(
        f"SELECT {column}, sum(i.quantity * CAST(round(i.unit_price * 100) AS BIGINT)), "
        "count(DISTINCT o.id), sum(i.quantity) "
        "FROM orders o JOIN order_items i ON i.order_id = o.id "
        "WHERE o.workspace_id = :owner AND o.status = 'completed' "
        f"AND o.created_at >= :lo AND o.created_at < :hi GROUP BY {column}"),
        {"owner": workspace_id, "lo": fmt(lo), "hi": fmt(hi)}).all()
    return {name: (Decimal(int(cents)) / 100, n, int(units)) for name, cents, n, units in rows}


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(orders=orders_strategy, zone=st.sampled_from(ZONES),
       start=st.integers(0, 20), length=st.sampled_from([1, 7, 31, 45, 200]))
def test_overview_matches_an_independent_query(app, orders, zone, start, length):
    from tests.conftest import _empty_tables

    db.session.rollback()  # TRUNCATE waits for any transaction still open
    _empty_tables(app)
    owners = [make_user("me@example.com"), make_user("other@example.com")]
    _insert(owners, orders)
    me = owners[0]
    date_from = DAY0 + dt.timedelta(days=start)
    date_to = date_from + dt.timedelta(days=length - 1)
    params = ReportParams.summary(date_from, date_to, timezone=zone)
    got = overview.compute(me.id, params, "EUR")

    lo, hi = _utc(date_from, zone), _utc(date_to + dt.timedelta(days=1), zone)
    orders_n, items_n, units, revenue = _oracle(me.id, lo, hi)
    assert (got.kpis.orders, got.kpis.items, got.kpis.units, got.kpis.revenue) == (
        orders_n, items_n, units, revenue)
    assert got.kpis.average_order_value == (
        (revenue / orders_n).quantize(Decimal("0.01")) if orders_n else Decimal("0.00"))
    # the previous period: the same number of days just before
    p_lo = _utc(date_from - dt.timedelta(days=length), zone)
    prev = _oracle(me.id, p_lo, lo)
    assert (got.previous.orders, got.previous.items, got.previous.units,
            got.previous.revenue) == prev
    assert got.previous_to == date_from - dt.timedelta(days=1)
    assert (got.previous_to - got.previous_from).days + 1 == length
    # every period of the range, each against its own range query
    assert got.periods[0].start == date_from
    assert sum(p.revenue for p in got.periods) == revenue
    ends = [p.start for p in got.periods[1:]] + [date_to + dt.timedelta(days=1)]
    for period, end in zip(got.periods, ends, strict=True):
        o, _, _, r = _oracle(me.id, _utc(period.start, zone), _utc(end, zone))
        assert (period.orders, period.revenue) == (o, r), period
    # customers and products, ranked by revenue
    customers = _oracle_ranked(me.id, lo, hi, "o.customer")
    assert got.customers_total == len(customers)
    assert {c.name: (c.revenue, c.orders, c.units) for c in got.customers} == customers
    assert [c.revenue for c in got.customers] == sorted(
        (c.revenue for c in got.customers), reverse=True)
    products = _oracle_ranked(me.id, lo, hi, "i.product")
    assert len(got.top_products) == min(overview.TOP, len(products))
    for p in got.top_products:
        assert products[p.name] == (p.revenue, p.orders, p.units)
    assert [p.revenue for p in got.top_products] == sorted(
        (v[0] for v in products.values()), reverse=True)[:overview.TOP]


def test_grain_follows_the_length_of_the_range():
    assert overview.grain_for(1) == overview.grain_for(31) == "day"
    assert overview.grain_for(32) == overview.grain_for(182) == "week"
    assert overview.grain_for(183) == "month"
    weeks = overview.period_starts(dt.date(2026, 11, 4), dt.date(2026, 11, 30), "week")
    assert weeks == [dt.date(2026, 11, 4), dt.date(2026, 11, 9), dt.date(2026, 11, 16),
                     dt.date(2026, 11, 23), dt.date(2026, 11, 30)]  # Mondays after the first
    months = overview.period_starts(dt.date(2026, 1, 31), dt.date(2026, 4, 1), "month")
    assert months == [dt.date(2026, 1, 31), dt.date(2026, 2, 1), dt.date(2026, 3, 1),
                      dt.date(2026, 4, 1)]
    assert overview.period_label(dt.date(2026, 3, 1), "month") == "Mar 2026"
    assert overview.period_label(dt.date(2026, 3, 9), "day") == "Mar 9"


@pytest.mark.parametrize("zone, utc_time, local_day", [
    # the last minutes of a local day are that day's, though already the next UTC day
    ("Europe/Berlin", dt.datetime(2026, 11, 3, 22, 59), dt.date(2026, 11, 3)),
    ("Europe/Berlin", dt.datetime(2026, 11, 3, 23, 0), dt.date(2026, 11, 4)),
    ("America/New_York", dt.datetime(2026, 11, 4, 4, 59), dt.date(2026, 11, 3)),
    # spring forward: 2026-03-29 in Berlin is 23 hours (23:00 UTC the day before
    # to 22:00 UTC); fall back: 2026-10-25 is 25 hours (22:00 UTC the day
    # before to 23:00 UTC)
    ("Europe/Berlin", dt.datetime(2026, 3, 28, 22, 59), dt.date(2026, 3, 28)),
    ("Europe/Berlin", dt.datetime(2026, 3, 28, 23, 0), dt.date(2026, 3, 29)),
    ("Europe/Berlin", dt.datetime(2026, 3, 29, 21, 59), dt.date(2026, 3, 29)),
    ("Europe/Berlin", dt.datetime(2026, 3, 29, 22, 0), dt.date(2026, 3, 30)),
    ("Europe/Berlin", dt.datetime(2026, 10, 25, 22, 30), dt.date(2026, 10, 25)),
    ("Europe/Berlin", dt.datetime(2026, 10, 25, 23, 0), dt.date(2026, 10, 26)),
    # New York springs forward on 2026-03-08 and falls back on 2026-11-01
    ("America/New_York", dt.datetime(2026, 3, 9, 3, 59), dt.date(2026, 3, 8)),
    ("America/New_York", dt.datetime(2026, 3, 9, 4, 0), dt.date(2026, 3, 9)),
    ("America/New_York", dt.datetime(2026, 11, 2, 4, 59), dt.date(2026, 11, 1)),
    ("America/New_York", dt.datetime(2026, 11, 2, 5, 0), dt.date(2026, 11, 2)),
])
def test_an_order_counts_on_its_local_day(app, user, zone, utc_time, local_day):
    order = create_order(user, "ACME", [ItemInput("Widget", 2, Decimal("5.00"))])
    order.status = OrderStatus.COMPLETED
    order.created_at = utc_time.replace(tzinfo=dt.UTC)
    db.session.commit()
    week = ReportParams.summary(local_day - dt.timedelta(days=3),
                                local_day + dt.timedelta(days=3), timezone=zone)
    got = overview.compute(user.id, week, "USD")
    assert [p.start for p in got.periods if p.orders] == [local_day]
    assert got.kpis.revenue == Decimal("10.00") and got.kpis.units == 2
    only_that_day = ReportParams.summary(local_day, local_day, timezone=zone)
    assert overview.compute(user.id, only_that_day, "USD").kpis.orders == 1
    in_utc = ReportParams.summary(local_day, local_day, timezone="UTC")
    assert overview.compute(user.id, in_utc, "USD").kpis.orders == (
        1 if utc_time.date() == local_day else 0)


def test_an_empty_range_has_zero_periods_and_no_change(app, user):
    got = overview.compute(user.id, ReportParams.summary(DAY0, DAY0 + dt.timedelta(days=6)),
                           "USD")
    assert got.kpis.orders == 0 and got.kpis.average_order_value == Decimal("0.00")
    assert len(got.periods) == 7 and all(p.orders == 0 for p in got.periods)
    assert got.change("revenue") is None and got.top_customers == [] == got.top_products


def test_change_against_the_previous_period(app, user):
    def completed(day: dt.date, price: str) -> None:
        order = create_order(user, "ACME", [ItemInput("Widget", 1, Decimal(price))])
        order.status = OrderStatus.COMPLETED
        order.created_at = dt.datetime.combine(day, dt.time(12), dt.UTC)

    completed(DAY0 - dt.timedelta(days=3), "80.00")  # the previous week
    completed(DAY0, "50.00")
    completed(DAY0 + dt.timedelta(days=6), "50.00")
    db.session.commit()
    got = overview.compute(user.id, ReportParams.summary(DAY0, DAY0 + dt.timedelta(days=6)),
                           "USD")
    assert got.change("revenue") == Decimal("25.0")  # 100 against 80
    assert got.change("orders") == Decimal("100.0")
    assert got.change("average_order_value") == Decimal("-37.5")  # 50 against 80
