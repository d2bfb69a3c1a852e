"""The overview of a summary, drawn before the line items: key figures against
the previous period, a bar chart of revenue per period beside the tax collected
per rate, the top customers and products, and the totals per customer (which
may run over several pages).

Page 1 holds everything but the totals per customer, whatever the names (cut
to their column) and up to :data:`TAX_ROWS_BESIDE_CHART` tax rates; the
totals per customer start on it only if there is room.

The chart and the bars are vector paths written into the same raw content
streams as the text (``re f`` for bars, ``m l S`` for axes and grid lines), in
greys only (``g``/``G``), so they print the same on a black-and-white printer.
Money is Decimal throughout; floats are used only for the geometry.  The
overview is a few hundred text objects drawn once, so it is laid out with the
simple one-text-object-per-string helpers, not the table's row path: clarity
over speed.  ``canvas.y`` is the top of the next section; a section that does
not fit starts a new page.
"""
from __future__ import annotations

import math
from decimal import ROUND_CEILING, Decimal
from typing import TYPE_CHECKING

from .engine import (
    BOTTOM,
    CONTENT_W,
    GREY_FILL,
    GREY_TEXT,
    HEADER_H,
    MARGIN,
    PAD,
    ROW_H,
    Canvas,
    baseline,
    clean,
    money,
    row_baseline_pt,
)
from .fonts import ELLIPSIS, FONT_PT, PT_PER_MM, RawFont
from .table import percent_text

if TYPE_CHECKING:
    from webapp.reports.overview import Change, Overview, Ranked, TaxRow

NO_ORDERS_MESSAGE = "No completed orders in this range"

# Solid greys that stay apart from each other and from the table header band in
# a greyscale print; text on them is black or GREY_TEXT.
BAR_FILL = "0.40 g"  # revenue chart bars
PARTIAL_FILL = "0.75 g"  # a partial period's bar (cut by the range, or not over yet)
RANK_FILL = "0.60 g"  # bars in the top lists
KPI_FILL = "0.93 g"  # key-figure boxes
GRID_STROKE = "0.80 G"
AXIS_STROKE = "0 G"
SECTION_PT = 11.0
SECTION_H = 6.0  # mm, a section heading's line
GAP = 3.0  # mm between sections
KPI_H = 20.0  # mm, a key-figure box
KPI_GAP = 2.0  # mm between key-figure boxes
KPI_PAD = 2.0  # mm inside a key-figure box
KPI_PT = 13.0  # the key figure itself, shrunk to fit its box if need be
MIN_PT = 5.5  # smaller than this, a line in a box is cut instead
PLOT_H = 40.0  # mm, the chart's plot area (ticks from 0 to the top value)
PLOT_HEADROOM = 6.0  # mm above the plot: the y axis title and the tallest bar's value
AXIS_PT = 7.0
VALUE_PT = 6.0
MAX_X_LABELS = 16
MAX_BAR_W = 18.0  # mm: a range of one or two periods still looks like a bar chart
TOP_GAP = 6.0  # mm between the two top lists
WIDTH = CONTENT_W  # mm: sections are as wide as the line-item table
TAX_COLUMNS = (("Rate %", 16.0), ("Net", 26.0), ("Tax", 24.0), ("Gross", 26.0))
TAX_W = sum(w for _label, w in TAX_COLUMNS)  # mm, the tax table right of the chart
CHART_W = WIDTH - TAX_W - TOP_GAP  # mm
CENT = Decimal("0.01")
KPIS = (  # (Kpis attribute, label, money?); the heading names the currency
    ("orders", "Orders", False),
    ("items", "Line items", False),
    ("units", "Units", False),
    ("revenue", "Revenue (gross)", True),
    ("net", "Revenue (net)", True),
    ("tax", "Tax", True),
    ("discount", "Discounts", True),
    ("shipping", "Shipping (net)", True),
    ("average_order_value", "Avg. order value", True),
)
CHART_SECTION_H = SECTION_H + PLOT_HEADROOM + PLOT_H + 8.5  # mm, axis labels included
# As many rates as fit beside the chart (a header, the rates and a total row);
# more make the section taller, which may move what follows to the next page.
TAX_ROWS_BESIDE_CHART = int((CHART_SECTION_H - SECTION_H - HEADER_H) / ROW_H) - 1
GRAIN_WORDS = {"day": "day", "week": "week", "month": "month"}
X_AXIS_TITLES = {"day": "Day", "week": "Week (starting Monday)", "month": "Month"}


def whole(value: Decimal) -> str:
    return f"{value:,.0f}"


