"""The overview of a summary: what a manager reads first ("how did November
go?"). Plain data, computed by SQL aggregates (never by walking the line
items in Python) and drawn three ways: page 1 of the PDF
(tasks/generators/pdf/overview.py), the "Summary" sheet of the XLSX
(tasks/generators/xlsx_report.py) and the dashboard (/dashboard).

Every number covers the completed orders of the range, in the user's own
days: a range is a pair of local dates in an IANA time zone."""
from __future__ import annotations

import bisect
import datetime as dt
from dataclasses import dataclass, field, replace
from decimal import Decimal
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from ..extensions import db
from ..models import Order, OrderItem, ProductMonth
from .params import summary_span_error

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
    revenue: Decimal = Decimal("0.00")

    @property
    def average_order_value(self) -> Decimal:
        if not self.orders:
            return Decimal("0.00")
        return (self.revenue / self.orders).quantize(CENT)


@dataclass(frozen=True)
class Period:
    """One bar of the revenue chart: a local day, week or month."""
    start: dt.date  # first local day of the period
    label: str  # "Nov 3", "Nov 3" (week starting then), "Nov 2026"
    revenue: Decimal
    orders: int


@dataclass(frozen=True)
class Ranked:
    """A customer or a product with its totals, ranked by revenue."""
    name: str
    revenue: Decimal
    orders: int  # orders it appears in
    units: int


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

    def change(self, name: str) -> Decimal | None:
        """Percent change of KPI `name` ("orders", "items", "units", "revenue",
        "average_order_value") against the previous period, one decimal;
        None when the previous period had none (no meaningful percentage)."""
        now, before = getattr(self.kpis, name), getattr(self.previous, name)
        if not before:
            return None
        return (Decimal(now - before) * 100 / Decimal(before)).quantize(Decimal("0.1"))

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


def period_label(start: dt.date, grain: str) -> str:
    if grain == Grain.MONTH:
        return f"{start:%b %Y}"
    return f"{start:%b} {start.day}"


def compute(workspace_id: int, params, currency: str) -> Overview:
    """The overview of a SUMMARY's parameters (ReportParams: range, zone,
    customer, scope) for the report's owner, its ownership rules included."""
    too_long = summary_span_error(params.date_from, params.date_to)
    if too_long:  # every way in refuses it first; the work here grows with the range
        raise ValueError(too_long)
    days = (params.date_to - params.date_from).days + 1
    previous_to = params.date_from - dt.timedelta(days=1)
    previous_from = previous_to - dt.timedelta(days=days - 1)
    previous = replace(params, date_from=previous_from, date_to=previous_to)
    grain = grain_for(days)
    starts = period_starts(params.date_from, params.date_to, grain)
    with db.engine.connect() as conn:
        sqlite = conn.dialect.name == "sqlite"
        kpis = _kpis(conn, params.where(workspace_id), sqlite)
        before = _kpis(conn, previous.where(workspace_id), sqlite)
        periods = _periods(conn, params, workspace_id, starts, grain, sqlite)
        customers, customers_total = _customers(conn, params.where(workspace_id), sqlite)
        products = _products(conn, params, workspace_id, sqlite)
    return Overview(
        title=params.title(), scope=params.describe(), date_from=params.date_from,
        date_to=params.date_to, timezone=params.timezone, currency=currency, kpis=kpis,
        previous=before, previous_from=previous_from, previous_to=previous_to, grain=grain,
        periods=periods, top_customers=customers[:TOP], top_products=products,
        customers=customers, customers_total=customers_total)


def _money_sum(column, sqlite: bool):
    if sqlite:
        return sa.func.coalesce(sa.func.sum(sa.func.round(column * 100)), 0)
    return sa.func.coalesce(sa.func.sum(column), 0)


def _money(value, sqlite: bool) -> Decimal:
    if sqlite:
        return (Decimal(int(value or 0)) / 100).quantize(CENT)
    return Decimal(value or 0).quantize(CENT)


def _kpis(conn, where: list, sqlite: bool) -> Kpis:
    row = conn.execute(sa.select(
        sa.func.count(), sa.func.coalesce(sa.func.sum(Order.item_count), 0),
        sa.func.coalesce(sa.func.sum(Order.units), 0), _money_sum(Order.total, sqlite),
    ).where(*where)).one()
    return Kpis(orders=row[0], items=int(row[1]), units=int(row[2]),
                revenue=_money(row[3], sqlite))


def _periods(conn, params, workspace_id: int, starts: list[dt.date], grain: str,
             sqlite: bool) -> list[Period]:
    """Revenue and orders per local period. SQL groups the orders by local day
    (_local_day: arithmetic on the UTC time, so the database needs no time-zone
    support, SQLite has none, and DST days are as long as they really were);
    the days, at most a summary's 3,653, are folded into weeks or months here.
    The statement's size does not grow with the periods (one CASE branch per
    period made thousands for a range of centuries, which ran for minutes)."""
    day = _local_day(params, sqlite).label("day")
    rows = conn.execute(sa.select(day, sa.func.count(), _money_sum(Order.total, sqlite))
                        .where(*params.where(workspace_id)).group_by(day)).all()
    orders, revenue = [0] * len(starts), [0] * len(starts)
    for number, count, money in rows:
        local = params.date_from + dt.timedelta(days=int(number))
        # the range's own days only (the WHERE keeps it so), held to it anyway
        i = min(max(bisect.bisect_right(starts, local) - 1, 0), len(starts) - 1)
        orders[i] += count
        revenue[i] += money or 0  # whole cents on SQLite (see _money), NUMERIC on PostgreSQL
    return [Period(start=start, label=period_label(start, grain), orders=orders[i],
                   revenue=_money(revenue[i], sqlite))
            for i, start in enumerate(starts)]


