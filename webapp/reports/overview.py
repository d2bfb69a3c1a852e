"""The overview of a summary: what a manager reads first ("how did November
go?"). Plain data, computed by SQL aggregates (never by walking the line
items in Python) and drawn three ways: page 1 of the PDF
(tasks/generators/pdf/overview.py), the "Summary" sheet of the XLSX
(tasks/generators/xlsx_report.py) and the dashboard (/dashboard).

Every number covers the completed orders whose order date lies in the
range (a pair of calendar dates). "Revenue" is gross (what customers pay:
tax and shipping included) unless the overview is computed on the net basis
(the dashboard's switch): then every revenue figure, KPIs, bars and top
lists alike, is net of tax.

A period (a bar) is *partial* when the range cuts it (a week starting on a
Wednesday, a month ending on the 15th) or when it is not over yet (it holds
the report's today, or lies after it): such a bar is drawn apart, named
"partial" and left out of every average over periods, which are therefore
"per full week". A change over a near-empty base reads "new" or "n/m" (not
meaningful) instead of "+185,773 %": one rule here (compare), used by the
dashboard, the PDF overview and the XLSX summary."""
from __future__ import annotations

import bisect
import datetime as dt
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import ClassVar

import sqlalchemy as sa

from ..extensions import db
from ..models import Order, OrderItem, ProductMonth
from ..orders.money import normalise_rate
from ..timezones import today as today_in
from .params import summary_span_error

GROSS, NET = "gross", "net"  # what "revenue" means in an overview

CENT = Decimal("0.01")
TOP = 10  # top customers / products
CUSTOMERS_MAX = 500  # totals per customer listed in full up to this many


class Grain:
    DAY = "day"
    WEEK = "week"  # weeks start on Monday
    MONTH = "month"


@dataclass(frozen=True)
class Kpis:
    orders: int = 0
    items: int = 0  # line items
    units: int = 0  # sum of quantities
    revenue: Decimal = Decimal("0.00")  # gross: what customers pay, shipping and tax included
    net: Decimal = Decimal("0.00")  # revenue without tax (shipping's net included)
    tax: Decimal = Decimal("0.00")
    discount: Decimal = Decimal("0.00")  # given on the lines
    shipping: Decimal = Decimal("0.00")  # shipping charged, net

    @property
    def average_order_value(self) -> Decimal:
        if not self.orders:
            return Decimal("0.00")
        return (self.revenue / self.orders).quantize(CENT)


@dataclass(frozen=True)
class Period:
    """One bar of the revenue chart: a local day, week or month, or the part
    of one that lies in the range."""
    start: dt.date  # first local day of the period in the range
    label: str  # "Nov 3", "Nov 3" (week starting then), "Nov 2026"
    revenue: Decimal
    orders: int
    end: dt.date | None = None  # last local day in the range (None: as start, one day)
    cut_start: bool = False  # the range starts after the calendar period does
    cut_end: bool = False  # the range ends before the calendar period does
    unfinished: bool = False  # holds the report's today or a later day: not over yet

    @property
    def last(self) -> dt.date:
        return self.end or self.start

    @property
    def cut(self) -> bool:
        return self.cut_start or self.cut_end

    @property
    def partial(self) -> bool:
        """Not a whole period: cut by the range, or not over yet. Kept out of
        averages, drawn apart, named "partial"."""
        return self.cut or self.unfinished


@dataclass(frozen=True)
class Change:
    """A KPI against the previous period, by one rule (compare): a percentage
    only where one means something."""
    PERCENT: ClassVar[str] = "percent"  # percent holds it
    NEW: ClassVar[str] = "new"  # nothing before, something now
    NOT_MEANINGFUL: ClassVar[str] = "n/m"  # the earlier figure is too small (or negative)
    NONE: ClassVar[str] = "none"  # nothing before and nothing now

    kind: str
    percent: Decimal | None = None  # one decimal; only for PERCENT


# Beyond this many percent (either way) a change says more about how small the
# earlier figure was than about the business: "n/m", with the earlier value.
NOT_MEANINGFUL_ABOVE = Decimal(1000)


