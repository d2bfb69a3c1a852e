"""PDF generator (fpdf2): a paginated line-item table with totals.

Layout: A4 landscape; title, scope lines and generation time on page 1; a table
whose header row is repeated on every page; ``Page X of Y`` in the footer.
For ``meta.kind == "summary"`` a subtotal line follows each order and a grand
total closes the report; for ``meta.kind == "order"`` an order total closes it.

How it stays fast
-----------------
fpdf2's ``table()`` (~900 rows/s) and even ``cell()`` (30-50 us per call) are
too slow for 100k rows, so data rows are written straight into the page's
content stream: consecutive rows share one ``q 0 g BT ... ET Q`` text object
(wrapped in q/Q so fpdf2's own notion of current font and colour is never
disturbed), and each row is a single ``TJ`` whose numeric kerning adjustments
move the pen to the next column.  All positions are integers in text-space
thousandths, so no float formatting happens per row.

Glyph encoding uses the font's own ``encode_text()`` one character at a time
(which registers the glyph in fpdf2's subset, so subsetting and the ToUnicode
map stay correct) and is then applied with ``str.translate``.  Widths are the
per-glyph advances fpdf2 itself uses (no kerning, no text shaping).  Rendered
cells are cached by value: names, dates, quantities and prices repeat.

Text that DejaVu Sans cannot draw (CJK, ...) takes the slow public path,
``cell()`` with fpdf2's fallback-font machinery (Droid Sans Fallback); that
font is only loaded when such text first appears (loading it costs ~0.2 s).

The only private fpdf2 API used is ``FPDF._out`` (append to the current page's
content stream).  fpdf2 is pinned in requirements.txt and the unit tests read
the text back from the produced file.
"""
from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal
from pathlib import Path

from fpdf import FPDF

from . import PROGRESS_EVERY, Progress, ReportMeta, Rows

__all__ = ["DEFAULT_FONTS_DIR", "EMPTY_MESSAGE", "write_pdf"]

DEFAULT_FONTS_DIR = Path(__file__).resolve().parents[2] / "static" / "fonts"
EMPTY_MESSAGE = "No line items match this report."

FAMILY = "DejaVu"
FALLBACK_FAMILY = "DroidSansFallback"
FONT_FILES = {
    (FAMILY, ""): "DejaVuSans.ttf",
    (FAMILY, "B"): "DejaVuSans-Bold.ttf",
    (FALLBACK_FAMILY, ""): "DroidSansFallbackFull.ttf",
}

# fpdf2 reserves room for len(alias) digits ("{nb}" leaves room for only 3).
NB_ALIAS = "{pages}"
ELLIPSIS = "\u2026"

# Geometry.  A4 landscape is 297 x 210 mm; the PDF unit is the point (1/72 in).
PT_PER_MM = 72 / 25.4
MARGIN = 10.0  # mm
PAD = 1.0  # mm, horizontal padding inside a cell (fpdf2's default c_margin)
FONT_PT = 8.0
ROW_PT = 12.5  # row pitch in points (4.41 mm): a round number keeps Td exact
ROW_H = ROW_PT / PT_PER_MM  # mm
HEADER_H = 6.0  # mm
FOOTER_Y = -10.0  # mm from the bottom edge
BOTTOM = 210.0 - 14.0  # mm: rows must end above this
UNITS = 1000 / FONT_PT  # text-space thousandths per point, for TJ adjustments

# (label, width mm, right-aligned); widths add up to 297 - 2 * MARGIN.
COLUMNS = (
    ("Order", 16.0, False),
    ("Date", 20.0, False),
    ("Customer", 62.0, False),
    ("Status", 20.0, False),
    ("Product", 83.0, False),
    ("Qty", 14.0, True),
    ("Unit price", 30.0, True),
    ("Line total", 32.0, True),
)
TABLE_W = sum(c[1] for c in COLUMNS)
_LEFT_MM = tuple(itertools.accumulate((c[1] for c in COLUMNS[:-1]), initial=MARGIN))
# In TJ units (thousandths of the font size): left text edges, right text edges.
_X = tuple(round((x + PAD) * PT_PER_MM * UNITS) for x in _LEFT_MM)
_R = tuple(
    round((x + c[1] - PAD) * PT_PER_MM * UNITS) for x, c in zip(_LEFT_MM, COLUMNS, strict=True)
)

_NUMERIC_CHARS = "0123456789.,-"

