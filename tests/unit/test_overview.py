"""The overview's numbers (webapp/reports/overview.py) against independent SQL
on random data (hypothesis), on SQLite and PostgreSQL: the oracle reads the
line items' and the shipping line's own amounts (the overview sums the totals
kept on each order, and product_months for whole months), groups by the
customer record and cuts periods by dates itself. An order counts on its
order date, whatever its created_at and whatever zone the range is read in."""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
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
CUSTOMERS = ["ACME", "Café Lumière", "acme", "Bolt & Co", "日本茶"]  # "acme" is ACME's record
PRODUCTS = ["Widget", "Gadget", "Ürün", "Bolt", "Nut", "Gear"]
RATES = [Decimal(0), Decimal(7), Decimal(19)]

orders_strategy = st.lists(st.tuples(
    st.integers(0, 1),  # owner: 0 = the user, 1 = someone else
    st.sampled_from(CUSTOMERS),
    st.sampled_from(list(OrderStatus)),
    st.integers(-40, 80),  # order date: days from DAY0
    st.integers(-40 * 24 * 60, 80 * 24 * 60),  # created_at: minutes from DAY0 00:00 UTC
    st.lists(st.tuples(st.sampled_from(PRODUCTS), st.integers(1, 10_000),
                       st.decimals("0.01", "99999.99", places=2), st.sampled_from(RATES),
                       st.sampled_from([Decimal(0), Decimal("12.5")])),
             min_size=1, max_size=4),
    st.sampled_from([Decimal(0), Decimal("4.90")]),  # shipping
    st.sampled_from(RATES),  # shipping's tax rate
), max_size=25)


def _insert(owners, orders) -> None:
    for who, customer, status, days, minutes, items, shipping, shipping_rate in orders:
        order = create_order(owners[who], customer, [ItemInput(*i) for i in items],
                             order_date=DAY0 + dt.timedelta(days=days), shipping=shipping,
                             shipping_tax_rate=shipping_rate)
        order.status = status
        # when it was typed in has nothing to do with its date
        order.created_at = dt.datetime.combine(DAY0, dt.time(), dt.UTC) + dt.timedelta(
            minutes=minutes)
    db.session.commit()


def _day(value) -> dt.date:
    return dt.date.fromisoformat(value) if isinstance(value, str) else value


