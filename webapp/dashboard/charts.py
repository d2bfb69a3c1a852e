"""The dashboard's charts as inline SVG, drawn on the server from an Overview.

Pure functions: Overview data in, markup out (markupsafe.Markup, every piece
of text escaped). No JavaScript: the SVG scales with its viewBox, is coloured
by presentation attributes that app.css may override (high contrast), and
carries its own text alternative (<title>/<desc>); the page adds the same
numbers as a table. Money is Decimal, formatted as the app formats it;
floats are used only for geometry."""
from __future__ import annotations

import datetime as dt
import math
import unicodedata
from collections.abc import Sequence
from decimal import Decimal

from markupsafe import Markup, escape

from ..filters import money
from ..reports.overview import Grain, Overview, Ranked

# Geometry, in viewBox units; text is drawn at FONT units high.
WIDTH = 520
FONT = 13
CHAR = FONT * 0.6  # rough advance of a Latin character; wide (CJK) ones count twice
BAR_FILL = "#2456c8"  # --accent: dark enough for greyscale against white
INK = "#1d2330"
GRID = "#c3cad6"

GRAIN_WORDS = {Grain.DAY: "day", Grain.WEEK: "week", Grain.MONTH: "month"}


# --- words ---------------------------------------------------------------------------

def money_text(value: Decimal, currency: str) -> str:
    return f"{money(value, symbol=False)} {currency}"


def day_words(day: dt.date, with_year: bool = False) -> str:
    return f"{day:%b} {day.day}, {day.year}" if with_year else f"{day:%b} {day.day}"


def span_words(start: dt.date, end: dt.date, today: dt.date | None = None) -> str:
    """"Nov 1 – Nov 30"; years are named when the range crosses one or is not
    this year's ("Dec 2, 2024 – Jan 30, 2025")."""
    with_year = start.year != end.year or (today is not None and end.year != today.year)
    if start == end:
        return day_words(start, with_year)
    return f"{day_words(start, with_year)} – {day_words(end, with_year)}"


def change_words(percent: Decimal | None, previous_from: dt.date,
                 previous_to: dt.date) -> tuple[str, str]:
    """(arrow, words) for a KPI's change against the previous period."""
    if percent is None:
        return "", "no earlier data"
    span = span_words(previous_from, previous_to)
    if percent > 0:
        return "▲", f"up {percent} % on {span}"
    if percent < 0:
        return "▼", f"down {-percent} % on {span}"
    return "", f"no change on {span}"


def chart_title(overview: Overview) -> str:
    return f"Revenue per {GRAIN_WORDS[overview.grain]}"


def period_words(overview: Overview, start: dt.date) -> str:
    """A period as words: "Nov 12", "week of Nov 3", "Nov 2026"."""
    if overview.grain == Grain.WEEK:
        return f"week of {day_words(start)}"
    if overview.grain == Grain.MONTH:
        return f"{start:%b %Y}"
    return day_words(start)


# --- scales --------------------------------------------------------------------------

def nice_ticks(top: Decimal, count: int = 5) -> list[Decimal]:
    """Round tick values from 0 to at least `top`: steps of 1, 2 or 5 times a
    power of ten, about `count` of them (0 and 1 for an empty chart)."""
    if top <= 0:
        return [Decimal(0), Decimal(1)]
    raw = top / count
    power = Decimal(10) ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    ticks = [Decimal(0)]
    while ticks[-1] < top:
        ticks.append(ticks[-1] + step)
    return ticks


def tick_text(value: Decimal) -> str:
    """A tick label, short: 500, 1,500, 25k, 1.5M (the axis names the currency)."""
    if value >= 1_000_000:
        return f"{value / 1_000_000:,.1f}".removesuffix(".0") + "M"
    if value >= 10_000:
        return f"{value / 1_000:,.1f}".removesuffix(".0") + "k"
    if value == value.to_integral_value():
        return f"{int(value):,}"
    return f"{value:,.2f}"


def labelled(count: int, room: int) -> list[int]:
    """Which of `count` x positions get a label when `room` labels fit: every
    n-th one from the first, n as small as fits."""
    if count <= 0:
        return []
    step = max(1, math.ceil(count / max(1, room)))
    return list(range(0, count, step))