# A rendered left-aligned cell: (TJ fragment: the string literal followed by the pen
# move to the next column; text for the fallback path or None; the literal alone;
# that pen move alone).  A TJ number n moves the pen left by n/1000 of the font size.
_Cell = tuple[str, str | None, str, int]
_CACHE_LIMIT = 50_000  # entries per value cache before it is reset


def _money(value: Decimal) -> str:
    return f"{value:,.2f}"


def _utc(value: dt.datetime) -> dt.datetime:
    """Naive UTC datetime (naive input is taken to be UTC already)."""
    if value.tzinfo is None:
        return value
    return value.astimezone(dt.UTC).replace(tzinfo=None)


def _clean(text) -> str:
    """One-line display text: control characters and runs of whitespace become one space."""
    text = "" if text is None else str(text)
    if text.isprintable():
        return text
    return " ".join("".join(c if c.isprintable() else " " for c in text).split())


class _ReportPDF(FPDF):
    def footer(self) -> None:
        self.set_y(FOOTER_Y)
        self.set_font(FAMILY, "", 7)
        self.set_text_color(90)
        self.cell(0, 4, f"Page {self.page_no()} of {NB_ALIAS}", align="C")
        self.set_text_color(0)


class _RawFont:
    """Encodes text for one TTF font/size for direct use in a content stream."""

    def __init__(self, pdf: FPDF, family: str, style: str) -> None:
        pdf.set_font(family, style, FONT_PT)
        self.font = pdf.current_font
        self.tf = f"/F{self.font.i} {FONT_PT:.2f} Tf"
        self.cmap = self.font.cmap
        self.enc: dict[int, str] = {}  # str.translate table: char -> escaped glyph id
        self.w: dict[str, int] = {}  # char -> advance in font units (1/1000 em)
        self.learn(_NUMERIC_CHARS)

    def covers(self, text: str) -> bool:
        cmap = self.cmap
        return all(ord(c) in cmap for c in text)

    def learn(self, text: str) -> None:
        w, font = self.w, self.font
        for c in set(text):
            if c not in w:
                # encode_text() gives "(<escaped glyph ids>) Tj"; keep the inside.
                self.enc[ord(c)] = font.encode_text(c)[1:-4]
                w[c] = round(font.get_text_width(c, 1000, None)[1])

    def literal(self, text: str) -> tuple[str, int]:
        """(PDF string literal, width in font units); learns unseen characters."""
        self.learn(text)
        return "(" + text.translate(self.enc) + ")", sum(map(self.w.__getitem__, text))

    def width_mm(self, text: str) -> float:
        self.learn(text)
        return sum(map(self.w.__getitem__, text)) * FONT_PT / 1000 / PT_PER_MM


