"""The single-order business document (order confirmation, pro-forma invoice,
delivery note) on the raw stream engine, A4 portrait.

Page 1: the seller top left with the logo top right, the title, the buyer
("Bill to") beside the document's number, order date, status, reference and
generation time.  Then the line table (#, Product, Qty, Unit price, Discount,
Tax %, Net), its header repeated on every page, the shipping line, the tax
breakdown per rate, the totals, the "prices include tax" note and the notes.
Every page's footer has the title and number at the left and ``Page X of Y``.

Lines are streamed: an order may have 10,000 of them.  The row path is the one
of table.py (consecutive rows share a text object, one ``TJ`` per row whose
kerning numbers move the pen from column to column, rendered cells cached by
value), and the tax breakdown and totals are sums of the lines' stored amounts
made on the way (:class:`~tasks.generators.document.DocumentTotals`), so a
document is one pass over its lines.  The few dozen strings around the table
are drawn one text object each: clarity over speed.
"""
from __future__ import annotations

import itertools
import tempfile
from collections.abc import Iterable
from decimal import Decimal
from pathlib import Path

from .. import PROGRESS_EVERY, Progress
from ..document import DocumentLine, DocumentTotals, OrderDocument, Party
from .engine import (
    GREY_FILL,
    GREY_TEXT,
    HEADER_H,
    MARGIN,
    PAD,
    PORTRAIT,
    ROW_H,
    ROW_PT,
    Canvas,
    Spill,
    baseline,
    clean,
    local,
    money,
    row_baseline_pt,
)
from .fonts import DEFAULT_FONTS_DIR, FONT_PT, PT_PER_MM, RawFont

__all__ = ["NO_LINES_MESSAGE", "write_order_document"]

NO_LINES_MESSAGE = "This order has no lines."
UNITS = 1000 / FONT_PT  # text-space thousandths per point, for TJ adjustments
LOGO_W, LOGO_H = 40.0, 20.0  # mm, the box the logo is fitted in (aspect kept)
GAP = 4.0  # mm between the sections after the table
TEXT_PT = 9.0  # party blocks, details, totals and notes
LINE_H = 4.5  # mm, a line of TEXT_PT text

# (label, width mm, right-aligned); widths add up to 210 - 2 * MARGIN.
COLUMNS = (
    ("#", 11.0, True),
    ("Product", 71.0, False),
    ("Qty", 14.0, True),
    ("Unit price", 30.0, True),
    ("Discount", 18.0, True),
    ("Tax %", 14.0, True),
    ("Net", 32.0, True),
)
MONEY_COLUMNS = (3, 6)  # labels that say the currency
TABLE_W = sum(c[1] for c in COLUMNS)
assert PORTRAIT.paper_w - 2 * MARGIN == TABLE_W, "the columns must fill the page's content width"
_LEFT_MM = tuple(itertools.accumulate((c[1] for c in COLUMNS[:-1]), initial=MARGIN))
# In TJ units (thousandths of the font size): left and right text edges.
_X = tuple(round((x + PAD) * PT_PER_MM * UNITS) for x in _LEFT_MM)
_R = tuple(
    round((x + c[1] - PAD) * PT_PER_MM * UNITS) for x, c in zip(_LEFT_MM, COLUMNS, strict=True)
)
# Tax breakdown: (label, width mm), right-aligned at the table's right edge.
TAX_COLUMNS = (("Rate", 20.0), ("Net", 34.0), ("Tax", 34.0), ("Gross", 34.0))

NUMBER_CHARS = "0123456789.,-%"  # what number cells are made of
_CACHE_LIMIT = 20_000  # entries per value cache before it is reset
_Lit = tuple[str, int]  # (text for inside a TJ array, width in font units)


def percent(rate: Decimal) -> str:
    """``19%``, ``7.5%``: a rate without trailing zeros (and never in exponent form)."""
    return f"{rate.normalize():f}%"


