"""The money rule (webapp/orders/money.py): every expected amount below was
worked out by hand, so a change to the rule shows up as a changed number."""
from __future__ import annotations

import dataclasses
import decimal
import itertools
import random
from decimal import Decimal as D

import pytest

from webapp.orders.money import (
    MINOR_UNITS,
    LineAmounts,
    TaxBand,
    line_amounts,
    minor_unit,
    normalise_rate,
    order_amounts,
    quantum,
    round_money,
    tax_bands,
)


def amounts(amount, discount, net, tax, gross) -> LineAmounts:
    return LineAmounts(D(amount), D(discount), D(net), D(tax), D(gross))


def digits(value: D) -> int:
    return -value.as_tuple().exponent


# --- currencies and rounding -------------------------------------------------

def test_minor_units_follow_iso_4217_and_default_to_two():
    assert minor_unit("USD") == 2
    assert minor_unit("EUR") == 2
    assert minor_unit("HUF") == 2
    assert minor_unit("XYZ") == 2
    assert minor_unit("JPY") == minor_unit("jpy") == 0
    for code in ("KRW", "ISK", "CLP", "VND"):
        assert minor_unit(code) == 0, code
    for code in ("BHD", "KWD", "OMR", "JOD", "TND"):
        assert minor_unit(code) == 3, code
    assert all(exponent != 2 for exponent in MINOR_UNITS.values())


def test_quantum_is_the_smallest_amount_with_its_exponent():
    assert str(quantum("USD")) == "0.01"
    assert str(quantum("JPY")) == "1"
    assert str(quantum("KWD")) == "0.001"


def test_round_money_rounds_half_up_away_from_zero():
    assert round_money(D("2.675"), "USD") == D("2.68")  # the float 2.675 would give 2.67
    assert round_money(D("0.125"), "USD") == D("0.13")  # half-even would give 0.12
    assert round_money(D("0.0049999"), "USD") == D("0.00")
    assert round_money(D("-0.005"), "USD") == D("-0.01")
    assert str(round_money(D("7"), "USD")) == "7.00"
    assert str(round_money(D("1234.5"), "JPY")) == "1235"
    assert str(round_money(D("0.0005"), "KWD")) == "0.001"


def test_rounding_ignores_the_callers_decimal_context():
    with decimal.localcontext() as ctx:
        ctx.prec = 3
        ctx.rounding = decimal.ROUND_DOWN
        assert line_amounts(7, D("1234.56"), tax_rate=D(19)) == amounts(
            "8641.92", "0.00", "8641.92", "1641.96", "10283.88")


# --- single lines, prices entered net ----------------------------------------

def test_tax_of_half_a_cent_rounds_up():
    # 0.10 × 5 % = 0.005
    assert line_amounts(1, D("0.10"), tax_rate=D(5)) == amounts(
        "0.10", "0.00", "0.10", "0.01", "0.11")
    # 0.50 × 5 % = 0.025: half-up gives 0.03 where banker's rounding gives 0.02
    assert line_amounts(1, D("0.50"), tax_rate=D(5)) == amounts(
        "0.50", "0.00", "0.50", "0.03", "0.53")
    # 0.09 × 5 % = 0.0045: under half a cent
    assert line_amounts(1, D("0.09"), tax_rate=D(5)) == amounts(
        "0.09", "0.00", "0.09", "0.00", "0.09")


def test_discount_landing_on_half_a_cent_rounds_up_before_tax():
    # 10.05 × 10 % = 1.005 → 1.01; 9.04 × 19 % = 1.7176 → 1.72
    assert line_amounts(1, D("10.05"), tax_rate=D(19), discount_rate=D(10)) == amounts(
        "10.05", "1.01", "9.04", "1.72", "10.76")
    # 12.50 × 5 % = 0.625 → 0.63
    assert line_amounts(1, D("12.50"), discount_rate=D(5)) == amounts(
        "12.50", "0.63", "11.87", "0.00", "11.87")