def text_width(text: str) -> float:
    return sum(CHAR * (2 if unicodedata.east_asian_width(c) in "WF" else 1) for c in text)


def clip(text: str, width: float) -> str:
    """`text` cut with an ellipsis to fit `width` units (the table has it whole)."""
    if text_width(text) <= width:
        return text
    out = ""
    for c in text:
        if text_width(out + c + "…") > width:
            break
        out += c
    return out.rstrip() + "…"


def _n(value: float) -> str:
    return f"{value:.1f}".removesuffix(".0")


# --- the charts ----------------------------------------------------------------------

def _svg(chart_id: str, height: float, title: str, desc: str, body: list[str]) -> Markup:
    return Markup(
        f'<svg id="{escape(chart_id)}" class="chart" viewBox="0 0 {WIDTH} {_n(height)}" '
        f'role="img" aria-labelledby="{escape(chart_id)}-title" '
        f'aria-describedby="{escape(chart_id)}-desc" '
        f'font-size="{FONT}" font-family="system-ui, sans-serif" fill="{INK}" '
        f'xmlns="http://www.w3.org/2000/svg">'
        f'<title id="{escape(chart_id)}-title">{escape(title)}</title>'
        f'<desc id="{escape(chart_id)}-desc">{escape(desc)}</desc>'
        + "".join(body) + "</svg>")


def revenue_alt(overview: Overview) -> tuple[str, str]:
    """(title, desc): the chart's text alternative."""
    span = span_words(overview.date_from, overview.date_to)
    total = money_text(overview.kpis.revenue, overview.currency)
    title = f"{chart_title(overview)}, {span}"
    best = max(overview.periods, key=lambda p: p.revenue, default=None)
    if best is None or best.revenue <= 0:
        return f"{title}: no revenue", f"No completed orders between {span}."
    title += (f": highest {period_words(overview, best.start)} with "
              f"{money_text(best.revenue, overview.currency)}; total {total}")
    empty = sum(1 for p in overview.periods if p.revenue <= 0)
    desc = (f"{len(overview.periods)} bars, one per {GRAIN_WORDS[overview.grain]}"
            + (f"; {empty} without revenue" if empty else "") + ".")
    return title, desc


def revenue_chart(overview: Overview, chart_id: str = "chart-revenue") -> Markup:
    """Vertical bars, one per period, on a y axis of round money values."""
    periods = overview.periods
    height, top, bottom, left, right = 240.0, 16.0, 34.0, 52.0, 8.0
    plot_w, plot_h = WIDTH - left - right, height - top - bottom
    peak = max((p.revenue for p in periods), default=Decimal(0))
    ticks = nice_ticks(peak)
    scale = float(ticks[-1])
    body = [f'<text x="0" y="{_n(top - 4)}" font-size="{FONT - 2}">'
            f'{escape(overview.currency)}</text>']
    for tick in ticks:
        y = top + plot_h - float(tick) / scale * plot_h
        body.append(f'<line class="grid" x1="{_n(left)}" x2="{_n(WIDTH - right)}" '
                    f'y1="{_n(y)}" y2="{_n(y)}" stroke="{GRID}" stroke-width="1"/>'
                    f'<text x="{_n(left - 6)}" y="{_n(y + FONT * 0.35)}" '
                    f'text-anchor="end">{escape(tick_text(tick))}</text>')
    slot = plot_w / max(1, len(periods))
    bar_w = max(1.0, slot * 0.75)
    label_room = max(1, int(plot_w // (text_width("Nov 2026" if overview.grain == Grain.MONTH
                                                  else "Nov 30") + 10)))
    with_labels = set(labelled(len(periods), label_room))
    # value labels over the bars when there is room for them; else the peak only
    value_room = text_width("0,000.00") <= slot
    for i, period in enumerate(periods):
        x = left + i * slot + (slot - bar_w) / 2
        centre = left + i * slot + slot / 2
        words = f"{period_words(overview, period.start)}: " \
                f"{money_text(period.revenue, overview.currency)}"
        if period.revenue > 0:
            h = float(period.revenue) / scale * plot_h
            body.append(f'<rect class="bar" x="{_n(x)}" y="{_n(top + plot_h - h)}" '
                        f'width="{_n(bar_w)}" height="{h:.2f}" fill="{BAR_FILL}">'
                        f'<title>{escape(words)}</title></rect>')
            if value_room or period.revenue == peak:
                text = money(period.revenue, symbol=False)
                half = text_width(text) / 2  # kept inside the picture at both ends
                at = min(max(centre, left + half), WIDTH - half)
                body.append(f'<text class="value" x="{_n(at)}" y="{_n(top + plot_h - h - 3)}" '
                            f'text-anchor="middle" font-size="{FONT - 2}">'
                            f'{escape(text)}</text>')
        if i in with_labels:
            body.append(f'<text class="x-label" x="{_n(centre)}" y="{_n(height - bottom + 16)}" '
                        f'text-anchor="middle">{escape(period.label)}</text>')
    body.append(f'<line class="axis" x1="{_n(left)}" x2="{_n(WIDTH - right)}" '
                f'y1="{_n(top + plot_h)}" y2="{_n(top + plot_h)}" stroke="{INK}" '
                f'stroke-width="1"/>')
    if peak <= 0:
        body.append(f'<text x="{_n(left + plot_w / 2)}" y="{_n(top + plot_h / 2)}" '
                    f'text-anchor="middle">No revenue in this range</text>')
    title, desc = revenue_alt(overview)
    return _svg(chart_id, height, title, desc, body)