def compare(now, before) -> Change:
    """The change from `before` to `now` (numbers or Decimals): a percentage,
    "new" (0 before, more now), "n/m" (a base near nothing or below zero), or
    nothing to compare (0 and 0)."""
    if not before:
        if not now:
            return Change(Change.NONE)
        return Change(Change.NEW if now > 0 else Change.NOT_MEANINGFUL)
    if before < 0:  # a refund-heavy period: a percentage of it has no sign one can read
        return Change(Change.NOT_MEANINGFUL)
    percent = (Decimal(now - before) * 100 / Decimal(before)).quantize(Decimal("0.1"))
    if abs(percent) > NOT_MEANINGFUL_ABOVE:
        return Change(Change.NOT_MEANINGFUL)
    return Change(Change.PERCENT, percent)


@dataclass(frozen=True)
class Ranked:
    """A customer or a product with its totals, ranked by revenue."""
    name: str
    revenue: Decimal
    orders: int  # orders it appears in
    units: int


@dataclass(frozen=True)
class TaxRow:
    """Tax collected at one rate over the range (shipping under its rate)."""
    rate: Decimal  # percent, normalised: 19, 7, 5.5, 0
    net: Decimal
    tax: Decimal
    gross: Decimal


@dataclass(frozen=True)
class Overview:
    title: str  # "Completed orders"
    scope: list[str]  # the scope in words, as in the file's header
    date_from: dt.date  # local dates, inclusive
    date_to: dt.date
    timezone: str  # IANA name, e.g. "Europe/Berlin"
    currency: str
    kpis: Kpis
    previous: Kpis  # the period of the same length just before
    previous_from: dt.date
    previous_to: dt.date
    grain: str  # Grain.DAY / WEEK / MONTH, chosen from the range's length
    periods: list[Period]  # every period of the range, in order, zero ones included
    top_customers: list[Ranked]  # at most TOP, by revenue, largest first
    top_products: list[Ranked]
    customers: list[Ranked] = field(default_factory=list)  # by revenue, at most CUSTOMERS_MAX
    customers_total: int = 0  # how many customers there are in all
    tax_rows: list[TaxRow] = field(default_factory=list)  # by rate, ascending; sums = kpis
    basis: str = GROSS  # GROSS or NET: what every "revenue" here is
    today: dt.date | None = None  # the day "not over yet" was judged on (in `timezone`)

    def compare(self, name: str) -> Change:
        """KPI `name` ("orders", "items", "units", "revenue",
        "average_order_value", …) against the previous period (see compare)."""
        return compare(getattr(self.kpis, name), getattr(self.previous, name))

    def change(self, name: str) -> Decimal | None:
        """Percent change of KPI `name` against the previous period, one
        decimal; None where no percentage means something (compare)."""
        return self.compare(name).percent

    @property
    def full_periods(self) -> list[Period]:
        return [p for p in self.periods if not p.partial]

    @property
    def partial_periods(self) -> list[Period]:
        return [p for p in self.periods if p.partial]

    def average_per_full_period(self) -> Decimal | None:
        """Revenue per full period (partial ones left out: a week of two days
        would pull the average down); None when no period is whole."""
        full = self.full_periods
        if not full:
            return None
        return (sum((p.revenue for p in full), Decimal(0)) / len(full)).quantize(CENT)

    @property
    def days(self) -> int:
        return (self.date_to - self.date_from).days + 1


# --- computing it ---------------------------------------------------------
# Sums over orders (item_count, units and total are kept on each order by the
# service that writes its items); only the top products read the items.
# Money: PostgreSQL sums NUMERIC exactly; SQLite keeps NUMERIC as REAL, so
# there the sums are of whole cents (exact up to 2**53 cents) and divided here.


def grain_for(days: int) -> str:
    """Bars a chart can show: days up to a month, weeks up to half a year,
    months beyond."""
    if days <= 31:
        return Grain.DAY
    return Grain.WEEK if days <= 26 * 7 else Grain.MONTH


