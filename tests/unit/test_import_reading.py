"""Reading an uploaded order file (webapp/imports/): encodings and delimiters
found, Shopify's and WooCommerce's columns recognised, dates and amounts read
per column, and hostile files refused with a reason in bounded time — on real
files written to disk."""
from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import time
from decimal import Decimal

import pytest

from webapp.imports import mapping, values
from webapp.imports.reading import (
    MAX_BLANK_RUN,
    Dialect,
    ImportFileError,
    clean_header,
    read_csv,
    sniff,
)

SHOPIFY_HEADER = (
    "Name,Email,Financial Status,Paid at,Fulfillment Status,Fulfilled at,Accepts Marketing,"
    "Currency,Subtotal,Shipping,Taxes,Total,Discount Code,Discount Amount,Shipping Method,"
    "Created at,Lineitem quantity,Lineitem name,Lineitem price,Lineitem compare at price,"
    "Lineitem sku,Lineitem requires shipping,Lineitem taxable,Lineitem fulfillment status,"
    "Billing Name,Billing Street,Billing Address1,Billing Address2,Billing Company,"
    "Billing City,Billing Zip,Billing Province,Billing Country,Billing Phone")
WOO_HEADER = ("order_number,order_date,status,billing_first_name,billing_last_name,"
              "billing_company,billing_email,billing_address_1,billing_postcode,billing_city,"
              "billing_country,item_name,item_quantity,item_price,shipping_total,tax_total,"
              "discount_total,order_currency,customer_note")


def _write(tmp_path, text: str, encoding: str = "utf-8", name: str = "orders.csv"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


@pytest.mark.parametrize(("encoding", "bom", "shown"), [
    ("utf-8", b"", "UTF-8"),
    ("utf-8", codecs.BOM_UTF8, "UTF-8 (with BOM)"),
    ("utf-16-le", codecs.BOM_UTF16_LE, "UTF-16"),
    ("utf-16-be", codecs.BOM_UTF16_BE, "UTF-16"),
    ("cp1252", b"", "Windows-1252"),
])
@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
def test_encodings_and_delimiters_are_found_and_the_names_come_through(
        tmp_path, encoding, bom, shown, delimiter):
    rows = [["Order", "Customer", "Product", "Qty", "Price"],
            ["A-1", "Müller & Söhne", "Café crème", "2", "12,50"],
            ["A-1", "Müller & Söhne", "Thé – vert", "1", "3,20"]]
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter).writerows(rows)  # "12,50" quoted where it must be
    text = out.getvalue()
    path = tmp_path / "f.csv"
    path.write_bytes(bom + text.encode(encoding))
    dialect = sniff(path)
    assert dialect.delimiter == delimiter
    assert dialect.describe().startswith(shown + ",")
    table = read_csv(path)
    assert table.header == rows[0]
    assert [cells for _, cells in table.rows] == rows[1:]


def test_a_chosen_dialect_overrides_the_guess(tmp_path):
    path = _write(tmp_path, "a;b;c,d\n1;2;3,4\n")
    assert read_csv(path).header == ["a", "b", "c,d"]  # semicolon found
    table = read_csv(path, Dialect("utf-8", ","))
    assert table.header == ["a;b;c", "d"]


def test_shopify_rows_map_to_the_fields_and_name_is_the_order(tmp_path):
    header = SHOPIFY_HEADER.split(",")
    proposal = mapping.propose(header)
    assert proposal.source == "Shopify"
    picked = {f: header[n] for f, n in proposal.columns.items() if n is not None}
    assert picked["order_ref"] == "Name"
    assert picked["customer_name"] == "Billing Name"
    assert picked["customer_email"] == "Email"
    assert picked["product"] == "Lineitem name"
    assert picked["quantity"] == "Lineitem quantity"
    assert picked["unit_price"] == "Lineitem price"
    assert picked["order_date"] == "Created at"
    assert picked["status"] == "Financial Status"
    assert picked["shipping"] == "Shipping"
    assert picked["taxes"] == "Taxes"
    assert picked["discount_amount"] == "Discount Amount"
    assert picked["city"] == "Billing City" and picked["postcode"] == "Billing Zip"
    assert proposal.missing() == []


def test_woocommerce_columns_map_too():
    header = WOO_HEADER.split(",")
    proposal = mapping.propose(header)
    picked = {f: header[n] for f, n in proposal.columns.items() if n is not None}
    assert picked["order_ref"] == "order_number"
    assert picked["order_date"] == "order_date"
    assert picked["customer_email"] == "billing_email"
    assert picked["product"] == "item_name"
    assert picked["quantity"] == "item_quantity"
    assert picked["unit_price"] == "item_price"
    assert picked["shipping"] == "shipping_total"
    assert picked["currency"] == "order_currency"
    # the name is in two columns (first, last): the person chooses
    assert proposal.missing() == ["Customer name"]


