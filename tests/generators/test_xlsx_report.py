"""XLSX generator: fed hand-built rows, checked by reading the workbook back
with openpyxl, with a strict XML parser and with LibreOffice."""
from __future__ import annotations

import csv
import datetime as dt
import json
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from decimal import Decimal
from pathlib import Path
from xml.etree import ElementTree

import openpyxl
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from tasks.generators import PROGRESS_EVERY, ReportMeta, Row, xlsx_report
from tasks.generators.xlsx_report import LINES_HEADER, write_xlsx
from webapp.enums import ReportKind
from webapp.reports.overview import Grain, Kpis, Overview, Period, Ranked

ROOT = Path(__file__).resolve().parents[2]
WHEN = dt.datetime(2026, 11, 3, 14, 5, 9)  # naive = UTC
HEADER = ["Order", "Order date", "Customer", "Status", "Product", "Quantity", "Unit price",
          "Line total", "Currency"]
MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
PKG_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"


def meta(**kw) -> ReportMeta:
    kw.setdefault("kind", ReportKind.SUMMARY)
    kw.setdefault("title", "Completed orders")
    kw.setdefault("scope", ["Status: completed", "From 2026-11-01 to 2026-11-28"])
    kw.setdefault("generated_at", dt.datetime(2026, 11, 28, 9, 30, tzinfo=dt.UTC))
    return ReportMeta(**kw)


def row(order_id=1, customer="ACME", product="Widget", qty=2, price="9.99", status="completed",
        when=WHEN) -> Row:
    price = Decimal(price)
    return Row(order_id, when, customer, status, product, qty, price, price * qty)