def compact(value: Decimal) -> str:
    """``12.3k``, ``4.5M``: a bar's value when the full amount is wider than the bar."""
    for size, suffix in ((Decimal(10) ** 9, "bn"), (Decimal(10) ** 6, "M"), (Decimal(1000), "k")):
        if abs(value) >= size:
            return f"{value / size:.1f}{suffix}"
    return f"{value:.0f}"


def change(comparison: Change) -> str:
    """A KPI's change as a box shows it, by the overview's one rule: "+12.5 %",
    "new" (nothing before), "n/m" (not meaningful: the box's "Previous" line
    shows how little there was), "n/a" (nothing then or now)."""
    if comparison.kind == "new":
        return "new"
    if comparison.kind == "n/m":
        return "n/m"
    pct = comparison.percent
    if pct is None:
        return "n/a"
    if not pct:  # also -0.0 from a tiny drop
        return "0.0 %"
    return f"{pct:+} %"


def ticks(peak: Decimal, target: int = 5) -> list[Decimal]:
    """Round axis values from 0 up to at least ``peak`` (steps of 1, 2, 2.5 or 5 x 10^n)."""
    if peak <= 0:
        peak = Decimal(1)
    raw = peak / target
    magnitude = Decimal(1).scaleb(raw.adjusted())
    # Whole cents only: a step of 0.025 would print as a mix of 0.02s and 0.03s.
    steps = (magnitude * m for m in (1, 2, Decimal("2.5"), 5, 10))
    step = next((s for s in steps if s >= raw and not s % CENT), CENT)
    count = int((peak / step).to_integral_value(rounding=ROUND_CEILING))
    return [step * i for i in range(count + 1)]


def tick_labels(values: list[Decimal]) -> list[str]:
    """Money labels for the axis: without cents unless a step needs them."""
    if all(t == t.to_integral_value() for t in values):
        return [whole(t) for t in values]
    return [money(t) for t in values]