def test_line_amount_is_quantity_times_price_rounded_once():
    # 3 × 0.335 = 1.005 → 1.01 (not 3 × 0.34 = 1.02)
    assert line_amounts(3, D("0.335")) == amounts("1.01", "0.00", "1.01", "0.00", "1.01")
    assert line_amounts(0, D("19.99"), tax_rate=D(19)) == amounts(
        "0.00", "0.00", "0.00", "0.00", "0.00")


def test_fractional_rates():
    # 20.00 × 5.5 % = 1.10
    assert line_amounts(1, D("20.00"), tax_rate=D("5.5")) == amounts(
        "20.00", "0.00", "20.00", "1.10", "21.10")
    # 12.35 × 8.1 % = 1.00035 → 1.00
    assert line_amounts(1, D("12.35"), tax_rate=D("8.1")) == amounts(
        "12.35", "0.00", "12.35", "1.00", "13.35")
    # 100.00 × 12.5 % = 12.50 off; 87.50 × 19 % = 16.625 → 16.63
    assert line_amounts(1, D("100.00"), tax_rate=D(19), discount_rate=D("12.5")) == amounts(
        "100.00", "12.50", "87.50", "16.63", "104.13")


@pytest.mark.parametrize("gross_prices", [False, True])
def test_full_discount_leaves_nothing(gross_prices):
    assert line_amounts(3, D("9.99"), tax_rate=D(19), discount_rate=D(100),
                        prices_include_tax=gross_prices) == amounts(
        "29.97", "29.97", "0.00", "0.00", "0.00")
    order = order_amounts([(3, D("9.99"), D(19), D(100)), (1, D("5.00"), D(7), D(100))],
                          prices_include_tax=gross_prices)
    assert (order.discount, order.net, order.tax, order.gross) == (
        D("34.97"), D("0.00"), D("0.00"), D("0.00"))
    assert order.bands == (TaxBand(D(7), D("0.00"), D("0.00"), D("0.00")),
                           TaxBand(D(19), D("0.00"), D("0.00"), D("0.00")))


# --- single lines, prices entered gross --------------------------------------

def test_gross_prices_take_the_net_out_of_the_gross():
    assert line_amounts(1, D("119.00"), tax_rate=D(19), prices_include_tax=True) == amounts(
        "119.00", "0.00", "100.00", "19.00", "119.00")
    # 10.00 / 1.19 = 8.4033… → 8.40
    assert line_amounts(1, D("10.00"), tax_rate=D(19), prices_include_tax=True) == amounts(
        "10.00", "0.00", "8.40", "1.60", "10.00")
    # 0.99 / 1.07 = 0.92523… → 0.93
    assert line_amounts(1, D("0.99"), tax_rate=D(7), prices_include_tax=True) == amounts(
        "0.99", "0.00", "0.93", "0.06", "0.99")
    # 0.25 / 2 = 0.125 → 0.13 (half-up on the net)
    assert line_amounts(1, D("0.25"), tax_rate=D(100), prices_include_tax=True) == amounts(
        "0.25", "0.00", "0.13", "0.12", "0.25")
    assert line_amounts(2, D("4.50"), tax_rate=D(0), prices_include_tax=True) == amounts(
        "9.00", "0.00", "9.00", "0.00", "9.00")


def test_gross_prices_discount_the_gross_then_take_the_net_out():
    # 10.05 × 10 % = 1.005 → 1.01 off; 9.04 / 1.19 = 7.5966… → 7.60
    assert line_amounts(1, D("10.05"), tax_rate=D(19), discount_rate=D(10),
                        prices_include_tax=True) == amounts(
        "10.05", "1.01", "7.60", "1.44", "9.04")


def test_net_and_gross_entry_agree_where_the_cents_allow():
    assert line_amounts(1, D("100.00"), tax_rate=D(19)).gross == D("119.00")
    assert line_amounts(1, D("8.40"), tax_rate=D(19)).gross == D("10.00")  # tax 1.596 → 1.60
    # but they are not inverses at the cent: 0.99 gross at 7 % has net 0.93,
    # and 0.93 net at 7 % (tax 0.0651 → 0.07) is 1.00 gross
    assert line_amounts(1, D("0.93"), tax_rate=D(7)) == amounts(
        "0.93", "0.00", "0.93", "0.07", "1.00")


