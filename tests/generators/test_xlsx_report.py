"""XLSX generator: fed hand-built rows, checked by reading the workbook back
with openpyxl, with a strict XML parser and with LibreOffice."""
from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import json
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from xml.etree import ElementTree

import openpyxl
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from tasks.generators import PROGRESS_EVERY, ReportMeta, Row, xlsx_report
from tasks.generators.xlsx_report import LINES_HEADER, TOTAL_LABEL, write_xlsx
from webapp.enums import ReportKind
from webapp.reports.overview import Grain, Kpis, Overview, Period, Ranked, TaxRow

ROOT = Path(__file__).resolve().parents[2]
DAY = dt.date(2026, 11, 3)
CENT = Decimal("0.01")
HEADER = ["Order", "Number", "Date", "Customer", "Status", "Product", "Quantity", "Unit price",
          "Discount %", "Discount", "Net", "Tax %", "Tax", "Gross"]
BLANK = [None] * len(HEADER)
MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
PKG_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"


def meta(**kw) -> ReportMeta:
    kw.setdefault("kind", ReportKind.SUMMARY)
    kw.setdefault("title", "Completed orders")
    kw.setdefault("scope", ["Status: completed", "From 2026-11-01 to 2026-11-28"])
    kw.setdefault("generated_at", dt.datetime(2026, 11, 28, 9, 30, tzinfo=dt.UTC))
    return ReportMeta(**kw)


def row(order_id=1, customer="ACME", product="Widget", qty=2, price="9.99", status="completed",
        day=DAY, number=None, discount_rate="0", tax_rate="19") -> Row:
    """A line as the order's money rules store it: discount and tax rounded per line."""
    price, discount_rate, tax_rate = Decimal(price), Decimal(discount_rate), Decimal(tax_rate)
    discount = (price * qty * discount_rate / 100).quantize(CENT, ROUND_HALF_UP)
    net = price * qty - discount
    tax = (net * tax_rate / 100).quantize(CENT, ROUND_HALF_UP)
    return Row(order_id, number or f"SO-{order_id:06d}", day, customer, status, product, qty,
               price, discount_rate, discount, net, tax_rate, tax, net + tax)


