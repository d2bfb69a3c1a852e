"""File generators: plain functions from report rows to a file.

They know nothing of Flask, Celery or the database session, so they are tested
by feeding them tuples and reading the file back.

Contract shared by every generator::

    write_xxx(rows, meta, path, progress=None) -> int   # number of rows written

* ``rows`` is an iterable of :data:`Row` tuples, an order's rows together
  (its items by id, then its shipping row), so per-order subtotals can be
  computed while streaming.
* ``path`` is where to write; the caller chooses a temporary name and hands
  the file to the store afterwards, so a generator never has to care about
  partial files.
* ``progress(done)`` is called every ``PROGRESS_EVERY`` rows (and not per row);
  it may raise to abort the run (cancellation).
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, NamedTuple
from zoneinfo import ZoneInfo

if TYPE_CHECKING:  # generators import nothing of webapp at run time
    from webapp.reports.overview import Overview

    from .document import OrderDocument

PROGRESS_EVERY = 2000


class Row(NamedTuple):
    """One line of an order as every report writes it. Amounts are the
    order's stored ones (webapp/orders/money.py computed them when the order
    was saved): net + tax = gross on every row, and the rows of an order sum
    to its totals. An order's shipping is a row of its own after its items
    (product "Shipping", quantity 1, no discount)."""

    order_id: int
    number: str  # the order's number, e.g. "SO-000123"
    order_date: dt.date  # the order's date (a calendar day of its workspace)
    customer: str
    status: str  # "open" | "completed" | "cancelled"
    product: str
    quantity: int
    unit_price: Decimal  # as entered: net, or gross if the order's prices include tax
    discount_rate: Decimal  # percent, 0-100
    discount: Decimal  # the amount taken off quantity × unit price
    net: Decimal
    tax_rate: Decimal  # percent
    tax: Decimal
    gross: Decimal


@dataclass(frozen=True)
class ReportMeta:
    # what the report covers, as a plain string (the value of webapp's
    # ReportKind): "order" (one order: an order total, no subtotals),
    # "summary" or "orders" (several: a subtotal per order, a grand total)
    kind: str
    title: str  # e.g. "Order #42" or "Completed orders"
    # human lines, e.g. "Customer: ACME", "From 2026-11-01 to 2026-11-28"
    scope: list[str] = field(default_factory=list)
    generated_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))
    currency: str = "USD"
    # the IANA zone of the user who asked: every time in the file is shown in
    # it, and the file says which zone that is (rows stay UTC until written)
    timezone: str = "UTC"
    # summaries only: what page 1 of a PDF and the "Summary" sheet of an XLSX
    # show before the line items (None for other kinds)
    overview: Overview | None = None
    # CSV for Excel (a user's choice): a UTF-8 BOM, and with decimal_comma
    # also ";" between cells and "," before the cents
    csv_excel: bool = False
    decimal_comma: bool = False
    # one order's PDF: the business document (seller, buyer, number, totals)
    # that tasks/generators/pdf/document.py writes instead of a report table
    document: OrderDocument | None = None

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


Progress = Callable[[int], None] | None
Rows = Iterable[Row]
