"""CSV generator: RFC 4180, UTF-8 without BOM, CRLF line endings.

Text cells (customer, product, status) are guarded against spreadsheet formula
injection with :func:`neutralise`; numeric cells are written as plain numbers.
"""
from __future__ import annotations

import csv
import datetime as dt

from . import PROGRESS_EVERY, Progress, ReportMeta, Rows

__all__ = ["DANGEROUS_FIRST_CHARS", "HEADER", "format_utc", "neutralise", "write_csv"]

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

# A cell starting with one of these is interpreted as a formula (or shifts to
# one) by Excel / LibreOffice / Google Sheets.
DANGEROUS_FIRST_CHARS = frozenset("=+-@\t\r")


def neutralise(text: str) -> str:
    """Return ``text`` prefixed with ``'`` if a spreadsheet could run it as a formula.

    Applies to text cells only; never pass numbers through it.
    """
    if text and text[0] in DANGEROUS_FIRST_CHARS:
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
            # Only pay for the function call when the first char is suspicious.
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
