"""The line-item table: a header band repeated on every page, one row per report
row (an order's items, then its shipping row), and for several orders a
subtotal (net, tax, gross) after each order and the grand totals; for
``meta.kind == "order"`` the order's totals close it.  Amounts are in
``meta.currency``, said once above the table and in the totals, not in every
column label (the twelve columns need the room).

The row path is the hot one (100k+ rows): consecutive rows share one
``q 0 g BT ... ET Q`` text object and each row is a single ``TJ`` whose numeric
kerning adjustments move the pen to the next column.  All positions are
integers in text-space thousandths, so no float formatting happens per row.
Rendered cells are cached by value: quantities, prices, rates and amounts
repeat; the cells an order's rows share (number, date, customer, status) are
one fragment, rendered once per order.  The table header is raw text as well,
built once and reused.
"""
from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal

from .. import PROGRESS_EVERY, Progress, ReportMeta, Rows
from .engine import (
    BOTTOM,
    CONTENT_W,
    GREY_FILL,
    GREY_TEXT,
    HEADER_H,
    MARGIN,
    PAD,
    PAGE_H_PT,
    ROW_H,
    ROW_PT,
    Canvas,
    baseline,
    clean,
    money,
    row_baseline_pt,
)
from .fonts import FONT_PT, PT_PER_MM, RawFont

EMPTY_MESSAGE = "No line items match this report."
UNITS = 1000 / FONT_PT  # text-space thousandths per point, for TJ adjustments

# (label, width mm, right-aligned); widths add up to 297 - 2 * MARGIN.  The
# numeric columns are as wide as their widest likely cell (a 10-character order
# number, "1,234,567.89" in the regular font, a bold subtotal of that size);
# customer and product share what is left.  A line amount of ten million or more
# runs into the column on its left (a subtotal that wide is set smaller).
COLUMNS = (
    ("Number", 19.0, False),
    ("Date", 19.0, False),
    ("Customer", 42.0, False),
    ("Status", 17.0, False),
    ("Product", 54.0, False),
    ("Qty", 12.0, True),
    ("Unit price", 21.0, True),
    ("Disc. %", 14.0, True),
    ("Net", 23.0, True),
    ("Tax %", 12.0, True),
    ("Tax", 21.0, True),
    ("Gross", 23.0, True),
)
NUMBER, DATE, CUSTOMER, STATUS, PRODUCT, QTY, UNIT, DISC, NET, TAX_RATE, TAX, GROSS = range(12)
TABLE_W = sum(c[1] for c in COLUMNS)
assert TABLE_W == CONTENT_W, "the columns must fill the page's content width"
_LEFT_MM = tuple(itertools.accumulate((c[1] for c in COLUMNS[:-1]), initial=MARGIN))
# In TJ units (thousandths of the font size): left text edges, right text edges.
_X = tuple(round((x + PAD) * PT_PER_MM * UNITS) for x in _LEFT_MM)
_R = tuple(
    round((x + c[1] - PAD) * PT_PER_MM * UNITS) for x, c in zip(_LEFT_MM, COLUMNS, strict=True)
)
_ROOM = tuple(r - x for x, r in zip(_X, _R, strict=True))  # a cell's text width, in TJ units

# A rendered left-aligned cell: (TJ fragment: the text followed by the pen move to
# the next column; the text alone; that pen move alone).  A TJ number n moves the
# pen left by n/1000 of the font size.  The text is a string literal, or for text
# that needs the fallback font, literals with ``]TJ /Fn 8.00 Tf [`` switches
# between them, ending with the regular font selected again.
_Cell = tuple[str, str, int]
_CACHE_LIMIT = 50_000  # entries per value cache before it is reset
# Line totals have a long tail of distinct values: a smaller cache keeps memory flat.
_MONEY_CACHE_LIMIT = 16_384
_NO_TEXT: tuple[str, int] = ("()", 0)  # an empty cell (a discount rate of 0)


def percent_text(rate) -> str:
    """A rate as shown: ``19``, ``5.5``, ``8.125``, ``0`` (never an exponent)."""
    return format(rate.normalize(), "f") if rate else "0"


