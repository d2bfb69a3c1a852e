"""PDF generator: fed hand-built rows, checked by reading the text back."""
from __future__ import annotations

import datetime as dt
import re
from decimal import ROUND_HALF_UP, Decimal

import pdfplumber
import pytest
from pypdf import PdfReader

from tasks.generators import PROGRESS_EVERY, ReportMeta, Row
from tasks.generators.pdf import EMPTY_MESSAGE, write_pdf
from webapp.enums import ReportKind

DAY = dt.date(2026, 11, 3)
CENT = Decimal("0.01")
HEADER = "Number Date Customer Status Product Qty Unit price Disc. % Net Tax % Tax Gross"
UNICODE_NAMES = ["Café crème", "Ürün", "Ελληνικά", "日本茶", "Привет"]


def summary_meta(**kw) -> ReportMeta:
    kw.setdefault("kind", ReportKind.SUMMARY)
    kw.setdefault("title", "Completed orders")
    kw.setdefault("scope", ["Status: completed", "From 2026-11-01 to 2026-11-28"])
    kw.setdefault("generated_at", dt.datetime(2026, 11, 28, 9, 30, tzinfo=dt.UTC))
    return ReportMeta(**kw)


def row(order_id=1, customer="ACME", product="Widget", qty=1, price="10.00",
        status="completed", discount_rate="0", tax_rate="19", number=None, day=DAY) -> Row:
    """A line as the order's money rules store it: discount and tax rounded per line."""
    price, discount_rate, tax_rate = Decimal(price), Decimal(discount_rate), Decimal(tax_rate)
    discount = (price * qty * discount_rate / 100).quantize(CENT, ROUND_HALF_UP)
    net = price * qty - discount
    tax = (net * tax_rate / 100).quantize(CENT, ROUND_HALF_UP)
    return Row(order_id, number or f"SO-{order_id:06d}", day, customer, status, product, qty,
               price, discount_rate, discount, net, tax_rate, tax, net + tax)


def shipping(order_id=1, net="4.90", tax_rate="19") -> Row:
    return row(order_id, product="Shipping", price=net, tax_rate=tax_rate)


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
        row(1, product="Widget", qty=3, price="19.90"),  # 59.70 + 11.34
        row(1, product="Gadget", qty=1, price="1250.00", tax_rate="7"),  # 1,250.00 + 87.50
        shipping(1),  # 4.90 + 0.93
        row(2, customer="Globex", product="Sprocket", qty=10, price="0.05"),  # 0.50 + 0.10
        row(3, customer="Initech", product="Stapler", qty=2, price="600000.00", tax_rate="0"),
    ]
    path = tmp_path / "r.pdf"
    write_pdf(rows, summary_meta(), path)

    text = squash(" ".join(pages_text(path)))
    assert "Subtotal SO-000001: 1,314.60 99.77 1,414.37" in text
    assert "Subtotal SO-000002: 0.50 0.10 0.60" in text
    assert "Subtotal SO-000003: 1,200,000.00 0.00 1,200,000.00" in text
    assert "Net: 1,201,315.10 USD" in text
    assert "Tax: 99.87 USD" in text
    assert "Grand total: 1,201,414.97 USD" in text
    assert "Orders: 3" in text
    assert "Rows: 5 (line items and shipping)" in text
    assert "Order total" not in text


def test_net_tax_and_gross_totals_stand_under_their_columns_and_add_up(tmp_path):
    rows = [row(1, product="Tea", qty=3, price="19.99", discount_rate="12.5", tax_rate="5.5"),
            row(1, product="Pot", qty=1, price="45.00", tax_rate="19"), shipping(1),
            row(2, product="Cup", qty=4, price="2.50", tax_rate="7")]
    path = tmp_path / "r.pdf"
    write_pdf(rows, summary_meta(), path)

    # by hand: Tea 59.97 - 7.50 = 52.47 net, 2.89 tax; Pot 45.00 + 8.55; shipping
    # 4.90 + 0.93: order 1 is 102.37 net, 12.37 tax, 114.74 gross; Cup 10.00 + 0.70
    text = squash(" ".join(pages_text(path)))
    assert "Subtotal SO-000001: 102.37 12.37 114.74" in text
    assert "Subtotal SO-000002: 10.00 0.70 10.70" in text
    assert "Net: 112.37 USD Tax: 13.07 USD Grand total: 125.44 USD" in text
    with pdfplumber.open(path) as pdf:
        words = pdf.pages[0].extract_words(extra_attrs=["fontname"])
    header = {w["text"]: w for w in words if w["top"] < next(
        w for w in words if w["text"] == "Number")["bottom"]}
    subtotal = [w for w in words if w["text"] in {"102.37", "12.37", "114.74"}
                and w["fontname"].endswith("Bold")]
    assert len(subtotal) == 3
    for w, column in zip(sorted(subtotal, key=lambda w: w["x0"]), ("Net", "Tax", "Gross"),
                         strict=True):
        assert w["x1"] == pytest.approx(header[column]["x1"], abs=0.5), column


