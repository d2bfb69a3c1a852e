"""PDF generator: fed hand-built rows, checked by reading the text back."""
from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pdfplumber
import pytest
from pypdf import PdfReader

from tasks.generators import PROGRESS_EVERY, ReportMeta, Row
from tasks.generators.pdf import EMPTY_MESSAGE, write_pdf
from webapp.enums import ReportKind

WHEN = dt.datetime(2026, 11, 3, 14, 5)
HEADER = "Order Date Customer Status Product Qty Unit price (USD) Line total (USD)"
UNICODE_NAMES = ["Café crème", "Ürün", "Ελληνικά", "日本茶", "Привет"]


def summary_meta(**kw) -> ReportMeta:
    kw.setdefault("kind", ReportKind.SUMMARY)
    kw.setdefault("title", "Completed orders")
    kw.setdefault("scope", ["Status: completed", "From 2026-11-01 to 2026-11-28"])
    kw.setdefault("generated_at", dt.datetime(2026, 11, 28, 9, 30, tzinfo=dt.UTC))
    return ReportMeta(**kw)


def row(order_id=1, customer="ACME", product="Widget", qty=1, price="10.00",
        status="completed") -> Row:
    price = Decimal(price)
    return Row(order_id, WHEN, customer, status, product, qty, price, price * qty)


def pages_text(path) -> list[str]:
    with pdfplumber.open(path) as pdf:
        return [page.extract_text() or "" for page in pdf.pages]


def squash(text: str) -> str:
    return re.sub(r"\s+", " ", text)


def many_rows(n: int, per_order: int = 3) -> list[Row]:
    return [row(i // per_order + 1, f"Customer {i // per_order}", f"Product {i % 13}",
                i % 4 + 1, f"{i % 50 + 1}.25") for i in range(n)]


def test_output_is_a_pdf_that_pypdf_and_pdfplumber_can_open(tmp_path):
    path = tmp_path / "r.pdf"
    assert write_pdf([row()], summary_meta(), path) == 1

    assert path.read_bytes().startswith(b"%PDF-")
    assert path.read_bytes().rstrip().endswith(b"%%EOF")
    assert len(PdfReader(path, strict=True).pages) == 1
    assert pages_text(path)


def test_first_page_shows_title_scope_and_generation_time(tmp_path):
    path = tmp_path / "r.pdf"
    write_pdf([row()], summary_meta(), path)

    text = pages_text(path)[0]
    assert "Completed orders" in text
    assert "Status: completed" in text
    assert "From 2026-11-01 to 2026-11-28" in text
    assert "Generated 2026-11-28 09:30 UTC" in text
    assert HEADER in text


def test_unicode_names_in_any_script_are_printed(tmp_path):
    rows = [row(i + 1, customer=name, product=f"{name} tea") for i, name in
            enumerate(UNICODE_NAMES)]
    path = tmp_path / "r.pdf"
    write_pdf(rows, summary_meta(title="Café & 日本茶 orders", scope=["Customer: Ürün"]), path)

    text = pages_text(path)[0]
    for name in UNICODE_NAMES:
        assert name in text
        assert f"{name} tea" in text
    assert "Café & 日本茶 orders" in text
    assert "Customer: Ürün" in text


def test_cjk_text_is_drawn_with_the_embedded_fallback_font(tmp_path):
    path = tmp_path / "r.pdf"
    write_pdf([row(customer="日本茶")], summary_meta(), path)

    with pdfplumber.open(path) as pdf:
        fonts = {c["fontname"] for c in pdf.pages[0].chars if c["text"] in "日本茶"}
    assert fonts and all("DroidSansFallback" in f for f in fonts)


def test_fonts_are_subset_so_a_small_report_stays_small(tmp_path):
    path = tmp_path / "r.pdf"
    write_pdf([row(customer=name) for name in UNICODE_NAMES], summary_meta(), path)

    assert path.stat().st_size < 150_000  # the CJK font alone is 4 MB


