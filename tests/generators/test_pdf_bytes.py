"""PDF generator output, byte for byte: each case below is written again and
compared with the file stored in pdf_reference/, so a refactoring of the
generator that changes a single byte of a report fails here.

A deliberate change of the output (new layout, new fpdf2, new fonts) rewrites
the references on purpose:

    REGENERATE_PDF_REFERENCE=1 .venv/bin/pytest tests/generators/test_pdf_bytes.py

then look at the new files (a viewer, ``pdftotext -layout``) before committing them.

Two things in a file do not follow from the generator's inputs, so they are
pinned here, not in the generator:

* fpdf2 stamps ``/CreationDate`` with the clock, and ``/ID`` is a hash that
  includes it: both are fixed-width, so :func:`stable` overwrites them with a
  constant of the same length (every other byte, offsets included, is compared);
* the glyph ids of the font subsets follow the order in which the generator
  learns characters, which is the iteration order of a ``set`` of str and so
  depends on the interpreter's hash seed: the files are written by a
  subprocess that runs this module with a fixed ``PYTHONHASHSEED``.

The inputs live here and nowhere else; run ``python <this file> <dir>`` to
write the cases into ``<dir>`` as they are compared.
"""
from __future__ import annotations

import datetime as dt
import os
import re
import subprocess
import sys
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest

from tasks.generators import ReportMeta, Row
from tasks.generators.pdf import write_pdf
from webapp.reports.overview import Grain, Kpis, Overview, Period, Ranked, TaxRow

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = Path(__file__).with_name("pdf_reference")
REGENERATE = os.environ.get("REGENERATE_PDF_REFERENCE") == "1"
HASH_SEED = "0"

GENERATED = dt.datetime(2026, 11, 28, 9, 30, tzinfo=dt.UTC)
DAY = dt.date(2026, 11, 3)
START = dt.date(2026, 11, 1)
CENT = Decimal("0.01")
LONG_NAME = "Umbrella Holdings International Trading Company Limited of Somewhere Far"
NAMES = ["ACME Corporation", "日本茶センター", "Ελληνικά Τρόφιμα", LONG_NAME, "Globex",
         "Initech", "Café crème SARL", "Hooli", "Stark Industries", "Wayne Enterprises"]


def item(order_id: int, customer: str, product: str, qty: int, price: str,
         day: dt.date = DAY, status: str = "completed", discount: str = "0",
         tax: str = "19") -> Row:
    """A line as the order's money rules store it: discount and tax rounded per line."""
    unit, rate, tax_rate = Decimal(price), Decimal(discount), Decimal(tax)
    off = (unit * qty * rate / 100).quantize(CENT, ROUND_HALF_UP)
    net = unit * qty - off
    tax_amount = (net * tax_rate / 100).quantize(CENT, ROUND_HALF_UP)
    return Row(order_id, f"SO-{order_id:06d}", day, customer, status, product, qty, unit, rate,
               off, net, tax_rate, tax_amount, net + tax_amount)


def shipping(order_id: int, customer: str, net: str = "4.90", day: dt.date = DAY) -> Row:
    return item(order_id, customer, "Shipping", 1, net, day)


def tax_rows(revenue: Decimal, rates: tuple[str, ...] = ("7", "19")) -> list[TaxRow]:
    """The gross revenue split evenly over the rates (the last one takes the rest)."""
    out, left = [], revenue
    for i, rate in enumerate(rates):
        gross = left if i == len(rates) - 1 else (revenue / len(rates)).quantize(CENT)
        left -= gross
        net = (gross * 100 / (100 + Decimal(rate))).quantize(CENT)
        out.append(TaxRow(Decimal(rate), net, gross - net, gross))
    return out


def kpis(revenue: Decimal, rows: list[TaxRow], **kw) -> Kpis:
    net = sum((r.net for r in rows), Decimal("0.00"))
    return Kpis(revenue=revenue, net=net, tax=revenue - net, **kw)


def day_revenue(d: int) -> Decimal:
    """Revenue of day ``d``: every 7th day (from the 4th) has none."""
    if d % 7 == 3:
        return Decimal("0.00")
    return Decimal(100 * (d % 10 + 1)) + Decimal("0.50")


def days(count: int) -> list[Period]:
    out = []
    for d in range(count):
        day = START + dt.timedelta(days=d)
        revenue = day_revenue(d)
        out.append(Period(day, f"{day:%b} {day.day}", revenue, 3 if revenue else 0))
    return out


