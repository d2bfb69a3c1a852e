"""CSV generator: RFC 4180, UTF-8 without BOM, CRLF line endings.

One record per report row (an order's items, then its shipping row), under
:data:`HEADER`. Every cell, precisely (tasks/pg_copy.py writes the same bytes
from SQL, so these rules are its specification too):

* ``order_id``, ``quantity``: the integer in decimal digits, ``-`` if negative.
* ``order_date``: the order's calendar date as ``YYYY-MM-DD`` (``date.isoformat()``;
  SQL ``to_char(d, 'YYYY-MM-DD')``). A date, so no time zone is applied.
* ``order_number``, ``customer``, ``status``, ``product``: :func:`text_cell` (the
  formula guard, then double quotes if the text holds a :data:`QUOTED_CHARS`).
* money (``unit_price``, ``discount``, ``net``, ``tax``, ``gross``): exactly two
  decimals, no thousands separator, ``-`` if negative (``f"{x:.2f}"``; the
  stored amounts are NUMERIC(…, 2), so nothing is rounded and SQL's ``x::text``
  is the same text). Zero is ``0.00``, never ``-0.00``.
* percentages (``discount_percent``, ``tax_percent``): the rate without trailing
  zeros and without a trailing point: ``19``, ``5.5``, ``8.125``, ``0``, ``100``
  (``format(rate.normalize(), "f")``, never an exponent; SQL ``trim_scale(rate)::text``).
  Zero is ``0``.
* ``currency``: ``meta.currency`` as it is (a three-letter code).

"CSV for Excel" (``meta.csv_excel``) starts the file with a UTF-8 BOM, which
Excel needs to read it as UTF-8; with ``meta.decimal_comma`` (locales where
Excel reads "1,5" as one and a half) cells are separated by ``;`` and the
decimal point of every money and percentage cell is a comma (``12,50``,
``5,5``); nothing else changes.
"""
from __future__ import annotations

import datetime as dt
import re

from . import PROGRESS_EVERY, Progress, ReportMeta, Rows

__all__ = [
    "ALWAYS_GUARDED_FIRST_CHARS",
    "CELL_BREAKS",
    "FORMULA_SKIP_CHARS",
    "FORMULA_START_CHARS",
    "GUARD_PATTERN",
    "HEADER",
    "QUOTED_CHARS",
    "QUOTED_PATTERN",
    "SUSPECT_PATTERN",
    "format_local",
    "format_money",
    "format_percent",
    "format_utc",
    "neutralise",
    "quote",
    "text_cell",
    "write_csv",
]

HEADER = (
    "order_id",
    "order_number",
    "order_date",
    "customer",
    "status",
    "product",
    "quantity",
    "unit_price",
    "discount_percent",
    "discount",
    "net",
    "tax_percent",
    "tax",
    "gross",
    "currency",
)
BOM = "\ufeff"

# The formula-injection guard (tasks/pg_copy.py's _text_cell is its SQL twin
# and must stay byte-identical with it: both run GUARD_PATTERN, which Python's
# re and PostgreSQL's regular expressions read alike).
#
# Excel / LibreOffice / Google Sheets run a cell starting with = + - @ as a
# formula, and accept the fullwidth forms (U+FF1D U+FF0B U+FF0D U+FF20, typed
# with an IME) as well; they may drop leading whitespace and invisible format
# characters (zero-width space / non-joiner / joiner, word joiner, BOM) before
# parsing the cell, and a cell starting with a tab or CR is a known trigger too.
#
# A cell does not only start at the start of our text: whoever opens the file
# may split it at another separator than ours (a comma CSV opened with ";", the
# default in much of Europe, and the other way round; or tab), and quotes do not
# help there, since a quote in the middle of their cell is plain text. So every
# *piece* of the text is guarded: the piece at its start and the piece after
# each CELL_BREAKS character. A piece gets a ' in front of it when
#   - its first character is one of ALWAYS_GUARDED_FIRST_CHARS, or
#   - after skipping any FORMULA_SKIP_CHARS, the next character is one of
#     FORMULA_START_CHARS.
# "Z;=2*21;" becomes "Z;'=2*21;": still readable, and no spreadsheet runs it.
FORMULA_START_CHARS = frozenset("=+-@\uff1d\uff0b\uff0d\uff20")
FORMULA_SKIP_CHARS = " \t\r\n\u200b\u200c\u200d\u2060\ufeff"
ALWAYS_GUARDED_FIRST_CHARS = frozenset("\t\r")
# what separates cells in either of our CSV styles (or in a tab-separated
# reading of them), and rows
CELL_BREAKS = ",;\t\r\n"
# A text cell holding any of these is quoted, in both styles whatever our own
# separator: a reader that guesses the separator then keeps it one cell.
QUOTED_CHARS = CELL_BREAKS + '"'


def _char_class(chars) -> str:
    """A bracket expression both re and PostgreSQL read alike: the characters
    themselves, '-' last so it is literal (none of ] \\ ^ may be in chars)."""
    assert not set(chars) & set("]\\^[")
    return "[" + "".join(sorted(set(chars), key=lambda c: (c == "-", c))) + "]"


# zero-width: matches where a ' goes (a piece's start, with a formula behind it)
GUARD_PATTERN = (
    f"(?:^|(?<={_char_class(CELL_BREAKS)}))"
    f"(?={_char_class(ALWAYS_GUARDED_FIRST_CHARS)}"
    f"|{_char_class(FORMULA_SKIP_CHARS)}*{_char_class(FORMULA_START_CHARS)})")