def many_rows(n: int, per_order: int = 3) -> list[Row]:
    return [row(i // per_order + 1, f"Customer {i // per_order % 17}", f"Product {i % 13}",
                i % 4 + 1, f"{i % 50 + 1}.25", day=DAY + dt.timedelta(days=i // per_order % 40),
                discount_rate=("0", "10", "2.5")[i % 3], tax_rate=("19", "7", "0", "5.5")[i % 4])
            for i in range(n)]


def data_rows(ws) -> list[list]:
    """A Lines sheet's rows below the header, without the blank row and the totals."""
    got = values(ws)[1:]
    if got and got[-1][0] == TOTAL_LABEL:
        assert got[-2] == BLANK
        got = got[:-2]
    return got


def totals_row(ws) -> list:
    last = values(ws)[-1]
    assert last[0] == TOTAL_LABEL
    return last


def load(path) -> openpyxl.Workbook:
    return openpyxl.load_workbook(path)


def values(ws) -> list[list]:
    return [list(r) for r in ws.iter_rows(values_only=True)]


def part(path, name: str) -> str:
    with zipfile.ZipFile(path) as zf:
        return zf.read(name).decode("utf-8")


def sheet_parts(path) -> dict[str, str]:
    with zipfile.ZipFile(path) as zf:
        return {n: zf.read(n).decode("utf-8") for n in zf.namelist()
                if n.startswith("xl/worksheets/")}


def summary_pairs(ws) -> dict[str, object]:
    """First column -> second column of the Summary sheet (labels are unique enough)."""
    return {r[0]: r[1] for r in ws.iter_rows(values_only=True) if r and r[0] is not None}


def overview(**kw) -> Overview:
    kw.setdefault("customers", [Ranked("ACME", Decimal("900.00"), 3, 30),
                                Ranked("Globex", Decimal("100.50"), 1, 2)])
    kw.setdefault("customers_total", 2)
    return Overview(
        title="Completed orders", scope=["Status: completed"],
        date_from=dt.date(2026, 11, 1), date_to=dt.date(2026, 11, 3),
        timezone="Europe/Berlin", currency="EUR",
        kpis=Kpis(orders=4, items=9, units=32, revenue=Decimal("1000.50"), net=Decimal("880.60"),
                  tax=Decimal("119.90"), discount=Decimal("25.00"), shipping=Decimal("19.60")),
        previous=Kpis(orders=2, items=0, units=16, revenue=Decimal("800.00"),
                      net=Decimal("700.00"), tax=Decimal("100.00")),
        previous_from=dt.date(2026, 10, 29), previous_to=dt.date(2026, 10, 31),
        grain=Grain.DAY,
        periods=[Period(dt.date(2026, 11, 1), "Nov 1", Decimal("0.00"), 0),
                 Period(dt.date(2026, 11, 2), "Nov 2", Decimal("600.00"), 3),
                 Period(dt.date(2026, 11, 3), "Nov 3", Decimal("400.50"), 1)],
        top_customers=[Ranked("ACME", Decimal("900.00"), 3, 30),
                       Ranked("Globex", Decimal("100.50"), 1, 2)],
        top_products=[Ranked("日本茶 100 g", Decimal("700.00"), 2, 20),
                      Ranked("=SUM(A1:A2) test item", Decimal("300.50"), 2, 12)],
        tax_rows=kw.pop("tax_rows", TAX_ROWS),
        **kw,
    )


TAX_ROWS = [TaxRow(Decimal("0"), Decimal("100.00"), Decimal("0.00"), Decimal("100.00")),
            TaxRow(Decimal("7"), Decimal("200.00"), Decimal("14.00"), Decimal("214.00")),
            TaxRow(Decimal("8.125"), Decimal("80.60"), Decimal("6.55"), Decimal("87.15")),
            TaxRow(Decimal("19"), Decimal("500.00"), Decimal("99.35"), Decimal("599.35"))]


# --- structure, types, formats --------------------------------------------------------

def test_workbook_has_summary_first_then_lines_with_header_and_typed_cells(tmp_path):
    rows = [row(1, "ACME", "Widget", 3, "19.90", discount_rate="10"),
            row(1, "ACME", "Gadget", 1, "1250", tax_rate="7"),
            row(2, "Globex", "Sprocket", 10, "0.05", status="open", tax_rate="5.5")]
    path = tmp_path / "r.xlsx"

    assert write_xlsx(rows, meta(timezone="UTC"), path) == 3

    wb = load(path)
    assert wb.sheetnames == ["Summary", "Lines"]
    assert re.findall(r'<sheet name="([^"]+)"', part(path, "xl/workbook.xml")) == [
        "Summary", "Lines"]
    assert wb.active.title == "Summary"
    got = values(wb["Lines"])
    assert got[0] == HEADER == list(LINES_HEADER)
    day = dt.datetime(2026, 11, 3)  # openpyxl reads every date cell as a datetime
    # 59.70 less 10 % = 53.73 net, 19 % tax 10.21; 1250 at 7 % = 87.50; 0.50 at 5.5 % = 0.03
    assert data_rows(wb["Lines"]) == [
        [1, "SO-000001", day, "ACME", "completed", "Widget", 3, 19.9, 10, 5.97, 53.73, 19, 10.21,
         63.94],
        [1, "SO-000001", day, "ACME", "completed", "Gadget", 1, 1250, 0, 0, 1250, 7, 87.5,
         1337.5],
        [2, "SO-000002", day, "Globex", "open", "Sprocket", 10, 0.05, 0, 0, 0.5, 5.5, 0.03, 0.53],
    ]
    ws = wb["Lines"]
    assert [c.data_type for c in ws[2]] == ["n", "s", "d", "s", "s", "s"] + ["n"] * 8
    assert all(c.font.b for c in ws[1])
    assert not ws["A2"].font.b


def test_money_is_the_exact_decimal_with_a_two_decimal_currency_format(tmp_path):
    rows = [row(1, qty=3, price="1234567.10", tax_rate="0"), row(2, qty=1, price="0.05")]
    path = tmp_path / "r.xlsx"
    write_xlsx(rows, meta(currency="EUR"), path)

    ws = load(path)["Lines"]
    for col in "HJKMN":  # unit price, discount, net, tax, gross
        assert ws[f"{col}2"].number_format == '#,##0.00 "EUR"', col
    assert ws["G2"].number_format == "#,##0"
    assert ws["I2"].number_format == ws["L2"].number_format == "General"  # rates: 19, 5.5
    # The stored number is Decimal's own string: float math would give 3703701.3000000003.
    xml = part(path, "xl/worksheets/sheet2.xml")
    assert "<v>1234567.10</v><" in xml and "<v>3703701.30</v>" in xml and "<v>0.05</v>" in xml
    assert Decimal(str(ws["K2"].value)) == Decimal("3703701.30")


@pytest.mark.parametrize(("currency", "fmt"), [
    ("USD", '#,##0.00 "USD"'),
    ("€", '#,##0.00 "€"'),
    ('A"B', '#,##0.00 \\A\\"\\B'),  # a quote cannot sit inside a quoted literal
    ("<&>", '#,##0.00 "<&>"'),  # XML-escaped in styles.xml, intact once parsed
])
def test_currency_format_is_built_from_meta_currency_and_escaped(tmp_path, currency, fmt):
    path = tmp_path / "r.xlsx"
    write_xlsx([row()], meta(currency=currency), path)

    ws = load(path)["Lines"]
    assert ws["H2"].number_format == ws["N2"].number_format == fmt
    ElementTree.fromstring(part(path, "xl/styles.xml"))


def test_rates_are_plain_numbers_without_trailing_zeros(tmp_path):
    rows = [row(1, discount_rate="12.500", tax_rate="19.000"),
            row(2, discount_rate="0.000", tax_rate="8.125"),
            row(3, discount_rate="100", tax_rate="0")]
    path = tmp_path / "r.xlsx"
    write_xlsx(rows, meta(), path)

    ws = load(path)["Lines"]
    assert [(ws.cell(r, 9).value, ws.cell(r, 12).value) for r in (2, 3, 4)] == [
        (12.5, 19), (0, 8.125), (100, 0)]
    xml = part(path, "xl/worksheets/sheet2.xml")
    assert "<v>12.5</v>" in xml and "<v>19</v>" in xml and "<v>100</v>" in xml
    assert "E+" not in xml and "19.000" not in xml


def test_order_dates_are_excel_dates_without_a_time_in_any_zone(tmp_path):
    days = [dt.date(2026, 11, 3), dt.date(2026, 3, 29), dt.date(1999, 12, 31),
            dt.date(2026, 2, 28)]
    rows = [row(i + 1, day=day) for i, day in enumerate(days)]
    for zone in ("UTC", "Europe/Berlin", "Pacific/Kiritimati", "America/New_York"):
        path = tmp_path / "r.xlsx"
        write_xlsx(rows, meta(timezone=zone), path)

        ws = load(path)["Lines"]
        assert [ws.cell(r, 3).value for r in range(2, 6)] == [
            dt.datetime.combine(day, dt.time()) for day in days], zone
        assert ws["C2"].number_format == "yyyy-mm-dd"
        assert ws["C2"].is_date
    # a whole serial day number: no fraction of a day, so no time
    xml = part(path, "xl/worksheets/sheet2.xml")
    assert '<c s="6"><v>46329</v></c>' in xml  # 2026-11-03
    assert "<f>" not in xml


def test_header_row_is_frozen_and_filtered_with_column_widths(tmp_path):
    path = tmp_path / "r.xlsx"
    write_xlsx(many_rows(7), meta(), path)

    wb = load(path)
    ws = wb["Lines"]
    assert ws.freeze_panes == "A2"
    assert ws.auto_filter.ref == "A1:N8"  # the data, not the totals row below it
    assert ws.column_dimensions["F"].width > ws.column_dimensions["A"].width >= 8
    assert all(ws.column_dimensions[c].width for c in "ABCDEFGHIJKLMN")
    # Excel's hidden defined name for the filter, scoped to the Lines sheet (index 1).
    assert ("<definedName name=\"_xlnm._FilterDatabase\" localSheetId=\"1\" hidden=\"1\">"
            "'Lines'!$A$1:$N$8</definedName>") in part(path, "xl/workbook.xml")
    assert wb["Summary"].freeze_panes is None


def test_every_part_is_well_formed_xml_in_its_standard_namespace(tmp_path):
    path = tmp_path / "r.xlsx"
    write_xlsx(many_rows(20), meta(overview=overview()), path)

    with zipfile.ZipFile(path) as zf:
        names = set(zf.namelist())
        roots = {n: ElementTree.fromstring(zf.read(n)).tag for n in names}
    assert names == {
        "[Content_Types].xml", "_rels/.rels", "docProps/core.xml", "docProps/app.xml",
        "xl/workbook.xml", "xl/_rels/workbook.xml.rels", "xl/styles.xml",
        "xl/worksheets/sheet1.xml", "xl/worksheets/sheet2.xml",
    }
    # LibreOffice refuses a package whose relationships use another namespace.
    assert roots["_rels/.rels"] == roots["xl/_rels/workbook.xml.rels"] == (
        f"{{{PKG_REL_NS}}}Relationships")
    assert roots["xl/workbook.xml"] == f"{{{MAIN_NS}}}workbook"
    assert roots["xl/worksheets/sheet1.xml"] == f"{{{MAIN_NS}}}worksheet"
    assert roots["xl/styles.xml"] == f"{{{MAIN_NS}}}styleSheet"
    assert "Completed orders" in part(path, "docProps/core.xml")


# --- text ---------------------------------------------------------------------------------

@pytest.mark.parametrize("text", ["=1+2", "@SUM(A1)", "+cmd", "-2+3", "=HYPERLINK(\"x\")",
                                  "\uff1d1+2", " =1+2", "\t=1"])
def test_text_that_looks_like_a_formula_is_stored_as_that_exact_text(tmp_path, text):
    path = tmp_path / "r.xlsx"
    write_xlsx([row(customer=text, product=text, status=text, number=text)],
               meta(title=text, scope=[text]), path)

    wb = load(path)
    cells = wb["Lines"][2]
    for cell in (cells[1], cells[3], cells[4], cells[5]):
        assert cell.value == text  # no "'" guard: an XLSX text cell is never evaluated
        assert cell.data_type == "s"
    assert wb["Summary"]["A1"].value == text
    for name, xml in sheet_parts(path).items():
        assert "<f>" not in xml and "<f " not in xml, name


def test_unicode_in_any_script_round_trips(tmp_path):
    names = ["Café crème", "日本茶センター", "Ελληνικά Τρόφιμα", "Привет", "Ürün A.Ş.", "emoji 🍵"]
    rows = [row(i + 1, customer=name, product=f"{name} tea") for i, name in enumerate(names)]
    path = tmp_path / "r.xlsx"
    write_xlsx(rows, meta(title="Café & 日本茶 <orders>", scope=["Kunde: Müller & Söhne"]), path)

    wb = load(path)
    got = data_rows(wb["Lines"])
    assert [r[3] for r in got] == names
    assert [r[5] for r in got] == [f"{n} tea" for n in names]
    assert wb["Summary"]["A1"].value == "Café & 日本茶 <orders>"
    assert wb["Summary"]["A2"].value == "Kunde: Müller & Söhne"


def test_characters_illegal_in_xml_are_dropped_and_whitespace_is_kept(tmp_path):
    path = tmp_path / "r.xlsx"
    write_xlsx([row(customer="A\x00B\x01C\x0bD\x1fE\ud800F\uffffG",
                    product="  two\tcols\nline\r\nend  ")],
               meta(title="T\x07itle"), path)

    wb = load(path)
    assert wb["Lines"]["D2"].value == "ABCDEFG"
    assert wb["Lines"]["F2"].value == "  two\tcols\nline\r\nend  "
    assert wb["Summary"]["A1"].value == "Title"


def test_text_that_looks_like_an_excel_escape_is_escaped_itself(tmp_path):
    path = tmp_path / "r.xlsx"
    write_xlsx([row(product="Code _x0041_ here")], meta(), path)

    # Excel and LibreOffice read "_x0041_" as "A"; "_x005F_" is the escaped underscore
    # (LibreOffice's reading is checked in the LibreOffice test below).
    assert "<t>Code _x005F_x0041_ here</t>" in part(path, "xl/worksheets/sheet2.xml")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=40))
