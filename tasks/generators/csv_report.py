"""CSV generator: RFC 4180, UTF-8 without BOM, CRLF line endings.

Text cells (customer, product, status) are guarded against spreadsheet formula
injection with :func:`neutralise`; numeric cells are written as plain numbers.
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
)

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


def write_csv(rows: Rows, meta: ReportMeta, path, progress: Progress = None) -> int:
    """Write ``rows`` to ``path`` as CSV and return the number of data rows."""
    count = 0
    date_cache: dict[dt.datetime, str] = {}
    dangerous = DANGEROUS_FIRST_CHARS
    every = PROGRESS_EVERY
    next_report = every
    with open(path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
        writerow = writer.writerow
        writerow(HEADER)
        for order_id, order_date, customer, status, product, qty, price, total in rows:
            date_s = date_cache.get(order_date)
            if date_s is None:
                if len(date_cache) > 4096:
                    date_cache.clear()
                date_s = date_cache[order_date] = format_utc(order_date)
            # Only pay for the function call when the first char is suspicious
            # (DANGEROUS_FIRST_CHARS holds every first char neutralise may guard).
            if customer and customer[0] in dangerous:
                customer = neutralise(customer)
            if product and product[0] in dangerous:
                product = neutralise(product)
            if status and status[0] in dangerous:
                status = neutralise(status)
            writerow(
                (
                    order_id,
                    date_s,
                    customer,
                    status,
                    product,
                    int(qty),
                    f"{price:.2f}",
                    f"{total:.2f}",
                )
            )
            count += 1
            if count == next_report:
                next_report += every
                if progress is not None:
                    progress(count)
    if progress is not None and (count == 0 or count % every):
        progress(count)  # final call, unless the last periodic call already said it
    return count