QUOTED_PATTERN = _char_class(QUOTED_CHARS)
# A text cell is the text itself unless this matches: a formula at its start,
# or a character that needs quotes (every other piece starts behind one of
# them, and so do ALWAYS_GUARDED_FIRST_CHARS). One cheap test for most names,
# and "T-shirt" or "a=b" need no more than that.
SUSPECT_PATTERN = (f"^{_char_class(FORMULA_SKIP_CHARS)}*{_char_class(FORMULA_START_CHARS)}"
                   f"|{QUOTED_PATTERN}")
_GUARD = re.compile(GUARD_PATTERN)
_FORMULA_CHARS = re.compile(_char_class(FORMULA_START_CHARS | ALWAYS_GUARDED_FIRST_CHARS))
_SUSPECT = re.compile(SUSPECT_PATTERN)
_QUOTED = re.compile(QUOTED_PATTERN)


def neutralise(text: str) -> str:
    """``text`` with a ``'`` before each piece a spreadsheet could run as a formula.

    Applies to text cells only; never pass numbers through it.
    """
    if _FORMULA_CHARS.search(text) is None:  # no piece can be guarded
        return text
    return _GUARD.sub("'", text)


def quote(text: str) -> str:
    """``text`` as one CSV field, in double quotes if it holds any QUOTED_CHARS."""
    if _QUOTED.search(text) is None:
        return text
    return '"' + text.replace('"', '""') + '"'


def text_cell(text: str) -> str:
    """A text cell as written to the file: guarded, then quoted if need be."""
    if _SUSPECT.search(text) is None:
        return text
    return quote(neutralise(text))


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


def format_money(value) -> str:
    """A money cell with a decimal point: ``1234.50``, ``-5.00``, ``0.00``."""
    text = f"{value:.2f}"
    return "0.00" if text == "-0.00" else text


def format_percent(rate) -> str:
    """A percentage cell with a decimal point: ``19``, ``5.5``, ``8.125``, ``0``, ``100``."""
    if not rate:
        return "0"
    return format(rate.normalize(), "f")


def _remember(cache: dict[str, str], text: str) -> str:
    if len(cache) > 4096:
        cache.clear()
    cell = cache[text] = text_cell(text)
    return cell


# Percentages are cached by value (a workspace has a few rates; Decimal("19.0")
# and Decimal("19.000") share an entry, which is right since both are written
# alike). Amounts are not: net, tax and gross have a long tail of values, and
# str() of a stored amount is as fast as a lookup that misses.
_NUMBER_CACHE_MAX = 4096


def _number(cache: dict, value, fmt) -> str:
    if len(cache) > _NUMBER_CACHE_MAX:
        cache.clear()
    cell = cache[value] = fmt(value)
    return cell


def write_csv(rows: Rows, meta: ReportMeta, path, progress: Progress = None) -> int:
    """Write ``rows`` to ``path`` as CSV and return the number of data rows.

    Lines are put together here rather than by csv.writer, which can only
    quote for its own separator (see QUOTED_CHARS); text cells are quoted by
    text_cell, and the other cells are numbers, dates and the currency code,
    which never need quotes. The cells an order's rows share (id, number,
    date, customer, status) are rendered once per order."""
    count = 0
    cells: dict[str, str] = {}  # text -> its cell: names repeat on every item
    percent: dict = {}
    every = PROGRESS_EVERY
    next_report = every
    comma = meta.csv_excel and meta.decimal_comma
    sep = ";" if comma else ","
    end = f"{sep}{meta.currency}\r\n"
    fmt_percent = format_percent
    if comma:  # the decimal point is the only "." in a percentage
        def fmt_percent(rate) -> str:
            return format_percent(rate).replace(".", ",")

    last_id = last_number = last_date = last_customer = last_status = None
    head = ""
    with open(path, "w", encoding="utf-8", newline="") as fh:
        write = fh.write
        if meta.csv_excel:
            write(BOM)
        write(sep.join(HEADER) + "\r\n")
        for (order_id, number, order_date, customer, status, product, qty, price,
             disc_rate, disc, net, tax_rate, tax, gross) in rows:
            if (order_id != last_id or number != last_number or order_date != last_date
                    or customer != last_customer or status != last_status):
                last_id, last_number, last_date = order_id, number, order_date
                last_customer, last_status = customer, status
                head = (f"{order_id}{sep}{cells.get(number) or _remember(cells, number)}{sep}"
                        f"{dt.date.isoformat(order_date)}{sep}"
                        f"{cells.get(customer) or _remember(cells, customer)}{sep}"
                        f"{cells.get(status) or _remember(cells, status)}{sep}")
            product = cells.get(product) or _remember(cells, product)
            # str() is exact and fast for the stored amounts (two decimals); anything
            # else (an exponent, another scale, -0.00) is formatted properly
            p, d, n, t, g = str(price), str(disc), str(net), str(tax), str(gross)
            if not (p[-3:-2] == d[-3:-2] == n[-3:-2] == t[-3:-2] == g[-3:-2] == "."
                    and "-0.00" not in (p, d, n, t, g)):
                p, d, n, t, g = map(format_money, (price, disc, net, tax, gross))
            if comma:
                p, d, n, t, g = (p.replace(".", ","), d.replace(".", ","), n.replace(".", ","),
                                 t.replace(".", ","), g.replace(".", ","))
            dr = percent.get(disc_rate) or _number(percent, disc_rate, fmt_percent)
            tr = percent.get(tax_rate) or _number(percent, tax_rate, fmt_percent)
            write(f"{head}{product}{sep}{int(qty)}{sep}{p}{sep}{dr}{sep}{d}{sep}{n}{sep}{tr}{sep}"
                  f"{t}{sep}{g}{end}")
            count += 1
            if count == next_report:
                next_report += every
                if progress is not None:
                    progress(count)
    if progress is not None and (count == 0 or count % every):
        progress(count)  # final call, unless the last periodic call already said it
    return count