def test_summary_has_a_subtotal_per_order_and_a_grand_total_with_counts(tmp_path):
    rows = [
        row(1, product="Widget", qty=3, price="19.90"),  # 59.70
        row(1, product="Gadget", qty=1, price="1250.00"),  # 1,250.00
        row(2, customer="Globex", product="Sprocket", qty=10, price="0.05"),  # 0.50
        row(3, customer="Initech", product="Stapler", qty=2, price="600000.00"),
    ]
    path = tmp_path / "r.pdf"
    write_pdf(rows, summary_meta(), path)

    text = squash(" ".join(pages_text(path)))
    assert "Subtotal order #1: 1,309.70" in text
    assert "Subtotal order #2: 0.50" in text
    assert "Subtotal order #3: 1,200,000.00" in text
    assert "Grand total: 1,201,310.20 USD" in text
    assert "Orders: 3" in text
    assert "Line items: 4" in text
    assert "Order total" not in text


def test_each_row_shows_all_columns_with_money_formatted(tmp_path):
    rows = [row(42, customer="ACME", product="Widget", qty=3, price="1234.5", status="open")]
    path = tmp_path / "r.pdf"
    write_pdf(rows, summary_meta(), path)

    lines = pages_text(path)[0].splitlines()
    assert "42 2026-11-03 ACME open Widget 3 1,234.50 3,703.50" in lines


def test_currency_is_shown_in_the_column_headers_and_total(tmp_path):
    path = tmp_path / "r.pdf"
    write_pdf([row(price="5")], summary_meta(currency="EUR"), path)

    text = pages_text(path)[0]
    assert "Unit price (EUR)" in text
    assert "Line total (EUR)" in text
    assert "Grand total: 5.00 EUR" in text


def test_order_report_ends_with_the_order_total_and_has_no_subtotals(tmp_path):
    rows = [row(42, product="Widget", qty=2, price="10.10"),
            row(42, product="Gadget", qty=1, price="999.99")]
    meta = ReportMeta(kind=ReportKind.ORDER, title="Order #42", scope=["Customer: ACME"])
    path = tmp_path / "r.pdf"
    assert write_pdf(rows, meta, path) == 2

    text = squash(" ".join(pages_text(path)))
    assert "Order #42" in text
    assert "Order total: 1,020.19 USD" in text
    assert "Subtotal" not in text
    assert "Grand total" not in text


def test_multi_page_summary_numbers_pages_and_repeats_the_header(tmp_path):
    rows = many_rows(300)
    path = tmp_path / "r.pdf"
    assert write_pdf(rows, summary_meta(), path) == 300

    texts = pages_text(path)
    n = len(texts)
    assert n >= 3
    assert f"Page 1 of {n}" in texts[0]
    assert f"Page {n} of {n}" in texts[-1]
    for number, text in enumerate(texts, start=1):
        assert HEADER in text, f"no table header on page {number}"
        assert f"Page {number} of {n}" in text
    # Every row made it, exactly once, in order.
    all_lines = [line for text in texts for line in text.splitlines()]
    data = [line for line in all_lines if re.match(r"^\d+ 2026-11-03 ", line)]
    assert len(data) == 300
    assert [int(line.split()[0]) for line in data] == [r.order_id for r in rows]
    grand = sum(r.line_total for r in rows)
    assert f"Grand total: {grand:,.2f} USD" in texts[-1]
    assert "Orders: 100" in texts[-1]
    assert "Line items: 300" in texts[-1]
    subtotals = re.findall(r"Subtotal order #(\d+): ([\d,.]+)", squash(" ".join(texts)))
    assert len(subtotals) == 100
    assert sum(Decimal(amount.replace(",", "")) for _, amount in subtotals) == grand


def test_rows_never_run_into_the_footer(tmp_path):
    path = tmp_path / "r.pdf"
    write_pdf(many_rows(300), summary_meta(), path)

    with pdfplumber.open(path) as pdf:
        for page in pdf.pages:
            footer = [w for w in page.extract_words() if w["text"] == "Page"]
            assert len(footer) == 1
            body = [w for w in page.extract_words() if w["top"] < footer[0]["top"] - 1]
            assert max(w["bottom"] for w in body) < footer[0]["top"] - 5