class OverviewPages:
    """Draws an :class:`~webapp.reports.overview.Overview` on ``canvas``, from ``canvas.y`` on."""

    def __init__(self, canvas: Canvas, currency: str) -> None:
        self.canvas = canvas
        self.currency = currency

    def draw(self, ov: Overview) -> None:
        self.key_figures(ov)
        self.chart_and_tax(ov)
        self.top_lists(ov)
        self.customer_totals(ov)

    # -- layout helpers --------------------------------------------------------------
    def text(self, x: float, base: float, text: str, font: RawFont | None = None,
             size: float = FONT_PT, align: str = "L", colour: str = "0 g") -> None:
        self.canvas.text(x, base, text, font, size, align, colour)

    def width_mm(self, text: str, font: RawFont, size: float = FONT_PT) -> float:
        return self.canvas.width_mm(text, font, size)

    def need(self, height: float) -> None:
        if self.canvas.y + height > BOTTOM:
            self.new_page()

    def new_page(self) -> None:
        canvas = self.canvas
        canvas.end_page()
        canvas.parts.append(canvas.continued_title())
        canvas.y = MARGIN + 5

    def heading(self, title: str, note: str = "", x: float = MARGIN,
                width: float = WIDTH) -> None:
        """A section title at ``canvas.y``, with an optional grey note at the right."""
        base = baseline(self.canvas.y, SECTION_H, SECTION_PT)
        self.text(x + PAD, base, title, self.canvas.bold, SECTION_PT)
        if note:
            self.text(x + width - PAD, base, note, size=FONT_PT, align="R", colour=GREY_TEXT)

    # -- sections --------------------------------------------------------------------
    def fitted(self, x: float, base: float, text: str, room: float, font: RawFont,
               size: float = FONT_PT, colour: str = "0 g", align: str = "L") -> None:
        """One line in at most ``room`` mm: set smaller down to MIN_PT, then cut."""
        text = clean(text)
        wide = self.width_mm(text, font, size)
        if wide > room:
            size = max(MIN_PT, math.floor(size * room / wide * 10) / 10)
            text = self.canvas.ellipsize(text, room, font, size)
        self.text(x, base, text, font, size, colour=colour, align=align)

    def key_figures(self, ov: Overview) -> None:
        canvas = self.canvas
        self.need(SECTION_H + KPI_H + GAP)
        note = (f"Amounts in {self.currency} \u00b7 {ov.date_from} \u2013 {ov.date_to} vs "
                f"{ov.previous_from} \u2013 {ov.previous_to}")
        if any(ov.compare(name).kind == "n/m" for name, _label, _money in KPIS):
            note += " \u00b7 n/m: not meaningful, the previous period was almost empty"
        self.heading("Key figures", note)
        top = canvas.y + SECTION_H
        width = (WIDTH - (len(KPIS) - 1) * KPI_GAP) / len(KPIS)
        inner = width - 2 * KPI_PAD
        canvas.paint([canvas.rect(MARGIN + i * (width + KPI_GAP), top, width, KPI_H)
                      for i in range(len(KPIS))], KPI_FILL)
        for i, (name, label, is_money) in enumerate(KPIS):
            x = MARGIN + i * (width + KPI_GAP) + KPI_PAD
            show = money if is_money else (lambda n: f"{n:,}")
            self.fitted(x, top + 4.2, label, inner, canvas.reg, colour=GREY_TEXT)
            self.fitted(x, top + 10.8, show(getattr(ov.kpis, name)), inner, canvas.bold, KPI_PT)
            self.fitted(x, top + 14.8, f"Change: {change(ov.compare(name))}", inner, canvas.reg)
            self.fitted(x, top + 18.4, f"Previous: {show(getattr(ov.previous, name))}", inner,
                        canvas.reg, colour=GREY_TEXT)
        canvas.y = top + KPI_H + GAP

    def chart_and_tax(self, ov: Overview) -> None:
        """The revenue chart, and the tax per rate at its right."""
        canvas = self.canvas
        lines = max(len(ov.tax_rows), 1) + 1  # the rates (or a message) and the total
        table_h = SECTION_H + HEADER_H + lines * ROW_H
        self.need(max(CHART_SECTION_H, table_h) + GAP)
        top = canvas.y
        bottom = self.chart(ov)
        canvas.y = top
        self.tax_table(ov.tax_rows, MARGIN + CHART_W + TOP_GAP)
        canvas.y = max(bottom, top + table_h) + GAP

    def chart(self, ov: Overview) -> float:
        """Revenue per period as a bar chart, or a message when there is nothing to
        draw, CHART_W wide from ``canvas.y``; returns where it ends (mm)."""
        canvas = self.canvas
        currency, reg = self.currency, canvas.reg
        word = GRAIN_WORDS.get(ov.grain, "period")
        title = f"Revenue per {word} ({currency})"
        periods = ov.periods
        if not ov.kpis.orders or not periods:
            box = 20.0
            self.heading(title, width=CHART_W)
            top = canvas.y + SECTION_H
            canvas.paint([canvas.rect(MARGIN, top, CHART_W, box, "S")], "0.60 G", 0.5)
            self.text(MARGIN + CHART_W / 2, baseline(top, box, 10), NO_ORDERS_MESSAGE,
                      size=10, align="C")
            return top + box

        values = [max(p.revenue, Decimal(0)) for p in periods]  # a refund-heavy period: no bar
        peak = max(values)
        best = periods[values.index(peak)]
        # Partial periods (cut by the range, or not over yet) would pull the
        # average down: it is over the full ones, or there is none.
        average = ov.average_per_full_period()
        per = (f"Average per full {word}: {money(average)} {currency}" if average is not None
               else f"No full {word}: no average")
        # The chart's text alternative: what a reader of the bars would take away.
        note = f"Highest: {best.label}, {money(best.revenue)} {currency} \u00b7 {per}"
        room = CHART_W - 2 * PAD - self.width_mm(title, canvas.bold, SECTION_PT) - 4.0
        self.heading(title, canvas.ellipsize(note, room, reg), width=CHART_W)

        axis = ticks(peak)
        scale = axis[-1]
        labels = tick_labels(axis)
        x0 = MARGIN + PAD + max(self.width_mm(t, reg, AXIS_PT) for t in labels) + 2.0
        x1 = MARGIN + CHART_W - PAD
        top = canvas.y + SECTION_H + PLOT_HEADROOM
        bottom = top + PLOT_H
        centre = 0.35 * AXIS_PT / PT_PER_MM  # baseline below the middle of a digit

        self.text(MARGIN + PAD, top - 3.5, f"Revenue ({currency})", size=AXIS_PT,
                  colour=GREY_TEXT)
        grid = []
        for value, label in zip(axis, labels, strict=True):
            y = bottom - float(value / scale) * PLOT_H
            if value:
                grid.append(canvas.line(x0, y, x1, y))
            self.text(x0 - 1.5, y + centre, label, size=AXIS_PT, align="R")
        canvas.paint(grid, GRID_STROKE, 0.3)

        slot = (x1 - x0) / len(periods)
        bar_w = min(slot * 0.72, MAX_BAR_W)
        heights = [float(v / scale) * PLOT_H for v in values]
        for fill, partial in ((BAR_FILL, False), (PARTIAL_FILL, True)):
            canvas.paint([canvas.rect(x0 + i * slot + (slot - bar_w) / 2, bottom - h, bar_w, h)
                          for i, h in enumerate(heights)
                          if h > 0 and periods[i].partial == partial], fill)
        canvas.paint([canvas.line(x0, bottom, x1, bottom), canvas.line(x0, top, x0, bottom)],
                     AXIS_STROKE, 0.6)

        texts = self.bar_values(values, slot - 0.8)
        if texts:
            for i, (text, h) in enumerate(zip(texts, heights, strict=True)):
                if h > 0:
                    self.text(x0 + (i + 0.5) * slot, bottom - h - 0.8, text, size=VALUE_PT,
                              align="C")

        step = self.label_step([p.label for p in periods], slot)
        marks = []
        for i in range(0, len(periods), step):
            x = x0 + (i + 0.5) * slot
            marks.append(canvas.line(x, bottom, x, bottom + 1.0))
            self.text(x, bottom + 3.8, periods[i].label, size=AXIS_PT, align="C")
        canvas.paint(marks, AXIS_STROKE, 0.4)
        axis_title = X_AXIS_TITLES.get(ov.grain, "Period")
        if any(p.partial for p in periods):
            axis_title += f" \u00b7 lighter bars: partial {word} (cut by the range or not over yet)"
        self.text((x0 + x1) / 2, bottom + 7.6, axis_title, size=AXIS_PT, align="C",
                  colour=GREY_TEXT)
        return bottom + 8.5

    def tax_table(self, rows: list[TaxRow], x: float) -> None:
        """Net, tax and gross per tax rate, and their total, TAX_W wide at ``x``."""
        canvas = self.canvas
        self.heading("Tax by rate", f"({self.currency})", x=x, width=TAX_W)
        top = canvas.y + SECTION_H
        columns = [(label, width, "R") for label, width in TAX_COLUMNS]
        self.grid_header(x, top, columns)
        top += HEADER_H
        if not rows:
            self.text(x + PAD, top + row_baseline_pt() / PT_PER_MM, "None in this range",
                      colour=GREY_TEXT)
            return
        def row(cells, font: RawFont) -> None:
            # amounts are set smaller to fit, never cut
            left, base = x, top + row_baseline_pt() / PT_PER_MM
            for (_label, width, _align), cell in zip(columns, cells, strict=True):
                self.fitted(left + width - PAD, base, cell, width - 2 * PAD, font, align="R")
                left += width

        zero = Decimal("0.00")
        net = tax = gross = zero
        for r in rows:
            row((percent_text(r.rate), money(r.net), money(r.tax), money(r.gross)), canvas.reg)
            net, tax, gross = net + r.net, tax + r.tax, gross + r.gross
            top += ROW_H
        canvas.paint([canvas.line(x, top, x + TAX_W, top)], "0.60 G", 0.4)
        row(("Total", money(net), money(tax), money(gross)), canvas.bold)

    def bar_values(self, values: list[Decimal], room: float) -> list[str] | None:
        """The labels written above the bars, in the most precise form for which every
        label fits the width of a bar's slot; None when not even the compact form fits."""
        shown = [v for v in values if v > 0]
        if not shown:
            return None
        for form in (money, whole, compact):
            if max(self.width_mm(form(v), self.canvas.reg, VALUE_PT) for v in shown) <= room:
                return [form(v) for v in values]
        return None

    def label_step(self, labels: list[str], slot: float) -> int:
        """Label every n-th bar: at most MAX_X_LABELS labels, and none touching the next."""
        widest = max(self.width_mm(clean(label), self.canvas.reg, AXIS_PT) for label in labels)
        step = max(1, math.ceil(len(labels) / MAX_X_LABELS))
        while step < len(labels) and step * slot < widest + 2.0:
            step += 1
        return step

    def top_lists(self, ov: Overview) -> None:
        """The top customers and the top products, side by side."""
        canvas = self.canvas
        lines = max(len(ov.top_customers), len(ov.top_products), 1)
        self.need(SECTION_H + HEADER_H + lines * ROW_H + GAP)
        width = (WIDTH - TOP_GAP) / 2
        top = canvas.y
        for x, what, label, items in (
            (MARGIN, "customers", "Customer", ov.top_customers),
            (MARGIN + width + TOP_GAP, "products", "Product", ov.top_products),
        ):
            canvas.y = top
            count = f"{len(items)} " if items else ""
            self.heading(f"Top {count}{what} by revenue", x=x, width=width)
            self.ranked(x, top + SECTION_H, width, label, items)
        canvas.y = top + SECTION_H + HEADER_H + lines * ROW_H + GAP

    def ranked(self, x: float, top: float, width: float, label: str,
               items: list[Ranked]) -> None:
        """A top list: one row per entry with a bar as long as its share of the largest."""
        canvas = self.canvas
        bar_col = 24.0
        columns = [("#", 7.0, "R"), (label, 0.0, "L"), ("Orders", 15.0, "R"),
                   ("Units", 15.0, "R"), (f"Revenue ({self.currency})", 27.0, "R"),
                   ("", bar_col, "L")]
        columns[1] = (label, width - sum(c[1] for c in columns), "L")
        self.grid_header(x, top, columns)
        top += HEADER_H
        if not items:
            self.text(x + PAD, top + row_baseline_pt() / PT_PER_MM, "None in this range",
                      colour=GREY_TEXT)
            return
        peak = max(r.revenue for r in items)
        bars = []
        bar_x, bar_max = x + width - bar_col + PAD, bar_col - 2 * PAD
        for i, r in enumerate(items):
            row_top = top + i * ROW_H
            self.grid_row(x, row_top, columns,
                          (f"{i + 1}", r.name, f"{r.orders:,}", f"{r.units:,}", money(r.revenue)))
            if peak > 0 and r.revenue > 0:
                bars.append(canvas.rect(bar_x, row_top + ROW_H * 0.2,
                                        float(r.revenue / peak) * bar_max, ROW_H * 0.6))
        canvas.paint(bars, RANK_FILL)

    def customer_totals(self, ov: Overview) -> None:
        """Every customer's totals (as many as the overview lists), over pages if need be."""
        canvas = self.canvas
        columns = [("#", 12.0, "R"), ("Customer", 0.0, "L"), ("Orders", 30.0, "R"),
                   ("Units", 30.0, "R"), (f"Revenue ({self.currency})", 40.0, "R"),
                   ("Share of revenue", 32.0, "R")]
        columns[1] = ("Customer", WIDTH - sum(c[1] for c in columns), "L")
        self.need(SECTION_H + HEADER_H + 2 * ROW_H + GAP)
        total = ov.customers_total
        self.heading("Totals per customer", f"{total:,} customer{'' if total == 1 else 's'}")
        canvas.y += SECTION_H
        if not ov.customers and not total:
            self.text(MARGIN + PAD, canvas.y + 4, NO_ORDERS_MESSAGE, colour=GREY_TEXT)
            canvas.y += ROW_H + GAP
            return
        self.grid_header(MARGIN, canvas.y, columns)
        canvas.y += HEADER_H
        revenue = ov.kpis.revenue
        for i, r in enumerate(ov.customers, start=1):
            if canvas.y + ROW_H > BOTTOM:
                self.new_page()
                self.grid_header(MARGIN, canvas.y, columns)
                canvas.y += HEADER_H
            share = (f"{(r.revenue * 100 / revenue).quantize(Decimal('0.1'))} %" if revenue
                     else "n/a")
            self.grid_row(MARGIN, canvas.y, columns,
                          (f"{i:,}", r.name, f"{r.orders:,}", f"{r.units:,}", money(r.revenue),
                           share))
            canvas.y += ROW_H
        more = total - len(ov.customers)
        if more > 0:
            if canvas.y + ROW_H > BOTTOM:
                self.new_page()
            self.text(MARGIN + PAD, canvas.y + row_baseline_pt() / PT_PER_MM,
                      f"{ELLIPSIS} and {more:,} more customer{'' if more == 1 else 's'}",
                      colour=GREY_TEXT)
            canvas.y += ROW_H
        canvas.y += GAP

    def grid_header(self, x: float, top: float, columns) -> None:
        """A grey band with bold column labels, like the line-item table's header."""
        canvas = self.canvas
        canvas.paint([canvas.rect(x, top, sum(c[1] for c in columns), HEADER_H)], GREY_FILL)
        base = baseline(top, HEADER_H, FONT_PT)
        for label, width, align in columns:
            if label:
                label = canvas.ellipsize(label, width - 2 * PAD, canvas.bold)
                self.text(x + width - PAD if align == "R" else x + PAD, base, label, canvas.bold,
                          align=align)
            x += width

    def grid_row(self, x: float, top: float, columns, cells) -> None:
        canvas = self.canvas
        base = top + row_baseline_pt() / PT_PER_MM
        for (_label, width, align), cell in zip(columns, cells, strict=False):
            text = canvas.ellipsize(clean(cell), width - 2 * PAD, canvas.reg)
            self.text(x + width - PAD if align == "R" else x + PAD, base, text, align=align)
            x += width