def ranked_alt(rows: Sequence[Ranked], what: str, span: str, currency: str) -> tuple[str, str]:
    title = f"Top {len(rows)} {what} by revenue, {span}"
    if not rows:
        return f"No {what}, {span}", f"No completed orders between {span}."
    first = rows[0]
    title += f": first {first.name} with {money_text(first.revenue, currency)}"
    desc = "; ".join(f"{n}. {r.name}: {money_text(r.revenue, currency)}"
                     for n, r in enumerate(rows, 1)) + "."
    return title, desc


def ranked_chart(rows: Sequence[Ranked], *, what: str, span: str, currency: str,
                 chart_id: str) -> Markup:
    """Horizontal bars, largest first: a name, its bar, its revenue."""
    row_h, top, name_w, value_w = 26.0, 6.0, 180.0, 118.0
    bar_left = name_w + 8
    bar_room = WIDTH - bar_left - value_w
    height = top * 2 + row_h * max(1, len(rows))
    peak = max((r.revenue for r in rows), default=Decimal(0))
    body = []
    for i, row in enumerate(rows):
        y = top + i * row_h
        mid = y + row_h / 2 + FONT * 0.35
        value = money_text(row.revenue, currency)
        body.append(f'<text class="name" x="{_n(name_w)}" y="{_n(mid)}" text-anchor="end">'
                    f'{escape(clip(row.name, name_w))}</text>')
        w = float(row.revenue) / float(peak) * bar_room if peak > 0 else 0.0
        if row.revenue > 0:
            body.append(f'<rect class="bar" x="{_n(bar_left)}" y="{_n(y + 4)}" width="{w:.2f}" '
                        f'height="{_n(row_h - 8)}" fill="{BAR_FILL}">'
                        f'<title>{escape(row.name)}: {escape(value)}</title></rect>')
        body.append(f'<text class="value" x="{_n(bar_left + w + 4)}" y="{_n(mid)}">'
                    f'{escape(value)}</text>')
    body.append(f'<line class="axis" x1="{_n(bar_left)}" x2="{_n(bar_left)}" y1="{_n(top)}" '
                f'y2="{_n(height - top)}" stroke="{INK}" stroke-width="1"/>')
    title, desc = ranked_alt(rows, what, span, currency)
    return _svg(chart_id, height, title, desc, body)


def customers_chart(overview: Overview, chart_id: str = "chart-customers") -> Markup:
    return ranked_chart(overview.top_customers, what="customers", chart_id=chart_id,
                        span=span_words(overview.date_from, overview.date_to),
                        currency=overview.currency)


def products_chart(overview: Overview, chart_id: str = "chart-products") -> Markup:
    return ranked_chart(overview.top_products, what="products", chart_id=chart_id,
                        span=span_words(overview.date_from, overview.date_to),
                        currency=overview.currency)
