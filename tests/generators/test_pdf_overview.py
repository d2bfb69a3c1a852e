"""PDF overview (summaries) and time zones: a hand-built Overview and rows in,
the file read back with ``pdftotext -layout`` and pdfplumber (text, and the
chart's vector rectangles)."""
from __future__ import annotations

import dataclasses
import datetime as dt
import re
import shutil
import subprocess
from decimal import Decimal

import pdfplumber
import pytest
from pypdf import PdfReader

from tasks.generators import ReportMeta, Row
from tasks.generators.pdf import EMPTY_MESSAGE, NO_ORDERS_MESSAGE, write_pdf
from tasks.generators.pdf.fonts import PT_PER_MM
from tasks.generators.pdf.overview import TAX_ROWS_BESIDE_CHART, ticks
from webapp.enums import ReportKind
from webapp.reports.overview import Grain, Kpis, Overview, Period, Ranked, TaxRow

BAR_GREY = 0.4  # the chart's bars (BAR_FILL)
PARTIAL_GREY = 0.75  # a partial period's bar (PARTIAL_FILL)
RANK_GREY = 0.6  # the top lists' bars (RANK_FILL)
START = dt.date(2026, 11, 1)
LONG_NAME = "Umbrella Holdings International Trading Company Limited of Somewhere Far"
CUSTOMERS = ["ACME Corporation", "日本茶センター", "Ελληνικά Τρόφιμα", LONG_NAME, "Globex",
             "Initech", "Café crème SARL", "Hooli", "Stark Industries", "Wayne Enterprises"]
HEADER = "Number Date Customer Status Product Qty Unit price Disc. % Net Tax % Tax Gross"
KPI_LABELS = ("Orders", "Line items", "Units", "Revenue (gross)", "Revenue (net)", "Tax",
              "Discounts", "Shipping (net)", "Avg. order value")


def day_revenue(d: int) -> Decimal:
    """Revenue of day ``d``: every 7th day (from the 4th) has none."""
    if d % 7 == 3:
        return Decimal("0.00")
    return Decimal(100 * (d % 10 + 1)) + Decimal("0.50")


def periods(days: int, start: dt.date = START) -> list[Period]:
    out = []
    for d in range(days):
        day = start + dt.timedelta(days=d)
        revenue = day_revenue(d)
        out.append(Period(day, f"{day:%b} {day.day}", revenue, 3 if revenue else 0))
    return out


def tax_rows(revenue: Decimal, rates=("7", "19")) -> list[TaxRow]:
    """The gross revenue split evenly over the rates (the last one takes the rest)."""
    out, left = [], revenue
    for i, rate in enumerate(rates):
        gross = left if i == len(rates) - 1 else (revenue / len(rates)).quantize(Decimal("0.01"))
        left -= gross
        net = (gross * 100 / (100 + Decimal(rate))).quantize(Decimal("0.01"))
        out.append(TaxRow(Decimal(rate), net, gross - net, gross))
    return out


def kpis(revenue: Decimal, rows: list[TaxRow], **kw) -> Kpis:
    net = sum((r.net for r in rows), Decimal("0.00"))
    return Kpis(revenue=revenue, net=net, tax=revenue - net, **kw)