def test_amounts_are_right_aligned_under_their_header(tmp_path):
    rows = [row(1, qty=1, price="1.00"), row(1, qty=12, price="123456.78")]
    path = tmp_path / "r.pdf"
    write_pdf(rows, summary_meta(), path)

    with pdfplumber.open(path) as pdf:
        words = pdf.pages[0].extract_words()
    unit_header, total_header = sorted((w for w in words if w["text"] == "(USD)"),
                                       key=lambda w: w["x0"])
    unit_prices = [w for w in words if w["text"] in {"1.00", "123,456.78"}
                   and w["x0"] < unit_header["x1"]]
    line_totals = [w for w in words if w["text"] in {"1.00", "1,481,481.36"}
                   and w["x0"] > unit_header["x1"]]
    assert len(unit_prices) == len(line_totals) == 2
    for w in unit_prices:
        assert w["x1"] == pytest.approx(unit_header["x1"], abs=0.5)
    for w in line_totals:
        assert w["x1"] == pytest.approx(total_header["x1"], abs=0.5)


def test_long_names_are_cut_with_an_ellipsis_inside_their_column(tmp_path):
    long_customer = "Umbrella Holdings International Trading Company Limited of Somewhere Far"
    long_product = "Extremely long product name " * 5 + "END"
    path = tmp_path / "r.pdf"
    write_pdf([row(customer=long_customer, product=long_product)], summary_meta(), path)

    text = pages_text(path)[0]
    assert "Umbrella Holdings" in text
    assert long_customer not in text
    assert "END" not in text
    assert text.count("\u2026") == 2
    with pdfplumber.open(path) as pdf:
        words = pdf.pages[0].extract_words()
    status_x = next(w for w in words if w["text"] == "Status")["x0"]
    qty_x = next(w for w in words if w["text"] == "Qty")["x0"]
    row_top = next(w for w in words if w["text"] == "Umbrella")["top"]
    cells = [w for w in words if w["top"] == row_top]
    customer_words = [w for w in cells if w["x0"] < status_x]
    product_words = [w for w in cells if w["text"].startswith(("Extremely", "long", "product"))]
    assert customer_words[-1]["text"].endswith("\u2026")
    assert product_words[-1]["text"].endswith("\u2026")
    assert max(w["x1"] for w in customer_words) < status_x
    assert max(w["x1"] for w in product_words) < qty_x


def test_line_breaks_and_tabs_in_names_stay_on_one_line(tmp_path):
    path = tmp_path / "r.pdf"
    write_pdf([row(customer="Two\nlines", product="Tab\there")], summary_meta(), path)

    assert "Two lines completed Tab here" in pages_text(path)[0]


def test_empty_report_is_a_valid_pdf_saying_there_are_no_items(tmp_path):
    calls: list[int] = []
    path = tmp_path / "r.pdf"
    assert write_pdf([], summary_meta(), path, progress=calls.append) == 0

    assert path.read_bytes().startswith(b"%PDF-")
    texts = pages_text(path)
    assert len(texts) == 1
    assert EMPTY_MESSAGE == "No line items match this report."
    assert EMPTY_MESSAGE in texts[0]
    assert "Completed orders" in texts[0]
    assert "Page 1 of 1" in texts[0]
    assert "Grand total" not in texts[0]
    assert calls == [0]


def test_progress_is_reported_every_block_and_at_the_end(tmp_path):
    n = PROGRESS_EVERY + 5
    calls: list[int] = []
    rows = (r for r in many_rows(n))  # streamed

    assert write_pdf(rows, summary_meta(), tmp_path / "r.pdf", progress=calls.append) == n

    assert calls == [PROGRESS_EVERY, n]