def write_order_document(
    doc: OrderDocument,
    lines: Iterable[DocumentLine],
    path,
    progress: Progress = None,
    *,
    fonts_dir: Path | None = None,
) -> int:
    """Write ``doc`` with its ``lines`` to ``path`` as a PDF; return the number of
    lines written (the shipping line not counted).

    ``progress(done)`` is called every ``PROGRESS_EVERY`` lines and once at the
    end; it may raise to abort.  Finished pages are spilled to an anonymous
    temporary file in ``path``'s directory, as for the reports.
    """
    with tempfile.TemporaryFile(dir=Path(path).resolve().parent) as spill_file:
        canvas = Canvas(f"{clean(doc.title)} {clean(doc.number)}",
                        fonts_dir or DEFAULT_FONTS_DIR, Spill(spill_file), portrait=True)
        pages = DocumentPages(canvas, doc)
        pages.head()
        totals = DocumentTotals()
        count = pages.lines(lines, totals, progress)
        pages.closing(totals)
        canvas.output(path)
    return count


class DocumentPages:
    """Lays out one :class:`OrderDocument` on a portrait ``canvas``."""

    def __init__(self, canvas: Canvas, doc: OrderDocument) -> None:
        self.canvas = canvas
        self.doc = doc
        self.currency = clean(doc.currency)
        self.right = MARGIN + canvas.content_w  # mm, the content's right edge
        canvas.set_footer_note(canvas.title)
        self.page_top = ""  # continued title + table header, the same on every later page
        reg = canvas.reg
        reg.learn(NUMBER_CHARS)  # before any row: cells are encoded without learning
        self.enc, self.wid = reg.enc, reg.w.__getitem__
        # rendered cells by value: names, quantities, prices and rates repeat
        self.product_cache: dict[str, _Lit] = {}
        self.qty_cache: dict[int, _Lit] = {}
        self.money_cache: dict[Decimal, _Lit] = {}
        self.rate_cache: dict[Decimal, _Lit] = {}

    # -- page 1's head ------------------------------------------------------------------
    def head(self) -> None:
        canvas, doc = self.canvas, self.doc
        top = MARGIN
        logo_h = 0.0
        if doc.logo:
            _w, logo_h = canvas.image(doc.logo, self.right - LOGO_W, top, LOGO_W, LOGO_H,
                                      align="R")
        seller_w = canvas.content_w - (LOGO_W + 6.0 if doc.logo else 0.0)
        y = self.party(MARGIN, top, seller_w, doc.seller, 13.0)
        y = max(y, top + logo_h) + 7.0

        title_pt = 16.0
        title = canvas.ellipsize(clean(doc.title), canvas.content_w - 2 * PAD, canvas.bold,
                                 title_pt)
        canvas.text(MARGIN + PAD, baseline(y, 9.0, title_pt), title, canvas.bold, title_pt)
        y += 12.0

        col_w = (canvas.content_w - 8.0) / 2
        canvas.text(MARGIN + PAD, baseline(y, 4.0, FONT_PT), "Bill to", canvas.bold, FONT_PT,
                    colour=GREY_TEXT)
        buyer_end = self.party(MARGIN, y + 4.0, col_w, doc.buyer, 10.0)

        x = MARGIN + col_w + 8.0
        label_w = 26.0
        details = [("Number", doc.number, canvas.bold),
                   ("Order date", doc.order_date.isoformat(), canvas.reg),
                   ("Status", doc.status, canvas.reg)]
        if doc.external_ref:
            details.append(("Reference", doc.external_ref, canvas.reg))
        dy = y + 4.0
        value_w = col_w - label_w - 2 * PAD
        for label, value, font in details:
            base = baseline(dy, LINE_H + 0.5, TEXT_PT)
            canvas.text(x + PAD, base, label, size=TEXT_PT, colour=GREY_TEXT)
            canvas.text(x + label_w, base, canvas.ellipsize(clean(value), value_w, font, TEXT_PT),
                        font, TEXT_PT)
            dy += LINE_H + 0.5
        zone = clean(doc.timezone)
        generated = local(doc.generated_at, doc.zone).strftime("%Y-%m-%d %H:%M")
        canvas.text(x + PAD, baseline(dy + 1.0, 4.0, FONT_PT), f"Generated {generated} {zone}",
                    size=FONT_PT, colour=GREY_TEXT)
        dy += 5.0
        canvas.y = max(buyer_end, dy) + 6.0

    def party(self, x: float, top: float, width: float, party: Party, name_pt: float) -> float:
        """A party's name, address lines, tax id and e-mail; return the top of what follows."""
        canvas = self.canvas
        inner = width - 2 * PAD
        name_h = name_pt * 0.5
        rows: list[tuple[str, RawFont, float, float]] = [(party.name, canvas.bold, name_pt,
                                                          name_h)]
        rows += [(line, canvas.reg, TEXT_PT, LINE_H) for line in party.address if clean(line)]
        if party.tax_id:
            rows.append((f"Tax ID: {party.tax_id}", canvas.reg, TEXT_PT, LINE_H))
        if party.email:
            rows.append((party.email, canvas.reg, TEXT_PT, LINE_H))
        y = top
        for text, font, size, height in rows:
            canvas.text(x + PAD, baseline(y, height, size),
                        canvas.ellipsize(clean(text), inner, font, size), font, size)
            y += height
        return y

    # -- the line table -----------------------------------------------------------------
    def header(self, top: float) -> str:
        """Grey band with the bold column labels, its top at ``top`` mm."""
        canvas = self.canvas
        bold, fonts = canvas.bold, canvas.fonts
        k = PT_PER_MM
        out = [f"q {GREY_FILL} {MARGIN * k:.2f} {canvas.page_h_pt - top * k:.2f} "
               f"{TABLE_W * k:.2f} {-HEADER_H * k:.2f} re f Q\n"]
        y_pt = canvas.page_h_pt - baseline(top, HEADER_H, FONT_PT) * k
        out.append(f"q 0 g BT 1 0 0 1 {_X[0] / UNITS:.2f} {y_pt:.2f} Tm")
        prev_x = _X[0]
        for i, (label, width, right) in enumerate(COLUMNS):
            if i in MONEY_COLUMNS:
                label = f"{label} ({self.currency})"
            label = canvas.ellipsize(label, width - 2 * PAD, bold)
            ops, w = fonts.show(label, bold, FONT_PT)
            x = (_R[i] - w) if right else _X[i]
            out.append(f" {(x - prev_x) / UNITS:.2f} 0 Td {ops}")
            prev_x = x
        out.append(" ET Q\n")
        return "".join(out)

    def begin_table(self) -> None:
        canvas = self.canvas
        canvas.parts.append(self.header(canvas.y))
        canvas.y += HEADER_H

    def next_page(self, table: bool = True) -> None:
        """A new page: its continued title, and the table header when the table goes on."""
        canvas = self.canvas
        canvas.end_page()
        if not table:
            canvas.parts.append(canvas.continued_title())
            canvas.y = MARGIN + 5
            return
        if not self.page_top:
            self.page_top = canvas.continued_title() + self.header(MARGIN + 5)
        canvas.parts.append(self.page_top)
        canvas.y = MARGIN + 5 + HEADER_H

    def open_text(self, top: float) -> None:
        """Start a text object whose line start is one row above the row at ``top``."""
        canvas = self.canvas
        ys = canvas.page_h_pt - top * PT_PER_MM - row_baseline_pt() + ROW_PT
        canvas.buf.append(f"q 0 g BT {canvas.reg.tf} 1 0 0 1 {_X[0] / UNITS:.2f} {ys:.2f} Tm")

    def product(self, name: str) -> _Lit:
        """A product cell (cut to its column, fallback runs switched), cached by name."""
        canvas = self.canvas
        fitted = canvas.ellipsize(clean(name), COLUMNS[1][1] - 2 * PAD, canvas.reg)
        if len(self.product_cache) > _CACHE_LIMIT:
            self.product_cache.clear()
        hit = self.product_cache[name] = canvas.fonts.tj_text(fitted)
        return hit

    def cell(self, cache: dict, key: object, text: str) -> _Lit:
        """A right-aligned number cell, rendered once per value into ``cache``: digits,
        separators, signs and ``%`` only, learned up front, so no learning here."""
        if len(cache) > _CACHE_LIMIT:
            cache.clear()
        hit = cache[key] = (f"({text.translate(self.enc)})", sum(map(self.wid, text)))
        return hit

    def row(self, number: str, line: DocumentLine) -> str:
        """One line's ``TJ``: a number n in it moves the pen left by n/1000 of the font
        size, so the move to a right-aligned cell is (its width - the gap to its right edge)."""
        product, qty, price, disc_rate, disc, rate, net = line[:7]
        idx = f"({number.translate(self.enc)})" if number else ""
        idx_w = sum(map(self.wid, number))
        p = self.product_cache.get(product) or self.product(product)
        q = self.qty_cache.get(qty) or self.cell(self.qty_cache, qty, f"{qty:,}")
        u = self.money_cache.get(price) or self.cell(self.money_cache, price, money(price))
        if disc_rate:
            d = (self.rate_cache.get(disc_rate)
                 or self.cell(self.rate_cache, disc_rate, percent(disc_rate)))
        elif disc:  # a fixed amount off, without a rate
            d = self.cell({}, disc, money(-disc))
        else:
            d = ("", 0)
        t = self.rate_cache.get(rate) or self.cell(self.rate_cache, rate, percent(rate))
        n = self.money_cache.get(net) or self.cell(self.money_cache, net, money(net))
        return (
            f" 0 {-ROW_PT:.2f} Td [{idx_w + _X[0] - _R[0]} {idx}{_R[0] - _X[1]} {p[0]}"
            f"{p[1] + _X[1] - _R[2] + q[1]} {q[0]}{u[1] + _R[2] - _R[3]} {u[0]}"
            f"{d[1] + _R[3] - _R[4]} {d[0]}{t[1] + _R[4] - _R[5]} {t[0]}"
            f"{n[1] + _R[5] - _R[6]} {n[0]}]TJ"
        )

    def lines(self, lines: Iterable[DocumentLine], totals: DocumentTotals,
              progress: Progress) -> int:
        """The table: header, every line, the shipping line; return the lines written."""
        canvas = self.canvas
        self.begin_table()
        bottom = canvas.bottom
        add, row = totals.add, self.row
        every = PROGRESS_EVERY
        next_report = every
        count = 0
        y, buf = canvas.y, canvas.buf
        for line in lines:
            if y + ROW_H > bottom:
                canvas.y = y
                self.next_page()
                y, buf = canvas.y, canvas.buf
            if not buf:
                self.open_text(y)
            count += 1
            buf.append(row(str(count), line))
            add(line)
            y += ROW_H
            if count == next_report:
                next_report += every
                if progress is not None:
                    progress(count)
        canvas.y = y
        canvas.flush()
        if progress is not None and (count == 0 or count % every):
            progress(count)
        if not count:
            self.message_row(NO_LINES_MESSAGE)
        shipping = self.doc.shipping
        if shipping is not None:
            if canvas.y + ROW_H > bottom:
                self.next_page()
            self.open_text(canvas.y)
            canvas.buf.append(row("", shipping))
            canvas.flush()
            # a rule between the order's lines and the shipping line
            canvas.paint([canvas.line(MARGIN, canvas.y, MARGIN + TABLE_W, canvas.y)], "0.6 G",
                         0.4)
            canvas.y += ROW_H
            totals.add(shipping)
        return count

    def message_row(self, text: str) -> None:
        canvas = self.canvas
        canvas.text(MARGIN + PAD, canvas.y + row_baseline_pt() / PT_PER_MM, text,
                    colour=GREY_TEXT)
        canvas.y += ROW_H

    # -- after the table ------------------------------------------------------------------
    def need(self, height: float) -> None:
        if self.canvas.y + height > self.canvas.bottom:
            self.next_page(table=False)

    def closing(self, totals: DocumentTotals) -> None:
        self.canvas.y += GAP
        self.tax_breakdown(totals)
        self.totals(totals)
        if self.doc.notes and self.doc.notes.strip():
            self.notes(self.doc.notes)

    def tax_breakdown(self, totals: DocumentTotals) -> None:
        """Net, tax and gross per tax rate, right-aligned under the table."""
        canvas = self.canvas
        rows = totals.by_rate()
        if not rows:
            return
        width = sum(w for _label, w in TAX_COLUMNS)
        x0 = self.right - width
        self.need(5.0 + HEADER_H + ROW_H * len(rows) + GAP)
        canvas.text(x0 + PAD, baseline(canvas.y, 5.0, TEXT_PT), "Tax breakdown", canvas.bold,
                    TEXT_PT)
        top = canvas.y + 5.0
        canvas.paint([canvas.rect(x0, top, width, HEADER_H)], GREY_FILL)
        labels = [label if i == 0 else f"{label} ({self.currency})"
                  for i, (label, _w) in enumerate(TAX_COLUMNS)]
        self.grid_line(x0, baseline(top, HEADER_H, FONT_PT), labels, canvas.bold)
        y = top + HEADER_H
        for r in rows:
            self.grid_line(x0, y + row_baseline_pt() / PT_PER_MM,
                           [percent(r.rate), money(r.net), money(r.tax), money(r.gross)],
                           canvas.reg)
            y += ROW_H
        canvas.y = y + GAP

    def grid_line(self, x: float, base: float, cells: list[str], font: RawFont) -> None:
        """One line of the tax breakdown: the rate left, the amounts right-aligned."""
        canvas = self.canvas
        for i, ((_label, width), cell) in enumerate(zip(TAX_COLUMNS, cells, strict=True)):
            if i == 0:
                canvas.text(x + PAD, base, cell, font)
            else:
                canvas.text(x + width - PAD, base, cell, font, align="R")
            x += width

    def totals(self, totals: DocumentTotals) -> None:
        """Discounts (when any), net, tax and the gross total, with the currency."""
        canvas = self.canvas
        currency = self.currency
        lines: list[tuple[str, Decimal, RawFont, float]] = []
        if totals.discount:
            lines.append(("Discounts", -totals.discount, canvas.reg, TEXT_PT))
        lines += [("Net", totals.net, canvas.reg, TEXT_PT),
                  ("Tax", totals.tax, canvas.reg, TEXT_PT),
                  ("Gross total", totals.gross, canvas.bold, 10.0)]
        note = self.doc.prices_include_tax
        height = LINE_H * (len(lines) - 1) + 6.0 + (LINE_H + 1.0 if note else 0.0)
        self.need(height + GAP)
        y = canvas.y
        amount_x = self.right - PAD
        label_x = self.right - 50.0
        for label, value, font, size in lines:
            h = LINE_H if size == TEXT_PT else 6.0
            if font is canvas.bold:  # the gross total: a rule above it
                canvas.paint([canvas.line(label_x - 30.0, y + 0.5, self.right, y + 0.5)],
                             "0 G", 0.4)
                y += 1.0
            base = baseline(y, h, size)
            canvas.text(label_x, base, label, font, size, align="R")
            canvas.text(amount_x, base, f"{money(value)} {currency}", font, size, align="R")
            y += h
        if note:
            y += 1.0
            canvas.text(amount_x, baseline(y, LINE_H, FONT_PT), "Prices include tax.",
                        size=FONT_PT, align="R", colour=GREY_TEXT)
            y += LINE_H
        canvas.y = y + GAP

    def notes(self, text: str) -> None:
        """The notes, wrapped to the page's width, over pages if need be."""
        canvas = self.canvas
        self.need(5.0 + LINE_H)
        canvas.text(MARGIN + PAD, baseline(canvas.y, 5.0, TEXT_PT), "Notes", canvas.bold,
                    TEXT_PT)
        canvas.y += 5.0
        for line in self.wrap(text, canvas.content_w - 2 * PAD, canvas.reg, TEXT_PT):
            self.need(LINE_H)
            if line:
                canvas.text(MARGIN + PAD, baseline(canvas.y, LINE_H, TEXT_PT), line,
                            size=TEXT_PT)
            canvas.y += LINE_H

    def wrap(self, text: str, width: float, font: RawFont, size: float) -> list[str]:
        """``text`` as lines at most ``width`` mm wide: broken between words, a word
        wider than a line cut where it must (text without spaces, e.g. CJK, too);
        the text's own line breaks are kept."""
        measure = self.canvas.width_mm
        space = measure(" ", font, size)
        out: list[str] = []
        for paragraph in text.splitlines():
            line, line_w = "", 0.0
            for word in clean(paragraph).split(" "):
                if not word:
                    continue
                word_w = measure(word, font, size)
                if line and line_w + space + word_w <= width:
                    line, line_w = f"{line} {word}", line_w + space + word_w
                    continue
                if line:
                    out.append(line)
                while word_w > width:
                    cut = self.fitting(word, width, font, size)
                    out.append(word[:cut])
                    word = word[cut:]
                    word_w = measure(word, font, size)
                line, line_w = word, word_w
            out.append(line)
        while out and not out[-1]:
            out.pop()
        return out

    def fitting(self, word: str, width: float, font: RawFont, size: float) -> int:
        """The length of the longest prefix of ``word`` at most ``width`` mm wide (>= 1)."""
        lo, hi = 1, len(word)
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if self.canvas.width_mm(word[:mid], font, size) <= width:
                lo = mid
            else:
                hi = mid - 1
        return lo
