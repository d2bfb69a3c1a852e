"""CSV generator: fed hand-built rows, checked by reading the file back."""
from __future__ import annotations

import csv
import datetime as dt
import re
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tasks.generators import PROGRESS_EVERY, ReportMeta, Row
from tasks.generators.csv_report import (
    ALWAYS_GUARDED_FIRST_CHARS,
    CELL_BREAKS,
    FORMULA_SKIP_CHARS,
    FORMULA_START_CHARS,
    HEADER,
    QUOTED_CHARS,
    SUSPECT_PATTERN,
    neutralise,
    text_cell,
    write_csv,
)
from webapp.enums import ReportKind

META = ReportMeta(kind=ReportKind.SUMMARY, title="Completed orders")
NAIVE = dt.datetime(2026, 11, 3, 14, 5, 9)


def row(order_id=1, customer="ACME", product="Widget", qty=2, price="9.99", status="completed",
        when=NAIVE) -> Row:
    price = Decimal(price)
    return Row(order_id, when, customer, status, product, qty, price, price * qty)


def read_back(path) -> list[list[str]]:
    with open(path, encoding="utf-8", newline="") as fh:
        return list(csv.reader(fh))


def test_header_then_one_record_per_row_with_every_value_formatted(tmp_path):
    rows = [
        row(1, "ACME", "Widget", 3, "19.90"),
        row(1, "ACME", "Gadget", 1, "1250"),
        row(2, "Globex", "Sprocket", 10, "0.05", status="open"),
    ]
    path = tmp_path / "r.csv"

    assert write_csv(rows, META, path) == 3

    records = read_back(path)
    assert records[0] == list(HEADER)
    assert records[0] == ["order_id", "order_date", "customer", "status", "product",
                          "quantity", "unit_price", "line_total", "currency"]
    assert records[1:] == [
        ["1", "2026-11-03T14:05:09Z", "ACME", "completed", "Widget", "3", "19.90", "59.70", "USD"],
        ["1", "2026-11-03T14:05:09Z", "ACME", "completed", "Gadget", "1", "1250.00", "1250.00",
         "USD"],
        ["2", "2026-11-03T14:05:09Z", "Globex", "open", "Sprocket", "10", "0.05", "0.50", "USD"],
    ]


def test_line_totals_sum_exactly_to_the_decimal_total(tmp_path):
    rows = [row(i // 3, f"C{i % 7}", f"P{i % 11}", i % 5 + 1, f"{i % 97}.{i % 100:02d}")
            for i in range(1, 500)]
    path = tmp_path / "r.csv"
    write_csv(rows, META, path)

    records = read_back(path)[1:]
    assert len(records) == len(rows)
    assert sum(Decimal(r[7]) for r in records) == sum(r.line_total for r in rows)
    # Money has exactly two decimals and no currency symbol or thousands separator.
    assert all(r[6].count(".") == 1 and len(r[6].split(".")[1]) == 2 for r in records)
    assert all(r[6].replace(".", "").isdigit() for r in records)


def test_big_amounts_have_no_thousands_separator_and_are_not_floats(tmp_path):
    rows = [row(1, qty=3, price="1234567.10")]  # float math would print 3703701.3000000003
    path = tmp_path / "r.csv"
    write_csv(rows, META, path)

    assert read_back(path)[1][6:] == ["1234567.10", "3703701.30", "USD"]


def test_aware_datetimes_are_converted_to_utc_and_naive_ones_taken_as_utc(tmp_path):
    paris = dt.timezone(dt.timedelta(hours=1))
    rows = [
        row(1, when=dt.datetime(2026, 11, 3, 0, 30, tzinfo=paris)),
        row(2, when=dt.datetime(2026, 11, 3, 0, 30, tzinfo=dt.UTC)),
        row(3, when=dt.datetime(2026, 11, 3, 0, 30)),
    ]
    path = tmp_path / "r.csv"
    write_csv(rows, META, path)

    assert [r[1] for r in read_back(path)[1:]] == [
        "2026-11-02T23:30:00Z", "2026-11-03T00:30:00Z", "2026-11-03T00:30:00Z",
    ]


def test_unicode_names_round_trip(tmp_path):
    names = ["Café crème", "Ürün", "Ελληνικά", "日本茶", "Привет", "emoji 🍵"]
    rows = [row(i, customer=name, product=name) for i, name in enumerate(names)]
    path = tmp_path / "r.csv"
    write_csv(rows, META, path)

    records = read_back(path)[1:]
    assert [r[2] for r in records] == names
    assert [r[4] for r in records] == names


DANGEROUS = ['=HYPERLINK("http://x","y")', "+1", "-2+3", "@SUM(A1)", "\tx", "\rx"]


@pytest.mark.parametrize("value", DANGEROUS)
def test_formula_like_text_cells_get_a_leading_quote(tmp_path, value):
    rows = [row(1, customer=value, product=value, status=value)]
    path = tmp_path / "r.csv"
    write_csv(rows, META, path)

    record = read_back(path)[1]
    assert record[2] == record[3] == record[4] == "'" + value


def test_numeric_cells_are_never_neutralised(tmp_path):
    rows = [Row(7, NAIVE, "=evil", "open", "-refund", -2, Decimal("-5.50"), Decimal("11.00"))]
    path = tmp_path / "r.csv"
    write_csv(rows, META, path)

    record = read_back(path)[1]
    assert record[2] == "'=evil"
    assert record[4] == "'-refund"
    assert record[5:] == ["-2", "-5.50", "11.00", "USD"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("=1+1", "'=1+1"), ("+1", "'+1"), ("-1", "'-1"), ("@x", "'@x"), ("\tx", "'\tx"),
        ("\rx", "'\rx"), ("a=1", "a=1"), ("", ""), ("'already", "'already"), ("1-2", "1-2"),
    ],
)
def test_neutralise_only_prefixes_text_starting_with_a_formula_character(text, expected):
    assert neutralise(text) == expected