def make_overview(days: int = 30, **kw) -> Overview:
    ps = kw.pop("periods", None) or periods(days)
    revenue = sum((p.revenue for p in ps), Decimal("0.00"))
    taxes = kw.pop("tax_rows", None)
    taxes = tax_rows(revenue) if taxes is None else taxes
    customers = [Ranked(f"Customer {i:03d}", Decimal(900 - i), 2, 4) for i in range(40)]
    values = dict(
        title="Completed orders",
        scope=["Status: completed"],
        date_from=ps[0].start if ps else START,
        date_to=ps[-1].start if ps else START,
        timezone="Europe/Berlin",
        currency="USD",
        kpis=kpis(revenue, taxes, orders=45, items=120, units=300,
                  discount=Decimal("321.00"), shipping=Decimal("98.70")),
        previous=Kpis(orders=40, items=0, units=400, revenue=revenue * 2, net=revenue,
                      tax=revenue, discount=Decimal("642.00"), shipping=Decimal("0.00")),
        previous_from=dt.date(2026, 10, 2),
        previous_to=dt.date(2026, 10, 31),
        grain=Grain.DAY,
        periods=ps,
        top_customers=[Ranked(name, Decimal(5000 - 400 * i) + Decimal("0.25"), 10 - i, 20 - i)
                       for i, name in enumerate(CUSTOMERS)],
        top_products=[Ranked(f"Product {i} \u2013 blue", Decimal(3000 - 250 * i), 9 - i // 2,
                             15 - i) for i in range(10)],
        customers=customers,
        customers_total=45,
        tax_rows=taxes,
    )
    values.update(kw)
    return Overview(**values)


def meta(overview: Overview | None = None, **kw) -> ReportMeta:
    kw.setdefault("kind", ReportKind.SUMMARY)
    kw.setdefault("title", "Completed orders")
    kw.setdefault("scope", ["Status: completed", "From 2026-11-01 to 2026-11-30"])
    kw.setdefault("generated_at", dt.datetime(2026, 11, 28, 9, 30, tzinfo=dt.UTC))
    kw.setdefault("timezone", "Europe/Berlin")
    return ReportMeta(overview=overview, **kw)


def item(order_id: int, product: str, day: dt.date = dt.date(2026, 11, 3),
         customer: str = "ACME", price: str = "10.00", qty: int = 2) -> Row:
    """A line at 19 % tax, no discount."""
    net = Decimal(price) * qty
    tax = (net * Decimal("0.19")).quantize(Decimal("0.01"))
    return Row(order_id, f"SO-{order_id:06d}", day, customer, "completed", product, qty,
               Decimal(price), Decimal(0), Decimal("0.00"), net, Decimal(19), tax, net + tax)