# --- other currencies --------------------------------------------------------

def test_yen_has_no_decimals():
    # 999 × 5 % = 49.95 → 50 off; 949 × 10 % = 94.9 → 95
    line = line_amounts(3, D("333"), tax_rate=D(10), discount_rate=D(5), currency="JPY")
    assert line == amounts("999", "50", "949", "95", "1044")
    assert {digits(value) for value in dataclasses.astuple(line)} == {0}
    assert line_amounts(1, D("100.5"), currency="JPY").amount == D("101")
    # 1000 / 1.08 = 925.92… → 926
    assert line_amounts(1, D("1000"), tax_rate=D(8), currency="JPY",
                        prices_include_tax=True) == amounts("1000", "0", "926", "74", "1000")
    order = order_amounts([(1, D("1100"), D(10), D(0))], shipping=D("550"),
                          shipping_tax_rate=D(10), currency="JPY", prices_include_tax=True)
    assert (order.net, order.tax, order.gross) == (D("1500"), D("150"), D("1650"))
    assert str(order.gross) == "1650"


def test_dinar_has_three_decimals():
    # 0.110 × 5 % = 0.0055 → 0.006
    line = line_amounts(1, D("0.110"), tax_rate=D(5), currency="KWD")
    assert line == amounts("0.110", "0.000", "0.110", "0.006", "0.116")
    assert {digits(value) for value in dataclasses.astuple(line)} == {3}
    # 1.2345 → 1.235
    assert line_amounts(1, D("1.2345"), currency="KWD").amount == D("1.235")
    # 1.000 / 1.05 = 0.95238… → 0.952
    assert line_amounts(1, D("1.000"), tax_rate=D(5), currency="KWD",
                        prices_include_tax=True) == amounts(
        "1.000", "0.000", "0.952", "0.048", "1.000")


# --- orders ------------------------------------------------------------------

def test_order_with_three_rates_and_shipping():
    order = order_amounts(
        [
            (2, D("50.00"), D("19"), D("10")),  # 100.00 − 10.00 = 90.00; tax 17.10
            (3, D("4.99"), D("7.0"), D("0")),  # 14.97; tax 1.0479 → 1.05
            (1, D("12.50"), D("0"), D("5")),  # 12.50 − 0.625→0.63 = 11.87; tax 0
            (5, D("1.99"), D("19"), D("0")),  # 9.95; tax 1.8905 → 1.89
        ],
        shipping=D("4.90"), shipping_tax_rate=D("19.00"),  # tax 0.931 → 0.93
    )
    assert order.lines == (
        amounts("100.00", "10.00", "90.00", "17.10", "107.10"),
        amounts("14.97", "0.00", "14.97", "1.05", "16.02"),
        amounts("12.50", "0.63", "11.87", "0.00", "11.87"),
        amounts("9.95", "0.00", "9.95", "1.89", "11.84"),
    )
    assert order.shipping == amounts("4.90", "0.00", "4.90", "0.93", "5.83")
    assert order.bands == (
        TaxBand(D("0"), D("11.87"), D("0.00"), D("11.87")),
        TaxBand(D("7"), D("14.97"), D("1.05"), D("16.02")),
        TaxBand(D("19"), D("104.85"), D("19.92"), D("124.77")),
    )
    assert [str(band.rate) for band in order.bands] == ["0", "7", "19"]
    assert order.discount == D("10.63")
    assert order.net == D("131.69")
    assert order.tax == D("20.97")
    assert order.gross == D("152.66")


def test_order_with_gross_prices_and_gross_shipping():
    order = order_amounts(
        [(1, D("119.00"), D(19), D(0)), (1, D("0.99"), D(7), D(0))],
        shipping=D("5.95"), shipping_tax_rate=D(19), prices_include_tax=True,
    )
    assert order.shipping == amounts("5.95", "0.00", "5.00", "0.95", "5.95")
    assert order.bands == (
        TaxBand(D("7"), D("0.93"), D("0.06"), D("0.99")),
        TaxBand(D("19"), D("105.00"), D("19.95"), D("124.95")),
    )
    assert (order.net, order.tax, order.gross) == (D("105.93"), D("20.01"), D("125.94"))


