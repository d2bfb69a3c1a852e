"""Money rules for order lines: one rounding rule, in Decimal, everywhere.

Every amount is rounded half-up (0.005 becomes 0.01) to the currency's minor
unit, and it is rounded on each line, in this order: the line amount
(quantity × unit price), then the discount on that amount, then the tax.
When prices are entered net, the tax is computed from the net and the gross is
net + tax; when prices are entered gross (tax included), the net is computed
from the gross and the tax is gross − net. Either way net + tax = gross exactly
on every line. Shipping is one more line (quantity 1, no discount, entered the
same way as the prices), and an order's totals and its per-rate tax bands are
plain sums of its rounded lines: nothing is rounded again at order level.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import (
    ROUND_HALF_EVEN,
    ROUND_HALF_UP,
    Context,
    Decimal,
    DivisionByZero,
    InvalidOperation,
    Overflow,
    localcontext,
)

# ISO 4217 exponents of the currencies whose minor unit is not 2 digits.
MINOR_UNITS: dict[str, int] = {
    # no minor unit
    "BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0, "KRW": 0,
    "PYG": 0, "RWF": 0, "UGX": 0, "UYI": 0, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0,
    "XPF": 0,
    # thousandths
    "BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
    # units of account
    "CLF": 4, "UYW": 4,
}

_HUNDRED = Decimal(100)

# A private context, so a caller's decimal.getcontext() (a lowered precision,
# a different rounding) never changes an amount; 60 digits keep every
# intermediate product and quotient far from the quantum being rounded to.
_CONTEXT = Context(prec=60, rounding=ROUND_HALF_EVEN,
                   traps=[InvalidOperation, DivisionByZero, Overflow])


def minor_unit(currency: str) -> int:
    """Digits after the decimal point for this ISO 4217 code (2 if unknown)."""
    return MINOR_UNITS.get(currency.strip().upper(), 2)


def quantum(currency: str) -> Decimal:
    """The smallest amount of the currency: 0.01, 1 or 0.001 …"""
    return Decimal(1).scaleb(-minor_unit(currency))


def round_money(amount: Decimal, currency: str) -> Decimal:
    """Round half-up (away from zero on a tie) to the currency's minor unit."""
    value = _decimal(amount, "amount")
    with localcontext(_CONTEXT):
        return value.quantize(quantum(currency), rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class LineAmounts:
    """One line's amounts, each rounded to the currency's minor unit.

    amount is quantity × unit price as entered (net or gross); discount is
    taken from it; net + tax == gross."""
    amount: Decimal
    discount: Decimal
    net: Decimal
    tax: Decimal
    gross: Decimal


@dataclass(frozen=True)
class TaxBand:
    rate: Decimal
    net: Decimal
    tax: Decimal
    gross: Decimal


@dataclass(frozen=True)
class OrderAmounts:
    lines: tuple[LineAmounts, ...]
    shipping: LineAmounts
    discount: Decimal
    net: Decimal
    tax: Decimal
    gross: Decimal
    bands: tuple[TaxBand, ...]


def line_amounts(quantity: int, unit_price: Decimal, *, tax_rate: Decimal = Decimal(0),
                 discount_rate: Decimal = Decimal(0), currency: str = "USD",
                 prices_include_tax: bool = False) -> LineAmounts:
    """The amounts of one line; rates are percentages (19 means 19 %)."""
    # bool is an int, and True pieces of something is a bug upstream
    if isinstance(quantity, bool) or not isinstance(quantity, int):
        raise TypeError(f"quantity must be a whole number, not {quantity!r}")
    if quantity < 0:
        raise ValueError(f"quantity must not be negative (got {quantity})")
    price = _decimal(unit_price, "unit price")
    if price < 0:
        raise ValueError(f"unit price must not be negative (got {price})")
    tax_rate = _rate(tax_rate, "tax rate")
    discount_rate = _rate(discount_rate, "discount rate")

    with localcontext(_CONTEXT):
        amount = round_money(quantity * price, currency)
        discount = round_money(amount * discount_rate / _HUNDRED, currency)
        after = amount - discount
        if prices_include_tax:
            gross = after
            net = round_money(gross * _HUNDRED / (_HUNDRED + tax_rate), currency)
            tax = gross - net
        else:
            net = after
            tax = round_money(net * tax_rate / _HUNDRED, currency)
            gross = net + tax
    return LineAmounts(amount=amount, discount=discount, net=net, tax=tax, gross=gross)


def order_amounts(lines: Iterable[tuple[int, Decimal, Decimal, Decimal]], *,
                  shipping: Decimal = Decimal(0), shipping_tax_rate: Decimal = Decimal(0),
                  currency: str = "USD", prices_include_tax: bool = False) -> OrderAmounts:
    """An order's lines, shipping, totals and tax bands.

    Each line is (quantity, unit_price, tax_rate, discount_rate). Totals are
    the sums of the rounded lines and the shipping line."""
    computed: list[LineAmounts] = []
    rows: list[tuple[Decimal, Decimal, Decimal, Decimal]] = []
    for index, line in enumerate(lines, start=1):
        quantity, unit_price, tax_rate, discount_rate = line
        try:
            amounts = line_amounts(quantity, unit_price, tax_rate=tax_rate,
                                   discount_rate=discount_rate, currency=currency,
                                   prices_include_tax=prices_include_tax)
        except ValueError as error:
            raise ValueError(f"line {index}: {error}") from error
        computed.append(amounts)
        rows.append((tax_rate, amounts.net, amounts.tax, amounts.gross))

    try:
        carriage = line_amounts(1, shipping, tax_rate=shipping_tax_rate,
                                currency=currency, prices_include_tax=prices_include_tax)
    except ValueError as error:
        raise ValueError(f"shipping: {error}") from error
    # free shipping adds no band of its own: a 0 % row of zeros on an order
    # whose goods are all at 19 % would only be noise on the invoice
    if carriage.gross or carriage.net:
        rows.append((shipping_tax_rate, carriage.net, carriage.tax, carriage.gross))

    everything = [*computed, carriage]
    zero = Decimal(0).scaleb(-minor_unit(currency))
    return OrderAmounts(
        lines=tuple(computed),
        shipping=carriage,
        discount=sum((a.discount for a in computed), zero),
        net=sum((a.net for a in everything), zero),
        tax=sum((a.tax for a in everything), zero),
        gross=sum((a.gross for a in everything), zero),
        bands=tax_bands(rows),
    )


def tax_bands(rows: Iterable[tuple[Decimal, Decimal, Decimal, Decimal]]) -> tuple[TaxBand, ...]:
    """Sum (rate, net, tax, gross) rows into one band per rate, ascending.

    19, 19.0 and 19.00 are one band, shown as 19. The amounts are added as
    they are (stored line amounts are already rounded)."""
    sums: dict[Decimal, list[Decimal]] = {}
    for rate, net, tax, gross in rows:
        key = normalise_rate(rate)
        values = (_decimal(net, "net"), _decimal(tax, "tax"), _decimal(gross, "gross"))
        if key in sums:
            band = sums[key]
            for i, value in enumerate(values):
                band[i] += value
        else:
            sums[key] = list(values)
    return tuple(TaxBand(rate, *sums[rate]) for rate in sorted(sums))


def normalise_rate(rate: Decimal) -> Decimal:
    """19.00 → 19, 5.50 → 5.5, 100 stays 100 (not 1E+2)."""
    value = _decimal(rate, "rate").normalize(_CONTEXT)
    if not value:
        return Decimal(0)  # not "-0", nor "0E-2"
    if value == value.to_integral_value():
        return value.quantize(Decimal(1), context=_CONTEXT)
    return value


def _rate(rate: Decimal, what: str) -> Decimal:
    value = _decimal(rate, what)
    if not 0 <= value <= 100:
        raise ValueError(f"{what} must be a percentage from 0 to 100 (got {value})")
    return value


def _decimal(value: Decimal, what: str) -> Decimal:
    # a float has already lost the cent (2.675 is 2.67499…); refuse it rather
    # than guess what was meant
    if isinstance(value, bool) or not isinstance(value, (Decimal, int)):
        raise TypeError(f"{what} must be a Decimal, not {type(value).__name__}")
    value = Decimal(value)
    if not value.is_finite():
        raise ValueError(f"{what} must be a number (got {value})")
    return value