def test_any_text_comes_back_unchanged_but_for_illegal_characters(text):
    assume("_x" not in text)  # Excel's escape syntax, the test above
    clean = re.sub("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]", "", text)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "r.xlsx"
        write_xlsx([row(product=text)], meta(), path)
        value = load(path)["Lines"]["F2"].value
    assert (value or "") == clean


# --- sheets, progress, empty ----------------------------------------------------------

def test_lines_continue_on_numbered_sheets_past_the_row_limit(tmp_path, monkeypatch):
    monkeypatch.setattr(xlsx_report, "MAX_ROWS_PER_SHEET", 5)
    rows = many_rows(12)
    path = tmp_path / "r.xlsx"

    assert write_xlsx(iter(rows), meta(), path) == 12

    wb = load(path)
    assert wb.sheetnames == ["Summary", "Lines", "Lines (2)", "Lines (3)"]
    got = []
    for name, n, last in (("Lines", 5, False), ("Lines (2)", 5, False), ("Lines (3)", 2, True)):
        ws = wb[name]
        sheet = values(ws)
        assert sheet[0] == HEADER
        assert len(sheet) == n + 1 + (2 if last else 0)  # the last one ends with the totals
        assert (sheet[-1][0] == TOTAL_LABEL) is last
        assert ws.freeze_panes == "A2"
        assert ws.auto_filter.ref == f"A1:N{n + 1}"
        got += data_rows(ws)
    assert [r[0] for r in got] == [r.order_id for r in rows]
    assert [r[5] for r in got] == [r.product for r in rows]
    assert Decimal(str(totals_row(wb["Lines (3)"])[13])) == sum(r.gross for r in rows)
    workbook = part(path, "xl/workbook.xml")
    assert "localSheetId=\"3\" hidden=\"1\">'Lines (3)'!$A$1:$N$3<" in workbook
    assert workbook.count("_xlnm._FilterDatabase") == 3
    assert summary_pairs(wb["Summary"])["Rows (line items and shipping)"] == 12


