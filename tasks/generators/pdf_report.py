"""PDF generator (fpdf2): a paginated line-item table with totals.

Layout: A4 landscape; title, scope lines and generation time on page 1; a table
whose header row is repeated on every page; ``Page X of Y`` in the footer.
For ``meta.kind == "summary"`` a subtotal line follows each order and a grand
total closes the report; for ``meta.kind == "order"`` an order total closes it.

Speed
-----
fpdf2's ``table()`` (and even ``cell()``, ~30-50 us per call) is far too slow
for 100k rows, so data rows are written straight into the page content stream:
one ``BT ... ET`` text object per row, wrapped in ``q ... Q`` so that fpdf2's
own idea of the current font/colour is never disturbed.  Text is encoded with
the font's own ``encode_text()`` one character at a time (which also registers
the glyph in fpdf2's subset, so subsetting and the ToUnicode map stay correct)
and then reused through ``str.translate``.  Widths come from the same per-glyph
widths fpdf2 uses (no kerning, no text shaping).  Rendered cells are cached by
value, since customer/product names, dates, quantities and prices repeat.

Text that DejaVu Sans cannot draw (CJK, ...) takes the slow, public path:
``cell()`` with fpdf2's fallback-font machinery (Droid Sans Fallback), which
is only loaded when such text first appears.

The only private fpdf2 API relied upon is ``FPDF._out`` (append to the current
page's content stream); fpdf2 is pinned in requirements.txt and the unit tests
read the produced text back.
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

# Geometry, in mm (A4 landscape: 297 x 210).
MARGIN = 10.0
PAD = 1.0  # horizontal padding inside a cell (same as fpdf2's default c_margin)
ROW_H = 4.6
HEADER_H = 6.0
FONT_PT = 8.0
FOOTER_Y = -10.0  # footer line, from the bottom edge
BOTTOM = 210.0 - 14.0  # rows must end above this y
ELLIPSIS = "\u2026"
# Total-page alias: fpdf2 reserves room for len(alias) digits; "{nb}" only for 3.
NB_ALIAS = "{pages}"

# (label, width mm, right-aligned)
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
TABLE_W = sum(c[1] for c in COLUMNS)  # 277 = 297 - 2 * MARGIN

_CACHE_LIMIT = 50_000  # entries per value cache before it is reset


def _money(value: Decimal) -> str:
    return f"{value:,.2f}"


def _utc(value: dt.datetime) -> dt.datetime:
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
    """Encodes text for one TTF font/size without going through ``cell()``."""

    def __init__(self, pdf: FPDF, family: str, style: str, size_pt: float) -> None:
        pdf.set_font(family, style, size_pt)
        self.font = pdf.current_font
        self.size_pt = size_pt
        self.tf = f"/F{self.font.i} {size_pt:.2f} Tf"
        self.cmap = self.font.cmap
        self._enc: dict[int, str] = {}
        self._w: dict[str, float] = {}

    def covers(self, text: str) -> bool:
        cmap = self.cmap
        return all(ord(c) in cmap for c in text)

    def _learn(self, text: str) -> None:
        w = self._w
        for c in set(text):
            if c not in w:
                # "(<escaped glyph ids>) Tj": keep what is between the parentheses.
                self._enc[ord(c)] = self.font.encode_text(c)[1:-4]
                w[c] = self.font.get_text_width(c, self.size_pt, None)[1]

    def encode(self, text: str) -> str:
        """The PDF string literal (with parentheses) for ``text``."""
        self._learn(text)
        return "(" + text.translate(self._enc) + ")"

    def width(self, text: str) -> float:
        """Width of ``text`` in points."""
        self._learn(text)
        w = self._w
        return sum(map(w.__getitem__, text))


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
        self.bold = _RawFont(pdf, FAMILY, "B", FONT_PT)
        self.reg = _RawFont(pdf, FAMILY, "", FONT_PT)  # leaves the regular font current
        self.k = pdf.k
        self.page_h_pt = pdf.h * pdf.k

        # Column geometry in points: left text x, right text edge.
        self.col_x_mm = []
        x = MARGIN
        for _label, width, _right in COLUMNS:
            self.col_x_mm.append(x)
            x += width
        k = self.k
        self.text_x = [(x + PAD) * k for x in self.col_x_mm]
        self.right_x = [(x + w - PAD) * k for x, (_, w, _r) in zip(self.col_x_mm, COLUMNS)]
        self.max_w = [(w - 2 * PAD) * k for _l, w, _r in COLUMNS]
        self.baseline = (ROW_H / 2 + 0.3 * FONT_PT / k) * k  # from row top, in points
        self.y = 0.0  # top of the next row, mm
        self.stripe = False

        # Per-column caches of rendered cell fragments.
        self.text_cache: list[dict[str, tuple[str, str | None]]] = [{} for _ in COLUMNS]
        # Numeric cells, keyed by value (quantities and money apart: 3 == Decimal("3")).
        self.qty_cache: dict[object, tuple[str, float]] = {}
        self.money_cache: dict[object, tuple[str, float]] = {}
        self.fit_cache: dict[tuple[str, int], str] = {}

    # -- fonts ---------------------------------------------------------------
    def _ensure_fallback(self, text: str) -> None:
        """Load the CJK fallback font the first time text needs it."""
        if self.fallback_loaded or self.reg.covers(text):
            return
        pdf = self.pdf
        family, style, size = pdf.font_family, pdf.font_style, pdf.font_size_pt
        pdf.add_font(FALLBACK_FAMILY, "", str(self.fonts_dir / FONT_FILES[FALLBACK_FAMILY, ""]))
        pdf.set_fallback_fonts([FALLBACK_FAMILY], exact_match=False)
        pdf.set_font(family, style, size)
        self.fallback_loaded = True

    def _public_cell(self, w: float, h: float, text: str, **kwargs) -> None:
        self._ensure_fallback(text)
        self.pdf.cell(w, h, text, **kwargs)

    # -- page furniture --------------------------------------------------------
    def first_page(self) -> None:
        pdf, meta = self.pdf, self.meta
        pdf.add_page()
        pdf.set_xy(MARGIN, MARGIN)
        pdf.set_font(FAMILY, "B", 15)
        self._public_cell(0, 8, _clean(meta.title), new_x="LMARGIN", new_y="NEXT")
        pdf.set_font(FAMILY, "", 10)
        for line in meta.scope:
            self._public_cell(0, 5, _clean(line), new_x="LMARGIN", new_y="NEXT")
        gen = _utc(meta.generated_at).strftime("%Y-%m-%d %H:%M")
        pdf.set_font(FAMILY, "", 9)
        pdf.set_text_color(90)
        pdf.cell(0, 5, f"Generated {gen} UTC", new_x="LMARGIN", new_y="NEXT")
        pdf.set_text_color(0)
        self.y = pdf.get_y() + 3

    def next_page(self) -> None:
        pdf = self.pdf
        pdf.add_page()
        pdf.set_font(FAMILY, "", 7)
        pdf.set_text_color(90)
        title = _clean(self.meta.title)
        if self.reg.covers(title):
            pdf.text(MARGIN, MARGIN + 2, f"{title} (continued)")
        else:
            pdf.set_xy(MARGIN, MARGIN - 1)
            self._public_cell(0, 4, f"{title} (continued)")
        pdf.set_text_color(0)
        self.y = MARGIN + 5
        self.table_header()

    def table_header(self) -> None:
        pdf = self.pdf
        currency = self.meta.currency
        pdf.set_fill_color(225)
        pdf.rect(MARGIN, self.y, TABLE_W, HEADER_H, style="F")
        pdf.set_font(FAMILY, "B", FONT_PT)  # pdf.text() registers the bold font on the page
        base = self.y + HEADER_H / 2 + 0.3 * FONT_PT / self.k
        for i, (label, _w, right) in enumerate(COLUMNS):
            if i >= 6:
                label = f"{label} ({currency})"
            if right:
                x = self.right_x[i] / self.k - pdf.get_string_width(label)
            else:
                x = self.text_x[i] / self.k
            pdf.text(x, base, label)
        pdf.set_font(FAMILY, "", FONT_PT)  # data rows: regular font is current
        self.y += HEADER_H
        self.stripe = False

    def room_for(self, height: float) -> None:
        if self.y + height > BOTTOM:
            self.next_page()

    # -- cells -----------------------------------------------------------------
    def _fit(self, text: str, col: int) -> str:
        """``text`` cut with an ellipsis so that it fits column ``col``."""
        key = (text, col)
        fitted = self.fit_cache.get(key)
        if fitted is not None:
            return fitted
        max_w = self.max_w[col] / self.k
        self._ensure_fallback(text)
        gsw = self.pdf.get_string_width
        if gsw(text) <= max_w:
            fitted = text
        else:
            lo, hi = 0, len(text)  # longest prefix that fits, with the ellipsis
            while lo < hi:
                mid = (lo + hi + 1) // 2
                if gsw(text[:mid].rstrip() + ELLIPSIS) <= max_w:
                    lo = mid
                else:
                    hi = mid - 1
            fitted = text[:lo].rstrip() + ELLIPSIS
        if len(self.fit_cache) > _CACHE_LIMIT:
            self.fit_cache.clear()
        self.fit_cache[key] = fitted
        return fitted

    def text_fragment(self, text, col: int) -> tuple[str, str | None]:
        """(content-stream fragment, text needing the fallback path or None)."""
        cache = self.text_cache[col]
        hit = cache.get(text)
        if hit is not None:
            return hit
        shown = self._fit(_clean(text), col)
        dx = self.text_x[col] - self.text_x[col - 1] if col else 0.0
        if self.reg.covers(shown):
            frag = (f"{dx:.2f} 0 Td {self.reg.encode(shown)} Tj ", None)
        else:
            frag = (f"{dx:.2f} 0 Td ", shown)
        if len(cache) > _CACHE_LIMIT:
            cache.clear()
        cache[text] = frag
        return frag

    def number(self, cache: dict, value, text: str) -> tuple[str, float]:
        """(encoded string literal, width in points) for a numeric cell, via ``cache``."""
        if len(cache) > _CACHE_LIMIT:
            cache.clear()
        hit = cache[value] = (self.reg.encode(text), self.reg.width(text))
        return hit

    def fallback_cells(self, pending: list[tuple[int, str]], top: float) -> None:
        pdf = self.pdf
        for col, text in pending:
            pdf.set_xy(self.col_x_mm[col], top)
            self._public_cell(COLUMNS[col][1], ROW_H, text)

    # -- rows ------------------------------------------------------------------
    def stripe_rect(self, top: float) -> str:
        k = self.k
        return (
            f"q 0.94 g {MARGIN * k:.2f} {self.page_h_pt - (top + ROW_H) * k:.2f} "
            f"{TABLE_W * k:.2f} {ROW_H * k:.2f} re f Q"
        )

    def subtotal(self, label: str, amount: Decimal, rule: bool = True) -> None:
        """A bold line: label right-aligned up to the unit price column, amount in the last."""
        self.room_for(ROW_H)
        k, bold = self.k, self.bold
        top = self.y
        ys = f"{self.page_h_pt - top * k - self.baseline:.2f}"
        amount_s = _money(amount)
        label = _clean(label)
        parts = []
        if rule:
            yl = self.page_h_pt - (top + ROW_H) * k
            parts.append(
                f"q 0.6 G 0.4 w {MARGIN * k:.2f} {yl:.2f} m "
                f"{(MARGIN + TABLE_W) * k:.2f} {yl:.2f} l S Q "
            )
        if bold.covers(label):
            lx = self.right_x[6] - bold.width(label)
            parts.append(f"q 0 g BT {bold.tf} 1 0 0 1 {lx:.2f} {ys} Tm {bold.encode(label)} Tj ET Q ")
            label_done = True
        else:
            label_done = False
        ax = self.right_x[7] - bold.width(amount_s)
        parts.append(f"q 0 g BT {bold.tf} 1 0 0 1 {ax:.2f} {ys} Tm {bold.encode(amount_s)} Tj ET Q")
        self.pdf._out("".join(parts))
        if not label_done:  # e.g. a CJK word in a label: let fpdf2 handle it
            pdf = self.pdf
            pdf.set_font(FAMILY, "B", FONT_PT)
            pdf.set_xy(MARGIN, top)
            self._public_cell(sum(c[1] for c in COLUMNS[:7]), ROW_H, label, align="R")
            pdf.set_font(FAMILY, "", FONT_PT)
        self.y = top + ROW_H
        self.stripe = False

    def rows(self, rows: Rows, progress: Progress) -> tuple[int, int, Decimal]:
        """Lay out every row; return (line items, orders, grand total)."""
        summary = self.meta.kind == "summary"
        out = self.pdf._out
        k = self.k
        page_h_pt = self.page_h_pt
        baseline = self.baseline
        tf = self.reg.tf
        x0 = f"{self.text_x[0]:.2f}"
        r_qty, r_unit, r_total = self.right_x[5], self.right_x[6], self.right_x[7]
        x_product = self.text_x[4]
        text_fragment = self.text_fragment
        number = self.number
        qty_get, qty_cache = self.qty_cache.get, self.qty_cache
        money_get, money_cache = self.money_cache.get, self.money_cache
        reg_encode = self.reg.encode
        date_cache: dict[dt.datetime, tuple[str, str | None]] = {}
        every = PROGRESS_EVERY
        next_report = every

        count = 0
        orders = 0
        grand = Decimal(0)
        current = None
        subtotal = Decimal(0)
        order_frag = ""
        y = self.y
        stripe = self.stripe
        for order_id, order_date, customer, status, product, qty, price, total in rows:
            if order_id != current:
                if current is not None and summary:
                    self.y = y
                    self.subtotal(f"Subtotal order #{current}:", subtotal)
                    y, stripe = self.y, self.stripe
                grand += subtotal
                subtotal = Decimal(0)
                current = order_id
                orders += 1
                order_frag = f"{reg_encode(str(order_id))} Tj "
            if y + ROW_H > BOTTOM:
                self.next_page()
                y, stripe = self.y, self.stripe
            subtotal += total

            date_frag = date_cache.get(order_date)
            if date_frag is None:
                if len(date_cache) > 4096:
                    date_cache.clear()
                date_frag = date_cache[order_date] = text_fragment(
                    _utc(order_date).strftime("%Y-%m-%d"), 1
                )
            c_frag = text_fragment(customer, 2)
            s_frag = text_fragment(status, 3)
            p_frag = text_fragment(product, 4)
            q_enc, q_w = qty_get(qty) or number(qty_cache, qty, str(qty))
            u_enc, u_w = money_get(price) or number(money_cache, price, f"{price:,.2f}")
            t_enc, t_w = money_get(total) or number(money_cache, total, f"{total:,.2f}")
            xq = r_qty - q_w
            xu = r_unit - u_w
            xt = r_total - t_w
            ys = page_h_pt - y * k - baseline
            line = (
                f"q 0 g BT {tf} 1 0 0 1 {x0} {ys:.2f} Tm {order_frag}"
                f"{date_frag[0]}{c_frag[0]}{s_frag[0]}{p_frag[0]}"
                f"{xq - x_product:.2f} 0 Td {q_enc} Tj {xu - xq:.2f} 0 Td {u_enc} Tj "
                f"{xt - xu:.2f} 0 Td {t_enc} Tj ET Q"
            )
            if stripe:
                out(self.stripe_rect(y) + " " + line)
            else:
                out(line)
            if c_frag[1] is not None or p_frag[1] is not None or s_frag[1] is not None:
                pending = [
                    (col, frag[1])
                    for col, frag in ((2, c_frag), (3, s_frag), (4, p_frag))
                    if frag[1] is not None
                ]
                self.fallback_cells(pending, y)
            stripe = not stripe
            y += ROW_H
            count += 1
            if count == next_report:
                next_report += every
                if progress is not None:
                    progress(count)
        self.y, self.stripe = y, stripe
        if current is not None:
            grand += subtotal
            if summary:
                self.subtotal(f"Subtotal order #{current}:", subtotal)
        if progress is not None and (count == 0 or count % every):
            progress(count)
        return count, orders, grand

    # -- closing lines -----------------------------------------------------------
    def totals(self, count: int, orders: int, grand: Decimal) -> None:
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
        height = 3 + 6 * len(lines)
        if self.y + height > BOTTOM:
            if count:
                self.next_page()
            else:
                pdf.add_page()
                self.y = MARGIN
        y = self.y + 3
        for style, text in lines:
            pdf.set_font(FAMILY, style, 10)
            pdf.set_xy(MARGIN, y)
            self._public_cell(TABLE_W - PAD if count else TABLE_W, 6, text,
                              align="R" if count else "L")
            y += 6
        self.y = y

    def output(self, path) -> None:
        self.pdf.output(str(path))


def write_pdf(
    rows: Rows,
    meta: ReportMeta,
    path,
    progress: Progress = None,
    *,
    fonts_dir: Path | None = None,
) -> int:
    """Write ``rows`` to ``path`` as a PDF report and return the number of rows."""
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
