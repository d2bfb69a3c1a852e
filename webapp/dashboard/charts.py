"""The dashboard's charts as inline SVG, drawn on the server from an Overview,
and the words and short numbers the dashboard shows beside them.

Pure functions: Overview data in, markup out (markupsafe.Markup, every piece
of text escaped). No JavaScript, and text of a fixed size in CSS pixels
whatever the chart's width: the <svg> has a width of 100 % and a height in
pixels but NO viewBox, so one user unit is one CSS pixel (font-size 12 is
12 px on a phone and on a desktop). Everything that must follow the width is
placed in percent: the bars (rect x/width in %), the grid lines (x2="100%"),
the labels (x="37.5%", with dx for a pixel offset). Percent lengths on the
shapes themselves need neither a nested, stretched <svg> nor
non-scaling-stroke: a line drawn 1 px wide stays 1 px. What cannot follow
the width, how many x labels fit, is answered by CSS: the extra labels of a
wide chart carry a class that a container query on .chart-box hides when
the chart is narrow (static/css/app.css).

Colours are presentation attributes that app.css may override (high
contrast); each chart carries its own text alternative (<title>/<desc>) and
the page adds the same numbers, exact, as a table. Money is Decimal,
formatted as the app formats it; floats are used only for geometry."""
from __future__ import annotations

import datetime as dt
import math
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from markupsafe import Markup, escape

from ..filters import money
from ..reports.overview import Change, Grain, Overview, Period, Ranked

# Text, in CSS px (see above): readable on a phone, not shouting on a desktop.
FONT = 12
SMALL = 11  # ticks and values
CHAR = FONT * 0.6  # rough advance of a Latin character; wide (CJK) ones count twice
BAR_FILL = "#2456c8"  # --accent: dark enough for greyscale against white
PARTIAL_FILL = "#a9bdea"  # a partial period: the same hue, lighter, outlined in BAR_FILL
INK = "#1d2330"
GRID = "#c3cad6"
HALO = "#fff"  # drawn under tick labels that may stand on a bar

# The narrowest chart (a 320 px window: 288 px of content less the card's
# padding) and the widths from which more x labels are shown; the class of
# each extra tier is hidden below its width by a container query in app.css.
PHONE_PX = 260
LABEL_TIERS = ((PHONE_PX, ""), (560, "wide"), (900, "wider"))

GRAIN_WORDS = {Grain.DAY: "day", Grain.WEEK: "week", Grain.MONTH: "month"}

# The KPI tiles show a figure exactly while it fits the narrowest tile (two
# tiles side by side at 390 px, one at 320 px, five at 1280 px) on one line:
# "99,999.99 USD", "9,999,999"; from these on, compactly ("77.7M USD") with
# the exact figure in a title and in text for screen readers.
EXACT_MONEY_BELOW = Decimal(100_000)
EXACT_COUNT_BELOW = 10_000_000


# --- numbers -------------------------------------------------------------------------

_UNITS = ((Decimal(1), ""), (Decimal(10) ** 3, "k"), (Decimal(10) ** 6, "M"),
          (Decimal(10) ** 9, "B"), (Decimal(10) ** 12, "T"))


def _three_digits(value: Decimal) -> Decimal:
    """`value` (>= 1) rounded to three significant digits."""
    places = 2 if value < 10 else 1 if value < 100 else 0
    return value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def compact_number(value: Decimal | int) -> str:
    """77,736,083.58 → "77.7M": three significant digits and k, M, B (T
    beyond); 999,950 → "1.00M" (rounding moves it up a unit); below 1 two
    decimals."""
    value = Decimal(value)
    sign, size = ("-" if value < 0 else ""), abs(value)
    if size < 1:
        return f"{sign}{size:.2f}" if size else "0"
    unit = max(i for i, (step, _suffix) in enumerate(_UNITS) if size >= step)
    shown = _three_digits(size / _UNITS[unit][0])
    if shown >= 1000 and unit + 1 < len(_UNITS):
        unit += 1
        shown = _three_digits(size / _UNITS[unit][0])
    return f"{sign}{shown:,}{_UNITS[unit][1]}"


def compact_money(value: Decimal, currency: str) -> str:
    return f"{compact_number(value)} {currency}"


def money_text(value: Decimal, currency: str) -> str:
    return f"{money(value, symbol=False)} {currency}"