def test_a_full_last_sheet_is_not_followed_by_an_empty_one(tmp_path, monkeypatch):
    monkeypatch.setattr(xlsx_report, "MAX_ROWS_PER_SHEET", 5)
    path = tmp_path / "r.xlsx"

    assert write_xlsx(many_rows(10), meta(), path) == 10

    wb = load(path)
    assert wb.sheetnames == ["Summary", "Lines", "Lines (2)"]
    # the totals go below the full last sheet: every sheet keeps room for them
    assert len(values(wb["Lines (2)"])) == 1 + 5 + 2
    assert totals_row(wb["Lines (2)"])[6] == sum(r.quantity for r in many_rows(10))


def test_a_full_sheet_of_excel_s_size_still_has_room_for_the_totals():
    assert xlsx_report.MAX_ROWS_PER_SHEET + 1 + 2 == 1_048_576  # header, blank row, totals


def test_progress_is_reported_every_block_and_at_the_end(tmp_path):
    n = PROGRESS_EVERY * 2 + 5
    calls: list[int] = []
    rows = (r for r in many_rows(n))  # streamed

    assert write_xlsx(rows, meta(), tmp_path / "r.xlsx", progress=calls.append) == n

    assert calls == [PROGRESS_EVERY, PROGRESS_EVERY * 2, n]


def test_progress_on_an_exact_multiple_is_not_repeated_and_ignores_sheet_breaks(
        tmp_path, monkeypatch):
    monkeypatch.setattr(xlsx_report, "MAX_ROWS_PER_SHEET", 1500)
    calls: list[int] = []
    n = PROGRESS_EVERY * 2

    assert write_xlsx(many_rows(n), meta(), tmp_path / "r.xlsx", progress=calls.append) == n

    assert calls == [PROGRESS_EVERY, n]
    assert len(load(tmp_path / "r.xlsx").sheetnames) == 1 + 3  # 1500 + 1500 + 1000