def period_starts(date_from: dt.date, date_to: dt.date, grain: str) -> list[dt.date]:
    """The first day of each period touching [date_from, date_to] (the first
    one clipped to date_from: a range starting mid-week starts its first bar
    there)."""
    starts = [date_from]
    day = date_from
    while True:
        try:
            if grain == Grain.DAY:
                day = day + dt.timedelta(days=1)
            elif grain == Grain.WEEK:
                day = day + dt.timedelta(days=7 - day.weekday())
            else:
                day = (day.replace(day=1) + dt.timedelta(days=32)).replace(day=1)
        except OverflowError:  # no period starts after the calendar's last day
            return starts
        if day > date_to:
            return starts
        starts.append(day)


def calendar_period(day: dt.date, grain: str) -> tuple[dt.date, dt.date]:
    """(first, last): the whole local day, week (Monday to Sunday) or month
    holding `day`, whatever a range cuts off."""
    if grain == Grain.DAY:
        return day, day
    if grain == Grain.WEEK:
        first = day - dt.timedelta(days=day.weekday())
        return first, first + dt.timedelta(days=6)
    first = day.replace(day=1)
    try:
        return first, _next_month(first) - dt.timedelta(days=1)
    except OverflowError:  # December of the calendar's last year
        return first, dt.date.max


def empty_periods(date_from: dt.date, date_to: dt.date, grain: str,
                  today: dt.date) -> list[Period]:
    """The periods of [date_from, date_to], without figures, each saying
    whether the range cuts it and whether it is over on `today` (a period
    holding today, or later, is not)."""
    starts = period_starts(date_from, date_to, grain)
    out = []
    for i, start in enumerate(starts):
        end = starts[i + 1] - dt.timedelta(days=1) if i + 1 < len(starts) else date_to
        first, last = calendar_period(start, grain)
        out.append(Period(start=start, label=period_label(start, grain), revenue=Decimal("0.00"),
                          orders=0, end=end, cut_start=first < start, cut_end=end < last,
                          unfinished=last >= today))
    return out


def period_label(start: dt.date, grain: str) -> str:
    if grain == Grain.MONTH:
        return f"{start:%b %Y}"
    return f"{start:%b} {start.day}"


def compute(workspace_id: int, params, currency: str, *, basis: str = GROSS,
            with_tax: bool = True, today: dt.date | None = None) -> Overview:
    """The overview of a SUMMARY's parameters (ReportParams: range, customer,
    scope) for the workspace. with_tax: the per-rate table, which reads the
    line items (a report's overview has it; the dashboard does not ask).
    today: the day periods are judged over or not (default: today in the
    range's zone)."""
    too_long = summary_span_error(params.date_from, params.date_to)
    if too_long:  # every way in refuses it first; the work here grows with the range
        raise ValueError(too_long)
    days = (params.date_to - params.date_from).days + 1
    previous_to = params.date_from - dt.timedelta(days=1)
    previous_from = previous_to - dt.timedelta(days=days - 1)
    previous = replace(params, date_from=previous_from, date_to=previous_to)
    grain = grain_for(days)
    if today is None:
        today = today_in(params.timezone)
    shells = empty_periods(params.date_from, params.date_to, grain, today)
    revenue_of = Order.total if basis == GROSS else Order.net_total
    with db.engine.connect() as conn:
        sqlite = conn.dialect.name == "sqlite"
        where = params.where(workspace_id)
        kpis = _kpis(conn, where, sqlite, basis)
        before = _kpis(conn, previous.where(workspace_id), sqlite, basis)
        periods = _periods(conn, where, shells, sqlite, revenue_of)
        customers, customers_total = _customers(conn, where, sqlite, revenue_of)
        products = _products(conn, params, workspace_id, sqlite, basis)
        tax_rows = _tax_rows(conn, where, sqlite) if with_tax else []
    return Overview(
        title=params.title(), scope=params.describe(), date_from=params.date_from,
        date_to=params.date_to, timezone=params.timezone, currency=currency, kpis=kpis,
        previous=before, previous_from=previous_from, previous_to=previous_to, grain=grain,
        periods=periods, top_customers=customers[:TOP], top_products=products,
        customers=customers, customers_total=customers_total, tax_rows=tax_rows, basis=basis,
        today=today)