def overview(**kw) -> Overview:
    periods = kw.pop("periods", None)
    periods = days(30) if periods is None else periods
    revenue = sum((p.revenue for p in periods), Decimal("0.00"))
    taxes = kw.pop("tax_rows", None)
    taxes = tax_rows(revenue, ("0", "5.5", "7", "19")) if taxes is None else taxes
    values = dict(
        title="Completed orders",
        scope=["Status: completed"],
        date_from=periods[0].start if periods else START,
        date_to=periods[-1].start if periods else START,
        timezone="Europe/Berlin",
        currency="USD",
        kpis=kpis(revenue, taxes, orders=45, items=120, units=300, discount=Decimal("321.00"),
                  shipping=Decimal("98.70")),
        previous=Kpis(orders=40, items=0, units=400, revenue=revenue * 2, net=revenue,
                      tax=revenue, discount=Decimal("642.00")),
        previous_from=dt.date(2026, 10, 2),
        previous_to=dt.date(2026, 10, 31),
        grain=Grain.DAY,
        periods=periods,
        top_customers=[Ranked(name, Decimal(5000 - 400 * i) + Decimal("0.25"), 10 - i, 20 - i)
                       for i, name in enumerate(NAMES)],
        top_products=[Ranked(f"Product {i} \u2013 blue", Decimal(3000 - 250 * i), 9 - i // 2,
                             15 - i) for i in range(10)],
        customers=[Ranked(f"Customer {i:03d}", Decimal(900 - i), 2, 4) for i in range(40)],
        customers_total=45,
        tax_rows=taxes,
    )
    values.update(kw)
    return Overview(**values)


# -- the cases: name -> (rows, meta) --------------------------------------------------

def order_report() -> tuple[list[Row], ReportMeta]:
    rows = [item(42, "ACME Corporation", "Widget", 2, "10.10"),
            item(42, "ACME Corporation", "Gadget with a name far too long for its column "
                 "in the line-item table, cut with an ellipsis", 1, "999.99", discount="12.5"),
            item(42, "ACME Corporation", "Bolt M4", 1200, "0.05", tax="7"),
            item(42, "ACME Corporation", "Crate", 3, "123456.78", tax="0"),
            shipping(42, "ACME Corporation")]
    meta = ReportMeta(kind="order", title="Order #42", generated_at=GENERATED,
                      scope=["Customer: ACME Corporation", "Status: Completed",
                             "Order date: 2026-11-03"],
                      timezone="Europe/Berlin")
    return rows, meta