def test_tax_is_rounded_per_line_not_per_band():
    # each line: 0.10 × 5 % = 0.005 → 0.01, so 0.03 in all; 0.30 × 5 % would be 0.02
    order = order_amounts([(1, D("0.10"), D(5), D(0))] * 3)
    assert order.tax == D("0.03")
    assert order.bands == (TaxBand(D(5), D("0.30"), D("0.03"), D("0.33")),)


def test_free_shipping_adds_no_band_and_an_empty_order_is_zero():
    order = order_amounts([(1, D("10.00"), D(19), D(0))])
    assert order.shipping == amounts("0.00", "0.00", "0.00", "0.00", "0.00")
    assert [band.rate for band in order.bands] == [D(19)]
    empty = order_amounts([])
    assert (empty.lines, empty.bands) == ((), ())
    assert [str(v) for v in (empty.discount, empty.net, empty.tax, empty.gross)] == [
        "0.00"] * 4
    assert str(order_amounts([], currency="JPY").gross) == "0"


def test_shipping_alone_makes_its_band():
    order = order_amounts([], shipping=D("4.95"), shipping_tax_rate=D(19))
    # 4.95 × 19 % = 0.9405 → 0.94
    assert order.bands == (TaxBand(D(19), D("4.95"), D("0.94"), D("5.89")),)
    assert (order.net, order.tax, order.gross) == (D("4.95"), D("0.94"), D("5.89"))


def test_tax_bands_merge_equal_rates_written_differently():
    bands = tax_bands([
        (D("19.00"), D("10.00"), D("1.90"), D("11.90")),
        (D("7"), D("1.00"), D("0.07"), D("1.07")),
        (D("19"), D("0.10"), D("0.02"), D("0.12")),
        (D("19.0"), D("5.00"), D("0.95"), D("5.95")),
        (D("5.50"), D("2.00"), D("0.11"), D("2.11")),
        (D("100.00"), D("1.00"), D("1.00"), D("2.00")),
    ])
    assert bands == (
        TaxBand(D("5.5"), D("2.00"), D("0.11"), D("2.11")),
        TaxBand(D("7"), D("1.00"), D("0.07"), D("1.07")),
        TaxBand(D("19"), D("15.10"), D("2.87"), D("17.97")),
        TaxBand(D("100"), D("1.00"), D("1.00"), D("2.00")),
    )
    assert [str(band.rate) for band in bands] == ["5.5", "7", "19", "100"]
    assert tax_bands([]) == ()


def test_normalise_rate():
    assert [str(normalise_rate(D(r))) for r in ("19", "19.0", "19.00", "5.50", "100", "0.00",
                                                "-0", "8.10")] == [
        "19", "19", "19", "5.5", "100", "0", "0", "8.1"]


# --- properties over many combinations ----------------------------------------

QUANTITIES = (0, 1, 2, 3, 7, 13, 100)
PRICES = ("0", "0.01", "0.05", "0.10", "0.335", "0.99", "4.99", "19.99", "33.33", "999.99",
          "1234.5678")
TAX_RATES = ("0", "5", "5.5", "7", "8.1", "19", "20", "21", "100")
DISCOUNT_RATES = ("0", "3", "10", "12.5", "33.33", "100")