def _local_day(params, sqlite: bool):
    """The order's local day in the range's zone, as days since date_from:
    (UTC seconds + the zone's offset at that instant - date_from's midnight
    read as UTC) // 86,400. The offset changes only at the zone's transitions
    inside the range (two a year where clocks change, none in UTC), one CASE
    each. Whole seconds: local midnights fall on whole seconds, so dropping
    the fraction never moves an order across one."""
    start, end = params.bounds()
    first, changes = _offsets(start, end, params.timezone)
    if sqlite:  # the stored text without its fraction (strftime would round it)
        seconds = sa.cast(sa.func.strftime("%s", sa.func.substr(Order.created_at, 1, 19)),
                          sa.Integer)
    else:
        seconds = sa.cast(sa.func.floor(sa.extract("epoch", Order.created_at)), sa.BigInteger)
    base = int(dt.datetime.combine(params.date_from, dt.time(), dt.UTC).timestamp())
    shift = sa.literal(first - base, sa.BigInteger)
    for at, change in changes:
        shift = shift + sa.case((Order.created_at >= at, change), else_=0)
    return (seconds + shift) // 86400


# probes of the zone's offset: no zone changes its offset twice within this
PROBE = dt.timedelta(hours=6)


def _offsets(start: dt.datetime | None, end: dt.datetime | None,
             zone_name: str) -> tuple[int, list[tuple[dt.datetime, int]]]:
    """The zone's UTC offset (seconds) at `start`, and each change of it in
    [start, end) as (UTC instant, change in seconds). zoneinfo keeps its
    transitions to itself: the offset is probed every PROBE and each change
    found to the second by bisection."""
    zone = ZoneInfo(zone_name)
    if start is None:
        return 0, []

    def offset(at: dt.datetime) -> int:
        return int(at.astimezone(zone).utcoffset().total_seconds())

    first = offset(start)
    # a range to the calendar's end has no end instant: probe until offset() overflows
    last_probe = (end or dt.datetime(dt.MAXYEAR, 12, 31, tzinfo=dt.UTC)) - dt.timedelta(seconds=1)
    changes = []
    before, probe = start, start
    while probe < last_probe:
        probe = min(probe + PROBE, last_probe)
        try:
            now = offset(probe)
        except OverflowError:  # the end of datetime's calendar
            break
        while offset(before) != now:
            lo, hi = before, probe  # offset(lo) differs from offset(hi)
            while hi - lo > dt.timedelta(seconds=1):
                mid = (lo + (hi - lo) // 2).replace(microsecond=0)
                if offset(mid) == offset(lo):
                    lo = mid
                else:
                    hi = mid
            changes.append((hi, offset(hi) - offset(before)))
            before = hi
        before = probe
    return first, changes


def _customers(conn, where: list, sqlite: bool) -> tuple[list[Ranked], int]:
    revenue = _money_sum(Order.total, sqlite).label("revenue")
    grouped = (sa.select(Order.customer, sa.func.count().label("orders"),
                         sa.func.coalesce(sa.func.sum(Order.units), 0).label("units"), revenue)
               .where(*where).group_by(Order.customer))
    total = conn.scalar(sa.select(sa.func.count()).select_from(grouped.subquery()))
    rows = conn.execute(grouped.order_by(revenue.desc(), Order.customer)
                        .limit(CUSTOMERS_MAX)).all()
    return [Ranked(name=name, orders=orders, units=int(units), revenue=_money(value, sqlite))
            for name, orders, units, value in rows], total or 0


def _products(conn, params, workspace_id: int, sqlite: bool) -> list[Ranked]:
    """The top products. The whole UTC months inside the range are read from
    product_months (kept in step with every order write); the partial months
    at its edges, and any range with a customer filter (the rollup has no
    customer), from the line items. An order lies in one month, so the sums,
    order counts included, add up exactly."""
    where = params.where(workspace_id)
    start, end = params.bounds()
    inner = _whole_months(start, end) if not params.customer else None
    item_cents = (OrderItem.quantity * sa.func.round(OrderItem.unit_price * 100)
                  if sqlite else OrderItem.quantity * OrderItem.unit_price * 100)
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
        edges = items.where(sa.or_(Order.created_at < first, Order.created_at >= last))
        months = (sa.select(ProductMonth.product.label("product"),
                            sa.func.sum(ProductMonth.revenue_cents).label("cents"),
                            sa.func.sum(ProductMonth.units).label("units"),
                            sa.func.sum(ProductMonth.orders).label("orders"))
                  .where(ProductMonth.workspace_id == workspace_id,
                         ProductMonth.month >= first.date(), ProductMonth.month < last.date())
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


def _whole_months(start: dt.datetime | None,
                  end: dt.datetime | None) -> tuple[dt.datetime, dt.datetime] | None:
    """[first, last): the UTC month starts bounding the whole UTC months
    inside [start, end), or None when there is none."""
    if start is None or end is None:
        return None
    first = start.astimezone(dt.UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    if first < start:
        first = (first + dt.timedelta(days=32)).replace(day=1)
    last = end.astimezone(dt.UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    return (first, last) if first < last else None