def summary_with_overview() -> tuple[list[Row], ReportMeta]:
    """Overview (chart, tax by rate, top lists, totals per customer over two pages),
    then three items and a shipping row per order with subtotals over several pages."""
    rows = []
    for i in range(150):
        order = i // 3 + 1
        day = DAY + dt.timedelta(days=i // 24)
        rows.append(item(order, NAMES[i // 3 % len(NAMES)], f"Product {i % 13} \u2013 blue",
                         i % 4 + 1, f"{i % 50 + 1}.25", day, discount=("0", "10", "2.5")[i % 3],
                         tax=("19", "7", "5.5", "0")[i % 4]))
        if i % 3 == 2:
            rows.append(shipping(order, NAMES[i // 3 % len(NAMES)], day=day))
    meta = ReportMeta(kind="summary", title="Completed orders", generated_at=GENERATED,
                      scope=["Status: completed", "From 2026-11-01 to 2026-11-30"],
                      timezone="Europe/Berlin", overview=overview())
    return rows, meta


def empty_summary() -> tuple[list[Row], ReportMeta]:
    """No orders: the overview says so instead of drawing, and so does the table."""
    ov = overview(periods=[Period(p.start, p.label, Decimal("0.00"), 0) for p in days(7)],
                  kpis=Kpis(), previous=Kpis(orders=3, revenue=Decimal("9.99")),
                  top_customers=[], top_products=[], customers=[], customers_total=0,
                  tax_rows=[])
    meta = ReportMeta(kind="summary", title="Completed orders", generated_at=GENERATED,
                      scope=["Status: completed", "From 2026-11-01 to 2026-11-07"],
                      timezone="Europe/Berlin", overview=ov)
    return [], meta


def empty_orders_list() -> tuple[list[Row], ReportMeta]:
    meta = ReportMeta(kind="orders", title="Orders", generated_at=GENERATED,
                      scope=["Search: nothing like this"])
    return [], meta


def non_latin() -> tuple[list[Row], ReportMeta]:
    """Text DejaVu Sans cannot draw (CJK) switches to the fallback font mid-line."""
    names = ["Café crème", "Ürün", "Ελληνικά", "日本茶", "Привет", "東京都千代田区の株式会社"]
    rows = [item(i + 1, name, f"{name} tea " + "茶葉" * (i * 4), i + 1, f"{i + 1}.50")
            for i, name in enumerate(names)]
    meta = ReportMeta(kind="summary", title="Café & 日本茶 orders", generated_at=GENERATED,
                      scope=["Customer: Ürün", "Ελληνικά: 日本茶"])
    return rows, meta


def zone_and_currency() -> tuple[list[Row], ReportMeta]:
    """A zone west of UTC (the generation time moves, order dates do not), EUR, a
    weekly chart of three wide bars, key figures too large for their boxes at full
    size and the eight tax rates the overview keeps on one page."""
    weeks = [Period(dt.date(2026, 11, 2) + dt.timedelta(weeks=w), f"Nov {2 + 7 * w}",
                    Decimal(98765432 * (w + 1)) + Decimal("0.99"), 40 + w) for w in range(3)]
    revenue = sum((p.revenue for p in weeks), Decimal("0.00"))
    taxes = tax_rows(revenue, ("0", "2.1", "5.5", "7", "8.125", "10", "19", "20"))
    ov = overview(periods=weeks, grain=Grain.WEEK, timezone="America/New_York", currency="EUR",
                  kpis=kpis(revenue, taxes, orders=123456, items=987654, units=12345678,
                            discount=Decimal("12345678.90"), shipping=Decimal("98765.43")),
                  previous=Kpis(orders=123000, items=900000, units=12000000,
                                revenue=revenue - Decimal("1000.01")),
                  tax_rows=taxes,
                  customers=[Ranked(n, Decimal(1000 - i), 1, 1) for i, n in enumerate(NAMES)],
                  customers_total=10)
    rows = [item(1, "ACME Corporation", "Late", 1, "1.00", dt.date(2026, 11, 4)),
            item(1, "ACME Corporation", "Later", 2, "2.00", dt.date(2026, 11, 4)),
            item(2, "Globex", "Noon", 1, "3.00", dt.date(2026, 11, 5), tax="8.125")]
    meta = ReportMeta(kind="summary", title="Completed orders", generated_at=GENERATED,
                      scope=["Status: completed", "From 2026-11-02 to 2026-11-22"],
                      timezone="America/New_York", currency="EUR", overview=ov)
    return rows, meta


CASES = {
    "order": order_report,
    "summary_overview": summary_with_overview,
    "empty_summary": empty_summary,
    "empty_orders_list": empty_orders_list,
    "non_latin": non_latin,
    "zone_eur_weekly": zone_and_currency,
}

# -- writing and comparing ----------------------------------------------------------

_CLOCK = re.compile(rb"/CreationDate \(D:\d{14}Z\)|/ID \[<[0-9A-F]{32}><[0-9A-F]{32}>\]")
_CLOCK_FREE = {b"/C": b"/CreationDate (D:20000101000000Z)", b"/I": b"/ID [<" + b"0" * 32
               + b"><" + b"0" * 32 + b">]"}


def stable(data: bytes) -> bytes:
    """``data`` with fpdf2's clock stamp and the file id hashed from it made constant."""
    out, found = _CLOCK.subn(lambda m: _CLOCK_FREE[m.group()[:2]], data)
    if found != 2:
        raise AssertionError(f"expected one /CreationDate and one /ID, found {found} in all")
    return out


def write_all(out_dir: Path) -> None:
    for name, case in CASES.items():
        rows, meta = case()
        write_pdf(rows, meta, out_dir / f"{name}.pdf")


@pytest.fixture(scope="module")
def written(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("pdf_bytes")
    env = {**os.environ, "PYTHONHASHSEED": HASH_SEED, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, __file__, str(out)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    return out


def first_difference(a: bytes, b: bytes) -> int:
    return next((i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y),
                min(len(a), len(b)))


@pytest.mark.parametrize("name", list(CASES))
def test_pdf_is_byte_identical_to_its_stored_reference(written, name):
    data = stable((written / f"{name}.pdf").read_bytes())
    reference = REFERENCE / f"{name}.pdf"
    if REGENERATE:
        REFERENCE.mkdir(exist_ok=True)
        reference.write_bytes(data)
    assert reference.exists(), (
        f"no reference {reference}: write it with REGENERATE_PDF_REFERENCE=1")
    expected = reference.read_bytes()
    assert data == expected, (
        f"{name}.pdf differs from {reference} (first at byte "
        f"{first_difference(data, expected)}; {len(data)} vs {len(expected)} bytes). "
        "If the change of output is intended, rewrite the references with "
        "REGENERATE_PDF_REFERENCE=1 .venv/bin/pytest tests/generators/test_pdf_bytes.py "
        "and review the new files before committing them.")


def test_the_same_inputs_give_the_same_bytes_twice_in_one_process(tmp_path):
    # what the references rely on, apart from the two clock fields and the hash seed
    rows, meta = summary_with_overview()
    write_pdf(rows, meta, tmp_path / "a.pdf")
    write_pdf(rows, meta, tmp_path / "b.pdf")

    assert stable((tmp_path / "a.pdf").read_bytes()) == stable((tmp_path / "b.pdf").read_bytes())


def test_references_stay_small():
    sizes = {p.name: p.stat().st_size for p in REFERENCE.glob("*.pdf")}
    assert sorted(sizes) == sorted(f"{name}.pdf" for name in CASES)
    assert sum(sizes.values()) < 500_000, sizes


if __name__ == "__main__":
    write_all(Path(sys.argv[1]))