# Fullwidth = + - @ (U+FF1D U+FF0B U+FF0D U+FF20) start a formula too, and a
# spreadsheet may drop leading whitespace and invisible format characters
# (U+200B U+200C U+200D U+2060 U+FEFF) before it parses the cell.
NEW_DANGEROUS = [
    "\uff1d1+1", "\uff0b1", "\uff0d1", "\uff20SUM(A1)", "\uff1d", "\uff20",
    "\u200b=1+1", "\u200c+1", "\u200d-1", "\u2060@x", "\ufeff=1+1", " =1+1",
    "  @x", "\u200b\ufeff \u2060=x", "\u200b\uff1dx", " \uff0d1",
]
# The same behind line breaks or tabs, which also start a piece of their own
# (a cell, for a reader that splits there): a ' in front of each piece.
NEW_DANGEROUS_WITH_BREAKS = {
    "\n=cmd": "'\n'=cmd",
    "\n\n+1": "'\n'\n'+1",
    " \t=x": "' \t'=x",
    "\n\uff20x": "'\n'\uff20x",
    "\u200b\u200c\u200d\u2060\ufeff \t\r\n-": "'\u200b\u200c\u200d\u2060\ufeff \t'\r'\n'-",
}
# Look-alikes that stay as they are: no formula start once the skippable
# prefix is gone, or the start character is not the first one of its piece.
HARMLESS = [
    "Tea", "a=b", "5-3", "\u200bTea", " Tea", "\nTea", "\u200b", "\ufeff", " ", "\n", "\n \u200b",
    "Tea=", "a\uff1db", "5\uff0d3", "\u200bTea=1", " 'x", "\u00a0=x", "x\u200b=1", "\u2212x",
    "\uff1e1", "'=x", "a; b=1", "a, 5-3", "x\u00a0=1", "x;'=1", "a\n\u200bb",
]


@pytest.mark.parametrize("value", NEW_DANGEROUS)
def test_neutralise_guards_fullwidth_and_prefixed_formula_starts(value):
    assert neutralise(value) == "'" + value


@pytest.mark.parametrize(("value", "expected"), NEW_DANGEROUS_WITH_BREAKS.items())
def test_neutralise_guards_every_piece_behind_a_line_break_or_tab(value, expected):
    assert neutralise(value) == expected


@pytest.mark.parametrize("value", HARMLESS)
def test_neutralise_leaves_harmless_look_alikes_alone(value):
    assert neutralise(value) == value


@pytest.mark.parametrize("value", ["\t", "\r", "\tTea", "\rTea", "\t\u200b", "\r\n"])
def test_a_leading_tab_or_cr_is_guarded_whatever_follows(value):
    assert neutralise(value) == "'" + value