def rows(n: int = 12) -> list[Row]:
    return [item(i // 3 + 1, f"Item {i}") for i in range(n)]


def pdftotext(path, page: int | None = None) -> str:
    # Missing poppler-utils must fail the run, not skip: .ci/run installs it.
    exe = shutil.which("pdftotext")
    assert exe, "pdftotext not found: install poppler-utils"
    pages = ["-f", str(page), "-l", str(page)] if page else []
    done = subprocess.run([exe, "-layout", *pages, str(path), "-"], capture_output=True,
                          text=True, check=True, timeout=60)
    return done.stdout


def squash(text: str) -> str:
    return re.sub(r"\s+", " ", text)


def grey(obj) -> float | None:
    colour = obj["non_stroking_color"]
    if isinstance(colour, list | tuple):
        assert len(colour) == 1, f"not a grey: {colour}"
        colour = colour[0]
    return colour


def rects_of(page, shade: float) -> list[dict]:
    found = [r for r in page.rects if r["fill"] and grey(r) == pytest.approx(shade, abs=1e-3)]
    return sorted(found, key=lambda r: r["x0"])


def write(tmp_path, overview=None, items=None, **kw):
    path = tmp_path / "r.pdf"
    write_pdf(rows() if items is None else items, meta(overview, **kw), path)
    return path


# -- page 1: header and key figures --------------------------------------------------

def test_page_one_holds_header_zone_and_every_key_figure_with_its_change(tmp_path):
    ov = make_overview()
    path = write(tmp_path, ov)

    text = pdftotext(path, 1)
    flat = squash(text)
    assert "Completed orders" in text
    assert "Status: completed" in text
    assert "Times in Europe/Berlin" in text
    assert "Generated 2026-11-28 10:30 Europe/Berlin" in text
    assert ("Amounts in USD \u00b7 2026-11-01 \u2013 2026-11-30 vs "
            "2026-10-02 \u2013 2026-10-31") in text
    for label in KPI_LABELS:
        assert label in text
    k = ov.kpis
    for value in ("45", "120", "300", *(f"{v:,.2f}" for v in (
            k.revenue, k.net, k.tax, k.discount, k.shipping, k.average_order_value))):
        assert re.search(rf"(^|\s){re.escape(value)}(\s|$)", text), value
    assert "Change: +12.5 %" in flat  # orders 45 vs 40
    assert "Change: new" in flat  # items: none before, no percentage; shipping too
    assert "Change: n/a" not in flat and "n/m" not in flat
    assert "Change: -25.0 %" in flat  # units 300 vs 400
    assert "Change: -50.0 %" in flat  # revenue: half of before; discounts too
    for name in ("net", "tax", "average_order_value"):
        assert f"Change: {ov.change(name):+} %" in flat, name
    assert "Previous: 40" in flat
    assert f"Previous: {k.revenue * 2:,.2f}" in flat
    assert "Previous: 642.00" in flat
    assert f"Previous: {ov.previous.average_order_value:,.2f}" in flat


def test_page_one_has_the_chart_title_axes_and_top_lists(tmp_path):
    path = write(tmp_path, make_overview())

    text = pdftotext(path, 1)
    assert "Revenue per day (USD)" in text
    assert "Revenue (USD)" in text  # y axis title
    assert re.search(r"^\s*Day\s*$", text, re.M)  # x axis title
    # Peak 1,000.50: round ticks of 250 up to 1,250, money formatted.
    for tick in ("0", "250", "500", "750", "1,000", "1,250"):
        assert re.search(rf"^\s*{tick}\s", text, re.M), tick
    assert "Nov 1" in text
    assert "Highest: Nov 10, 1,000.50 USD" in text
    average = sum(p.revenue for p in periods(30)) / 30  # no period is partial here
    assert f"Average per full day: {average:,.2f} USD" in text
    assert "partial" not in text
    assert "Top 10 customers by revenue" in text
    assert "Top 10 products by revenue" in text
    for name in CUSTOMERS[:3]:
        assert name in text
    assert "5,000.25" in text
    assert "Product 0 \u2013 blue" in text
    assert HEADER not in squash(text)  # the line items come later


def test_bar_chart_is_one_vector_rect_per_nonzero_period_proportional_to_revenue(tmp_path):
    ov = make_overview()
    path = write(tmp_path, ov)

    with pdfplumber.open(path) as pdf:
        page = pdf.pages[0]
        bars = rects_of(page, BAR_GREY)
        assert page.images == []
    nonzero = [p.revenue for p in ov.periods if p.revenue > 0]
    assert len(nonzero) < len(ov.periods)  # some days have no bar
    assert len(bars) == len(nonzero)
    assert len({round(b["bottom"], 1) for b in bars}) == 1  # all stand on the x axis
    per_unit = bars[0]["height"] / float(nonzero[0])
    for bar, revenue in zip(bars, nonzero, strict=True):
        assert bar["height"] == pytest.approx(float(revenue) * per_unit, rel=0.01, abs=0.05)
    widths = {round(b["width"], 1) for b in bars}
    assert len(widths) == 1
    xs = [b["x0"] for b in bars]
    assert xs == sorted(xs)


def test_bars_are_labelled_with_their_value_when_there_is_room(tmp_path):
    ps = periods(7)
    path = write(tmp_path, make_overview(periods=ps))

    with pdfplumber.open(path) as pdf:
        page = pdf.pages[0]
        bars = rects_of(page, BAR_GREY)
        words = page.extract_words()
    values = [p.revenue for p in ps if p.revenue > 0]
    assert len(bars) == len(values)
    for bar, value in zip(bars, values, strict=True):
        label = [w for w in words if w["text"] == f"{value:,.2f}"
                 and w["bottom"] <= bar["top"] + 0.5 and w["bottom"] > bar["top"] - 6]
        assert len(label) == 1, value
        middle = (label[0]["x0"] + label[0]["x1"]) / 2
        assert middle == pytest.approx((bar["x0"] + bar["x1"]) / 2, abs=1.0)


def test_chart_draws_only_greys_and_no_images(tmp_path):
    path = write(tmp_path, make_overview())

    data = PdfReader(path).pages[0].get_contents().get_data()
    ops = re.sub(rb"\((?:\\.|[^\\)])*\)", b"()", data)  # drop string literals
    assert re.search(rb"\bre f\b", ops)
    colour_ops = re.findall(rb"(?<![\w/])(g|G|rg|RG|k|K|sc|SC|scn|SCN|cs|CS)(?![\w])", ops)
    assert colour_ops
    assert set(colour_ops) <= {b"g", b"G"}
    # Every grey set before a fill is a plain level between black and white.
    for level in re.findall(rb"([\d.]+) g\b", ops):
        assert 0 <= float(level) <= 1
    assert b"/Subtype /Image" not in path.read_bytes()
    assert b"/XObject" not in path.read_bytes()


# -- top lists and totals per customer -------------------------------------------------

def test_top_lists_have_a_bar_per_row_proportional_to_revenue_and_any_script(tmp_path):
    ov = make_overview()
    path = write(tmp_path, ov)

    text = pdftotext(path, 1)
    assert "日本茶センター" in text
    assert "Ελληνικά Τρόφιμα" in text
    assert "Umbrella Holdings" in text
    assert LONG_NAME not in text
    assert "\u2026" in text  # the long name is cut, not run into the next column
    with pdfplumber.open(path) as pdf:
        page = pdf.pages[0]
        bars = rects_of(page, RANK_GREY)
        fonts = {c["fontname"] for c in page.chars if c["text"] in "日本茶"}
    assert fonts and all("DroidSansFallback" in f for f in fonts)
    assert len(bars) == len(ov.top_customers) + len(ov.top_products)
    middle = min(b["x0"] for b in bars) + 200
    for ranked, side in ((ov.top_customers, [b for b in bars if b["x0"] < middle]),
                         (ov.top_products, [b for b in bars if b["x0"] >= middle])):
        side.sort(key=lambda b: b["top"])
        assert len(side) == len(ranked)
        full = side[0]["width"]
        for bar, r in zip(side, ranked, strict=True):
            share = float(r.revenue / ranked[0].revenue)
            assert bar["width"] == pytest.approx(full * share, abs=0.05)


def test_totals_per_customer_follow_and_say_how_many_more_there_are(tmp_path):
    ov = make_overview()
    path = write(tmp_path, ov)

    text = squash(pdftotext(path))
    assert "Totals per customer" in text
    assert "45 customers" in text
    assert "Customer 000 2 4 900.00" in text
    assert "Customer 039 2 4 861.00" in text
    assert "\u2026 and 5 more customers" in text


def test_totals_per_customer_run_over_pages_repeating_their_header(tmp_path):
    customers = [Ranked(f"Customer {i:03d}", Decimal(900 - i), 1, 1) for i in range(200)]
    path = write(tmp_path, make_overview(customers=customers, customers_total=200))

    texts = [squash(pdftotext(path, n)) for n in range(1, len(PdfReader(path).pages) + 1)]
    listed = [i for i, t in enumerate(texts) if "Customer 1" in t or "Customer 0" in t]
    assert len(listed) >= 3
    for i in listed:
        assert "Share of revenue" in texts[i]
    found = re.findall(r"Customer (\d{3}) ", " ".join(texts))
    assert [int(n) for n in found] == list(range(200))
    assert "more customers" not in " ".join(texts)


# -- pages ------------------------------------------------------------------------------

def test_line_items_start_on_a_later_page_and_the_footer_counts_every_page(tmp_path):
    path = write(tmp_path, make_overview(), items=rows(30))

    reader = PdfReader(path)
    n = len(reader.pages)
    texts = [pdftotext(path, i) for i in range(1, n + 1)]
    assert n >= 3
    for number, text in enumerate(texts, start=1):
        assert f"Page {number} of {n}" in text
    first_items = next(i for i, t in enumerate(texts) if "Line items" in t and "Item 0" in t)
    assert first_items >= 1
    assert HEADER in squash(texts[first_items])
    assert all("Item " not in t for t in texts[:first_items])
    assert "Key figures" not in squash(" ".join(texts[1:]))
    assert "Net: 600.00 USD Tax: 114.00 USD Grand total: 714.00 USD" in squash(texts[-1])


def test_without_an_overview_the_table_starts_on_page_one(tmp_path):
    path = write(tmp_path, None)

    text = squash(pdftotext(path, 1))
    assert HEADER in text
    assert "Key figures" not in text
    assert "Times in Europe/Berlin" in text
    with pdfplumber.open(path) as pdf:
        assert rects_of(pdf.pages[0], BAR_GREY) == []


def test_empty_overview_says_so_instead_of_drawing_an_empty_chart(tmp_path):
    ps = [Period(START + dt.timedelta(days=d), f"Nov {d + 1}", Decimal("0.00"), 0)
          for d in range(30)]
    ov = make_overview(periods=ps, kpis=Kpis(), previous=Kpis(), top_customers=[],
                       top_products=[], customers=[], customers_total=0, tax_rows=[])
    path = write(tmp_path, ov, items=[])

    text = pdftotext(path)
    flat = squash(text)
    assert len(PdfReader(path).pages) == 1
    assert NO_ORDERS_MESSAGE == "No completed orders in this range"
    assert NO_ORDERS_MESSAGE in text
    assert EMPTY_MESSAGE in text
    assert "Change: n/a" in flat
    assert "Avg. order value" in text
    assert "Tax by rate" in text
    assert "None in this range" in text
    assert "Page 1 of 1" in text
    with pdfplumber.open(path) as pdf:
        assert rects_of(pdf.pages[0], BAR_GREY) == []
        assert rects_of(pdf.pages[0], RANK_GREY) == []


def test_overview_without_periods_or_with_a_previous_period_of_nothing_does_not_crash(tmp_path):
    ov = make_overview(periods=[], kpis=Kpis(), previous=Kpis(orders=3, revenue=Decimal("9.99")),
                       top_customers=[], top_products=[], customers=[], customers_total=0,
                       tax_rows=[])
    path = write(tmp_path, ov)

    flat = squash(pdftotext(path))
    assert NO_ORDERS_MESSAGE in flat
    assert "Change: -100.0 %" in flat
    assert "Item 0" in flat


def test_ninety_days_thin_the_x_labels_so_they_never_overlap(tmp_path):
    start = dt.date(2026, 10, 1)
    ps = periods(90, start)
    path = write(tmp_path, make_overview(periods=ps))

    labels = {p.label for p in ps}
    with pdfplumber.open(path) as pdf:
        page = pdf.pages[0]
        words = page.extract_words(keep_blank_chars=True)
        bars = rects_of(page, BAR_GREY)
    axis_bottom = bars[0]["bottom"]
    found = sorted((w for w in words if w["text"] in labels and w["top"] > axis_bottom),
                   key=lambda w: w["x0"])
    assert 6 <= len(found) <= 16
    assert found[0]["text"] == "Oct 1"
    assert len({round(w["top"], 1) for w in found}) == 1  # one line
    for left, right in zip(found, found[1:], strict=False):
        assert right["x0"] - left["x1"] > 2  # points of white space between labels
    # Evenly thinned: the same number of days between labels.
    indexes = [[p.label for p in ps].index(w["text"]) for w in found]
    assert len({b - a for a, b in zip(indexes, indexes[1:], strict=False)}) == 1
    assert len(bars) == sum(1 for p in ps if p.revenue > 0)


def test_week_and_month_grains_name_their_axis_and_a_lone_bar_stays_narrow(tmp_path):
    weeks = [Period(START + dt.timedelta(weeks=w), f"Nov {1 + 7 * w}", Decimal(1000 + w), 5)
             for w in range(4)]
    path = write(tmp_path, make_overview(periods=weeks, grain=Grain.WEEK))
    text = pdftotext(path, 1)
    assert "Revenue per week (USD)" in text
    assert "Week (starting Monday)" in text

    months = [Period(START, "Nov 2026", Decimal("123456.78"), 40)]
    path = write(tmp_path, make_overview(periods=months, grain=Grain.MONTH))
    text = pdftotext(path, 1)
    assert "Revenue per month (USD)" in text
    assert "Nov 2026" in text
    assert "123,456.78" in text
    with pdfplumber.open(path) as pdf:
        (bar,) = rects_of(pdf.pages[0], BAR_GREY)
    assert bar["width"] <= 18 * PT_PER_MM + 0.1


def test_axis_ticks_are_round_and_cover_the_peak():
    assert ticks(Decimal("1000.50")) == [Decimal(v) for v in (0, 250, 500, 750, 1000, 1250)]
    assert ticks(Decimal("87")) == [Decimal(v) for v in range(0, 101, 20)]
    assert ticks(Decimal("0.03"))[-1] >= Decimal("0.03")
    assert ticks(Decimal("0"))[-1] > 0  # never a zero scale to divide by
    assert ticks(Decimal("123456789.12"))[-1] >= Decimal("123456789.12")
    assert len(ticks(Decimal("123456789.12"))) <= 11


# -- tax by rate and the one-page overview ---------------------------------------------

EIGHT_RATES = ("0", "2.1", "5.5", "7", "8.125", "10", "19", "20")


def test_tax_by_rate_stands_beside_the_chart_with_a_row_per_rate_and_a_total(tmp_path):
    taxes = [TaxRow(Decimal("0"), Decimal("100.00"), Decimal("0.00"), Decimal("100.00")),
             TaxRow(Decimal("5.5"), Decimal("200.00"), Decimal("11.00"), Decimal("211.00")),
             TaxRow(Decimal("19"), Decimal("12345.67"), Decimal("2345.68"),
                    Decimal("14691.35"))]
    path = write(tmp_path, make_overview(tax_rows=taxes))

    text = pdftotext(path, 1)
    flat = squash(text)
    assert "Tax by rate (USD)" in flat
    assert "Rate % Net Tax Gross" in flat
    assert "0 100.00 0.00 100.00" in flat
    assert "5.5 200.00 11.00 211.00" in flat
    assert "19 12,345.67 2,345.68 14,691.35" in flat
    assert "Total 12,645.67 2,356.68 15,002.35" in flat  # the rows' sums
    with pdfplumber.open(path) as pdf:
        page = pdf.pages[0]
        words = page.extract_words()
        bars = rects_of(page, BAR_GREY)
    table_left = min(w["x0"] for w in words if w["text"] in {"Rate", "12,345.67"})
    assert max(b["x1"] for b in bars) < table_left - 5  # the chart makes room for it
    rate_top = next(w for w in words if w["text"] == "Rate")["top"]
    plot_bottom = max(b["bottom"] for b in bars)
    assert rate_top < plot_bottom  # beside the chart, not under it


@pytest.mark.parametrize("rates", [EIGHT_RATES, tuple(str(r) for r in
                                                     range(TAX_ROWS_BESIDE_CHART))])
def test_the_overview_stays_one_page_with_many_rates_and_long_names(tmp_path, rates):
    long_product = "Premium loose-leaf green tea from a very long named estate, 500 g tin"
    customers = [Ranked(f"{LONG_NAME} {i}", Decimal(5000 - i), 3, 3) for i in range(10)]
    products = [Ranked(f"{long_product} {i}", Decimal(3000 - i), 3, 3) for i in range(10)]
    ov = make_overview(tax_rows=tax_rows(Decimal("98765.43"), rates), top_customers=customers,
                       top_products=products)
    meta_lines = ["Completed orders from 2026-11-01 to 2026-11-30 (Europe/Berlin dates)",
                  f"Customer: {LONG_NAME}"]
    path = write(tmp_path, ov, scope=meta_lines)

    first = squash(pdftotext(path, 1))
    for text in ("Key figures", *KPI_LABELS, "Revenue per day (USD)", "Tax by rate",
                 "Top 10 customers by revenue", "Top 10 products by revenue"):
        assert text in first, text
    for r in ov.tax_rows:
        assert f"{r.rate} {r.net:,.2f} {r.tax:,.2f} {r.gross:,.2f}" in first, r.rate
    assert "Total " in first
    assert "10 Umbrella Holdings" in first and "10 Premium loose-leaf" in first  # last rows
    later = squash(" ".join(pdftotext(path, n) for n in range(2, len(PdfReader(path).pages) + 1)))
    for text in ("Key figures", "Tax by rate", "Top 10", "Revenue per day"):
        assert text not in later, text
    assert "Totals per customer" in later  # the one section that may run on
    with pdfplumber.open(path) as pdf:
        page = pdf.pages[0]
        footer = next(w for w in page.extract_words() if w["text"] == "Page")
        body = [w for w in page.extract_words() if w["top"] < footer["top"] - 1]
        # nothing runs into the footer, nor off the right edge
        assert max(w["bottom"] for w in body) < footer["top"] - 3
        assert max(w["x1"] for w in body) <= page.width - 10 * PT_PER_MM + 0.5


def test_key_figures_too_large_for_their_boxes_are_set_smaller_not_cut(tmp_path):
    big = Decimal("123456789012.34")
    ov = make_overview(kpis=Kpis(orders=9876543, items=98765432, units=987654321, revenue=big,
                                 net=big, tax=big, discount=big, shipping=big))
    path = write(tmp_path, ov)

    text = pdftotext(path, 1)
    assert text.count(f"{big:,.2f}") >= 5
    assert "98,765,432" in text and "987,654,321" in text
    with pdfplumber.open(path) as pdf:
        page = pdf.pages[0]
        boxes = sorted((r for r in page.rects if r["fill"] and grey(r) == pytest.approx(0.93)),
                       key=lambda r: r["x0"])
        words = page.extract_words()
    assert len(boxes) == len(KPI_LABELS)
    for box in boxes:
        inside = [w for w in words if box["top"] <= w["top"] and w["bottom"] <= box["bottom"]
                  and w["x0"] >= box["x0"] - 0.5 and w["x0"] < box["x1"]]
        assert inside
        assert max(w["x1"] for w in inside) <= box["x1"] + 0.5


# -- order dates --------------------------------------------------------------------------

@pytest.mark.parametrize("overview", [False, True])
@pytest.mark.parametrize("zone", ["Europe/Berlin", "America/New_York", "UTC"])
def test_order_dates_are_calendar_dates_shown_as_they_are_in_any_zone(tmp_path, overview, zone):
    items = [item(1, "A", dt.date(2026, 3, 29), "Spring"),
             item(2, "B", dt.date(2026, 3, 28), "Eve"),
             item(3, "C", dt.date(2026, 11, 3), "Late"),
             item(4, "D", dt.date(2026, 12, 31), "Noon")]
    path = write(tmp_path, make_overview() if overview else None, items=items, timezone=zone)

    text = squash(pdftotext(path))
    assert "SO-000001 2026-03-29 Spring" in text
    assert "SO-000002 2026-03-28 Eve" in text
    assert "SO-000003 2026-11-03 Late" in text
    assert "SO-000004 2026-12-31 Noon" in text
    assert f"Times in {zone}" in text


def test_the_generation_time_is_shown_in_the_users_zone(tmp_path):
    path = write(tmp_path, None, items=[item(1, "A")], timezone="America/New_York")

    text = squash(pdftotext(path))
    assert "SO-000001 2026-11-03 ACME" in text
    assert "Generated 2026-11-28 04:30 America/New_York" in text
    assert "Times in America/New_York" in text


def test_utc_stays_the_default_zone(tmp_path):
    path = tmp_path / "r.pdf"
    write_pdf([item(1, "A")], ReportMeta(kind=ReportKind.SUMMARY, title="Completed orders",
                                         generated_at=dt.datetime(2026, 11, 28, 9, 30)), path)

    text = squash(pdftotext(path))
    assert "Generated 2026-11-28 09:30 UTC" in text
    assert "Times in UTC" in text
    assert "SO-000001 2026-11-03 ACME" in text


def test_a_long_summary_is_a_strict_pdf_with_every_page_numbered(tmp_path):
    customers = [Ranked(name, Decimal(100), 1, 1) for name in CUSTOMERS * 10]
    path = write(tmp_path, make_overview(customers=customers, customers_total=100),
                 items=rows(300))

    reader = PdfReader(path, strict=True)
    n = len(reader.pages)
    assert n >= 5
    for number, page in enumerate(reader.pages, start=1):
        assert f"Page {number} of {n}" in page.extract_text()


# -- partial periods and near-empty bases ------------------------------------------------

def test_partial_weeks_are_lighter_bars_and_left_out_of_the_average(tmp_path):
    # a range from Wednesday Nov 4 to Tuesday Nov 24: the first and last weeks cut
    starts = [dt.date(2026, 11, 4), dt.date(2026, 11, 9), dt.date(2026, 11, 16),
              dt.date(2026, 11, 23)]
    revenue = [Decimal("300.00"), Decimal("1000.00"), Decimal("2000.00"), Decimal("50.00")]
    weeks = [Period(start, f"Nov {start.day}", amount, 5, cut_start=i == 0, cut_end=i == 3)
             for i, (start, amount) in enumerate(zip(starts, revenue, strict=True))]
    path = write(tmp_path, make_overview(periods=weeks, grain=Grain.WEEK))

    flat = squash(pdftotext(path, 1))
    assert "Average per full week: 1,500.00 USD" in flat  # (1,000 + 2,000) / 2, not 3,350 / 4
    assert "Week (starting Monday) \u00b7 lighter bars: partial week" in flat
    with pdfplumber.open(path) as pdf:
        page = pdf.pages[0]
        full, partial = rects_of(page, BAR_GREY), rects_of(page, PARTIAL_GREY)
    assert len(full) == 2 and len(partial) == 2
    assert partial[0]["x0"] < full[0]["x0"] and full[-1]["x0"] < partial[-1]["x0"]
    per_unit = full[0]["height"] / 1000
    assert partial[0]["height"] == pytest.approx(300 * per_unit, rel=0.01)


def test_with_no_full_period_the_chart_says_so_instead_of_an_average(tmp_path):
    today = [Period(START, "Nov 1", Decimal("120.00"), 2, unfinished=True)]
    path = write(tmp_path, make_overview(periods=today))

    flat = squash(pdftotext(path, 1))
    assert "No full day: no average" in flat and "Average per" not in flat
    with pdfplumber.open(path) as pdf:
        assert len(rects_of(pdf.pages[0], PARTIAL_GREY)) == 1
        assert rects_of(pdf.pages[0], BAR_GREY) == []


def test_a_change_over_a_near_empty_base_reads_n_m_with_what_it_means(tmp_path):
    ov = make_overview()
    ov = dataclasses.replace(ov, previous=dataclasses.replace(
        ov.previous, revenue=Decimal("0.50"), orders=45, units=0))
    path = write(tmp_path, ov)

    flat = squash(pdftotext(path, 1))
    assert "Change: n/m" in flat and "Previous: 0.50" in flat  # revenue: +1,000,000 % and more
    assert "Change: new" in flat  # units: none before
    assert "Change: 0.0 %" in flat  # orders: 45 against 45
    assert "n/m: not meaningful, the previous period was almost empty" in flat