def test_progress_raising_aborts_the_run(tmp_path):
    class Cancelled(Exception):
        pass

    def cancel(done: int) -> None:
        raise Cancelled(done)

    consumed = 0

    def rows():
        nonlocal consumed
        for r in many_rows(PROGRESS_EVERY * 3):
            consumed += 1
            yield r

    with pytest.raises(Cancelled):
        write_xlsx(rows(), meta(), tmp_path / "r.xlsx", progress=cancel)
    assert consumed == PROGRESS_EVERY  # stopped at the first report, not at the end


def test_empty_report_is_a_valid_workbook_with_a_header(tmp_path):
    calls: list[int] = []
    path = tmp_path / "r.xlsx"

    assert write_xlsx([], meta(kind=ReportKind.ORDERS), path, progress=calls.append) == 0

    wb = load(path)
    assert wb.sheetnames == ["Summary", "Lines"]
    assert values(wb["Lines"]) == [HEADER, BLANK, [TOTAL_LABEL, None, None, None, None, None, 0,
                                                   None, None, 0, 0, None, 0, 0]]
    assert wb["Lines"].auto_filter.ref == "A1:N1"
    pairs = summary_pairs(wb["Summary"])
    assert [pairs[k] for k in ("Orders", "Rows (line items and shipping)", "Units",
                               "Discounts", "Net", "Tax", "Revenue (gross)")] == [0] * 7
    assert calls == [0]


# --- the Summary sheet --------------------------------------------------------------------

def test_summary_shows_title_scope_zone_and_generation_time_in_the_zone(tmp_path):
    path = tmp_path / "r.xlsx"
    write_xlsx([row()], meta(timezone="America/New_York"), path)

    ws = load(path)["Summary"]
    col_a = [r[0] for r in ws.iter_rows(values_only=True)]
    assert col_a[:4] == ["Completed orders", "Status: completed", "From 2026-11-01 to 2026-11-28",
                         "Times in America/New_York"]
    assert ws["A1"].font.b
    generated = summary_pairs(ws)["Generated at"]
    assert generated == dt.datetime(2026, 11, 28, 4, 30)  # 09:30 UTC, EST is UTC-5
    assert ws["B5"].number_format == "yyyy-mm-dd hh:mm:ss"


def test_summary_totals_without_an_overview_equal_the_sums_of_the_lines(tmp_path, monkeypatch):
    monkeypatch.setattr(xlsx_report, "MAX_ROWS_PER_SHEET", 40)
    rows = many_rows(100, per_order=4)
    path = tmp_path / "r.xlsx"
    write_xlsx(rows, meta(kind=ReportKind.ORDERS, currency="EUR"), path)

    wb = load(path)
    lines = [r for ws in wb.worksheets[1:] for r in data_rows(ws)]
    assert len(lines) == 100
    pairs = summary_pairs(wb["Summary"])
    assert pairs["Orders"] == len({r[0] for r in lines}) == 25
    assert pairs["Rows (line items and shipping)"] == len(lines)
    assert pairs["Units"] == sum(r[6] for r in lines)
    for label, column, field in (("Discounts", 9, "discount"), ("Net", 10, "net"),
                                 ("Tax", 12, "tax"), ("Revenue (gross)", 13, "gross")):
        assert Decimal(str(pairs[label])) == sum(Decimal(str(r[column])) for r in lines), label
        assert Decimal(str(pairs[label])) == sum(getattr(r, field) for r in rows), label
    ws = wb["Summary"]
    revenue = next(r[1] for r in ws.iter_rows() if r[0].value == "Revenue (gross)")
    assert revenue.number_format == '#,##0.00 "EUR"' and revenue.data_type == "n"
    assert f"<v>{sum(r.gross for r in rows)}</v>" in part(path, "xl/worksheets/sheet1.xml")


@pytest.mark.parametrize("kind", [ReportKind.ORDER, ReportKind.ORDERS, ReportKind.SUMMARY])
def test_lines_end_with_a_totals_row_of_numbers_equal_to_the_hand_sums(tmp_path, kind):
    rows = [
        row(1, product="Widget", qty=3, price="19.99", discount_rate="12.5", tax_rate="5.5"),
        row(1, product="Gadget", qty=2, price="1250.00", tax_rate="19"),
        Row(1, "SO-000001", DAY, "ACME", "completed", "Shipping", 1, Decimal("4.90"),
            Decimal("0.000"), Decimal("0.00"), Decimal("4.90"), Decimal("19.000"),
            Decimal("0.93"), Decimal("5.83")),
    ]
    # by hand: Widget 59.97 - 7.50 = 52.47 net, 2.89 tax, 55.36 gross;
    # Gadget 2,500.00 net, 475.00 tax, 2,975.00 gross; shipping 4.90 + 0.93 = 5.83
    path = tmp_path / "r.xlsx"
    write_xlsx(rows, meta(kind=kind, overview=overview() if kind == ReportKind.SUMMARY else None),
               path)

    ws = load(path)["Lines"]
    got = values(ws)
    assert got[-2] == BLANK
    assert got[-1] == [TOTAL_LABEL, None, None, None, None, None, 6, None, None, 7.5, 2557.37,
                       None, 478.82, 3036.19]
    assert ws.auto_filter.ref == "A1:N4"  # a sort or filter leaves the totals alone
    total = ws.max_row
    assert ws.cell(total, 1).font.b and ws.cell(total, 14).font.b
    assert ws.cell(total, 14).number_format == '#,##0.00 "USD"'
    assert all(ws.cell(total, c).data_type == "n" for c in (7, 10, 11, 13, 14))
    xml = part(path, "xl/worksheets/sheet2.xml")
    assert "<v>3036.19</v>" in xml and "<v>2557.37</v>" in xml  # exact Decimal sums
    assert "<f>" not in xml and "<f " not in xml  # numbers, not formulas