@pytest.mark.parametrize("currency", ["USD", "JPY", "KWD"])
@pytest.mark.parametrize("gross_prices", [False, True])
def test_every_line_adds_up_and_every_order_sums_its_lines(currency, gross_prices):
    half = quantum(currency) / 2
    places = minor_unit(currency)
    combos = list(itertools.product(QUANTITIES, PRICES, TAX_RATES, DISCOUNT_RATES))
    computed = []
    for quantity, price, tax_rate, discount_rate in combos:
        tax_rate, discount_rate = D(tax_rate), D(discount_rate)
        line = line_amounts(quantity, D(price), tax_rate=tax_rate, discount_rate=discount_rate,
                            currency=currency, prices_include_tax=gross_prices)
        values = dataclasses.astuple(line)
        assert all(digits(value) == places for value in values), (line, places)
        assert line.net + line.tax == line.gross, line
        assert line.amount - line.discount == (line.gross if gross_prices else line.net), line
        assert 0 <= line.discount <= line.amount
        assert line.tax >= 0 and 0 <= line.net <= line.gross
        assert abs(line.amount - quantity * D(price)) <= half
        # each rounded figure lies within half a minor unit of its exact value
        if gross_prices:
            assert abs(line.net - line.gross * 100 / (100 + tax_rate)) <= half, line
        else:
            assert abs(line.tax - line.net * tax_rate / 100) <= half, line
        computed.append(((quantity, D(price), tax_rate, discount_rate), line))

    chooser = random.Random(f"{currency}{gross_prices}")
    for _ in range(200):
        picked = chooser.sample(computed, chooser.randint(1, 12))
        shipping = D(chooser.choice(PRICES))
        shipping_rate = D(chooser.choice(TAX_RATES))
        order = order_amounts([entry for entry, _ in picked], shipping=shipping,
                              shipping_tax_rate=shipping_rate, currency=currency,
                              prices_include_tax=gross_prices)
        assert order.lines == tuple(line for _, line in picked)
        everything = [*order.lines, order.shipping]
        assert order.discount == sum(line.discount for line in order.lines)
        assert order.net == sum(line.net for line in everything)
        assert order.tax == sum(line.tax for line in everything)
        assert order.gross == sum(line.gross for line in everything)
        assert order.net + order.tax == order.gross
        assert sum(band.net for band in order.bands) == order.net
        assert sum(band.tax for band in order.bands) == order.tax
        assert sum(band.gross for band in order.bands) == order.gross
        rates = [band.rate for band in order.bands]
        assert rates == sorted(set(rates))
        expected_rates = {entry[2] for entry, _ in picked}
        if order.shipping.gross:
            expected_rates.add(shipping_rate)
        assert set(rates) == expected_rates


# --- the last guard ----------------------------------------------------------

@pytest.mark.parametrize(("kwargs", "message"), [
    ({"quantity": -1}, "quantity must not be negative"),
    ({"unit_price": D("-0.01")}, "unit price must not be negative"),
    ({"unit_price": D("NaN")}, "unit price must be a number"),
    ({"unit_price": D("Infinity")}, "unit price must be a number"),
    ({"tax_rate": D("-1")}, "tax rate must be a percentage from 0 to 100"),
    ({"tax_rate": D("100.01")}, "tax rate must be a percentage from 0 to 100"),
    ({"discount_rate": D("-0.5")}, "discount rate must be a percentage from 0 to 100"),
    ({"discount_rate": D("101")}, "discount rate must be a percentage from 0 to 100"),
])
def test_out_of_range_values_are_refused(kwargs, message):
    arguments = {"quantity": 1, "unit_price": D("1.00"), **kwargs}
    with pytest.raises(ValueError, match=message):
        line_amounts(arguments.pop("quantity"), arguments.pop("unit_price"), **arguments)


def test_order_errors_say_which_line_or_shipping():
    with pytest.raises(ValueError, match=r"line 2: tax rate must be .* \(got 119\)"):
        order_amounts([(1, D("1.00"), D(19), D(0)), (1, D("1.00"), D(119), D(0))])
    with pytest.raises(ValueError, match="shipping: unit price must not be negative"):
        order_amounts([], shipping=D("-4.90"))
    with pytest.raises(ValueError, match="shipping: tax rate must be a percentage"):
        order_amounts([], shipping=D("4.90"), shipping_tax_rate=D(120))


def test_floats_and_fractional_quantities_are_refused():
    with pytest.raises(TypeError, match="unit price must be a Decimal, not float"):
        line_amounts(1, 2.675)
    with pytest.raises(TypeError, match="tax rate must be a Decimal, not float"):
        line_amounts(1, D("1.00"), tax_rate=19.0)
    with pytest.raises(TypeError, match="quantity must be a whole number"):
        line_amounts(D("1.5"), D("1.00"))
    with pytest.raises(TypeError, match="quantity must be a whole number"):
        line_amounts(True, D("1.00"))
