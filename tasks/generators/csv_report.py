"""CSV generator: RFC 4180, UTF-8 without BOM, CRLF line endings.

Text cells (customer, product, status) are guarded against spreadsheet formula
injection with :func:`neutralise`; numeric cells are written as plain numbers.
Order dates are ISO 8601 in the user's zone: ``…Z`` for UTC, else with the
offset of that moment (``2026-11-03T15:05:00+01:00``). Every row says its
currency.

"CSV for Excel" (``meta.csv_excel``) starts the file with a UTF-8 BOM, which
Excel needs to read it as UTF-8; with ``meta.decimal_comma`` (locales where
Excel reads "1,5" as one and a half) cells are separated by ``;`` and money is
written ``12,50``.
"""
from __future__ import annotations

import csv
import datetime as dt

from . import PROGRESS_EVERY, Progress, ReportMeta, Rows

__all__ = [
    "ALWAYS_GUARDED_FIRST_CHARS",
    "DANGEROUS_FIRST_CHARS",
    "FORMULA_SKIP_CHARS",
    "FORMULA_START_CHARS",
    "HEADER",
    "format_local",
    "format_utc",
    "neutralise",
    "write_csv",
]

HEADER = (
    "order_id",
    "order_date",
    "customer",
    "status",
    "product",
    "quantity",
    "unit_price",
    "line_total",
    "currency",
)
BOM = "\ufeff"

# The formula-injection guard (tasks/pg_copy.py's _guarded is its SQL twin and
# must stay byte-identical with it). A text cell gets a leading ' when
#   - after skipping any leading FORMULA_SKIP_CHARS, the first remaining
#     character is one of FORMULA_START_CHARS, or
#   - its very first character is one of ALWAYS_GUARDED_FIRST_CHARS.
# Excel / LibreOffice / Google Sheets run a cell starting with = + - @ as a
# formula, and accept the fullwidth forms (U+FF1D U+FF0B U+FF0D U+FF20, typed
# with an IME) as well; they may drop leading whitespace and invisible format
# characters (zero-width space / non-joiner / joiner, word joiner, BOM) before
# parsing the cell.
FORMULA_START_CHARS = frozenset("=+-@\uff1d\uff0b\uff0d\uff20")
FORMULA_SKIP_CHARS = " \t\r\n\u200b\u200c\u200d\u2060\ufeff"  # a str: for str.lstrip
ALWAYS_GUARDED_FIRST_CHARS = frozenset("\t\r")
# Every first character a guarded cell can start with: a cell starting with
# anything else is never touched (a cheap pre-filter before neutralise).
DANGEROUS_FIRST_CHARS = FORMULA_START_CHARS | frozenset(FORMULA_SKIP_CHARS)


def neutralise(text: str) -> str:
    """Return ``text`` prefixed with ``'`` if a spreadsheet could run it as a formula.

    Applies to text cells only; never pass numbers through it.
    """
    if text and (text[0] in ALWAYS_GUARDED_FIRST_CHARS
                 or text.lstrip(FORMULA_SKIP_CHARS)[:1] in FORMULA_START_CHARS):
        return "'" + text
    return text


def format_utc(value: dt.datetime) -> str:
    """``YYYY-MM-DDTHH:MM:SSZ`` in UTC; naive datetimes are taken as UTC."""
    if value.tzinfo is not None:
        value = value.astimezone(dt.UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def format_local(value: dt.datetime, zone) -> str:
    """ISO 8601 in `zone` with the offset of that moment; naive is UTC."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(zone).isoformat(timespec="seconds")


def write_csv(rows: Rows, meta: ReportMeta, path, progress: Progress = None) -> int:
    """Write ``rows`` to ``path`` as CSV and return the number of data rows."""
    count = 0
    date_cache: dict[dt.datetime, str] = {}
    dangerous = DANGEROUS_FIRST_CHARS
    every = PROGRESS_EVERY
    next_report = every
    zone = None if meta.timezone == "UTC" else meta.zone
    comma = meta.csv_excel and meta.decimal_comma
    currency = meta.currency
    with open(path, "w", encoding="utf-8", newline="") as fh:
        if meta.csv_excel:
            fh.write(BOM)
        writer = csv.writer(fh, delimiter=";" if comma else ",", lineterminator="\r\n",
                            quoting=csv.QUOTE_MINIMAL)
        writerow = writer.writerow
        writerow(HEADER)
        for order_id, order_date, customer, status, product, qty, price, total in rows:
            date_s = date_cache.get(order_date)
            if date_s is None:
                if len(date_cache) > 4096:
                    date_cache.clear()
                date_s = date_cache[order_date] = (
                    format_utc(order_date) if zone is None else format_local(order_date, zone))
            # Only pay for the function call when the first char is suspicious
            # (DANGEROUS_FIRST_CHARS holds every first char neutralise may guard).
            if customer and customer[0] in dangerous:
                customer = neutralise(customer)
            if product and product[0] in dangerous:
                product = neutralise(product)
            if status and status[0] in dangerous:
                status = neutralise(status)
            price_s, total_s = f"{price:.2f}", f"{total:.2f}"
            if comma:
                price_s, total_s = price_s.replace(".", ","), total_s.replace(".", ",")
            writerow((order_id, date_s, customer, status, product, int(qty), price_s, total_s,
                      currency))
            count += 1
            if count == next_report:
                next_report += every
                if progress is not None:
                    progress(count)
    if progress is not None and (count == 0 or count % every):
        progress(count)  # final call, unless the last periodic call already said it
    return count