def test_summary_with_an_overview_holds_its_figures_as_numbers(tmp_path):
    path = tmp_path / "r.xlsx"
    write_xlsx([row()], meta(currency="EUR", timezone="Europe/Berlin", overview=overview()),
               path)

    ws = load(path)["Summary"]
    rows = {}
    for r in ws.iter_rows():
        if r[0].value is not None:
            rows.setdefault(r[0].value, r)  # the first table a label appears in
    assert [c.value for c in rows["Key figures"]] == [
        "Key figures", "This period", "Previous period", "Change %"]
    assert [c.value for c in rows["Orders"]] == ["Orders", 4, 2, 1]  # +100 %
    items = rows["Line items"]
    assert (items[1].value, items[2].value, items[3].value) == (9, 0, "new")  # none before
    assert [c.value for c in rows["Units"]] == ["Units", 32, 16, 1]
    revenue = rows["Revenue (gross)"]
    assert (revenue[1].value, revenue[2].value, revenue[3].value) == (1000.5, 800, 0.251)
    assert revenue[1].number_format == '#,##0.00 "EUR"'
    assert revenue[3].number_format == "0.0%"  # 25.1 %
    assert [c.value for c in rows["Net"]] == ["Net", 880.6, 700, 0.258]
    assert [c.value for c in rows["Tax"]] == ["Tax", 119.9, 100, 0.199]
    assert [c.value for c in rows["Discounts"]] == ["Discounts", 25, 0, "new"]
    assert [c.value for c in rows["Shipping"]] == ["Shipping", 19.6, 0, "new"]
    for label in ("Net", "Tax", "Discounts", "Shipping"):
        assert rows[label][1].number_format == '#,##0.00 "EUR"', label
    aov = rows["Average order value"]
    assert (aov[1].value, aov[2].value) == (250.12, 400)  # Kpis rounds half to even
    assert rows["This period"][1].value == dt.datetime(2026, 11, 1)
    assert rows["This period"][1].number_format == "yyyy-mm-dd"

    got = values(ws)
    start = got.index(["Period start", "Label", "Orders", "Revenue"])
    assert got[start + 1:start + 4] == [
        [dt.datetime(2026, 11, 1), "Nov 1", 0, 0],
        [dt.datetime(2026, 11, 2), "Nov 2", 3, 600],
        [dt.datetime(2026, 11, 3), "Nov 3", 1, 400.5],
    ]
    start = got.index(["Top 2 customers", "Orders", "Units", "Revenue"])
    assert got[start + 1:start + 3] == [["ACME", 3, 30, 900], ["Globex", 1, 2, 100.5]]
    start = got.index(["Top 2 products", "Orders", "Units", "Revenue"])
    assert got[start + 1:start + 3] == [["日本茶 100 g", 2, 20, 700],
                                        ["=SUM(A1:A2) test item", 2, 12, 300.5]]
    start = got.index(["Totals per customer", "Orders", "Units", "Revenue"])
    assert got[start + 1:] == [["ACME", 3, 30, 900], ["Globex", 1, 2, 100.5]]
    assert "Totals" not in [r[0] for r in got]  # the streamed totals are for other kinds
    assert "<f>" not in part(path, "xl/worksheets/sheet1.xml")


def test_summary_has_a_tax_by_rate_table_with_its_total(tmp_path):
    path = tmp_path / "r.xlsx"
    write_xlsx([row()], meta(currency="EUR", overview=overview()), path)

    ws = load(path)["Summary"]
    got = values(ws)
    title = got.index(["Tax by rate", None, None, None])
    assert got[title + 1] == ["Rate %", "Net", "Tax", "Gross"]
    assert got[title + 2:title + 7] == [
        [0, 100, 0, 100],
        [7, 200, 14, 214],
        [8.125, 80.6, 6.55, 87.15],
        [19, 500, 99.35, 599.35],
        ["Total", 880.6, 119.9, 1000.5],  # the rows' sums, which equal the key figures
    ]
    first = title + 3  # 1-based row of the first rate
    assert [ws.cell(first, c).data_type for c in range(1, 5)] == ["n"] * 4
    assert ws.cell(first, 2).number_format == '#,##0.00 "EUR"'
    total = first + 4
    assert ws.cell(total, 1).font.b and ws.cell(total, 4).font.b
    assert ws.cell(total, 4).number_format == '#,##0.00 "EUR"'
    xml = part(path, "xl/worksheets/sheet1.xml")
    assert "<v>8.125</v>" in xml and "<v>1000.50</v>" in xml
    assert "<f>" not in xml


