"""The line-item table: a header band repeated on every page, one row per item,
and for several orders a subtotal after each order and a grand total; for
``meta.kind == "order"`` an order total closes it.

The row path is the hot one (100k+ rows): consecutive rows share one
``q 0 g BT ... ET Q`` text object and each row is a single ``TJ`` whose numeric
kerning adjustments move the pen to the next column.  All positions are
integers in text-space thousandths, so no float formatting happens per row.
Rendered cells are cached by value: names, dates, quantities and prices repeat.
The table header is raw text as well, built once and reused.
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
    HEADER_H,
    MARGIN,
    PAD,
    PAGE_H_PT,
    ROW_H,
    ROW_PT,
    Canvas,
    baseline,
    clean,
    local,
    money,
    row_baseline_pt,
)
from .fonts import FONT_PT, PT_PER_MM, RawFont

EMPTY_MESSAGE = "No line items match this report."
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
assert TABLE_W == CONTENT_W, "the columns must fill the page's content width"
_LEFT_MM = tuple(itertools.accumulate((c[1] for c in COLUMNS[:-1]), initial=MARGIN))
# In TJ units (thousandths of the font size): left text edges, right text edges.
_X = tuple(round((x + PAD) * PT_PER_MM * UNITS) for x in _LEFT_MM)
_R = tuple(
    round((x + c[1] - PAD) * PT_PER_MM * UNITS) for x, c in zip(_LEFT_MM, COLUMNS, strict=True)
)

# A rendered left-aligned cell: (TJ fragment: the text followed by the pen move to
# the next column; the text alone; that pen move alone).  A TJ number n moves the
# pen left by n/1000 of the font size.  The text is a string literal, or for text
# that needs the fallback font, literals with ``]TJ /Fn 8.00 Tf [`` switches
# between them, ending with the regular font selected again.
_Cell = tuple[str, str, int]
_CACHE_LIMIT = 50_000  # entries per value cache before it is reset
# Line totals have a long tail of distinct values: a smaller cache keeps memory flat.
_MONEY_CACHE_LIMIT = 16_384


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
        page of its own titled "Line items" (after an overview)."""
        canvas = self.canvas
        if own_page:
            canvas.end_page()
            canvas.text(MARGIN + PAD, baseline(MARGIN, 8, 12), "Line items", canvas.bold, 12)
            canvas.parts.append(self.header(MARGIN + 8))
            canvas.y = MARGIN + 8 + HEADER_H
        else:
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
        bold, currency, fonts = self.canvas.bold, self.meta.currency, self.canvas.fonts
        k = PT_PER_MM
        out = [f"q {GREY_FILL} {MARGIN * k:.2f} {PAGE_H_PT - top * k:.2f} "
               f"{TABLE_W * k:.2f} {-HEADER_H * k:.2f} re f Q\n"]
        y_pt = PAGE_H_PT - baseline(top, HEADER_H, FONT_PT) * k
        # One text object: Td moves from label to label.
        out.append(f"q 0 g BT 1 0 0 1 {_X[0] / UNITS:.2f} {y_pt:.2f} Tm")
        prev_x = _X[0]
        for i, (label, _w, right) in enumerate(COLUMNS):
            if i >= 6:
                label = f"{label} ({currency})"
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

    def subtotal(self, label: str, amount: Decimal) -> None:
        """Bold line: label right-aligned up to the unit price column, amount in the last."""
        canvas = self.canvas
        canvas.flush()
        if canvas.y + ROW_H > BOTTOM:
            self.next_page()
        top = canvas.y
        base = top + row_baseline_pt() / PT_PER_MM
        bold = canvas.bold
        canvas.parts.append(
            self.rule.format(y=PAGE_H_PT - top * PT_PER_MM - ROW_PT)
            + canvas.text_line(_R[6] / UNITS, base, clean(label), bold, FONT_PT, "R")
            + canvas.text_line(_R[7] / UNITS, base, money(amount), bold, FONT_PT, "R")
        )
        canvas.y = top + ROW_H

    # -- rows --------------------------------------------------------------------
    def rows(self, rows: Rows, progress: Progress) -> tuple[int, int, Decimal]:
        """Lay out every row; return (line items, orders, grand total)."""
        canvas = self.canvas
        summary = self.meta.kind != "order"  # several orders: subtotals and a grand total
        reg = canvas.reg
        tj_text = canvas.fonts.tj_text
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
        zone = self.meta.zone
        every = PROGRESS_EVERY
        next_report = every

        count = 0
        orders = 0
        grand = Decimal(0)
        current = None
        subtotal = Decimal(0)
        order_frag = ""
        buf = canvas.buf
        y = canvas.y
        for order_id, order_date, customer, status, product, qty, price, total in rows:
            if order_id != current:
                if current is not None and summary:
                    canvas.y = y
                    self.subtotal(f"Subtotal order #{current}:", subtotal)
                    y, buf = canvas.y, canvas.buf
                grand += subtotal
                subtotal = Decimal(0)
                current = order_id
                orders += 1
                oid, w = tj_text(clean(order_id))
                order_frag = f"{oid}{w - span0}"
            if y + ROW_H > BOTTOM:
                canvas.y = y
                self.next_page()
                y, buf = canvas.y, canvas.buf
            subtotal += total

            d_frag = date_cache.get(order_date)
            if d_frag is None:
                if len(date_cache) > 4096:
                    date_cache.clear()
                # date().isoformat(), not strftime(): it pays for the zone conversion
                d_frag = date_cache[order_date] = text_cell(
                    local(order_date, zone).date().isoformat(), 1
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
                if len(money_cache) > _MONEY_CACHE_LIMIT:
                    money_cache.clear()
                s = f"{total:,.2f}"
                t = money_cache[total] = (f"({s.translate(enc)})", sum(map(wid, s)))

            if not buf:
                self.open_text(y)
            # TJ: a number n moves the pen left by n/1000 of the font size, so the move
            # to a right-aligned cell is (its width - gap from the current pen position).
            buf.append(
                f"{next_line}{order_frag}{d_frag[0]}{c_frag[0]}{s_frag[0]}{p_frag[1]}"
                f"{p_frag[2] + q[1] + k_qty}{q[0]}{u[1] + k_unit}{u[0]}{t[1] + k_total}{t[0]}]TJ"
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
            grand += subtotal
            if summary:
                self.subtotal(f"Subtotal order #{current}:", subtotal)
        if progress is not None and (count == 0 or count % every):
            progress(count)
        return count, orders, grand

    # -- closing lines -----------------------------------------------------------
    def totals(self, count: int, orders: int, grand: Decimal) -> None:
        canvas = self.canvas
        canvas.flush()
        meta = self.meta
        lines: list[tuple[RawFont, str]] = []  # (font, text)
        if count == 0:
            lines.append((canvas.reg, EMPTY_MESSAGE))
        elif meta.kind != "order":
            lines.append((canvas.bold, f"Grand total: {money(grand)} {meta.currency}"))
            lines.append((canvas.reg, f"Orders: {orders:,}"))
            lines.append((canvas.reg, f"Line items: {count:,}"))
        else:
            lines.append((canvas.bold, f"Order total: {money(grand)} {meta.currency}"))
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