def _money_sum(column, sqlite: bool):
    if sqlite:
        return sa.func.coalesce(sa.func.sum(sa.func.round(column * 100)), 0)
    return sa.func.coalesce(sa.func.sum(column), 0)


def _money(value, sqlite: bool) -> Decimal:
    if sqlite:
        return (Decimal(int(value or 0)) / 100).quantize(CENT)
    return Decimal(value or 0).quantize(CENT)


def _kpis(conn, where: list, sqlite: bool, basis: str = GROSS) -> Kpis:
    row = conn.execute(sa.select(
        sa.func.count(), sa.func.coalesce(sa.func.sum(Order.item_count), 0),
        sa.func.coalesce(sa.func.sum(Order.units), 0), _money_sum(Order.total, sqlite),
        _money_sum(Order.net_total, sqlite), _money_sum(Order.tax_total, sqlite),
        _money_sum(Order.discount_total, sqlite), _money_sum(Order.shipping_net, sqlite),
    ).where(*where)).one()
    gross, net = _money(row[3], sqlite), _money(row[4], sqlite)
    return Kpis(orders=row[0], items=int(row[1]), units=int(row[2]),
                revenue=gross if basis == GROSS else net, net=net,
                tax=_money(row[5], sqlite), discount=_money(row[6], sqlite),
                shipping=_money(row[7], sqlite))


def _periods(conn, where: list, shells: list[Period], sqlite: bool,
             revenue_of) -> list[Period]:
    """Revenue and orders per period: SQL groups the orders by their date
    (at most a summary's 3,653 days), folded into weeks or months here."""
    starts = [p.start for p in shells]
    rows = conn.execute(sa.select(Order.order_date, sa.func.count(),
                                  _money_sum(revenue_of, sqlite))
                        .where(*where).group_by(Order.order_date)).all()
    orders, revenue = [0] * len(starts), [0] * len(starts)
    for day, count, money in rows:
        if isinstance(day, str):
            day = dt.date.fromisoformat(day)
        # the range's own days only (the WHERE keeps it so), held to it anyway
        i = min(max(bisect.bisect_right(starts, day) - 1, 0), len(starts) - 1)
        orders[i] += count
        revenue[i] += money or 0  # whole cents on SQLite (see _money), NUMERIC on PostgreSQL
    return [replace(shell, orders=orders[i], revenue=_money(revenue[i], sqlite))
            for i, shell in enumerate(shells)]


def _tax_rows(conn, where: list, sqlite: bool) -> list[TaxRow]:
    """Tax collected per rate: the lines' stored amounts, and each order's
    shipping under its own rate."""
    lines = (sa.select(OrderItem.tax_rate.label("rate"),
                       _money_sum(OrderItem.net, sqlite).label("net"),
                       _money_sum(OrderItem.tax, sqlite).label("tax"),
                       _money_sum(OrderItem.gross, sqlite).label("gross"))
             .join(Order, Order.id == OrderItem.order_id).where(*where)
             .group_by(OrderItem.tax_rate))
    shipping = (sa.select(Order.shipping_tax_rate.label("rate"),
                          _money_sum(Order.shipping_net, sqlite).label("net"),
                          _money_sum(Order.shipping_tax, sqlite).label("tax"),
                          _money_sum(Order.shipping_net + Order.shipping_tax,
                                     sqlite).label("gross"))
                .where(*where, Order.shipping_net + Order.shipping_tax != 0)
                .group_by(Order.shipping_tax_rate))
    merged: dict[Decimal, list] = {}
    for rows in (conn.execute(lines).all(), conn.execute(shipping).all()):
        for rate, net, tax, gross in rows:
            key = normalise_rate(Decimal(str(rate)))
            cell = merged.setdefault(key, [Decimal(0), Decimal(0), Decimal(0)])
            for n, value in enumerate((net, tax, gross)):
                cell[n] += _money(value, sqlite)
    return [TaxRow(rate=rate, net=net, tax=tax, gross=gross)
            for rate, (net, tax, gross) in sorted(merged.items())]


