"""The input rules shared by the order form and the API."""
from decimal import Decimal

import pytest

from webapp.orders.validation import (
    parse_name,
    parse_price,
    parse_quantity,
    parse_shipping,
    parse_typed_price,
)


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


@pytest.mark.parametrize("decimal_comma", [True, False])
@pytest.mark.parametrize("typed,expected", [
    ("189,99", "189.99"), ("189.99", "189.99"), ("7,5", "7.50"), (",5", "0.50"),
    ("1.234,56", "1234.56"), ("1,234.56", "1234.56"), ("1 234,56", "1234.56"),
    ("1\u00a0234,56", "1234.56"), ("1\u202f234.5", "1234.50"), ("1 234", "1234.00"),
    ("1.000.000", "1000000.00"), ("1,000,000.00", "1000000.00"), (" 12,50 ", "12.50"),
])
def test_a_typed_amount_is_read_the_same_in_either_style_when_unambiguous(
        typed, expected, decimal_comma):
    for parse in (parse_typed_price, lambda v, **kw: parse_shipping(v, typed=True, **kw)):
        value = parse(typed, decimal_comma=decimal_comma)
        assert isinstance(value, Decimal) and str(value) == expected


@pytest.mark.parametrize("typed", ["1,234", "189,999", "1.234", "999.000"])
def test_a_single_group_of_3_digits_is_never_guessed(typed):
    """3 decimals in the user's own mark (refused as such), thousands or
    decimals in the other (asked about): neither is ever saved."""
    own = "," if "," in typed else "."
    for decimal_comma in (True, False):
        with pytest.raises(ValueError) as err:
            parse_typed_price(typed, decimal_comma=decimal_comma)
        whole, part = typed.split(own)
        if (own == ",") == decimal_comma:
            assert f"“{typed}” has 3 decimals. Write {whole}{own}{part[:2]}, or {whole}{part} " \
                   "for thousands." in str(err.value)
        else:
            name = "comma" if own == "," else "point"
            assert f"in “{typed}” the {name} could separate thousands or decimals: write " \
                   f"{whole}{part}, or {whole}{own}{part[:2]}." in str(err.value)


@pytest.mark.parametrize("typed", ["0,123", "1,2345", "12,3.45", "1.234.56", "1,234,56",
                                   "1.234,567", "1,2,3", "1_000", "1e3", "-189,99", "٣,٥",
                                   "１２,５０", "€189,99", "189,99 €", "12 50", "0", "0,00"])
def test_a_typed_price_refuses_what_is_no_positive_amount_in_either_style(typed):
    for decimal_comma in (True, False):
        with pytest.raises(ValueError) as err:
            parse_typed_price(typed, decimal_comma=decimal_comma)
        assert str(err.value).startswith("Unit price must be a positive amount")


@pytest.mark.parametrize("decimal_comma,example,limit", [
    (True, "12,50", "1.000.000,00"), (False, "12.50", "1,000,000.00")])
def test_typed_amount_messages_are_written_in_the_users_style(decimal_comma, example, limit):
    with pytest.raises(ValueError, match=f"^Unit price must be a positive amount with at most "
                                         f"2 decimals, like {example}.$"):
        parse_typed_price("abc", decimal_comma=decimal_comma)
    with pytest.raises(ValueError, match=f"^Shipping must be at most {limit}.$"):
        parse_shipping("1.000.000,01", typed=True, decimal_comma=decimal_comma)
    # shipping may be 0, written either way
    assert parse_shipping("0,00", typed=True, decimal_comma=decimal_comma) == 0


def test_the_api_keeps_the_plain_decimal_point():
    with pytest.raises(ValueError, match="like 12.50.$"):
        parse_price("189,99")
    with pytest.raises(ValueError, match="like 4.90.$"):
        parse_shipping("189,99")