def test_each_row_shows_all_columns_with_money_formatted(tmp_path):
    rows = [row(42, customer="ACME", product="Widget", qty=3, price="1234.5", status="open",
                discount_rate="12.500", tax_rate="5.500"),
            shipping(42)]
    path = tmp_path / "r.pdf"
    write_pdf(rows, summary_meta(), path)

    # 3,703.50 less 12.5 % (462.94) = 3,240.56 net, 5.5 % tax 178.23
    lines = pages_text(path)[0].splitlines()
    assert "SO-000042 2026-11-03 ACME open Widget 3 1,234.50 12.5 3,240.56 5.5 178.23 3,418.79" \
        in lines
    # no discount: an empty cell, not a 0
    assert "SO-000042 2026-11-03 ACME completed Shipping 1 4.90 4.90 19 0.93 5.83" in lines


def test_currency_is_named_above_the_table_and_in_the_totals(tmp_path):
    path = tmp_path / "r.pdf"
    write_pdf([row(price="5")], summary_meta(currency="EUR"), path)

    text = pages_text(path)[0]
    assert "Amounts in EUR" in text
    assert HEADER in text
    assert "Net: 5.00 EUR" in text
    assert "Tax: 0.95 EUR" in text
    assert "Grand total: 5.95 EUR" in text


def test_order_report_ends_with_the_order_totals_and_has_no_subtotals(tmp_path):
    rows = [row(42, product="Widget", qty=2, price="10.10"),
            row(42, product="Gadget", qty=1, price="999.99", tax_rate="7"), shipping(42)]
    meta = ReportMeta(kind=ReportKind.ORDER, title="Order #42", scope=["Customer: ACME"])
    path = tmp_path / "r.pdf"
    assert write_pdf(rows, meta, path) == 3

    # 20.20 + 3.84; 999.99 + 70.00; 4.90 + 0.93
    text = squash(" ".join(pages_text(path)))
    assert "Order #42" in text
    assert "Net: 1,025.09 USD Tax: 74.77 USD Order total: 1,099.86 USD" in text
    assert "Subtotal" not in text
    assert "Grand total" not in text
    assert "Orders:" not in text


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
    data = [line for line in all_lines if re.match(r"^SO-\d+ 2026-11-03 ", line)]
    assert len(data) == 300
    assert [int(line.split()[0][3:]) for line in data] == [r.order_id for r in rows]
    net, tax, gross = (sum(getattr(r, f) for r in rows) for f in ("net", "tax", "gross"))
    last = squash(texts[-1])
    assert f"Net: {net:,.2f} USD Tax: {tax:,.2f} USD Grand total: {gross:,.2f} USD" in last
    assert "Orders: 100" in last
    assert "Rows: 300 (line items and shipping)" in last
    subtotals = re.findall(r"Subtotal SO-(\d+): ([\d,.]+) ([\d,.]+) ([\d,.]+)",
                           squash(" ".join(texts)))
    assert len(subtotals) == 100

    def total(i: int) -> Decimal:
        return sum(Decimal(amounts[i].replace(",", "")) for _, *amounts in subtotals)

    assert (total(0), total(1), total(2)) == (net, tax, gross)


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
    head = next(w for w in words if w["text"] == "Number")
    header = {w["text"]: w for w in words if w["top"] < head["bottom"]}
    rows_words = [w for w in words if w["top"] > head["bottom"]]
    # 1.00 at 19 %: 1.00 0.19 1.19; 12 x 123,456.78 = 1,481,481.36, tax 281,481.46
    expected = {"price": ("1.00", "123,456.78"), "Net": ("1.00", "1,481,481.36"),
                "Tax": ("0.19", "281,481.46"), "Gross": ("1.19", "1,762,962.82")}
    for column, texts in expected.items():
        right = header["price" if column == "price" else column]["x1"]
        cells = [w for w in rows_words if w["text"] in texts
                 and w["x1"] == pytest.approx(right, abs=0.5)]
        assert len(cells) == 2, column


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
    customer_words = [w for w in cells if w["x0"] < status_x - 1]
    product_x = next(w for w in words if w["text"] == "Product")["x0"]
    product_words = [w for w in cells if product_x - 1 < w["x0"] < qty_x]
    assert customer_words[-1]["text"].endswith("\u2026")
    assert product_words[-1]["text"].endswith("\u2026")
    assert max(w["x1"] for w in customer_words) < status_x
    assert max(w["x1"] for w in product_words) < qty_x


def test_line_breaks_and_tabs_in_names_stay_on_one_line(tmp_path):
    path = tmp_path / "r.pdf"
    write_pdf([row(customer="Two\nlines", product="Tab\there")], summary_meta(), path)

    assert "Two lines completed Tab here" in pages_text(path)[0]
    path = tmp_path / "n.pdf"
    write_pdf([row(number="SO\n7")], summary_meta(), path)
    assert "SO 7 2026-11-03 ACME" in pages_text(path)[0]


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
    assert ("SO-000001 2026-11-03 ACME 日本茶 #7 completed Sencha 日本茶 100 g 3 2.50 7.50 19 1.43 "
            "8.93") in lines
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
    assert "Order total: 113.05 USD" in reader.pages[-1].extract_text()  # 95.00 + 19 %
