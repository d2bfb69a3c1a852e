"""PDF generator (fpdf2): an optional overview, then a paginated line-item table.

Layout: A4 landscape; title, scope lines, the time zone and the generation time
on page 1; a table whose header row is repeated on every page; ``Page X of Y``
in the footer.  For ``meta.kind == "summary"`` a subtotal line follows each
order and a grand total closes the report; for ``meta.kind == "order"`` an
order total closes it.

Every time is shown in ``meta.zone`` (rows carry UTC, naive = UTC) and the
header says which zone that is.

When ``meta.overview`` is set (summaries), the overview comes first and the
line items then start on a page of their own.

Modules:

* engine.py -- raw content streams, the page spill and the final assembly
  (why it is fast and small, and which fpdf2 surface it relies on);
* fonts.py -- encoding and measuring text, with the fallback font for CJK;
* table.py -- the line-item table (the hot path: one ``TJ`` per row);
* overview.py -- the summary's key figures, chart and top lists.

This package imports fpdf2 (~40 MB resident) at import time.  A Celery worker
loads it, with the parsed text fonts, once in its prefork parent (:func:`preload`,
called from tasks/worker.py), so that every pool child shares those pages
copy-on-write and no job pays for them; any other process imports it when a PDF
is first asked for (tasks/reports.py).
"""
from __future__ import annotations

import datetime as dt
import itertools
import tempfile
from decimal import Decimal
from pathlib import Path

from .. import Progress, ReportMeta, Rows
from ..document import DocumentLine, OrderDocument, Party
from . import fonts
from .document import write_order_document
from .engine import GREY_TEXT, MARGIN, PAD, Canvas, Spill, baseline, clean, local
from .fonts import DEFAULT_FONTS_DIR, PT_PER_MM
from .overview import NO_ORDERS_MESSAGE, OverviewPages
from .table import EMPTY_MESSAGE, Table

__all__ = ["DEFAULT_FONTS_DIR", "EMPTY_MESSAGE", "NO_ORDERS_MESSAGE", "preload",
           "write_order_document", "write_pdf"]


def write_pdf(
    rows: Rows,
    meta: ReportMeta,
    path,
    progress: Progress = None,
    *,
    fonts_dir: Path | None = None,
) -> int:
    """Write ``rows`` to ``path`` as a PDF report; return the number of rows written.

    ``fonts_dir`` overrides where the TTF files are read from (default: static/fonts).
    Finished pages are spilled (compressed) to an anonymous temporary file in
    ``path``'s directory, so memory does not grow with the number of rows.

    With ``meta.document`` (one order), the file is that order's business
    document instead (document.py): its lines are the rows that are not the
    shipping row, which the document shows in its own place.
    """
    if meta.document is not None:
        lines = _document_lines(rows, has_shipping=meta.document.shipping is not None)
        return write_order_document(meta.document, lines, path, progress, fonts_dir=fonts_dir)
    with tempfile.TemporaryFile(dir=Path(path).resolve().parent) as spill_file:
        canvas = Canvas(meta.title, fonts_dir or DEFAULT_FONTS_DIR, Spill(spill_file))
        table = Table(canvas, meta)
        title_block(canvas, meta)
        if meta.overview is not None:
            OverviewPages(canvas, meta.currency).draw(meta.overview)
        it = iter(rows)
        first = next(it, None)
        if first is None:
            count, orders, grand = 0, 0, Decimal(0)
            if progress is not None:
                progress(0)
        else:
            table.begin(own_page=meta.overview is not None)
            count, orders, grand = table.rows(itertools.chain((first,), it), progress)
        table.totals(count, orders, grand)
        canvas.output(path)
    return count


def preload(fonts_dir: Path | None = None, *, fallback: bool = False) -> None:
    """Do now, once, what the first PDF of a process would do: parse the text fonts
    (fonts.py; the CJK fallback too with ``fallback``: ~40 MB more, ~0.3 s) and write
    a small document to a temporary folder, which imports and sets up whatever
    fpdf2 and fontTools load on first use.  Nothing of that document stays."""
    fonts_dir = fonts_dir or DEFAULT_FONTS_DIR
    fonts.preload(fonts_dir, fallback=fallback)
    doc = OrderDocument(title="Order confirmation", number="SO-000001",
                        order_date=dt.date(2000, 1, 1), status="Open",
                        seller=Party("Seller", ("Street 1",), "VAT 1"),
                        buyer=Party("Buyer", ("Street 2",), None, "buyer@example.com"),
                        currency="EUR", timezone="UTC",
                        generated_at=dt.datetime(2000, 1, 1, tzinfo=dt.UTC), notes="Notes")
    line = DocumentLine("Product", 1, Decimal("1.00"), Decimal(10), Decimal("0.10"),
                        Decimal(19), Decimal("0.90"), Decimal("0.17"), Decimal("1.07"))
    with tempfile.TemporaryDirectory() as folder:
        write_order_document(doc, [line], Path(folder) / "warm-up.pdf", fonts_dir=fonts_dir)


def _document_lines(rows: Rows, *, has_shipping: bool):
    """The order's rows as document lines, but for its shipping row: the
    last one when the order charges shipping (rows come items first), which
    the document shows in its own place. One row is held back to know."""
    held = None
    for row in rows:
        if held is not None:
            yield held
        held = DocumentLine(row.product, row.quantity, row.unit_price, row.discount_rate,
                            row.discount, row.tax_rate, row.net, row.tax, row.gross)
    if held is not None and not has_shipping:
        yield held


def title_block(canvas: Canvas, meta: ReportMeta) -> None:
    """Page 1's head: title, scope lines, the zone times are shown in, generation time."""
    reg = canvas.reg
    left = (MARGIN + PAD) * PT_PER_MM
    y = MARGIN
    parts = canvas.parts
    parts.append(canvas.text_line(left, baseline(y, 8, 15), clean(meta.title), canvas.bold, 15))
    y += 8
    zone_name = clean(meta.timezone)
    for line in [*meta.scope, f"Times in {zone_name}"]:
        parts.append(canvas.text_line(left, baseline(y, 5, 10), clean(line), reg, 10))
        y += 5
    generated = local(meta.generated_at, meta.zone).strftime("%Y-%m-%d %H:%M")
    parts.append(canvas.text_line(left, baseline(y, 5, 9), f"Generated {generated} {zone_name}",
                                  reg, 9, colour=GREY_TEXT))
    canvas.y = y + 5 + 3