class Oracle:
    """The owner's completed orders as plain SQL reads them: every line and
    every shipping line with its own stored amounts (in cents), its order's
    date and its customer record's name. Sums over dates are done here."""

    def __init__(self, workspace_id: int):
        owner = {"owner": workspace_id}
        cents = "CAST(round({0} * 100) AS BIGINT)"
        self.lines = [
            (order_id, name, _day(day), product, quantity, gross, net, tax, float(rate))
            for order_id, name, day, product, quantity, gross, net, tax, rate in
            db.session.execute(sa.text(
                "SELECT o.id, c.name, o.order_date, i.product, i.quantity, "
                f"{cents.format('i.gross')}, {cents.format('i.net')}, "
                f"{cents.format('i.tax')}, i.tax_rate "
                "FROM orders o JOIN customers c ON c.id = o.customer_id "
                "JOIN order_items i ON i.order_id = o.id "
                "WHERE o.workspace_id = :owner AND o.status = 'completed'"), owner)]
        self.shipping = [
            (order_id, name, _day(day), net + tax, net, tax, float(rate))
            for order_id, name, day, net, tax, rate in db.session.execute(sa.text(
                f"SELECT o.id, c.name, o.order_date, {cents.format('o.shipping_net')}, "
                f"{cents.format('o.shipping_tax')}, o.shipping_tax_rate "
                "FROM orders o JOIN customers c ON c.id = o.customer_id "
                "WHERE o.workspace_id = :owner AND o.status = 'completed'"), owner)]

    def kpis(self, lo: dt.date, hi: dt.date, net: bool = False):
        """orders, items, units, revenue (gross, or net) dated lo..hi."""
        lines = [line for line in self.lines if lo <= line[2] <= hi]
        ships = [ship for ship in self.shipping if lo <= ship[2] <= hi]
        money = sum(line[6 if net else 5] for line in lines) + sum(
            ship[4 if net else 3] for ship in ships)
        return (len({line[0] for line in lines}), len(lines),
                sum(line[4] for line in lines), Decimal(money) / 100)

    def ranked(self, lo: dt.date, hi: dt.date, by_customer: bool) -> dict:
        """name -> (gross revenue, orders, units): customers with their
        shipping, products without."""
        revenue, orders, units = defaultdict(int), defaultdict(set), defaultdict(int)
        for order_id, name, day, product, quantity, gross, *_ in self.lines:
            if lo <= day <= hi:
                key = name if by_customer else product
                revenue[key] += gross
                orders[key].add(order_id)
                units[key] += quantity
        for _order_id, name, day, gross, *_ in self.shipping:
            if by_customer and lo <= day <= hi:
                revenue[name] += gross
        return {key: (Decimal(revenue[key]) / 100, len(orders[key]), units[key])
                for key in orders}

    def tax(self, lo: dt.date, hi: dt.date) -> dict:
        """rate -> (net, tax, gross), shipping under its own rate."""
        found = defaultdict(lambda: [0, 0, 0])
        for *_, day, _product, _quantity, gross, net, tax, rate in self.lines:
            if lo <= day <= hi:
                found[rate] = [a + b for a, b in zip(found[rate], (net, tax, gross), strict=True)]
        for _order_id, _name, day, gross, net, tax, rate in self.shipping:
            if lo <= day <= hi and gross:
                found[rate] = [a + b for a, b in zip(found[rate], (net, tax, gross), strict=True)]
        return {rate: tuple(Decimal(v) / 100 for v in values) for rate, values in found.items()}


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
    net = overview.compute(me.id, params, "EUR", basis=overview.NET)
    oracle = Oracle(me.id)

    orders_n, items_n, units, revenue = oracle.kpis(date_from, date_to)
    assert (got.kpis.orders, got.kpis.items, got.kpis.units, got.kpis.revenue) == (
        orders_n, items_n, units, revenue)
    assert got.kpis.average_order_value == (
        (revenue / orders_n).quantize(Decimal("0.01")) if orders_n else Decimal("0.00"))
    net_revenue = oracle.kpis(date_from, date_to, net=True)[3]
    assert got.kpis.net == net.kpis.revenue == net.kpis.net == net_revenue
    assert got.kpis.tax == revenue - net_revenue
    # the tax table: per rate, lines and shipping, adding up to the KPIs
    assert {float(row.rate): (row.net, row.tax, row.gross) for row in got.tax_rows} == (
        oracle.tax(date_from, date_to))
    assert sum(row.gross for row in got.tax_rows) == got.kpis.revenue
    # the previous period: the same number of days just before
    prev = oracle.kpis(date_from - dt.timedelta(days=length), date_from - dt.timedelta(days=1))
    assert (got.previous.orders, got.previous.items, got.previous.units,
            got.previous.revenue) == prev
    assert got.previous_to == date_from - dt.timedelta(days=1)
    assert (got.previous_to - got.previous_from).days + 1 == length
    # every period of the range, each against its own dates
    assert got.periods[0].start == date_from
    assert sum(p.revenue for p in got.periods) == revenue
    ends = [p.start for p in got.periods[1:]] + [date_to + dt.timedelta(days=1)]
    for period, net_period, end in zip(got.periods, net.periods, ends, strict=True):
        last = end - dt.timedelta(days=1)
        o, _, _, r = oracle.kpis(period.start, last)
        assert (period.orders, period.revenue) == (o, r), period
        assert net_period.revenue == oracle.kpis(period.start, last, net=True)[3], net_period
    # customers (by record) and products, ranked by revenue
    customers = oracle.ranked(date_from, date_to, by_customer=True)
    assert got.customers_total == len(customers)
    assert {c.name: (c.revenue, c.orders, c.units) for c in got.customers} == customers
    assert [c.revenue for c in got.customers] == sorted(
        (c.revenue for c in got.customers), reverse=True)
    products = oracle.ranked(date_from, date_to, by_customer=False)
    assert len(got.top_products) == min(overview.TOP, len(products))
    for p in got.top_products:
        assert products[p.name] == (p.revenue, p.orders, p.units)
    assert [p.revenue for p in got.top_products] == sorted(
        (v[0] for v in products.values()), reverse=True)[:overview.TOP]
    net_products = {line[3]: 0 for line in oracle.lines}
    for line in oracle.lines:
        if date_from <= line[2] <= date_to:
            net_products[line[3]] += line[6]
    for p in net.top_products:
        assert p.revenue == Decimal(net_products[p.name]) / 100, p


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