@pytest.mark.parametrize("value", [*NEW_DANGEROUS, *NEW_DANGEROUS_WITH_BREAKS])
def test_write_csv_guards_the_new_formula_starts_in_every_text_cell(tmp_path, value):
    rows = [row(1, customer=value, product=value, status=value)]
    path = tmp_path / "r.csv"
    write_csv(rows, META, path)

    record = read_back(path)[1]
    expected = NEW_DANGEROUS_WITH_BREAKS.get(value, "'" + value)
    assert record[2] == record[3] == record[4] == expected


def test_write_csv_leaves_harmless_look_alikes_alone(tmp_path):
    rows = [row(i, customer=value, product=value, status=value)
            for i, value in enumerate(HARMLESS)]
    path = tmp_path / "r.csv"
    write_csv(rows, META, path)

    assert [r[2:5] for r in read_back(path)[1:]] == [[value] * 3 for value in HARMLESS]


SPECIAL = "=+-@\t\r\n \uff1d\uff0b\uff0d\uff20\u200b\u200c\u200d\u2060\ufeff"
GUARD_ALPHABET = SPECIAL + "'aZ1,;\"\u00a0\u2212\u3000日"


def _piece_is_formula(piece: str) -> bool:
    if piece[:1] in ("\t", "\r"):
        return True
    for char in piece:
        if char not in " \t\r\n\u200b\u200c\u200d\u2060\ufeff":
            return char in "=+-@\uff1d\uff0b\uff0d\uff20"
    return False


def _reference_neutralise(text: str) -> str:
    """The rule, spelled out independently of neutralise's regular expression:
    a ' before every piece (the text's start, and each position behind a
    , ; tab CR or LF) that a spreadsheet would run as a formula."""
    out = []
    for at, char in enumerate(text):
        if (at == 0 or text[at - 1] in ",;\t\r\n") and _piece_is_formula(text[at:]):
            out.append("'")
        out.append(char)
    return "".join(out)


def test_the_constants_hold_exactly_the_rule_s_characters():
    assert sorted(FORMULA_START_CHARS) == sorted("=+-@\uff1d\uff0b\uff0d\uff20")
    assert sorted(FORMULA_SKIP_CHARS) == sorted(" \t\r\n\u200b\u200c\u200d\u2060\ufeff")
    assert sorted(ALWAYS_GUARDED_FIRST_CHARS) == sorted("\t\r")
    assert sorted(CELL_BREAKS) == sorted(",;\t\r\n")
    assert sorted(QUOTED_CHARS) == sorted(",;\t\r\n\"")
    assert ALWAYS_GUARDED_FIRST_CHARS.issubset(CELL_BREAKS)  # SUSPECT_PATTERN counts on it


@settings(max_examples=500, deadline=None, derandomize=True, database=None)
@given(st.text(alphabet=GUARD_ALPHABET, max_size=8))
def test_neutralise_follows_the_rule_and_keeps_everything_the_old_guard_caught(text):
    guarded = neutralise(text)
    assert guarded == _reference_neutralise(text)
    if text and text[0] in "=+-@\t\r":  # what the first guard caught
        assert guarded.startswith("'")
    # only ever adds ', so the text a person reads is still there
    assert guarded.replace("'", "") == text.replace("'", "")


@settings(max_examples=500, deadline=None, derandomize=True, database=None)
@given(st.text(alphabet=GUARD_ALPHABET, max_size=8))
def test_text_cell_is_the_guarded_text_quoted_when_it_holds_a_separator_or_quote(text):
    guarded = _reference_neutralise(text)
    if any(char in ",;\t\r\n\"" for char in text):
        assert text_cell(text) == '"' + guarded.replace('"', '""') + '"'
    else:
        assert text_cell(text) == guarded
    # the shortcut for plain names (text_cell's and the SQL's) is exact
    assert (re.search(SUSPECT_PATTERN, text) is None) == (text_cell(text) == text)


def test_commas_quotes_and_newlines_in_names_are_quoted_per_rfc4180(tmp_path):
    customer = 'Smith, "Jr" & Co'
    product = "Line one\nline two"
    rows = [row(1, customer=customer, product=product)]
    path = tmp_path / "r.csv"
    write_csv(rows, META, path)

    raw = path.read_bytes().decode("utf-8")
    assert '"Smith, ""Jr"" & Co"' in raw
    assert '"Line one\nline two"' in raw
    record = read_back(path)[1]
    assert record[2] == customer
    assert record[4] == product