@dataclass(frozen=True)
class Figure:
    """A KPI as a tile shows it: `number` (and `unit`) on screen; when it is
    compact, `exact` is the whole figure for a title and screen readers."""
    number: str  # "77.7M", "1,234.50", "42"
    unit: str  # the currency, or "" for a count
    exact: str  # "77,736,083.58 USD"
    compact: bool


def kpi_figure(value: Decimal | int, currency: str | None = None) -> Figure:
    """A tile's figure: money when `currency` is given, else a count."""
    if currency is not None:
        exact = money_text(Decimal(value), currency)
        if abs(value) < EXACT_MONEY_BELOW:
            return Figure(money(Decimal(value), symbol=False), currency, exact, False)
        return Figure(compact_number(value), currency, exact, True)
    exact = f"{value:,}"
    if abs(value) < EXACT_COUNT_BELOW:
        return Figure(exact, "", exact, False)
    return Figure(compact_number(value), "", exact, True)


# --- words ---------------------------------------------------------------------------

def day_words(day: dt.date, with_year: bool = False) -> str:
    return f"{day:%b} {day.day}, {day.year}" if with_year else f"{day:%b} {day.day}"


def span_words(start: dt.date, end: dt.date, today: dt.date | None = None) -> str:
    """"Nov 1 – Nov 30"; years are named when the range crosses one or is not
    this year's ("Dec 2, 2024 – Jan 30, 2025")."""
    with_year = start.year != end.year or (today is not None and end.year != today.year)
    if start == end:
        return day_words(start, with_year)
    return f"{day_words(start, with_year)} – {day_words(end, with_year)}"


def days_words(start: dt.date, end: dt.date) -> str:
    """A short run of days: "Sep 9–13", "Aug 30 – Sep 5", "Mar 31"."""
    if start == end:
        return day_words(start)
    if (start.year, start.month) == (end.year, end.month):
        return f"{start:%b} {start.day}–{end.day}"
    return f"{day_words(start)} – {day_words(end)}"


def change_words(change: Change, previous_from: dt.date, previous_to: dt.date,
                 before: str = "") -> tuple[str, str]:
    """(arrow, words) for a KPI's change against the previous period; `before`
    is the earlier figure as shown, named when the change is not meaningful."""
    span = span_words(previous_from, previous_to)
    if change.kind == Change.NONE:
        return "", "no earlier data"
    if change.kind == Change.NEW:
        return "▲", f"new: none on {span}"
    if change.kind == Change.NOT_MEANINGFUL:
        was = f" ({before})" if before else ""
        return "", f"n/m (not meaningful): {span} was almost empty{was}"
    percent = change.percent
    if percent > 0:
        return "▲", f"up {percent} % on {span}"
    if percent < 0:
        return "▼", f"down {-percent} % on {span}"
    return "", f"no change on {span}"


def chart_title(overview: Overview) -> str:
    return f"Revenue per {GRAIN_WORDS[overview.grain]}"


def period_name(grain: str, start: dt.date) -> str:
    """A whole period as words: "Nov 12", "week of Nov 3", "Nov 2026"."""
    if grain == Grain.WEEK:
        return f"week of {day_words(start)}"
    if grain == Grain.MONTH:
        return f"{start:%b %Y}"
    return day_words(start)


def period_words(overview: Overview, period: Period) -> str:
    """A period as words, saying when it is partial: "week of Nov 3",
    "Sep 9–13 (partial week)", "Mar 31 (partial: today, not over yet)"."""
    grain = overview.grain
    if not period.partial:
        return period_name(grain, period.start)
    if period.cut:
        late = ", not over yet" if period.unfinished else ""
        return f"{days_words(period.start, period.last)} (partial {GRAIN_WORDS[grain]}{late})"
    holds_today = overview.today is not None and period.start <= overview.today <= period.last
    when = "today, not over yet" if holds_today and grain == Grain.DAY else "not over yet"
    return f"{period_name(grain, period.start)} (partial: {when})"


def partial_note(overview: Overview, most: int = 3) -> str:
    """What the lighter bars are, in a sentence ("" when none is partial)."""
    partial = overview.partial_periods
    if not partial:
        return ""
    named = [period_words(overview, p) for p in partial[:most]]
    more = len(partial) - len(named)
    if more:
        named.append(f"{more} more")
    return "Lighter, outlined bars are partial: " + "; ".join(named) + "."