@pytest.mark.parametrize("zone, utc_time, order_date", [
    # Ranges used to cut created_at at local midnights (DST days 23 or 25
    # hours long); now an order counts on its order date, a plain date, so
    # each case types an order in on one local day and dates it another.
    # 23:59 on Nov 3 in Berlin, dated the next day
    ("Europe/Berlin", dt.datetime(2026, 11, 3, 22, 59), dt.date(2026, 11, 4)),
    # 00:00 on Nov 4 in Berlin (still Nov 3 in UTC), dated Nov 3
    ("Europe/Berlin", dt.datetime(2026, 11, 3, 23, 0), dt.date(2026, 11, 3)),
    # 23:59 on Nov 3 in New York (Nov 4 in UTC), dated Nov 4
    ("America/New_York", dt.datetime(2026, 11, 4, 4, 59), dt.date(2026, 11, 4)),
    # spring forward and fall back days (2026-03-29 and 2026-10-25 in Berlin,
    # 2026-03-08 and 2026-11-01 in New York) are days like any other
    ("Europe/Berlin", dt.datetime(2026, 3, 28, 23, 0), dt.date(2026, 3, 28)),
    ("Europe/Berlin", dt.datetime(2026, 3, 29, 22, 0), dt.date(2026, 3, 29)),
    ("Europe/Berlin", dt.datetime(2026, 10, 25, 23, 0), dt.date(2026, 10, 25)),
    ("America/New_York", dt.datetime(2026, 3, 9, 3, 59), dt.date(2026, 3, 9)),
    ("America/New_York", dt.datetime(2026, 11, 2, 5, 0), dt.date(2026, 11, 1)),
    # typed in days later than its date (an order entered after the fact)
    ("Pacific/Auckland", dt.datetime(2026, 1, 10, 12, 0), dt.date(2026, 1, 1)),
])
def test_an_order_counts_on_its_order_date_whatever_its_created_at(app, user, zone, utc_time,
                                                                   order_date):
    created = utc_time.replace(tzinfo=dt.UTC)
    typed_on = created.astimezone(ZoneInfo(zone)).date()
    assert typed_on != order_date  # else the case proves nothing
    order = create_order(user, "ACME", [ItemInput("Widget", 2, Decimal("5.00"))],
                         order_date=order_date)
    order.status = OrderStatus.COMPLETED
    order.created_at = created
    db.session.commit()
    week = ReportParams.summary(order_date - dt.timedelta(days=3),
                                order_date + dt.timedelta(days=3), timezone=zone)
    got = overview.compute(user.id, week, "USD")
    assert [p.start for p in got.periods if p.orders] == [order_date]
    assert got.kpis.revenue == Decimal("10.00") and got.kpis.units == 2
    # the range's zone does not move it: only its date says where it is
    for in_zone in (zone, "UTC"):
        only_that_day = ReportParams.summary(order_date, order_date, timezone=in_zone)
        assert overview.compute(user.id, only_that_day, "USD").kpis.orders == 1
        typed_day = ReportParams.summary(typed_on, typed_on, timezone=in_zone)
        assert overview.compute(user.id, typed_day, "USD").kpis.orders == 0


def test_an_empty_range_has_zero_periods_and_no_change(app, user):
    got = overview.compute(user.id, ReportParams.summary(DAY0, DAY0 + dt.timedelta(days=6)),
                           "USD")
    assert got.kpis.orders == 0 and got.kpis.average_order_value == Decimal("0.00")
    assert len(got.periods) == 7 and all(p.orders == 0 for p in got.periods)
    assert got.change("revenue") is None and got.top_customers == [] == got.top_products


def test_change_against_the_previous_period(app, user):
    def completed(day: dt.date, price: str) -> None:
        order = create_order(user, "ACME", [ItemInput("Widget", 1, Decimal(price))],
                             order_date=day)
        order.status = OrderStatus.COMPLETED

    completed(DAY0 - dt.timedelta(days=3), "80.00")  # the previous week
    completed(DAY0, "50.00")
    completed(DAY0 + dt.timedelta(days=6), "50.00")
    db.session.commit()
    got = overview.compute(user.id, ReportParams.summary(DAY0, DAY0 + dt.timedelta(days=6)),
                           "USD")
    assert got.change("revenue") == Decimal("25.0")  # 100 against 80
    assert got.change("orders") == Decimal("100.0")
    assert got.change("average_order_value") == Decimal("-37.5")  # 50 against 80
