"""The single-order business document (order confirmation, pro-forma invoice or
delivery note): what the app hands to a document writer.

Plain data and the sums over it; nothing of fpdf2 or of webapp, so the app can
build and test these without loading a PDF library.

Amounts are Decimal as stored per line (already rounded to the currency's minor
unit); the writer adds them up and never rounds again.  Rates are percentages:
``Decimal("19")`` is 19 %, ``Decimal("7.5")`` is 7.5 %.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import NamedTuple
from zoneinfo import ZoneInfo


class DocumentLine(NamedTuple):
    product: str
    quantity: int
    unit_price: Decimal
    discount_rate: Decimal  # percent taken off the line, 0 for none
    discount: Decimal  # the amount that took off (positive), part of the stored net
    tax_rate: Decimal  # percent
    net: Decimal
    tax: Decimal
    gross: Decimal


@dataclass(frozen=True)
class Party:
    name: str
    address: tuple[str, ...] = ()
    tax_id: str | None = None
    email: str | None = None


@dataclass(frozen=True)
class OrderDocument:
    title: str  # "Order confirmation", "Pro-forma invoice" or "Delivery note"
    number: str  # "SO-000123"
    order_date: dt.date
    status: str  # "Open" / "Completed" / "Cancelled"
    seller: Party
    buyer: Party
    currency: str
    timezone: str  # IANA zone every time on the document is shown in
    generated_at: dt.datetime  # aware, UTC
    external_ref: str | None = None
    notes: str | None = None
    logo: bytes | None = None  # PNG or JPEG bytes, already validated by the app
    shipping: DocumentLine | None = None  # quantity 1, product "Shipping"
    prices_include_tax: bool = False

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


class TaxRow(NamedTuple):
    rate: Decimal
    net: Decimal
    tax: Decimal
    gross: Decimal


class DocumentTotals:
    """Sums of the lines' stored amounts, per tax rate and overall, built while the
    lines stream past (``add`` each line, shipping included)."""

    __slots__ = ("_by_rate", "discount", "gross", "net", "tax")

    def __init__(self) -> None:
        # rate -> [net, tax, gross]; Decimal("19") and Decimal("19.00") are one key
        self._by_rate: dict[Decimal, list[Decimal]] = {}
        self.discount = Decimal(0)
        self.net = Decimal(0)
        self.tax = Decimal(0)
        self.gross = Decimal(0)

    def add(self, line: DocumentLine) -> None:
        sums = self._by_rate.get(line.tax_rate)
        if sums is None:
            sums = self._by_rate[line.tax_rate] = [Decimal(0), Decimal(0), Decimal(0)]
        sums[0] += line.net
        sums[1] += line.tax
        sums[2] += line.gross
        self.discount += line.discount
        self.net += line.net
        self.tax += line.tax
        self.gross += line.gross

    def by_rate(self) -> list[TaxRow]:
        """One row per tax rate, lowest rate first."""
        return [TaxRow(rate, *sums) for rate, sums in sorted(self._by_rate.items())]