def _customers(conn, where: list, sqlite: bool, revenue_of=Order.total
               ) -> tuple[list[Ranked], int]:
    """Per customer record (under its name now: a renamed customer is one
    customer, whatever old orders called them)."""
    revenue = _money_sum(revenue_of, sqlite).label("revenue")
    grouped = (sa.select(sa.func.min(Order.customer).label("customer"),
                         sa.func.count().label("orders"),
                         sa.func.coalesce(sa.func.sum(Order.units), 0).label("units"), revenue)
               .where(*where).group_by(Order.customer_id))
    total = conn.scalar(sa.select(sa.func.count()).select_from(grouped.subquery()))
    inner = grouped.subquery()
    rows = conn.execute(sa.select(inner.c.customer, inner.c.orders, inner.c.units,
                                  inner.c.revenue)
                        .order_by(inner.c.revenue.desc(), inner.c.customer)
                        .limit(CUSTOMERS_MAX)).all()
    return [Ranked(name=name, orders=orders, units=int(units), revenue=_money(value, sqlite))
            for name, orders, units, value in rows], total or 0


def _products(conn, params, workspace_id: int, sqlite: bool, basis: str = GROSS
              ) -> list[Ranked]:
    """The top products. The whole months inside the range are read from
    product_months (kept in step with every order write); the partial months
    at its edges, and any range with a customer filter (the rollup has no
    customer), from the line items. An order lies in one month, so the sums,
    order counts included, add up exactly."""
    where = params.where(workspace_id)
    filtered = params.customer or params.customer_id is not None
    inner = None if filtered else _whole_months(params.date_from, params.date_to)
    amount = OrderItem.gross if basis == GROSS else OrderItem.net
    item_cents = sa.func.round(amount * 100) if sqlite else amount * 100
    items = (sa.select(OrderItem.product.label("product"),
                       sa.func.sum(item_cents).label("cents"),
                       sa.func.sum(OrderItem.quantity).label("units"),
                       sa.func.count(sa.distinct(OrderItem.order_id)).label("orders"))
             .join(Order, Order.id == OrderItem.order_id).where(*where)
             .group_by(OrderItem.product))
    if inner is None:
        parts = items
    else:
        first, last = inner
        edges = items.where(sa.or_(Order.order_date < first, Order.order_date >= last))
        rolled = ProductMonth.revenue_cents if basis == GROSS else ProductMonth.net_cents
        months = (sa.select(ProductMonth.product.label("product"),
                            sa.func.sum(rolled).label("cents"),
                            sa.func.sum(ProductMonth.units).label("units"),
                            sa.func.sum(ProductMonth.orders).label("orders"))
                  .where(ProductMonth.workspace_id == workspace_id,
                         ProductMonth.month >= first, ProductMonth.month < last)
                  .group_by(ProductMonth.product))
        parts = sa.union_all(edges, months)
    both = parts.subquery()
    cents = sa.func.sum(both.c.cents).label("cents")
    rows = conn.execute(
        sa.select(both.c.product, sa.func.sum(both.c.units), cents, sa.func.sum(both.c.orders))
        .group_by(both.c.product).order_by(cents.desc(), both.c.product).limit(TOP)).all()
    return [Ranked(name=name, orders=int(orders), units=int(units),
                   revenue=(Decimal(int(value)) / 100).quantize(CENT))
            for name, units, value, orders in rows]


def _whole_months(date_from: dt.date, date_to: dt.date) -> tuple[dt.date, dt.date] | None:
    """[first, last): the first days of the whole months inside
    [date_from, date_to], or None when there is none."""
    try:
        first = date_from if date_from.day == 1 else _next_month(date_from)
        after = date_to + dt.timedelta(days=1)
    except OverflowError:  # the calendar's last month
        return None
    last = after if after.day == 1 else date_to.replace(day=1)
    return (first, last) if first < last else None


def _next_month(day: dt.date) -> dt.date:
    return (day.replace(day=1) + dt.timedelta(days=32)).replace(day=1)