def average_words(overview: Overview) -> str:
    """"Average per full week: 1,234.00 USD (2 partial weeks left out)", or
    that no period is whole, so there is no average."""
    word = GRAIN_WORDS[overview.grain]
    average = overview.average_per_full_period()
    if average is None:
        return f"No full {word} in this range yet, so no average per {word}."
    text = f"Average per full {word}: {money_text(average, overview.currency)}"
    left_out = len(overview.partial_periods)
    if left_out:
        text += f" ({left_out} partial {word}{'s' if left_out != 1 else ''} left out)"
    return text + "."


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


def label_tiers(count: int, label_px: float) -> dict[int, str]:
    """x position → the class of the narrowest tier it is labelled in ("" for
    every width). The widest tier labels every n-th position, n as small as
    fits; each narrower one a multiple of its wider neighbour's step, as small
    as fits, so a wider chart adds labels between, never moves them."""
    steps = []
    step = 1
    for width, _name in reversed(LABEL_TIERS):
        room = max(1, int(width // label_px))
        want = max(1, math.ceil(count / room))
        step = step * math.ceil(want / step)
        steps.append(step)
    tiers: dict[int, str] = {}
    for (_width, name), step in zip(LABEL_TIERS, reversed(steps), strict=True):
        for i in range(0, count, step):
            tiers.setdefault(i, name)
    return tiers


def text_width(text: str, font: float = FONT) -> float:
    char = font * 0.6
    return sum(char * (2 if unicodedata.east_asian_width(c) in "WF" else 1) for c in text)


def clip(text: str, width: float) -> str:
    """`text` cut with an ellipsis to fit `width` px (the table has it whole)."""
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


def _pc(value: float) -> str:
    """A percentage of the chart's width, as an SVG length."""
    return f"{value:.3f}".rstrip("0").rstrip(".") + "%"


# --- the charts ----------------------------------------------------------------------

def _svg(chart_id: str, height: float, title: str, desc: str, body: list[str]) -> Markup:
    # no viewBox: one user unit is one CSS pixel (see the module's docstring)
    return Markup(
        f'<svg id="{escape(chart_id)}" class="chart" width="100%" height="{_n(height)}" '
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
    title += (f": highest {period_words(overview, best)} with "
              f"{money_text(best.revenue, overview.currency)}; total {total}")
    empty = sum(1 for p in overview.periods if p.revenue <= 0)
    desc = (f"{len(overview.periods)} bars, one per {GRAIN_WORDS[overview.grain]}"
            + (f"; {empty} without revenue" if empty else "") + ". "
            + average_words(overview))
    note = partial_note(overview, most=len(overview.periods))
    return title, desc + (f" {note}" if note else "")


def _anchored(i: int, count: int, slot: float, text: str, font: float = FONT) -> str:
    """x and text-anchor of `text` under or over slot `i` of `count` (slot:
    its width in percent): centred on the slot, but the first and last start
    or end at the chart's edge (a pixel in, for the glyphs' ink) when centred
    they would stick out of a phone-wide chart."""
    half_slot = PHONE_PX * slot / 100 / 2
    if text_width(text, font) / 2 > half_slot - 1:
        if i == 0:
            return f'x="{_pc(i * slot)}" dx="1" text-anchor="start"'
        if i == count - 1:
            return f'x="{_pc((i + 1) * slot)}" dx="-1" text-anchor="end"'
    return f'x="{_pc((i + 0.5) * slot)}" text-anchor="middle"'


def revenue_chart(overview: Overview, chart_id: str = "chart-revenue") -> Markup:
    """Vertical bars, one per period, on a y axis of round money values; a
    partial period's bar is lighter and outlined, "partial" in its title."""
    periods = overview.periods
    top, plot_h, below = 18.0, 180.0, 26.0
    height = top + plot_h + below
    base = top + plot_h
    peak = max((p.revenue for p in periods), default=Decimal(0))
    ticks = nice_ticks(peak)
    scale = float(ticks[-1])
    count = max(1, len(periods))
    slot = 100 / count
    fraction = 0.75 if count > 3 else 0.4  # one or two bars stay bars, not a wall
    body = []
    for tick in ticks:
        y = base - float(tick) / scale * plot_h
        body.append(f'<line class="grid" x1="0" x2="100%" y1="{_n(y)}" y2="{_n(y)}" '
                    f'stroke="{GRID}" stroke-width="1"/>')
    # values over the bars when every one fits its slot on a phone; else the peak only
    all_values = len(periods) <= 7
    labels = []
    for i, period in enumerate(periods):
        words = (f"{period_words(overview, period)}: "
                 f"{money_text(period.revenue, overview.currency)}")
        if period.revenue > 0:
            h = float(period.revenue) / scale * plot_h
            x = (i + (1 - fraction) / 2) * slot
            if period.partial:
                look = (f'class="bar partial" fill="{PARTIAL_FILL}" stroke="{BAR_FILL}" '
                        f'stroke-width="1" stroke-dasharray="3 2"')
            else:
                look = f'class="bar" fill="{BAR_FILL}"'
            body.append(f'<rect {look} x="{_pc(x)}" y="{_n(base - h)}" '
                        f'width="{_pc(slot * fraction)}" height="{h:.2f}">'
                        f'<title>{escape(words)}</title></rect>')
            if all_values or period.revenue == peak:
                text = compact_number(period.revenue)
                at = _anchored(i, len(periods), slot, text, SMALL)
                labels.append(f'<text class="value" {at} y="{_n(base - h - 4)}" '
                              f'font-size="{SMALL}">{escape(text)}</text>')
    body.append(f'<line class="axis" x1="0" x2="100%" y1="{_n(base)}" y2="{_n(base)}" '
                f'stroke="{INK}" stroke-width="1"/>')
    # tick labels above their grid lines at the left edge (no margin kept for
    # them), over a halo where they stand on a bar; the top one names the currency
    for n, tick in enumerate(ticks):
        y = base - float(tick) / scale * plot_h
        text = tick_text(tick) + (f" {overview.currency}" if n == len(ticks) - 1 else "")
        body.append(f'<text class="tick" x="2" y="{_n(y - 4)}" font-size="{SMALL}" '
                    f'stroke="{HALO}" stroke-width="3" stroke-linejoin="round" '
                    f'paint-order="stroke">{escape(text)}</text>')
    body.extend(labels)
    label_px = text_width("Nov 2026" if overview.grain == Grain.MONTH else "Nov 30") + 14
    for i, tier in sorted(label_tiers(len(periods), label_px).items()):
        classes = "x-label" + (f" {tier}" if tier else "")
        partial = " partial" if periods[i].partial else ""
        text = periods[i].label
        body.append(f'<text class="{classes}{partial}" {_anchored(i, len(periods), slot, text)} '
                    f'y="{_n(base + 17)}">{escape(text)}</text>')
    if peak <= 0:
        body.append(f'<text x="50%" y="{_n(top + plot_h / 2)}" '
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


# A ranked row: its name on a line, under it the bar (as long as its share of
# the largest, of the chart's whole width) with its value, compact: at the
# bar's end inside it when the bar is at least half the width, else just past
# it. Either way the value stays inside the chart down to PHONE_PX: a label
# ("-999M USD", ~66 px) fits inside half of 260 px and past the end of a bar
# shorter than half of it.
ROW_PITCH, NAME_BASE, BAR_TOP, BAR_H = 38.0, 13.0, 18.0, 16.0
INSIDE_FROM = 0.5


def ranked_chart(rows: Sequence[Ranked], *, what: str, span: str, currency: str,
                 chart_id: str) -> Markup:
    """Horizontal bars, largest first: a name, its bar, its revenue."""
    pad = 4.0
    height = pad * 2 + ROW_PITCH * max(1, len(rows))
    peak = max((r.revenue for r in rows), default=Decimal(0))
    body = []
    for i, row in enumerate(rows):
        y = pad + i * ROW_PITCH
        share = float(row.revenue) / float(peak) if peak > 0 and row.revenue > 0 else 0.0
        body.append(f'<text class="name" x="1" y="{_n(y + NAME_BASE)}">'  # ink inside
                    f'{escape(clip(row.name, PHONE_PX))}</text>')
        if share > 0:
            body.append(f'<rect class="bar" x="0" y="{_n(y + BAR_TOP)}" width="{_pc(share * 100)}" '
                        f'height="{_n(BAR_H)}" fill="{BAR_FILL}">'
                        f'<title>{escape(row.name)}: '
                        f'{escape(money_text(row.revenue, currency))}</title></rect>')
        value = escape(compact_money(row.revenue, currency))
        base = _n(y + BAR_TOP + BAR_H - 4)
        if share >= INSIDE_FROM:
            body.append(f'<text class="value inside" x="{_pc(share * 100)}" dx="-6" y="{base}" '
                        f'text-anchor="end" font-size="{SMALL}" fill="#fff">{value}</text>')
        else:
            body.append(f'<text class="value" x="{_pc(share * 100)}" dx="6" y="{base}" '
                        f'font-size="{SMALL}">{value}</text>')
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