class Table:
    """Draws the line items of ``meta`` on ``canvas``, from ``canvas.y`` on."""

    def __init__(self, canvas: Canvas, meta: ReportMeta) -> None:
        self.canvas = canvas
        self.meta = meta
        # Subtotal rule: a thin grey line under the subtotal; "{y}" filled per use.
        x1, x2 = MARGIN * PT_PER_MM, (MARGIN + TABLE_W) * PT_PER_MM
        self.rule = f"q 0.6 G 0.4 w {x1:.2f} {{y:.2f}} m {x2:.2f} {{y:.2f}} l S Q\n"
        # Per-column caches of rendered text cells: value -> _Cell.
        self.text_cache: list[dict[str, _Cell]] = [{} for _ in COLUMNS]
        self.fit_cache: dict[tuple[str, int], str] = {}
        self.page_top = ""  # continued title + table header, the same on every later page

    # -- pages -------------------------------------------------------------------
    def begin(self, own_page: bool) -> None:
        """The header band where the table starts: below what is on the page, or on a
        page of its own titled "Line items" (after an overview).  The currency is
        noted once, at the right above the band."""
        canvas = self.canvas
        note = f"Amounts in {clean(self.meta.currency)}"
        right = MARGIN + TABLE_W - PAD
        if own_page:
            canvas.end_page()
            canvas.text(MARGIN + PAD, baseline(MARGIN, 8, 12), "Line items", canvas.bold, 12)
            canvas.text(right, baseline(MARGIN, 8, 12), note, align="R", colour=GREY_TEXT)
            canvas.parts.append(self.header(MARGIN + 8))
            canvas.y = MARGIN + 8 + HEADER_H
        else:
            # in the gap the title block leaves above the band
            canvas.text(right, canvas.y - 0.8, note, size=7, align="R", colour=GREY_TEXT)
            canvas.parts.append(self.header(canvas.y))
            canvas.y += HEADER_H

    def next_page(self, table: bool = True) -> None:
        canvas = self.canvas
        canvas.end_page()
        if not table:
            canvas.y = MARGIN
            return
        if not self.page_top:
            self.page_top = canvas.continued_title() + self.header(MARGIN + 5)
        canvas.parts.append(self.page_top)
        canvas.y = MARGIN + 5 + HEADER_H

    def header(self, top: float) -> str:
        """Grey band with the bold column labels, its top at ``top`` mm."""
        bold, fonts = self.canvas.bold, self.canvas.fonts
        k = PT_PER_MM
        out = [f"q {GREY_FILL} {MARGIN * k:.2f} {PAGE_H_PT - top * k:.2f} "
               f"{TABLE_W * k:.2f} {-HEADER_H * k:.2f} re f Q\n"]
        y_pt = PAGE_H_PT - baseline(top, HEADER_H, FONT_PT) * k
        # One text object: Td moves from label to label.
        out.append(f"q 0 g BT 1 0 0 1 {_X[0] / UNITS:.2f} {y_pt:.2f} Tm")
        prev_x = _X[0]
        for i, (label, _w, right) in enumerate(COLUMNS):
            ops, w = fonts.show(clean(label), bold, FONT_PT)
            x = (_R[i] - w) if right else _X[i]
            out.append(f" {(x - prev_x) / UNITS:.2f} 0 Td {ops}")
            prev_x = x
        out.append(" ET Q\n")
        return "".join(out)

    def open_text(self, top: float) -> None:
        """Start a text object whose line start is one row above the row at ``top``."""
        canvas = self.canvas
        ys = PAGE_H_PT - top * PT_PER_MM - row_baseline_pt() + ROW_PT
        x0 = _X[0] / UNITS
        canvas.buf.append(f"q 0 g BT {canvas.reg.tf} 1 0 0 1 {x0:.2f} {ys:.2f} Tm")

    # -- cells -------------------------------------------------------------------
    def fit(self, text: str, col: int) -> str:
        """``text`` cut with an ellipsis so that it fits column ``col``."""
        key = (text, col)
        fitted = self.fit_cache.get(key)
        if fitted is not None:
            return fitted
        fitted = self.canvas.ellipsize(text, COLUMNS[col][1] - 2 * PAD, self.canvas.reg)
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
        text, w = self.canvas.fonts.tj_text(self.fit(clean(value), col))
        move = w - (_X[col + 1] - _X[col])
        frag = (f"{text}{move}", text, move)
        if len(cache) > _CACHE_LIMIT:
            cache.clear()
        cache[value] = frag
        return frag

    def bold_tj(self, text: str) -> tuple[str, int]:
        """(text for inside a bold ``TJ`` array, width in font units): like
        ``Fonts.tj_text``, with the bold font selected again after a fallback run."""
        fonts, bold = self.canvas.fonts, self.canvas.bold
        runs = fonts.runs(text, bold)
        if len(runs) == 1 and runs[0][0] is bold:
            return bold.literal(text)
        parts, width = [], 0
        for font, part in runs:
            lit, w = font.literal(part)
            width += w
            parts.append(lit if font is bold else f"]TJ {font.tf} [{lit}]TJ {bold.tf} [")
        return "".join(parts), width

    def subtotal(self, label: str, amounts: tuple[Decimal, Decimal, Decimal]) -> None:
        """Bold line: label right-aligned up to the discount column, then net, tax and
        gross in theirs, a thin rule below.

        It is one more line of the rows' text object (one per order, so it is on
        the hot path too); an amount too wide for its column is instead drawn on
        its own, set smaller."""
        canvas = self.canvas
        if canvas.y + ROW_H > BOTTOM:
            self.next_page()
        top = canvas.y
        bold = canvas.bold
        enc, wid = bold.enc, bold.w.__getitem__
        lit, w = self.bold_tj(clean(label))
        parts = [f" 0 {-ROW_PT:.2f} Td {bold.tf} [{w + _X[0] - _R[DISC]}{lit}"]
        prev = _R[DISC]
        for col, amount in zip((NET, TAX, GROSS), amounts, strict=True):
            text = money(amount)  # NUMERIC_CHARS only, which bold learned up front
            w = sum(map(wid, text))
            if w > _ROOM[col]:
                parts = []
                break
            parts.append(f"{w + prev - _R[col]}({text.translate(enc)})")
            prev = _R[col]
        if parts:
            if not canvas.buf:
                self.open_text(top)
            canvas.buf.append("".join(parts) + f"]TJ {canvas.reg.tf}")
        else:
            canvas.flush()
            base = top + row_baseline_pt() / PT_PER_MM
            out = [canvas.text_line(_R[DISC] / UNITS, base, clean(label), bold, FONT_PT, "R")]
            for col, amount in zip((NET, TAX, GROSS), amounts, strict=True):
                text = money(amount)
                wide = canvas.width_mm(text, bold)
                room = COLUMNS[col][1] - 2 * PAD
                size = FONT_PT if wide <= room else FONT_PT * room / wide
                out.append(canvas.text_line(_R[col] / UNITS, base, text, bold, size, "R"))
            canvas.parts.append("".join(out))
        canvas.parts.append(self.rule.format(y=PAGE_H_PT - top * PT_PER_MM - ROW_PT))
        canvas.y = top + ROW_H

    # -- rows --------------------------------------------------------------------
    def rows(self, rows: Rows, progress: Progress
             ) -> tuple[int, int, tuple[Decimal, Decimal, Decimal]]:
        """Lay out every row; return (rows, orders, (net, tax, gross) of them all)."""
        canvas = self.canvas
        summary = self.meta.kind != "order"  # several orders: subtotals and a grand total
        reg = canvas.reg
        enc, wid = reg.enc, reg.w.__getitem__
        text_cell = self.text_cell
        next_line = f" 0 {-ROW_PT:.2f} Td ["
        # Pen moves between the right-aligned columns, less the widths (see TJ notes):
        # from the product cell's end to the quantity, then from one right edge to
        # the next.
        k_qty = _X[QTY] - _R[QTY]
        k_unit, k_disc, k_net = _R[QTY] - _R[UNIT], _R[UNIT] - _R[DISC], _R[DISC] - _R[NET]
        k_rate, k_tax, k_gross = _R[NET] - _R[TAX_RATE], _R[TAX_RATE] - _R[TAX], _R[TAX] - _R[GROSS]
        qty_cache: dict[object, tuple[str, int]] = {}
        money_cache: dict[object, tuple[str, int]] = {}
        rate_cache: dict[object, tuple[str, int]] = {}
        disc_cache: dict[object, tuple[str, int]] = {}  # apart: a rate of 0 shows nothing
        date_cache: dict[dt.date, _Cell] = {}
        every = PROGRESS_EVERY
        next_report = every

        def number_cell(value, cache, text: str) -> tuple[str, int]:
            """(literal, width) of a number's text; its characters are NUMERIC_CHARS,
            which the canvas learned up front, so no learn() is needed."""
            if len(cache) > _MONEY_CACHE_LIMIT:
                cache.clear()
            cell = cache[value] = (f"({text.translate(enc)})", sum(map(wid, text)))
            return cell

        count = 0
        orders = 0
        zero = Decimal(0)
        net_all = tax_all = gross_all = zero
        sub_net = sub_tax = sub_gross = zero
        current = last_key = None
        label = ""
        head = ""
        buf = canvas.buf
        y = canvas.y
        for (order_id, number, order_date, customer, status, product, qty, price,
             disc_rate, _disc, net, tax_rate, tax, gross) in rows:
            if order_id != current:
                if current is not None and summary:
                    canvas.y = y
                    self.subtotal(label, (sub_net, sub_tax, sub_gross))
                    y, buf = canvas.y, canvas.buf
                net_all += sub_net
                tax_all += sub_tax
                gross_all += sub_gross
                sub_net = sub_tax = sub_gross = zero
                current = order_id
                orders += 1
                label = f"Subtotal {number}:"
            key = (number, order_date, customer, status)
            if key != last_key:
                last_key = key
                d_frag = date_cache.get(order_date)
                if d_frag is None:
                    if len(date_cache) > 4096:
                        date_cache.clear()
                    # the date alone: a datetime given by mistake shows its day
                    d_frag = date_cache[order_date] = text_cell(dt.date.isoformat(order_date),
                                                                DATE)
                head = (f"{text_cell(number, NUMBER)[0]}{d_frag[0]}"
                        f"{text_cell(customer, CUSTOMER)[0]}{text_cell(status, STATUS)[0]}")
            if y + ROW_H > BOTTOM:
                canvas.y = y
                self.next_page()
                y, buf = canvas.y, canvas.buf
            sub_net += net
            sub_tax += tax
            sub_gross += gross

            p_frag = text_cell(product, PRODUCT)
            q = qty_cache.get(qty)
            if q is None:
                s = str(qty)
                reg.learn(s)
                q = qty_cache[qty] = (f"({s.translate(enc)})", sum(map(wid, s)))
            u = money_cache.get(price) or number_cell(price, money_cache, f"{price:,.2f}")
            n = money_cache.get(net) or number_cell(net, money_cache, f"{net:,.2f}")
            t = money_cache.get(tax) or number_cell(tax, money_cache, f"{tax:,.2f}")
            g = money_cache.get(gross) or number_cell(gross, money_cache, f"{gross:,.2f}")
            d = disc_cache.get(disc_rate)
            if d is None:
                d = number_cell(disc_rate, disc_cache, percent_text(disc_rate))
                if not disc_rate:  # no discount: an empty cell, not a column of zeros
                    d = disc_cache[disc_rate] = _NO_TEXT
            r = rate_cache.get(tax_rate) or number_cell(tax_rate, rate_cache,
                                                        percent_text(tax_rate))

            if not buf:
                self.open_text(y)
            # TJ: a number n moves the pen left by n/1000 of the font size, so the move
            # to a right-aligned cell is (its width - gap from the current pen position).
            buf.append(
                f"{next_line}{head}{p_frag[1]}{p_frag[2] + q[1] + k_qty}{q[0]}"
                f"{u[1] + k_unit}{u[0]}{d[1] + k_disc}{d[0]}{n[1] + k_net}{n[0]}"
                f"{r[1] + k_rate}{r[0]}{t[1] + k_tax}{t[0]}{g[1] + k_gross}{g[0]}]TJ"
            )
            y += ROW_H
            count += 1
            if count == next_report:
                next_report += every
                if progress is not None:
                    progress(count)
        canvas.y = y
        canvas.flush()
        if current is not None:
            net_all += sub_net
            tax_all += sub_tax
            gross_all += sub_gross
            if summary:
                self.subtotal(label, (sub_net, sub_tax, sub_gross))
        if progress is not None and (count == 0 or count % every):
            progress(count)
        return count, orders, (net_all, tax_all, gross_all)

    # -- closing lines -----------------------------------------------------------
    def totals(self, count: int, orders: int, grand) -> None:
        """The closing lines; ``grand`` is (net, tax, gross) as rows() returned it
        (anything when there were no rows)."""
        canvas = self.canvas
        canvas.flush()
        meta = self.meta
        currency = meta.currency
        lines: list[tuple[RawFont, str]] = []  # (font, text)
        if count == 0:
            lines.append((canvas.reg, EMPTY_MESSAGE))
        else:
            net, tax, gross = grand
            total = "Grand total" if meta.kind != "order" else "Order total"
            lines.append((canvas.reg, f"Net: {money(net)} {currency}"))
            lines.append((canvas.reg, f"Tax: {money(tax)} {currency}"))
            lines.append((canvas.bold, f"{total}: {money(gross)} {currency}"))
            if meta.kind != "order":
                lines.append((canvas.reg, f"Orders: {orders:,}"))
                lines.append((canvas.reg, f"Rows: {count:,} (line items and shipping)"))
        if canvas.y + 3 + 6 * len(lines) > BOTTOM:
            self.next_page(table=bool(count))
        y = canvas.y + 3
        # Like cell(TABLE_W, 6, align="R" or "L"): padded by PAD, so "R" lines up with
        # the amount column.
        if count:
            x, align = (MARGIN + TABLE_W - PAD) * PT_PER_MM, "R"
        else:
            x, align = (MARGIN + PAD) * PT_PER_MM, "L"
        for font, text in lines:
            canvas.parts.append(
                canvas.text_line(x, baseline(y, 6, 10), clean(text), font, 10, align))
            y += 6
        canvas.y = y
