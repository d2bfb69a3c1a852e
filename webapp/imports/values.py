"""The cells of an imported column read as what they are: dates whose order
(day first or month first) is found per column from its values, amounts
whose decimal mark is found per column, whole quantities. A column that
cannot tell ("03/04/2026" only) is ambiguous: the page asks, nothing guesses.

Each parse function raises ValueError with the words the preview shows after
"row 12, Lineitem quantity: " ("'2.5' is not a whole number").
"""
from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation

DAY_FIRST, MONTH_FIRST, YEAR_FIRST = "day_first", "month_first", "year_first"
DATE_ORDERS = {DAY_FIRST: "day first (31/12/2026)", MONTH_FIRST: "month first (12/31/2026)",
               YEAR_FIRST: "year first (2026-12-31)"}

_YMD = re.compile(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:$|[ T])")
_XYZ = re.compile(r"(\d{1,2})[-/.](\d{1,2})[-/.](\d{4}|\d{2})(?:$|[ T,])")


def date_order(samples: Iterable[str]) -> str | None:
    """The column's date order from its values: year first when they are ISO
    dates; day first when a first part is over 12, month first when a second
    part is; None when no value tells (every part 12 or under) — ask. Raises
    ValueError when the column holds both kinds."""
    day_first = month_first = year_first = False
    for text in samples:
        text = text.strip()
        if not text:
            continue
        if _YMD.match(text):
            year_first = True
            continue
        found = _XYZ.match(text)
        if not found:
            continue
        first, second = int(found[1]), int(found[2])
        day_first |= first > 12
        month_first |= second > 12
    if day_first and month_first:
        raise ValueError("the dates are written both day first and month first")
    if day_first:
        return DAY_FIRST
    if month_first:
        return MONTH_FIRST
    return YEAR_FIRST if year_first else None


def parse_date(text: str, order: str | None) -> dt.date:
    """A cell's calendar date, as written (a time and an offset after it, as
    Shopify's "2026-10-07 09:50:26 +0200", belong to that day)."""
    text = text.strip()
    if not text:
        raise ValueError("no date")
    found = _YMD.match(text)
    if found:
        year, month, day = int(found[1]), int(found[2]), int(found[3])
    else:
        found = _XYZ.match(text)
        if not found:
            raise ValueError(f"“{text[:40]}” is not a date")
        if order not in (DAY_FIRST, MONTH_FIRST):
            raise ValueError(f"“{text[:40]}” could be day or month first: say which")
        a, b, year = int(found[1]), int(found[2]), int(found[3])
        year += 2000 if year < 100 else 0
        day, month = (a, b) if order == DAY_FIRST else (b, a)
    try:
        return dt.date(year, month, day)
    except ValueError:
        raise ValueError(f"“{text[:40]}” is not a date") from None


_NUMBER = re.compile(r"[+-]?[\d.,\u00a0\u202f' ]*\d")


def decimal_comma(samples: Iterable[str]) -> bool | None:
    """Whether the column writes decimals with a comma ("12,50", "1.234,56"),
    a point (True/False), or cannot tell (None: whole numbers only, or only
    "1,234"-like values)."""
    comma = point = False
    for text in samples:
        text = _strip_money(text)
        if not text:
            continue
        last_comma, last_point = text.rfind(","), text.rfind(".")
        if last_comma >= 0 and last_point >= 0:
            comma |= last_comma > last_point
            point |= last_point > last_comma
        elif last_comma >= 0:  # "12,50" is a decimal comma; "1,234,567" groups
            if text.count(",") > 1:
                point = True
            elif len(text) - last_comma - 1 != 3:
                comma = True
        elif last_point >= 0:  # "12.50" is a decimal point; "1.234.567" groups
            if text.count(".") > 1:
                comma = True
            elif len(text) - last_point - 1 != 3:
                point = True
    if comma and point:
        raise ValueError("the amounts are written with both a decimal comma and a "
                         "decimal point")
    return True if comma else False if point else None


def _strip_money(text: str) -> str:
    """The number in a money cell: currency signs and codes around it gone."""
    text = text.strip()
    text = re.sub(r"^[^\d+\-.,]+|[^\d.,]+$", "", text)
    return text


def parse_amount(text: str, comma: bool | None, what: str = "amount") -> Decimal:
    """A money amount or a rate: "1.234,56" with a decimal comma, "1,234.56"
    with a point; "" is 0."""
    cleaned = _strip_money(text)
    if not cleaned:
        if text.strip():
            raise ValueError(f"“{text.strip()[:40]}” is not an {what}")
        return Decimal(0)
    if not _NUMBER.fullmatch(cleaned):
        raise ValueError(f"“{text.strip()[:40]}” is not an {what}")
    for space in ("\u00a0", "\u202f", " ", "'"):
        cleaned = cleaned.replace(space, "")
    # the grouping marks go, the decimal mark becomes a point
    grouping, mark = (".", ",") if comma else (",", ".")
    cleaned = cleaned.replace(grouping, "").replace(mark, ".")
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        raise ValueError(f"“{text.strip()[:40]}” is not an {what}") from None
    if not value.is_finite():
        raise ValueError(f"“{text.strip()[:40]}” is not an {what}")
    return value


def parse_quantity(text: str) -> int:
    """A whole quantity of at least 1 ("2", "2.0" and "2,0" are 2)."""
    text = text.strip()
    if not text:
        raise ValueError("no quantity")
    try:
        value = Decimal(text.replace(",", "."))
    except InvalidOperation:
        raise ValueError(f"“{text[:40]}” is not a number") from None
    if not value.is_finite() or value != value.to_integral_value():
        raise ValueError(f"“{text[:40]}” is not a whole number")
    if value < 1:
        raise ValueError(f"“{text[:40]}” is less than 1")
    if value > 1_000_000:
        raise ValueError(f"“{text[:40]}” is more than 1,000,000")
    return int(value)