def test_file_is_utf8_without_bom_and_every_record_ends_with_crlf(tmp_path):
    rows = [row(1, customer="Café"), row(2, customer="Ürün")]
    path = tmp_path / "r.csv"
    write_csv(rows, META, path)

    data = path.read_bytes()
    assert not data.startswith(b"\xef\xbb\xbf")
    assert data.startswith(b"order_id,")
    assert data.endswith(b"\r\n")
    assert data.count(b"\r\n") == 3
    assert b"\n" not in data.replace(b"\r\n", b"")
    data.decode("utf-8")  # strict


def test_progress_is_reported_every_block_with_increasing_counts_and_ends_with_the_total(
        tmp_path):
    n = PROGRESS_EVERY * 2 + 7
    calls: list[int] = []
    rows = (row(i // 4) for i in range(n))  # a generator: rows are streamed

    assert write_csv(rows, META, tmp_path / "r.csv", progress=calls.append) == n

    assert calls == [PROGRESS_EVERY, PROGRESS_EVERY * 2, n]


def test_progress_is_not_repeated_when_the_count_is_a_multiple_of_the_block(tmp_path):
    calls: list[int] = []
    write_csv([row(1)] * PROGRESS_EVERY, META, tmp_path / "r.csv", progress=calls.append)

    assert calls == [PROGRESS_EVERY]


def test_no_rows_writes_only_the_header_and_reports_zero(tmp_path):
    calls: list[int] = []
    path = tmp_path / "r.csv"

    assert write_csv([], META, path, progress=calls.append) == 0

    assert path.read_bytes() == (",".join(HEADER) + "\r\n").encode()
    assert calls == [0]


def test_progress_raising_aborts_the_run(tmp_path):
    class Cancelled(Exception):
        pass

    def cancel(done: int) -> None:
        raise Cancelled(done)

    with pytest.raises(Cancelled):
        write_csv((row(i) for i in range(PROGRESS_EVERY * 3)), META, tmp_path / "r.csv",
                  progress=cancel)


def test_csv_for_excel_with_a_decimal_comma(tmp_path):
    """A BOM (Excel then reads UTF-8), ";" between cells and "," before the
    cents, for locales whose Excel reads 1,5 as one and a half."""
    rows = [row(1, "Café; Lumière", "Widget", 3, "19.90")]
    meta = ReportMeta(kind=ReportKind.SUMMARY, title="t", currency="EUR", csv_excel=True,
                      decimal_comma=True, timezone="Europe/Berlin")
    path = tmp_path / "r.csv"
    write_csv(rows, meta, path)
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    assert raw.decode("utf-8-sig").splitlines()[1] == (
        '1;2026-11-03T15:05:09+01:00;"Café; Lumière";completed;Widget;3;19,90;59,70;EUR')


def test_csv_for_excel_without_the_decimal_comma_keeps_commas_and_points(tmp_path):
    meta = ReportMeta(kind=ReportKind.SUMMARY, title="t", csv_excel=True)
    path = tmp_path / "r.csv"
    write_csv([row(1, "ACME", "Widget", 3, "19.90")], meta, path)
    text = path.read_bytes().decode("utf-8")
    assert text.startswith("\ufefforder_id,") and ",19.90,59.70,USD\r\n" in text


# --- formulas across separators ---------------------------------------------------------
# A comma CSV opened with ";" as separator (the default in much of Europe), or
# the ";" CSV opened with ",", or either with tab, makes a cell of each piece of
# our text: "Z;=2*21;" was a 42 there. Both styles quote a text cell holding
# either separator, tab or a line break, and guard each piece.

STYLES = {
    "comma": ReportMeta(kind=ReportKind.SUMMARY, title="t"),
    "decimal comma": ReportMeta(kind=ReportKind.SUMMARY, title="t", csv_excel=True,
                                decimal_comma=True, currency="EUR"),
}
# what separates pieces inside a cell, and what starts a formula after one
BREAKS = [",", ";", "\t", "\r", "\n"]
TRIGGERS = ["=", "+", "-", "@", "\uff1d", "\uff0b", "\uff0d", "\uff20", "\t", "\r",
            " =", "\u200b+", "\ufeff\u2060@"]


def read_style(path, style: str, separator: str | None = None) -> list[list[str]]:
    """The records, split at `separator` (the file's own by default)."""
    own = ";" if STYLES[style].decimal_comma else ","
    with open(path, encoding="utf-8-sig", newline="") as fh:
        return list(csv.reader(fh, delimiter=separator or own))


@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize("trigger", TRIGGERS)
@pytest.mark.parametrize("brk", BREAKS)
def test_a_formula_behind_any_separator_inside_a_text_cell_is_guarded_in_both_styles(
        tmp_path, style, brk, trigger):
    value = f"Z{brk}{trigger}2*21{brk}"
    path = tmp_path / "r.csv"
    write_csv([row(1, customer=value, product=value, status=value)], STYLES[style], path)

    guarded = f"Z{brk}'{trigger}2*21{brk}"  # the text, a ' before the formula's piece
    raw = path.read_bytes().decode("utf-8-sig")
    assert raw.count(f'"{guarded}"') == 3  # quoted, whichever the file's own separator
    record = read_style(path, style)[1]
    assert len(record) == len(HEADER)
    assert record[2] == record[3] == record[4] == guarded


@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize("brk", BREAKS)
def test_a_text_cell_holding_either_separator_tab_or_a_line_break_is_quoted(tmp_path, style,
                                                                           brk):
    path = tmp_path / "r.csv"
    write_csv([row(1, customer=f"Smith{brk} Jones", product=f'Tea{brk} "Earl" Grey')],
              STYLES[style], path)

    raw = path.read_bytes().decode("utf-8-sig")
    assert f'"Smith{brk} Jones"' in raw and f'"Tea{brk} ""Earl"" Grey"' in raw
    assert read_style(path, style)[1][2:5] == [f"Smith{brk} Jones", "completed",
                                               f'Tea{brk} "Earl" Grey']


@pytest.mark.parametrize("style", STYLES)
def test_text_without_separators_stays_unquoted_in_both_styles(tmp_path, style):
    path = tmp_path / "r.csv"
    write_csv([row(1, customer="ACME Co.", product="T-shirt 5-3 a=b")], STYLES[style], path)

    sep = ";" if STYLES[style].decimal_comma else ","
    assert f"{sep}ACME Co.{sep}completed{sep}T-shirt 5-3 a=b{sep}" in path.read_text("utf-8")


def test_a_line_break_then_a_formula_guards_the_pieces_behind_cr_and_lf(tmp_path):
    assert neutralise("x\r\n=1+2") == "x\r'\n'=1+2"
    assert neutralise("x\r\n\t1") == "x\r\n'\t1"
    path = tmp_path / "r.csv"
    write_csv([row(1, customer="x\r\n=1+2")], META, path)
    assert '"x\r\'\n\'=1+2"' in path.read_bytes().decode("utf-8")


HOSTILE = ["Z;=2*21;", "P,=3*14,", "a\t=1+1", "x\n=1+2", "y\r=1+3",
           '=HYPERLINK("http://x";"y")', "+1", "-1+2", "@SUM(1)", "Tea; \u200b=1", "A,\uff1d1"]


@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize("separator", [",", ";", "\t"])
def test_no_cell_starts_a_formula_whichever_separator_the_file_is_read_with(
        tmp_path, style, separator):
    rows = [row(n, customer=value, product=value) for n, value in enumerate(HOSTILE)]
    path = tmp_path / "r.csv"
    write_csv(rows, STYLES[style], path)

    cells = [cell for record in read_style(path, style, separator) for cell in record]
    assert [cell for cell in cells if _piece_is_formula(cell)] == []


@pytest.mark.parametrize("style", STYLES)
def test_numbers_the_app_writes_are_never_guarded_or_quoted(tmp_path, style):
    rows = [Row(7, NAIVE, "=evil", "open", "-refund", -2, Decimal("-5.50"), Decimal("11.00"))]
    path = tmp_path / "r.csv"
    write_csv(rows, STYLES[style], path)

    line = path.read_bytes().decode("utf-8-sig").splitlines()[1]
    if STYLES[style].decimal_comma:
        assert line.endswith(";'=evil;open;'-refund;-2;-5,50;11,00;EUR")
    else:
        assert line.endswith(",'=evil,open,'-refund,-2,-5.50,11.00,USD")