def test_a_plain_name_column_is_the_customer_outside_shopify():
    proposal = mapping.propose(["Order #", "Name", "Product", "Qty", "Unit price"])
    assert proposal.source is None
    assert proposal.columns["customer_name"] == 1 and proposal.columns["order_ref"] == 0


def test_the_persons_mapping_is_checked():
    header = ["Ref", "Who", "What", "How many", "Each"]
    chosen = {"order_ref": "Ref", "customer_name": "who", "product": "2",
              "quantity": "How many", "unit_price": 4, "notes": ""}
    columns = mapping.checked(header, chosen)
    assert [columns[f] for f in mapping.REQUIRED] == [0, 1, 2, 3, 4]
    assert columns["notes"] is None
    with pytest.raises(ValueError, match="Quantity: choose the column"):
        mapping.checked(header, {**chosen, "quantity": ""})
    with pytest.raises(ValueError, match="already used for Product"):
        mapping.checked(header, {**chosen, "quantity": "What"})
    with pytest.raises(ValueError, match="no column “Price”"):
        mapping.checked(header, {**chosen, "unit_price": "Price"})


@pytest.mark.parametrize(("samples", "order"), [
    (["31/12/2026", "01/02/2026"], values.DAY_FIRST),
    (["12/31/2026", "01/02/2026"], values.MONTH_FIRST),
    (["2026-12-07 09:50:26 +0200", "2026-01-02"], values.YEAR_FIRST),
    (["03/04/2026", "05/06/2026"], None),  # cannot tell: ask
    (["", "n/a"], None),
])
def test_a_date_columns_order_is_found_from_its_values(samples, order):
    assert values.date_order(samples) == order


def test_a_column_with_both_date_orders_is_refused():
    with pytest.raises(ValueError, match="both day first and month first"):
        values.date_order(["31/12/2026", "12/31/2026"])


def test_dates_are_read_as_written():
    assert values.parse_date("2026-10-07 09:50:26 +0200", None) == dt.date(2026, 10, 7)
    assert values.parse_date("31.12.2026", values.DAY_FIRST) == dt.date(2026, 12, 31)
    assert values.parse_date("12/31/26", values.MONTH_FIRST) == dt.date(2026, 12, 31)
    with pytest.raises(ValueError, match="could be day or month first"):
        values.parse_date("03/04/2026", None)
    with pytest.raises(ValueError, match="is not a date"):
        values.parse_date("31/02/2026", values.DAY_FIRST)


@pytest.mark.parametrize(("samples", "comma"), [
    (["12,50", "3"], True),
    (["1.234,56"], True),
    (["12.50", "1,234.56"], False),
    (["1,234", "7"], None),  # cannot tell
    (["1.234.567"], True),
    (["€ 9,99", "19,90 EUR"], True),
])
def test_a_money_columns_decimal_mark_is_found(samples, comma):
    assert values.decimal_comma(samples) is comma


def test_amounts_and_quantities_are_read_or_refused_in_words():
    assert values.parse_amount("1.234,56", True) == Decimal("1234.56")
    assert values.parse_amount("$1,234.56", False) == Decimal("1234.56")
    assert values.parse_amount("", False) == Decimal(0)
    assert values.parse_amount("-5.00", False) == Decimal("-5.00")
    with pytest.raises(ValueError, match="is not an amount"):
        values.parse_amount("twelve", False)
    assert values.parse_quantity("2") == 2 and values.parse_quantity("2.0") == 2
    with pytest.raises(ValueError, match="“2.5” is not a whole number"):
        values.parse_quantity("2.5")
    with pytest.raises(ValueError, match="less than 1"):
        values.parse_quantity("0")


# --- hostile and broken files: a reason, in bounded time --------------------------------

def _refused(path, match: str) -> float:
    started = time.monotonic()
    with pytest.raises(ImportFileError, match=match):
        table = read_csv(path)
        for _ in table.rows:
            pass
    return time.monotonic() - started


def test_ten_million_empty_lines_are_refused_early(tmp_path):
    path = tmp_path / "bomb.csv"
    with open(path, "wb") as f:
        f.write(b"Order,Customer,Product,Qty,Price\nA,B,C,1,2\n")
        f.write(b"\n" * 10_000_000)
    took = _refused(path, f"{MAX_BLANK_RUN:,} empty lines in a row")
    assert took < 10


def test_a_huge_single_cell_is_refused_without_reading_it_all(tmp_path):
    path = tmp_path / "cell.csv"
    with open(path, "wb") as f:
        f.write(b"Order,Customer,Product,Qty,Price\nA,B,")
        chunk = b"x" * (1 << 20)
        for _ in range(200):  # 200 MB in one cell
            f.write(chunk)
        f.write(b",1,2\n")
    took = _refused(path, "cannot be read: a line is longer than")
    assert took < 10