def test_progress_raising_aborts_the_run(tmp_path):
    class Cancelled(Exception):
        pass

    def cancel(done: int) -> None:
        raise Cancelled(done)

    path = tmp_path / "r.pdf"
    with pytest.raises(Cancelled):
        write_pdf(many_rows(PROGRESS_EVERY * 2), summary_meta(), path, progress=cancel)
    assert not path.exists()


def test_fonts_dir_is_where_the_fonts_are_read_from(tmp_path):
    with pytest.raises(FileNotFoundError):
        write_pdf([row()], summary_meta(), tmp_path / "r.pdf", fonts_dir=tmp_path / "nowhere")


def test_mixed_script_cells_switch_fonts_and_keep_the_columns_aligned(tmp_path):
    rows = [row(1, customer="ACME 日本茶 #7", product="Sencha 日本茶 100 g", qty=3, price="2.50"),
            row(1, customer="ACME", product="Widget", qty=12, price="1234.00")]
    path = tmp_path / "r.pdf"
    write_pdf(rows, summary_meta(), path)

    lines = pages_text(path)[0].splitlines()
    assert "1 2026-11-03 ACME 日本茶 #7 completed Sencha 日本茶 100 g 3 2.50 7.50" in lines
    with pdfplumber.open(path) as pdf:
        page = pdf.pages[0]
        fonts = {c["text"]: c["fontname"] for c in page.chars if c["text"] in "日本茶Sencha"}
        words = page.extract_words()
    assert all("DroidSansFallback" in fonts[c] for c in "日本茶")
    assert all("DejaVuSans" in fonts[c] for c in "Sencha")
    status = next(w for w in words if w["text"] == "Status")
    status_x = status["x0"]
    cells = [w["x0"] for w in words if w["text"] == "completed" and w["top"] > status["top"]]
    assert cells == [pytest.approx(status_x, abs=0.1)] * 2
    qty_header = next(w for w in words if w["text"] == "Qty")
    for qty in ("3", "12"):
        cell = next(w for w in words if w["text"] == qty and w["x0"] > status_x)
        assert cell["x1"] == pytest.approx(qty_header["x1"], abs=0.5)


def test_fallback_font_first_needed_on_a_later_page_is_embedded(tmp_path):
    rows = many_rows(300)
    rows[250] = row(rows[250].order_id, customer="東京文具店", product="抹茶 30 g")
    path = tmp_path / "r.pdf"
    write_pdf(rows, summary_meta(title="Orders 日本茶"), path)

    texts = pages_text(path)
    assert any("東京文具店" in t and "抹茶 30 g" in t for t in texts[2:])
    assert all("Orders 日本茶 (continued)" in t for t in texts[1:])
    with pdfplumber.open(path) as pdf:
        fonts = {c["fontname"] for page in pdf.pages for c in page.chars if c["text"] in "東京抹茶"}
    assert fonts and all("DroidSansFallback" in f for f in fonts)


def test_no_temporary_file_is_left_behind(tmp_path):
    class Cancelled(Exception):
        pass

    def cancel(done: int) -> None:
        raise Cancelled(done)

    write_pdf(many_rows(300), summary_meta(), tmp_path / "ok.pdf")
    with pytest.raises(Cancelled):
        write_pdf(many_rows(PROGRESS_EVERY * 2), summary_meta(), tmp_path / "x.pdf",
                  progress=cancel)

    assert [p.name for p in tmp_path.iterdir()] == ["ok.pdf"]


def test_page_count_in_the_footer_matches_the_file_for_an_order_report(tmp_path):
    rows = [row(42, product=f"Part {i}", qty=1, price="1.00") for i in range(95)]
    path = tmp_path / "r.pdf"
    write_pdf(rows, ReportMeta(kind=ReportKind.ORDER, title="Order #42"), path)

    reader = PdfReader(path, strict=True)
    n = len(reader.pages)
    assert n >= 3
    for number, page in enumerate(reader.pages, start=1):
        assert f"Page {number} of {n}" in page.extract_text()
    assert "Order total: 95.00 USD" in reader.pages[-1].extract_text()