def test_summary_tax_table_of_a_range_without_orders_is_a_zero_total(tmp_path):
    path = tmp_path / "r.xlsx"
    write_xlsx([], meta(overview=overview(tax_rows=[])), path)

    got = values(load(path)["Summary"])
    title = got.index(["Tax by rate", None, None, None])
    assert got[title + 1:title + 3] == [["Rate %", "Net", "Tax", "Gross"], ["Total", 0, 0, 0]]


def test_summary_notes_when_only_the_top_customers_are_listed(tmp_path):
    path = tmp_path / "r.xlsx"
    write_xlsx([row()], meta(overview=overview(customers_total=1234)), path)

    last = values(load(path)["Summary"])[-1]
    assert last[0] == "The 2 customers with the highest revenue of 1,234 are listed."


# --- LibreOffice ------------------------------------------------------------------------

def soffice(path: Path, outdir: Path, target: str) -> subprocess.CompletedProcess:
    exe = shutil.which("soffice") or shutil.which("libreoffice")
    # Not a skip: without LibreOffice the workbook is not proven to open outside Python.
    assert exe, "LibreOffice is missing: apt-get install libreoffice-calc-nogui"
    profile = outdir / "lo-profile"  # a private profile: another soffice may be running
    done = subprocess.run(
        [exe, f"-env:UserInstallation={profile.as_uri()}", "--headless", "--norestore",
         "--convert-to", target, "--outdir", str(outdir), str(path)],
        capture_output=True, text=True, timeout=180, check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "Error" not in done.stderr, done.stderr
    return done


def read_csv(path: Path) -> list[list[str]]:
    with open(path, encoding="utf-8", newline="") as fh:
        return list(csv.reader(fh))


def test_libreoffice_converts_the_workbook_and_its_first_sheet_is_the_summary(tmp_path):
    rows = many_rows(50, per_order=5)
    path = tmp_path / "report.xlsx"
    write_xlsx(rows, meta(kind=ReportKind.ORDERS, timezone="Europe/Berlin"), path)

    soffice(path, tmp_path, "csv")

    out = read_csv(tmp_path / "report.csv")
    pairs = {r[0]: r[1] for r in out if len(r) > 1}
    assert out[0][0] == "Completed orders"
    assert ["Times in Europe/Berlin", ""] in out
    assert pairs["Generated at"] == "2026-11-28 10:30:00"
    assert int(pairs["Orders"]) == 10
    assert int(pairs["Rows (line items and shipping)"]) == 50
    assert int(pairs["Units"]) == sum(r.quantity for r in rows)
    for label, field in (("Net", "net"), ("Tax", "tax"), ("Revenue (gross)", "gross")):
        assert Decimal(pairs[label].replace(",", "").removesuffix(" USD")) == sum(
            getattr(r, field) for r in rows), label


def test_a_change_over_a_near_empty_base_is_not_meaningful_not_a_huge_percentage(tmp_path):
    # revenue 1,000.50 against 0.50 (+200,000 %): the overview's rule says "n/m"
    ov = dataclasses.replace(overview(), previous=Kpis(orders=4, items=9, units=32,
                                                       revenue=Decimal("0.50")))
    path = tmp_path / "r.xlsx"
    write_xlsx([row()], meta(currency="EUR", timezone="Europe/Berlin", overview=ov), path)

    rows = {r[0].value: r for r in reversed(list(load(path)["Summary"].iter_rows()))
            if r[0].value is not None}
    assert [c.value for c in rows["Revenue (gross)"]] == [
        "Revenue (gross)", 1000.5, 0.5, "n/m: previous almost empty"]
    assert rows["Orders"][3].value == 0  # 4 against 4: a percentage, 0 %


def test_libreoffice_reads_every_sheet_with_its_values_and_formats(tmp_path, monkeypatch):
    monkeypatch.setattr(xlsx_report, "MAX_ROWS_PER_SHEET", 3)
    rows = [
        row(1, "=1+2", "@SUM(A1)", 3, "1234.5", number="=SO-1", discount_rate="10",
            day=dt.date(2026, 11, 4)),
        row(1, "=1+2", "+cmd", 1, "0.05", number="=SO-1", day=dt.date(2026, 11, 4),
            tax_rate="5.5"),
        row(2, "Café crème", "日本茶 _x0041_ Ελληνικά", 2, "10", status="open", tax_rate="7"),
        row(3, "Globex", "A\x01B", 1, "1", tax_rate="0"),
    ]
    path = tmp_path / "report.xlsx"
    write_xlsx(rows, meta(currency="EUR", timezone="Europe/Berlin", overview=overview()), path)

    # 44,34,76: comma, double quote, UTF-8; token 9 true: formatted as shown;
    # token 12 -1: one CSV per sheet (LibreOffice >= 7.2)
    done = soffice(path, tmp_path,
                   "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,true,false,false,-1")

    assert "Writing sheet Lines (2)" in done.stdout + done.stderr
    lines = read_csv(tmp_path / "report-Lines.csv")
    # 3,703.50 less 10 % = 3,333.15 net, 19 % tax 633.30
    assert lines == [
        HEADER,
        ["1", "=SO-1", "2026-11-04", "=1+2", "completed", "@SUM(A1)", "3", "1,234.50 EUR", "10",
         "370.35 EUR", "3,333.15 EUR", "19", "633.30 EUR", "3,966.45 EUR"],
        ["1", "=SO-1", "2026-11-04", "=1+2", "completed", "+cmd", "1", "0.05 EUR", "0",
         "0.00 EUR", "0.05 EUR", "5.5", "0.00 EUR", "0.05 EUR"],
        ["2", "SO-000002", "2026-11-03", "Café crème", "open", "日本茶 _x0041_ Ελληνικά", "2",
         "10.00 EUR", "0", "0.00 EUR", "20.00 EUR", "7", "1.40 EUR", "21.40 EUR"],
    ]
    assert read_csv(tmp_path / "report-Lines (2).csv") == [
        HEADER,
        ["3", "SO-000003", "2026-11-03", "Globex", "completed", "AB", "1", "1.00 EUR", "0",
         "0.00 EUR", "1.00 EUR", "0", "0.00 EUR", "1.00 EUR"],
        [""] * 14,
        ["Total", "", "", "", "", "", "7", "", "", "370.35 EUR", "3,354.20 EUR", "",
         "634.70 EUR", "3,988.90 EUR"],
    ]
    summary = read_csv(tmp_path / "report-Summary.csv")
    by_label = {r[0]: r[1:] for r in reversed(summary)}  # the first table a label appears in
    assert by_label["Revenue (gross)"] == ["1,000.50 EUR", "800.00 EUR", "25.1%"]
    assert by_label["Net"] == ["880.60 EUR", "700.00 EUR", "25.8%"]
    assert by_label["Line items"] == ["9", "0", "new"]
    assert by_label["This period"][:2] == ["2026-11-01", "2026-11-03"]
    assert ["2026-11-02", "Nov 2", "3", "600.00 EUR"] in summary
    assert by_label["Generated at"][0] == "2026-11-28 10:30:00"
    assert ["=SUM(A1:A2) test item", "2", "12", "300.50 EUR"] in summary
    assert ["8.125", "80.60 EUR", "6.55 EUR", "87.15 EUR"] in summary
    assert ["Total", "880.60 EUR", "119.90 EUR", "1,000.50 EUR"] in summary


# --- memory ---------------------------------------------------------------------------------

MEMORY_SCRIPT = r"""
import datetime as dt, json, sys
from decimal import Decimal
from tasks.generators import ReportMeta, Row
from tasks.generators.xlsx_report import write_xlsx
from webapp.enums import ReportKind

NAMES = ["ACME Corporation", "Café crème SARL", "Ελληνικά Τρόφιμα", "日本茶センター", "Привет"]

def rows(n):
    start = dt.date(1990, 3, 1)
    rate = Decimal("19.000")
    for i in range(n):
        order = i // 4 + 1
        price = Decimal(f"{(i * 7919) % 50_000 + 50}") / 100
        qty = i % 7 + 1
        net = price * qty
        tax = (net * rate / 100).quantize(Decimal("0.01"))
        # distinct names, numbers and dates by the ten thousand: the caches fill up and
        # are cleared
        yield Row(order, f"SO-{order:06d}", start + dt.timedelta(days=order % 15_000),
                  f"{NAMES[order % len(NAMES)]} {order % 20_000}", "completed",
                  f"Product {i % 30_011} – blue", qty, price, Decimal("0.000"), Decimal("0.00"),
                  net, rate, tax, net + tax)

def hwm_mb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024

n, path = int(sys.argv[1]), sys.argv[2]
meta = ReportMeta(kind=ReportKind.SUMMARY, title="Memory check", timezone="Europe/Berlin")
written = write_xlsx(rows(n), meta, path)
print(json.dumps({"rows": written, "hwm_mb": hwm_mb()}))
"""
SMALL, LARGE = 20_000, 200_000
MAX_GROWTH_MB = 5


def run_memory(n: int, path: Path) -> dict:
    done = subprocess.run([sys.executable, "-c", MEMORY_SCRIPT, str(n), str(path)],
                          cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])