def test_mixed_encodings_name_the_line(tmp_path):
    path = tmp_path / "mixed.csv"
    good = "Order,Customer\n" + "".join(f"A{n},Müller\n" for n in range(5000))
    path.write_bytes(good.encode("utf-8") + "A9,Müller\n".encode("cp1252"))
    _refused(path, r"Line 5002 cannot be read: .*not UTF-8 \(mixed encodings\?\)")


@pytest.mark.parametrize(("text", "match"), [
    ("", "The file is empty"),
    ("Order,Customer,Product\n", "a header but no rows"),
    ("Order,Customer,Product\n\n\n", "a header but no rows"),
    (",,\n1,2,3\n", "The first line is empty"),
    ("Order,Customer,order\nA,B,C\n", "“order” appears twice"),
    ("Order,,Product\nA,B,C\n", "Column 2 has no name"),
    ("Order,Customer\nA,B,C\n", "Line 2 has 3 cells but the header names 2"),
])
def test_broken_files_are_refused_with_their_reason(tmp_path, text, match):
    _refused(_write(tmp_path, text), match)


def test_formula_cells_stay_text():
    header = clean_header(["=cmd|' /C calc'!A0", "Customer"])
    assert header[0] == "=cmd|' /C calc'!A0"  # read as text; nothing evaluates it


# --- rows into orders ---------------------------------------------------------------------

SHOPIFY_ROWS = [
    # Name, Email, Financial Status, Currency, Shipping, Taxes, Discount Amount, Created at,
    # Lineitem quantity, Lineitem name, Lineitem price, Billing Name, Billing City
    ["#1001", "anna@example.com", "paid", "EUR", "4,90", "3,80", "2,00",
     "31/10/2026 09:50", "2", "Café crème 1 kg", "12,50", "Anna Müller", "Köln"],
    ["#1001", "", "", "", "", "", "", "", "1", "Thé vert", "7,00", "", ""],
    ["#1002", "bo@example.com", "refunded", "EUR", "0,00", "0,00", "0,00",
     "01/11/2026 10:00", "1", "Tasse", "9,90", "Bø Ødegård", "Oslo"],
    ["#1003", "cy@example.com", "paid", "EUR", "0,00", "0,00", "0,00",
     "02/11/2026 10:00", "2.5", "Teller", "3,00", "Cy", "Wien"],
    ["#1001", "", "", "", "", "", "", "", "1", "Zucker", "1,00", "", ""],
]
SHOPIFY_COLUMNS = ["Name", "Email", "Financial Status", "Currency", "Shipping", "Taxes",
                   "Discount Amount", "Created at", "Lineitem quantity", "Lineitem name",
                   "Lineitem price", "Billing Name", "Billing City"]


def test_a_shopify_file_becomes_orders_with_problems_on_their_lines(tmp_path):
    from webapp.imports import orders

    out = io.StringIO()
    csv.writer(out).writerows([SHOPIFY_COLUMNS, *SHOPIFY_ROWS])
    table = read_csv(_write(tmp_path, out.getvalue()))
    proposal = mapping.propose(table.header)
    rows = list(table.rows)
    reading, questions = orders.reading_for(table.header, proposal.columns,
                                            [cells for _, cells in rows])
    assert questions == []
    assert reading.date_order == values.DAY_FIRST and reading.decimal_comma is True
    found = list(orders.drafts(rows, reading))
    assert [d.ref for d in found] == ["#1001", "#1002", "#1003", "#1001"]
    first, refunded, bad, again = found
    assert first.ok and first.lines_in_file == [2, 3]
    assert first.fields["order_date"] == dt.date(2026, 10, 31)
    assert first.fields["status"] == "completed" and first.fields["currency"] == "EUR"
    assert first.fields["customer_name"] == "Anna Müller"
    assert first.fields["shipping"] == Decimal("4.90")
    assert first.fields["taxes"] == Decimal("3.80")
    assert [(x.product, x.quantity, x.unit_price) for x in first.lines] == [
        ("Café crème 1 kg", 2, Decimal("12.50")), ("Thé vert", 1, Decimal("7.00"))]
    assert refunded.ok and refunded.fields["status"] == "cancelled"
    assert refunded.fields["customer_name"] == "Bø Ødegård"
    assert bad.problems == ["line 5, Lineitem quantity: “2.5” is not a whole number"]
    assert again.problems == ["line 6, Name: order “#1001” appears again after other "
                              "orders; keep an order's rows together"]


def test_the_questions_a_file_raises_are_asked_not_guessed():
    from webapp.imports import orders

    header = ["Order", "Date", "Customer", "Product", "Qty", "Price"]
    columns = mapping.propose(header).columns
    sample = [["A", "03/04/2026", "X", "P", "1", "1.50"],
              ["B", "05/06/2026", "Y", "P", "1", "1,50"]]
    _, questions = orders.reading_for(header, columns, sample)
    assert questions == [
        "Date: the dates could be day first or month first; say which.",
        "the amounts are written with both a decimal comma and a decimal point; "
        "say which mark is the decimal one."]