def many_rows(n: int, per_order: int = 3) -> list[Row]:
    return [row(i // per_order + 1, f"Customer {i // per_order % 17}", f"Product {i % 13}",
                i % 4 + 1, f"{i % 50 + 1}.25", when=WHEN + dt.timedelta(minutes=i // per_order))
            for i in range(n)]


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
        kpis=Kpis(orders=4, items=9, units=32, revenue=Decimal("1000.50")),
        previous=Kpis(orders=2, items=0, units=16, revenue=Decimal("800.00")),
        previous_from=dt.date(2026, 10, 29), previous_to=dt.date(2026, 10, 31),
        grain=Grain.DAY,
        periods=[Period(dt.date(2026, 11, 1), "Nov 1", Decimal("0.00"), 0),
                 Period(dt.date(2026, 11, 2), "Nov 2", Decimal("600.00"), 3),
                 Period(dt.date(2026, 11, 3), "Nov 3", Decimal("400.50"), 1)],
        top_customers=[Ranked("ACME", Decimal("900.00"), 3, 30),
                       Ranked("Globex", Decimal("100.50"), 1, 2)],
        top_products=[Ranked("日本茶 100 g", Decimal("700.00"), 2, 20),
                      Ranked("=SUM(A1:A2) test item", Decimal("300.50"), 2, 12)],
        **kw,
    )


# --- structure, types, formats --------------------------------------------------------

def test_workbook_has_summary_first_then_lines_with_header_and_typed_cells(tmp_path):
    rows = [row(1, "ACME", "Widget", 3, "19.90"), row(1, "ACME", "Gadget", 1, "1250"),
            row(2, "Globex", "Sprocket", 10, "0.05", status="open")]
    path = tmp_path / "r.xlsx"

    assert write_xlsx(rows, meta(timezone="UTC"), path) == 3

    wb = load(path)
    assert wb.sheetnames == ["Summary", "Lines"]
    assert re.findall(r'<sheet name="([^"]+)"', part(path, "xl/workbook.xml")) == [
        "Summary", "Lines"]
    assert wb.active.title == "Summary"
    got = values(wb["Lines"])
    assert got[0] == HEADER == list(LINES_HEADER)
    assert got[1:] == [
        [1, dt.datetime(2026, 11, 3, 14, 5, 9), "ACME", "completed", "Widget", 3, 19.9, 59.7,
         "USD"],
        [1, dt.datetime(2026, 11, 3, 14, 5, 9), "ACME", "completed", "Gadget", 1, 1250, 1250,
         "USD"],
        [2, dt.datetime(2026, 11, 3, 14, 5, 9), "Globex", "open", "Sprocket", 10, 0.05, 0.5,
         "USD"],
    ]
    ws = wb["Lines"]
    assert [c.data_type for c in ws[2]] == ["n", "d", "s", "s", "s", "n", "n", "n", "s"]
    assert all(c.font.b for c in ws[1])
    assert not ws["A2"].font.b


def test_money_is_the_exact_decimal_with_a_two_decimal_currency_format(tmp_path):
    rows = [row(1, qty=3, price="1234567.10"), row(2, qty=1, price="0.05")]
    path = tmp_path / "r.xlsx"
    write_xlsx(rows, meta(currency="EUR"), path)

    ws = load(path)["Lines"]
    assert ws["G2"].number_format == ws["H2"].number_format == '#,##0.00 "EUR"'
    assert ws["F2"].number_format == "#,##0"
    assert ws["I2"].value == "EUR" and ws["I2"].data_type == "s"
    # The stored number is Decimal's own string: float math would give 3703701.3000000003.
    xml = part(path, "xl/worksheets/sheet2.xml")
    assert "<v>1234567.10</v><" in xml and "<v>3703701.30</v>" in xml and "<v>0.05</v>" in xml
    assert Decimal(str(ws["H2"].value)) == Decimal("3703701.30")


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
    assert ws["G2"].number_format == fmt
    assert ws["I2"].value == currency
    ElementTree.fromstring(part(path, "xl/styles.xml"))


def test_dates_are_excel_dates_in_the_users_zone(tmp_path):
    rows = [
        row(1, when=dt.datetime(2026, 11, 3, 23, 30)),  # naive = UTC: next day in Berlin
        row(2, when=dt.datetime(2026, 7, 1, 12, 0, tzinfo=dt.UTC)),  # summer time, +2
        row(3, when=dt.datetime(2026, 1, 15, 8, 0, tzinfo=dt.timezone(dt.timedelta(hours=-5)))),
        row(4, when=dt.datetime(2026, 3, 29, 0, 59, 59)),  # the second before DST starts
        row(5, when=dt.datetime(2026, 3, 29, 1, 0, 0)),
    ]
    path = tmp_path / "r.xlsx"
    write_xlsx(rows, meta(timezone="Europe/Berlin"), path)

    ws = load(path)["Lines"]
    assert [ws.cell(r, 2).value for r in range(2, 7)] == [
        dt.datetime(2026, 11, 4, 0, 30),
        dt.datetime(2026, 7, 1, 14, 0),
        dt.datetime(2026, 1, 15, 14, 0),
        dt.datetime(2026, 3, 29, 1, 59, 59),
        dt.datetime(2026, 3, 29, 3, 0, 0),
    ]
    assert ws["B2"].number_format == "yyyy-mm-dd hh:mm:ss"
    assert ws["B2"].is_date
    assert "<f>" not in part(path, "xl/worksheets/sheet2.xml")


def test_header_row_is_frozen_and_filtered_with_column_widths(tmp_path):
    path = tmp_path / "r.xlsx"
    write_xlsx(many_rows(7), meta(), path)

    wb = load(path)
    ws = wb["Lines"]
    assert ws.freeze_panes == "A2"
    assert ws.auto_filter.ref == "A1:I8"
    assert ws.column_dimensions["E"].width > ws.column_dimensions["A"].width >= 8
    assert all(ws.column_dimensions[c].width for c in "ABCDEFGHI")
    # Excel's hidden defined name for the filter, scoped to the Lines sheet (index 1).
    assert ("<definedName name=\"_xlnm._FilterDatabase\" localSheetId=\"1\" hidden=\"1\">"
            "'Lines'!$A$1:$I$8</definedName>") in part(path, "xl/workbook.xml")
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
    write_xlsx([row(customer=text, product=text, status=text)],
               meta(title=text, scope=[text]), path)

    wb = load(path)
    cells = wb["Lines"][2]
    for cell in (cells[2], cells[3], cells[4]):
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
    got = values(wb["Lines"])[1:]
    assert [r[2] for r in got] == names
    assert [r[4] for r in got] == [f"{n} tea" for n in names]
    assert wb["Summary"]["A1"].value == "Café & 日本茶 <orders>"
    assert wb["Summary"]["A2"].value == "Kunde: Müller & Söhne"


def test_characters_illegal_in_xml_are_dropped_and_whitespace_is_kept(tmp_path):
    path = tmp_path / "r.xlsx"
    write_xlsx([row(customer="A\x00B\x01C\x0bD\x1fE\ud800F\uffffG",
                    product="  two\tcols\nline\r\nend  ")],
               meta(title="T\x07itle"), path)

    wb = load(path)
    assert wb["Lines"]["C2"].value == "ABCDEFG"
    assert wb["Lines"]["E2"].value == "  two\tcols\nline\r\nend  "
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
        value = load(path)["Lines"]["E2"].value
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
    for name, n in (("Lines", 5), ("Lines (2)", 5), ("Lines (3)", 2)):
        ws = wb[name]
        sheet = values(ws)
        assert sheet[0] == HEADER
        assert len(sheet) == n + 1
        assert ws.freeze_panes == "A2"
        assert ws.auto_filter.ref == f"A1:I{n + 1}"
        got += sheet[1:]
    assert [r[0] for r in got] == [r.order_id for r in rows]
    assert [r[4] for r in got] == [r.product for r in rows]
    workbook = part(path, "xl/workbook.xml")
    assert "localSheetId=\"3\" hidden=\"1\">'Lines (3)'!$A$1:$I$3<" in workbook
    assert workbook.count("_xlnm._FilterDatabase") == 3
    assert summary_pairs(wb["Summary"])["Line items"] == 12


def test_a_full_last_sheet_is_not_followed_by_an_empty_one(tmp_path, monkeypatch):
    monkeypatch.setattr(xlsx_report, "MAX_ROWS_PER_SHEET", 5)
    path = tmp_path / "r.xlsx"

    assert write_xlsx(many_rows(10), meta(), path) == 10

    assert load(path).sheetnames == ["Summary", "Lines", "Lines (2)"]


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
    assert values(wb["Lines"]) == [HEADER]
    assert wb["Lines"].auto_filter.ref == "A1:I1"
    pairs = summary_pairs(wb["Summary"])
    assert (pairs["Orders"], pairs["Line items"], pairs["Units"], pairs["Revenue"]) == (
        0, 0, 0, 0)
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
    lines = [r for ws in wb.worksheets[1:] for r in values(ws)[1:]]
    assert len(lines) == 100
    pairs = summary_pairs(wb["Summary"])
    assert pairs["Orders"] == len({r[0] for r in lines}) == 25
    assert pairs["Line items"] == len(lines)
    assert pairs["Units"] == sum(r[5] for r in lines)
    assert Decimal(str(pairs["Revenue"])) == sum(Decimal(str(r[7])) for r in lines)
    assert Decimal(str(pairs["Revenue"])) == sum(r.line_total for r in rows)
    ws = wb["Summary"]
    revenue = next(r[1] for r in ws.iter_rows() if r[0].value == "Revenue")
    assert revenue.number_format == '#,##0.00 "EUR"' and revenue.data_type == "n"
    assert f"<v>{sum(r.line_total for r in rows)}</v>" in part(path, "xl/worksheets/sheet1.xml")


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
    assert (items[1].value, items[2].value, items[3].value) == (9, 0, None)  # no change %
    assert [c.value for c in rows["Units"]] == ["Units", 32, 16, 1]
    revenue = rows["Revenue"]
    assert (revenue[1].value, revenue[2].value, revenue[3].value) == (1000.5, 800, 0.251)
    assert revenue[1].number_format == '#,##0.00 "EUR"'
    assert revenue[3].number_format == "0.0%"  # 25.1 %
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
    assert int(pairs["Line items"]) == 50
    assert int(pairs["Units"]) == sum(r.quantity for r in rows)
    assert Decimal(pairs["Revenue"].replace(",", "").removesuffix(" USD")) == sum(
        r.line_total for r in rows)


def test_libreoffice_reads_every_sheet_with_its_values_and_formats(tmp_path, monkeypatch):
    monkeypatch.setattr(xlsx_report, "MAX_ROWS_PER_SHEET", 3)
    rows = [
        row(1, "=1+2", "@SUM(A1)", 3, "1234.5", when=dt.datetime(2026, 11, 3, 23, 30)),
        row(1, "=1+2", "+cmd", 1, "0.05", when=dt.datetime(2026, 11, 3, 23, 30)),
        row(2, "Café crème", "日本茶 _x0041_ Ελληνικά", 2, "10", status="open"),
        row(3, "Globex", "A\x01B", 1, "1"),
    ]
    path = tmp_path / "report.xlsx"
    write_xlsx(rows, meta(currency="EUR", timezone="Europe/Berlin", overview=overview()), path)

    # 44,34,76: comma, double quote, UTF-8; token 9 true: formatted as shown;
    # token 12 -1: one CSV per sheet (LibreOffice >= 7.2)
    done = soffice(path, tmp_path,
                   "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,true,false,false,-1")

    assert "Writing sheet Lines (2)" in done.stdout + done.stderr
    lines = read_csv(tmp_path / "report-Lines.csv")
    assert lines == [
        HEADER,
        ["1", "2026-11-04 00:30:00", "=1+2", "completed", "@SUM(A1)", "3", "1,234.50 EUR",
         "3,703.50 EUR", "EUR"],
        ["1", "2026-11-04 00:30:00", "=1+2", "completed", "+cmd", "1", "0.05 EUR", "0.05 EUR",
         "EUR"],
        ["2", "2026-11-03 15:05:09", "Café crème", "open", "日本茶 _x0041_ Ελληνικά", "2",
         "10.00 EUR", "20.00 EUR", "EUR"],
    ]
    assert read_csv(tmp_path / "report-Lines (2).csv") == [
        HEADER,
        ["3", "2026-11-03 15:05:09", "Globex", "completed", "AB", "1", "1.00 EUR", "1.00 EUR",
         "EUR"],
    ]
    summary = read_csv(tmp_path / "report-Summary.csv")
    by_label = {r[0]: r[1:] for r in reversed(summary)}  # the first table a label appears in
    assert by_label["Revenue"] == ["1,000.50 EUR", "800.00 EUR", "25.1%"]
    assert by_label["Line items"] == ["9", "0", ""]
    assert by_label["This period"][:2] == ["2026-11-01", "2026-11-03"]
    assert ["2026-11-02", "Nov 2", "3", "600.00 EUR"] in summary
    assert by_label["Generated at"][0] == "2026-11-28 10:30:00"
    assert ["=SUM(A1:A2) test item", "2", "12", "300.50 EUR"] in summary


# --- memory ---------------------------------------------------------------------------------

MEMORY_SCRIPT = r"""
import datetime as dt, json, sys
from decimal import Decimal
from tasks.generators import ReportMeta, Row
from tasks.generators.xlsx_report import write_xlsx
from webapp.enums import ReportKind

NAMES = ["ACME Corporation", "Café crème SARL", "Ελληνικά Τρόφιμα", "日本茶センター", "Привет"]

def rows(n):
    start = dt.datetime(2025, 3, 1, 9, 30)
    for i in range(n):
        order = i // 4 + 1
        price = Decimal(f"{(i * 7919) % 50_000 + 50}") / 100
        qty = i % 7 + 1
        # distinct names and dates by the ten thousand: the caches fill up and are cleared
        yield Row(order, start + dt.timedelta(seconds=order * 61),
                  f"{NAMES[order % len(NAMES)]} {order % 20_000}", "completed",
                  f"Product {i % 30_011} – blue", qty, price, price * qty)

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
    last = None
    for last in wb["Lines"].iter_rows(values_only=True):  # noqa: B007
        pass
    assert last[0] == LARGE // 4
    pairs = {r[0]: r[1] for r in wb["Summary"].iter_rows(values_only=True) if r[0]}
    assert pairs["Line items"] == LARGE  # the Summary has a <dimension>: rows come padded
    wb.close()