def test_peak_memory_does_not_grow_with_the_row_count(tmp_path):
    assert Path("/proc/self/status").exists(), "needs Linux /proc"
    small = run_memory(SMALL, tmp_path / "small.xlsx")
    large = run_memory(LARGE, tmp_path / "large.xlsx")

    assert (small["rows"], large["rows"]) == (SMALL, LARGE)
    growth = large["hwm_mb"] - small["hwm_mb"]
    assert growth < MAX_GROWTH_MB, (
        f"peak RSS {small['hwm_mb']:.1f} MB at {SMALL:,} rows, "
        f"{large['hwm_mb']:.1f} MB at {LARGE:,} rows"
    )
    # The large file is complete: its last row is there and the totals add up.
    wb = openpyxl.load_workbook(tmp_path / "large.xlsx", read_only=True)
    got = list(wb["Lines"].iter_rows(values_only=True))
    assert got[-3][0] == LARGE // 4  # the last line, a blank row, the totals
    assert got[-1][0] == "Total" and got[-1][6] == sum(i % 7 + 1 for i in range(LARGE))
    pairs = {r[0]: r[1] for r in wb["Summary"].iter_rows(values_only=True) if r[0]}
    # the Summary has a <dimension>: rows come padded
    assert pairs["Rows (line items and shipping)"] == LARGE
    wb.close()
