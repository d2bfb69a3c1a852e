"""A mapped file's rows as orders: rows grouped by the order reference (an
export writes an order's line items one after another, its order-level
cells often only on the first of them, as Shopify does), each cell read as
what its field is, and every problem kept with its line and column, in the
words the preview and the rejected-rows file show ("line 12, Lineitem
quantity: “2.5” is not a whole number").

An order with a problem on any of its rows is rejected whole, with all its
rows: importing part of an order would report wrong totals. Plain functions:
the database is the import service's.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal

from . import values
from .mapping import LABELS

# what a shop's order status means here (Shopify's financial status,
# WooCommerce's order status, ours)
STATUSES = {
    "paid": "completed", "partially_paid": "open", "partially_refunded": "completed",
    "refunded": "cancelled", "voided": "cancelled", "pending": "open", "authorized": "open",
    "expired": "cancelled",
    "completed": "completed", "processing": "open", "on-hold": "open", "on hold": "open",
    "cancelled": "cancelled", "canceled": "cancelled", "failed": "cancelled",
    "open": "open", "draft": "open",
}
ORDER_FIELDS = ("order_date", "status", "currency", "customer_name", "customer_email",
                "customer_company", "address_line1", "address_line2", "postcode", "city",
                "country", "tax_id", "shipping", "taxes", "discount_amount", "notes")
MONEY_FIELDS = ("unit_price", "shipping", "taxes", "discount_amount", "tax_rate",
                "discount_rate")


@dataclass
class Line:
    product: str
    quantity: int
    unit_price: Decimal
    tax_rate: Decimal = Decimal(0)
    discount_rate: Decimal = Decimal(0)


@dataclass
class Draft:
    """One order as the file has it, or its problems."""

    ref: str
    lines_in_file: list[int] = field(default_factory=list)  # the file's line numbers
    fields: dict[str, object] = field(default_factory=dict)  # order-level values read
    lines: list[Line] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass(frozen=True)
class Reading:
    """How a file's columns are read: the mapping (field → column index), the
    date order of the date column and the decimal mark of money columns."""

    header: list[str]
    columns: dict[str, int | None]
    date_order: str | None = None
    decimal_comma: bool | None = None


def reading_for(header: list[str], columns: dict[str, int | None],
                sample: list[list[str]]) -> tuple[Reading, list[str]]:
    """The Reading of a file from its first rows, and what to ask the person
    (a date column that cannot tell day from month, mixed decimal marks)."""
    questions: list[str] = []
    date_order = decimal_comma = None
    if columns.get("order_date") is not None:
        n = columns["order_date"]
        try:
            date_order = values.date_order(row[n] for row in sample)
        except ValueError as exc:
            questions.append(f"{header[n]}: {exc}.")
        if date_order is None and any(row[n].strip() for row in sample):
            questions.append(f"{header[n]}: the dates could be day first or month first; "
                             "say which.")
    money = [columns[f] for f in MONEY_FIELDS if columns.get(f) is not None]
    try:
        decimal_comma = values.decimal_comma(row[n] for row in sample for n in money)
    except ValueError as exc:
        questions.append(f"{exc}; say which mark is the decimal one.")
    return Reading(header, columns, date_order, decimal_comma), questions


def drafts(rows: Iterable[tuple[int, list[str]]], reading: Reading) -> Iterator[Draft]:
    """The file's orders in file order: consecutive rows with one order
    reference are one order. A reference that comes back after other orders
    is refused (its rows would be read apart), as is a row without one."""
    seen: set[str] = set()
    current: Draft | None = None
    ref_column = reading.columns["order_ref"]
    for line, cells in rows:
        ref = cells[ref_column].strip()
        if current is not None and ref == current.ref:
            _add_row(current, line, cells, reading)
            continue
        if current is not None:
            yield _finished(current)
        current = Draft(ref=ref)
        if not ref:
            current.problems.append(f"line {line}, {reading.header[ref_column]}: "
                                    "no order reference")
        elif ref in seen:
            current.problems.append(
                f"line {line}, {reading.header[ref_column]}: order “{ref}” appears again "
                "after other orders; keep an order's rows together")
        seen.add(ref)
        _add_row(current, line, cells, reading)
    if current is not None:
        yield _finished(current)


def _finished(draft: Draft) -> Draft:
    if not draft.lines and not draft.problems:
        draft.problems.append(f"line {draft.lines_in_file[0]}: order “{draft.ref}” has no "
                              "line items")
    return draft


def _cell(cells: list[str], reading: Reading, name: str) -> str:
    n = reading.columns.get(name)
    return cells[n].strip() if n is not None else ""


def _add_row(draft: Draft, line: int, cells: list[str], reading: Reading) -> None:
    draft.lines_in_file.append(line)

    def problem(name: str, words: str) -> None:
        column = reading.header[reading.columns[name]] if reading.columns.get(name) is not None \
            else LABELS[name]
        draft.problems.append(f"line {line}, {column}: {words}")

    # order-level cells: the first row that has one gives it; another value later is a conflict
    for name in ORDER_FIELDS:
        text = _cell(cells, reading, name)
        if not text:
            continue
        try:
            value = _order_value(name, text, reading)
        except ValueError as exc:
            problem(name, str(exc))
            continue
        known = draft.fields.get(name)
        if known is None:
            draft.fields[name] = value
        elif known != value:
            problem(name, f"“{text[:40]}” differs from the order's first row")
    product = _cell(cells, reading, "product")
    if not product:
        if any(_cell(cells, reading, f) for f in ("quantity", "unit_price")):
            problem("product", "no product name")
        return  # an order-level row (a shop's shipping or fee row): no line item
    try:
        quantity = values.parse_quantity(_cell(cells, reading, "quantity"))
    except ValueError as exc:
        problem("quantity", str(exc))
        quantity = None
    amounts = {}
    for name in ("unit_price", "tax_rate", "discount_rate"):
        try:
            amounts[name] = values.parse_amount(_cell(cells, reading, name),
                                                reading.decimal_comma,
                                                "amount" if name == "unit_price" else "rate")
        except ValueError as exc:
            problem(name, str(exc))
    if len(product) > 200:
        problem("product", "longer than 200 characters")
    for name in ("tax_rate", "discount_rate"):
        if name in amounts and not Decimal(0) <= amounts[name] <= Decimal(100):
            problem(name, f"“{amounts[name]}” is not a percentage from 0 to 100")
    if "unit_price" in amounts and amounts["unit_price"] < 0:
        problem("unit_price", "a price below 0")
    if quantity is not None and len(amounts) == 3:
        draft.lines.append(Line(product[:200], quantity, amounts["unit_price"],
                                amounts["tax_rate"], amounts["discount_rate"]))


def _order_value(name: str, text: str, reading: Reading) -> object:
    if name == "order_date":
        return values.parse_date(text, reading.date_order)
    if name == "status":
        status = STATUSES.get(text.casefold().replace("_", " ").replace(" ", "_"),
                              STATUSES.get(text.casefold()))
        if status is None:
            raise ValueError(f"“{text[:40]}” is not a status this app knows "
                             "(paid, refunded, completed, processing, cancelled, open, …)")
        return status
    if name in ("shipping", "taxes", "discount_amount"):
        amount = values.parse_amount(text, reading.decimal_comma)
        if amount < 0:
            raise ValueError(f"“{text[:40]}” is below 0")
        return amount
    if name == "currency":
        code = text.upper()
        if len(code) != 3 or not code.isalpha() or not code.isascii():
            raise ValueError(f"“{text[:40]}” is not a currency code like EUR")
        return code
    return text


def order_date_or(draft: Draft, default: dt.date) -> dt.date:
    value = draft.fields.get("order_date")
    return value if isinstance(value, dt.date) else default
