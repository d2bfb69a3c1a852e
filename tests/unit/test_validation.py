"""The input rules shared by the order form and the API."""
from decimal import Decimal

import pytest

from webapp.orders.validation import parse_name, parse_price, parse_quantity


@pytest.mark.parametrize("raw,expected", [("1", 1), (" 42 ", 42), ("10000", 10000), (7, 7)])
def test_quantity_accepts_whole_numbers_from_1_to_10000(raw, expected):
    assert parse_quantity(raw) == expected


@pytest.mark.parametrize("raw", ["0", "-1", "10001", "1.5", "1e3", "NaN", "Infinity", "٣", "３",
                                 "+5", "", "   ", "1,000", "0x10", None, True, 2.0, 0, 10001])
def test_quantity_rejects_anything_else_with_a_message(raw):
    with pytest.raises(ValueError) as err:
        parse_quantity(raw)
    assert "Quantity" in str(err.value)


@pytest.mark.parametrize("raw,expected", [
    ("12.50", Decimal("12.50")), ("0.01", Decimal("0.01")), ("7", Decimal("7.00")),
    (" 3.5 ", Decimal("3.50")), (".99", Decimal("0.99")), ("1000000", Decimal("1000000.00")),
    (5, Decimal("5.00")), (Decimal("2.5"), Decimal("2.50")),
])
def test_price_accepts_positive_amounts_with_two_decimals(raw, expected):
    value = parse_price(raw)
    assert value == expected and value.as_tuple().exponent == -2


@pytest.mark.parametrize("raw", ["0", "0.00", "-1", "1.005", "NaN", "sNaN", "Infinity", "-Infinity",
                                 "1E+999999", "1e-999999", "1e2", "10^20", "٣", "１２", "12,50",
                                 "$5", "1000000.01", "", None, True, Decimal("NaN"), 1.5])
def test_price_rejects_non_positive_inexact_or_exotic_amounts(raw):
    with pytest.raises(ValueError) as err:
        parse_price(raw)
    assert "price" in str(err.value).lower()


def test_names_are_trimmed_and_inner_whitespace_collapsed():
    assert parse_name("  Café \t crème  ", "Product") == "Café crème"


@pytest.mark.parametrize("raw", ["", "   ", None, "a" * 201, "bad\x00byte", 12])
def test_names_must_be_present_short_and_free_of_control_characters(raw):
    with pytest.raises(ValueError):
        parse_name(raw, "Customer")


def test_names_in_any_script_and_formula_like_text_are_kept_verbatim():
    for text in ["日本茶", "Ελληνικά", "שלום", "=HYPERLINK(\"x\")", "<img onerror=alert(1)>",
                 "{{7*7}}"]:
        assert parse_name(text, "Product") == text