class _Writer:
    def __init__(self, meta: ReportMeta, fonts_dir: Path) -> None:
        self.meta = meta
        self.fonts_dir = Path(fonts_dir)
        pdf = self.pdf = _ReportPDF(orientation="L", unit="mm", format="A4")
        pdf.set_auto_page_break(False)
        pdf.alias_nb_pages(NB_ALIAS)
        pdf.set_margins(MARGIN, MARGIN, MARGIN)
        pdf.set_title(meta.title)
        pdf.set_creator("reports")
        for (family, style), name in FONT_FILES.items():
            if family == FAMILY:
                pdf.add_font(family, style, str(self.fonts_dir / name))
        self.fallback_loaded = False
        self.bold = _RawFont(pdf, FAMILY, "B")
        self.reg = _RawFont(pdf, FAMILY, "")  # leaves the regular font current
        self.page_h_pt = pdf.h * pdf.k
        self.y = 0.0  # mm, top of the next table line
        self.header_raw = self._header_raw()
        # Subtotal rule: a thin grey line under the subtotal; "{y}" filled per use.
        x1, x2 = MARGIN * PT_PER_MM, (MARGIN + TABLE_W) * PT_PER_MM
        self.rule = f"q 0.6 G 0.4 w {x1:.2f} {{y:.2f}} m {x2:.2f} {{y:.2f}} l S Q"
        # Per-column caches of rendered text cells: value -> (TJ fragment, fallback text).
        self.text_cache: list[dict[str, _Cell]] = [{} for _ in COLUMNS]
        self.fit_cache: dict[tuple[str, int], str] = {}
        # Rows of the currently open text object (flushed as one _out call).
        self.buf: list[str] = []

    # -- fonts -----------------------------------------------------------------
    def ensure_fallback(self, text: str) -> None:
        """Load the CJK fallback font the first time text needs it."""
        if self.fallback_loaded or self.reg.covers(text):
            return
        pdf = self.pdf
        family, style, size = pdf.font_family, pdf.font_style, pdf.font_size_pt
        pdf.add_font(FALLBACK_FAMILY, "", str(self.fonts_dir / FONT_FILES[FALLBACK_FAMILY, ""]))
        pdf.set_fallback_fonts([FALLBACK_FAMILY], exact_match=False)
        pdf.set_font(family, style, size)
        self.fallback_loaded = True

    def public_cell(self, w: float, h: float, text: str, **kwargs) -> None:
        self.ensure_fallback(text)
        self.pdf.cell(w, h, text, **kwargs)

    # -- raw text objects --------------------------------------------------------
    def flush(self) -> None:
        """Close the open text object; must run before anything else is drawn."""
        if self.buf:
            self.pdf._out("".join(self.buf) + " ET Q")  # private fpdf2 API, see module docstring
            self.buf = []

    def open_text(self, top: float) -> None:
        """Start a text object whose line start is one row above the row at ``top``."""
        ys = self.page_h_pt - top * PT_PER_MM - self.baseline_pt() + ROW_PT
        x0 = _X[0] / UNITS
        self.buf.append(f"q 0 g BT {self.reg.tf} 1 0 0 1 {x0:.2f} {ys:.2f} Tm")

    @staticmethod
    def baseline_pt() -> float:
        """Baseline offset below a row's top, in points (as fpdf2's cell() puts it)."""
        return ROW_PT / 2 + 0.3 * FONT_PT

    # -- page furniture ----------------------------------------------------------
    def _header_raw(self) -> tuple[str, str]:
        """(first label, text-object tail drawing the other labels after the first)."""
        bold, currency = self.bold, self.meta.currency
        parts = []
        prev_x = _X[0]
        for i, (label, _w, right) in enumerate(COLUMNS[1:], start=1):
            if i >= 6:
                label = f"{label} ({currency})"
            lit, w = bold.literal(label)
            x = (_R[i] - w) if right else _X[i]
            parts.append(f"{(x - prev_x) / UNITS:.2f} 0 Td {lit} Tj")
            prev_x = x
        return COLUMNS[0][0], " ".join(parts) + " ET Q"

    def first_page(self) -> None:
        pdf, meta = self.pdf, self.meta
        pdf.add_page()
        pdf.set_xy(MARGIN, MARGIN)
        pdf.set_font(FAMILY, "B", 15)
        self.public_cell(0, 8, _clean(meta.title), new_x="LMARGIN", new_y="NEXT")
        pdf.set_font(FAMILY, "", 10)
        for line in meta.scope:
            self.public_cell(0, 5, _clean(line), new_x="LMARGIN", new_y="NEXT")
        generated = _utc(meta.generated_at).strftime("%Y-%m-%d %H:%M")
        pdf.set_font(FAMILY, "", 9)
        pdf.set_text_color(90)
        pdf.cell(0, 5, f"Generated {generated} UTC", new_x="LMARGIN", new_y="NEXT")
        pdf.set_text_color(0)
        pdf.set_font(FAMILY, "", FONT_PT)
        self.y = pdf.get_y() + 3

    def next_page(self) -> None:
        self.flush()
        pdf = self.pdf
        pdf.add_page()
        pdf.set_font(FAMILY, "", 7)
        pdf.set_text_color(90)
        title = f"{_clean(self.meta.title)} (continued)"
        if self.reg.covers(title):
            pdf.text(MARGIN, MARGIN + 2, title)  # also puts the regular font on the page
        else:
            pdf.set_xy(MARGIN, MARGIN - 1)
            self.public_cell(0, 4, title)
        pdf.set_text_color(0)
        self.y = MARGIN + 5
        self.table_header()

    def table_header(self) -> None:
        pdf = self.pdf
        pdf.set_fill_color(225)
        pdf.rect(MARGIN, self.y, TABLE_W, HEADER_H, style="F")
        base = self.y + HEADER_H / 2 + 0.3 * FONT_PT / PT_PER_MM
        first, tail = self.header_raw
        # One public text() call: it also registers the bold font on this page.
        pdf.set_font(FAMILY, "B", FONT_PT)
        pdf.text(MARGIN + PAD, base, first)
        y_pt = self.page_h_pt - base * PT_PER_MM
        pdf._out(
            f"q 0 g BT {self.bold.tf} 1 0 0 1 {_X[0] / UNITS:.2f} {y_pt:.2f} Tm {tail}"
        )
        pdf.set_font(FAMILY, "", FONT_PT)  # cells on the fallback path use the regular font
        self.y += HEADER_H

    # -- cells -------------------------------------------------------------------
    def fit(self, text: str, col: int) -> str:
        """``text`` cut with an ellipsis so that it fits column ``col``."""
        key = (text, col)
        fitted = self.fit_cache.get(key)
        if fitted is not None:
            return fitted
        max_w = COLUMNS[col][1] - 2 * PAD
        if self.reg.covers(text):
            width = self.reg.width_mm
        else:
            self.ensure_fallback(text)
            width = self.pdf.get_string_width  # knows about fallback fonts
        if width(text) <= max_w:
            fitted = text
        else:
            lo, hi = 0, len(text)  # longest prefix that fits with the ellipsis
            while lo < hi:
                mid = (lo + hi + 1) // 2
                if width(text[:mid].rstrip() + ELLIPSIS) <= max_w:
                    lo = mid
                else:
                    hi = mid - 1
            fitted = text[:lo].rstrip() + ELLIPSIS
        if len(self.fit_cache) > _CACHE_LIMIT:
            self.fit_cache.clear()
        self.fit_cache[key] = fitted
        return fitted

    def text_cell(self, value, col: int) -> _Cell:
        """A left-aligned cell: see :data:`_Cell`."""
        cache = self.text_cache[col]
        hit = cache.get(value)
        if hit is not None:
            return hit
        shown = self.fit(_clean(value), col)
        span = _X[col + 1] - _X[col]
        if self.reg.covers(shown):
            lit, w = self.reg.literal(shown)
            frag = (f"{lit}{w - span}", None, lit, w - span)
        else:
            frag = (f"(){-span}", shown, "()", -span)
        if len(cache) > _CACHE_LIMIT:
            cache.clear()
        cache[value] = frag
        return frag

    def fallback_cells(self, pending: list[tuple[int, str]], top: float) -> None:
        self.flush()
        pdf = self.pdf
        for col, text in pending:
            pdf.set_xy(_LEFT_MM[col], top)
            self.public_cell(COLUMNS[col][1], ROW_H, text)

    def subtotal(self, label: str, amount: Decimal) -> None:
        """Bold line: label right-aligned up to the unit price column, amount in the last."""
        self.flush()
        if self.y + ROW_H > BOTTOM:
            self.next_page()
        top = self.y
        bold = self.bold
        ys = self.page_h_pt - top * PT_PER_MM - self.baseline_pt()
        amount_lit, amount_w = bold.literal(_money(amount))
        label = _clean(label)
        parts = [self.rule.format(y=ys - ROW_PT + self.baseline_pt())]
        covered = bold.covers(label)
        parts.append(f"q 0 g BT {bold.tf}")
        if covered:
            label_lit, label_w = bold.literal(label)
            parts.append(f"1 0 0 1 {(_R[6] - label_w) / UNITS:.2f} {ys:.2f} Tm {label_lit} Tj")
        parts.append(f"1 0 0 1 {(_R[7] - amount_w) / UNITS:.2f} {ys:.2f} Tm {amount_lit} Tj ET Q")
        self.pdf._out(" ".join(parts))
        if not covered:  # e.g. a CJK word in a label: let fpdf2 handle it
            pdf = self.pdf
            pdf.set_font(FAMILY, "B", FONT_PT)
            pdf.set_xy(MARGIN, top)
            self.public_cell(_R[6] / UNITS / PT_PER_MM - MARGIN + PAD, ROW_H, label, align="R")
            pdf.set_font(FAMILY, "", FONT_PT)
        self.y = top + ROW_H

    # -- rows --------------------------------------------------------------------
    def rows(self, rows: Rows, progress: Progress) -> tuple[int, int, Decimal]:
        """Lay out every row; return (line items, orders, grand total)."""
        summary = self.meta.kind == "summary"
        reg = self.reg
        enc, wid = reg.enc, reg.w.__getitem__
        text_cell = self.text_cell
        next_line = f" 0 {-ROW_PT:.2f} Td ["
        # Pen moves between the right-aligned columns, less the widths (see TJ notes).
        k_qty = _X[5] - _R[5]
        k_unit = _R[5] - _R[6]
        k_total = _R[6] - _R[7]
        span0 = _X[1] - _X[0]
        qty_cache: dict[object, tuple[str, int]] = {}
        money_cache: dict[object, tuple[str, int]] = {}
        date_cache: dict[dt.datetime, _Cell] = {}
        every = PROGRESS_EVERY
        next_report = every

        count = 0
        orders = 0
        grand = Decimal(0)
        current = None
        subtotal = Decimal(0)
        order_frag = ""
        buf = self.buf
        y = self.y
        for order_id, order_date, customer, status, product, qty, price, total in rows:
            if order_id != current:
                if current is not None and summary:
                    self.y = y
                    self.subtotal(f"Subtotal order #{current}:", subtotal)
                    y, buf = self.y, self.buf
                grand += subtotal
                subtotal = Decimal(0)
                current = order_id
                orders += 1
                oid = str(order_id)
                reg.learn(oid)
                order_frag = f"({oid.translate(enc)}){sum(map(wid, oid)) - span0}"
            if y + ROW_H > BOTTOM:
                self.y = y
                self.next_page()
                y, buf = self.y, self.buf
            subtotal += total

            d_frag = date_cache.get(order_date)
            if d_frag is None:
                if len(date_cache) > 4096:
                    date_cache.clear()
                d_frag = date_cache[order_date] = text_cell(
                    _utc(order_date).strftime("%Y-%m-%d"), 1
                )
            c_frag = text_cell(customer, 2)
            s_frag = text_cell(status, 3)
            p_frag = text_cell(product, 4)

            q = qty_cache.get(qty)
            if q is None:
                s = str(qty)
                reg.learn(s)
                q = qty_cache[qty] = (f"({s.translate(enc)})", sum(map(wid, s)))
            u = money_cache.get(price)
            if u is None:
                s = f"{price:,.2f}"
                u = money_cache[price] = (f"({s.translate(enc)})", sum(map(wid, s)))
            t = money_cache.get(total)
            if t is None:
                if len(money_cache) > _CACHE_LIMIT:
                    money_cache.clear()
                s = f"{total:,.2f}"
                t = money_cache[total] = (f"({s.translate(enc)})", sum(map(wid, s)))

            if not buf:
                self.open_text(y)
            # TJ: a number n moves the pen left by n/1000 of the font size, so the move
            # to a right-aligned cell is (its width - gap from the current pen position).
            buf.append(
                f"{next_line}{order_frag}{d_frag[0]}{c_frag[0]}{s_frag[0]}{p_frag[2]}"
                f"{p_frag[3] + q[1] + k_qty}{q[0]}{u[1] + k_unit}{u[0]}{t[1] + k_total}{t[0]}]TJ"
            )
            if c_frag[1] is not None or s_frag[1] is not None or p_frag[1] is not None:
                pending = [
                    (col, frag[1])
                    for col, frag in ((2, c_frag), (3, s_frag), (4, p_frag))
                    if frag[1] is not None
                ]
                self.fallback_cells(pending, y)
                buf = self.buf
            y += ROW_H
            count += 1
            if count == next_report:
                next_report += every
                if progress is not None:
                    progress(count)
        self.y = y
        self.flush()
        if current is not None:
            grand += subtotal
            if summary:
                self.subtotal(f"Subtotal order #{current}:", subtotal)
        if progress is not None and (count == 0 or count % every):
            progress(count)
        return count, orders, grand

    # -- closing lines -----------------------------------------------------------
    def totals(self, count: int, orders: int, grand: Decimal) -> None:
        self.flush()
        pdf, meta = self.pdf, self.meta
        lines: list[tuple[str, str]] = []  # (style, text)
        if count == 0:
            lines.append(("", EMPTY_MESSAGE))
        elif meta.kind == "summary":
            lines.append(("B", f"Grand total: {_money(grand)} {meta.currency}"))
            lines.append(("", f"Orders: {orders:,}"))
            lines.append(("", f"Line items: {count:,}"))
        else:
            lines.append(("B", f"Order total: {_money(grand)} {meta.currency}"))
        if self.y + 3 + 6 * len(lines) > BOTTOM:
            if count:
                self.next_page()
            else:
                pdf.add_page()
                self.y = MARGIN
        y = self.y + 3
        for style, text in lines:
            pdf.set_font(FAMILY, style, 10)
            pdf.set_xy(MARGIN, y)
            # cell() pads by c_margin (= PAD), so "R" lines up with the amount column.
            self.public_cell(TABLE_W, 6, text, align="R" if count else "L")
            y += 6
        self.y = y

    def output(self, path) -> None:
        self.flush()
        self.pdf.output(str(path))


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
    """
    writer = _Writer(meta, fonts_dir or DEFAULT_FONTS_DIR)
    writer.first_page()
    it = iter(rows)
    first = next(it, None)
    if first is None:
        count, orders, grand = 0, 0, Decimal(0)
        if progress is not None:
            progress(0)
    else:
        writer.table_header()
        count, orders, grand = writer.rows(itertools.chain((first,), it), progress)
    writer.totals(count, orders, grand)
    writer.output(path)
    return count
