"""The rules for order input, shared by the HTML form and the JSON API.

Each parser takes what the user sent and returns a clean value or raises
ValueError with a message fit to show next to the field."""
from __future__ import annotations

import re
import unicodedata
from decimal import Decimal, InvalidOperation

MAX_NAME = 200
MAX_QUANTITY = 10_000
MAX_PRICE = Decimal("1000000.00")
MAX_ITEMS = 500
# The messages state the limits above, so they are written from them.
QUANTITY_RULE = f"Quantity must be a whole number from 1 to {MAX_QUANTITY:,}."
PRICE_MAX_RULE = f"Unit price must be at most {MAX_PRICE:,}."

# ASCII digits only: Python's int() and Decimal() also accept "٣" and other
# scripts' digits, and Decimal accepts NaN, Infinity and exponents.
_QUANTITY = re.compile(r"[0-9]{1,6}", re.ASCII)
_PRICE = re.compile(r"[0-9]{1,9}(?:\.[0-9]{1,2})?|\.[0-9]{1,2}", re.ASCII)
# C0 and C1 controls (tab, CR and LF are folded into spaces first) and lone
# surrogates, which no encoder accepts
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")


def has_control_characters(text: str) -> bool:
    return bool(_CONTROL.search(text))


def parse_name(value, what: str) -> str:
    if value is None:
        raise ValueError(f"{what} is required.")
    if not isinstance(value, str):
        raise ValueError(f"{what} must be text.")
    text = " ".join(value.split())  # tabs, newlines and runs of spaces become one space
    if _CONTROL.search(text):
        raise ValueError(f"{what} contains control characters.")
    if not text:
        raise ValueError(f"{what} is required.")
    if len(text) > MAX_NAME:
        raise ValueError(f"{what} must be at most {MAX_NAME} characters (got {len(text)}).")
    return text


def parse_quantity(value) -> int:
    if isinstance(value, bool):
        raise ValueError(QUANTITY_RULE)
    if isinstance(value, int):
        number = value
    else:
        text = value.strip() if isinstance(value, str) else None
        if not text:
            raise ValueError("Quantity is required." if text == "" or value is None
                             else QUANTITY_RULE)
        if not _QUANTITY.fullmatch(text):
            raise ValueError(QUANTITY_RULE)
        number = int(text)
    if not 1 <= number <= MAX_QUANTITY:
        raise ValueError(QUANTITY_RULE)
    return number


def parse_price(value) -> Decimal:
    """A positive amount with at most 2 decimals, e.g. "12.50"."""
    message = "Unit price must be a positive amount with at most 2 decimals, like 12.50."
    if isinstance(value, bool) or value is None:
        raise ValueError("Unit price is required." if value is None else message)
    if isinstance(value, (int, Decimal)):
        value = str(value)
    if not isinstance(value, str):
        raise ValueError(message)
    text = value.strip()
    if not text:
        raise ValueError("Unit price is required.")
    if not _PRICE.fullmatch(text):
        raise ValueError(message)
    try:
        amount = Decimal(text)
    except InvalidOperation:  # pragma: no cover - the pattern admits only valid numbers
        raise ValueError(message) from None
    if amount <= 0:
        raise ValueError(message)
    if amount > MAX_PRICE:
        raise ValueError(PRICE_MAX_RULE)
    return amount.quantize(Decimal("0.01"))


# Amounts as people type them in a form. The decimal mark is "," or "." followed
# by 1 or 2 digits: "189,99" can only be a decimal comma, whoever types it.
# Thousands are grouped by 3 digits, with ".", "," or a space (also the no-break
# spaces that French and others write), and may end in a decimal part with the
# other mark: "1.234,56", "1,234.56", "1 234,56", "1.234.567". The one case
# left open is a single group of 3 digits and no decimals, "1,234" or "1.234":
# thousands in one style, 3 decimals in the other (see _one_group).
_PLAIN = re.compile(r"[0-9]{0,9}[.,][0-9]{1,2}|[0-9]{1,9}", re.ASCII)
_GROUPED = re.compile(r"[1-9][0-9]{0,2}(?P<sep>[.,\u0020\u00a0\u202f])[0-9]{3}"
                      r"(?:(?P=sep)[0-9]{3})*(?:(?P<mark>[.,])[0-9]{1,2})?")
_ONE_GROUP = re.compile(r"(?P<whole>[1-9][0-9]{0,2})(?P<sep>[.,])(?P<part>[0-9]{3})", re.ASCII)


def styled(amount: str, decimal_comma: bool) -> str:
    """An amount written with "." for decimals ("12.50", "1,000,000.00") as the
    user writes it: with a decimal comma, "12,50" and "1.000.000,00"."""
    return amount.translate(str.maketrans(",.", ".,")) if decimal_comma else amount


def parse_typed_amount(value, what: str, *, decimal_comma: bool = False,
                       zero: bool = False) -> Decimal:
    """An amount as a person types it in a form: "12.50", with a decimal comma
    ("189,99"), or with thousands separators ("1.234,50", "1,234.50"); zero
    only if `zero` (shipping), empty is then 0 too. decimal_comma: the user's
    own style (their CSV files'), which decides "1,234" (3 decimals for them:
    refused as such) and "1.234" (asked about: thousands, or decimals written
    the other way), and which the examples in the messages are written in.
    Whatever the style, an unambiguous amount is read the same, so a form
    never saves a different number for two users typing the same text.
    The API takes "12.50" only (parse_price)."""
    example = styled("4.90" if zero else "12.50", decimal_comma)
    rule = (f"{what} must be {'0 or ' if zero else ''}a positive amount with at most "
            f"2 decimals, like {example}.")
    if value is None or (isinstance(value, str) and not value.strip()):
        if zero:
            return Decimal("0.00")
        raise ValueError(f"{what} is required.")
    if not isinstance(value, str):
        raise ValueError(rule)
    text = value.strip()
    one_group = _ONE_GROUP.fullmatch(text)
    if one_group:
        raise ValueError(_one_group(rule, text, one_group, decimal_comma))
    grouped = _GROUPED.fullmatch(text)
    if grouped and grouped["mark"] != grouped["sep"]:
        mark = grouped["mark"]
        whole, decimals = text.rsplit(mark, 1) if mark else (text, "0")
        number = "".join(c for c in whole if c in "0123456789") + "." + decimals
    elif _PLAIN.fullmatch(text):
        number = text.replace(",", ".")
    else:
        raise ValueError(rule)
    amount = Decimal(number)  # the patterns admit only plain decimal numbers
    if amount == 0 and zero:
        return Decimal("0.00")
    if amount <= 0:
        raise ValueError(rule)
    if amount > MAX_PRICE:
        raise ValueError(f"{what} must be at most {styled(f'{MAX_PRICE:,}', decimal_comma)}.")
    return amount.quantize(Decimal("0.01"))


def _one_group(rule: str, text: str, match: re.Match, decimal_comma: bool) -> str:
    """Why "1,234" or "1.234" is refused. With the user's own decimal mark it
    has 3 decimals; with the other it could be thousands or decimals, so the
    user is asked which (never guessed: a wrong guess saves a price 1000 times
    too high or too low)."""
    whole, sep, part = match["whole"], match["sep"], match["part"]
    if sep == ("," if decimal_comma else "."):
        return (f"{rule.removesuffix('.')}: “{text}” has 3 decimals. Write {whole}{sep}"
                f"{part[:2]}, or {whole}{part} for thousands.")
    name = "comma" if sep == "," else "point"
    return (f"{rule.removesuffix('.')}; in “{text}” the {name} could separate thousands or "
            f"decimals: write {whole}{part}, or {whole}{sep}{part[:2]}.")


def parse_typed_price(value, *, decimal_comma: bool = False) -> Decimal:
    """A unit price as typed in the order form (see parse_typed_amount)."""
    return parse_typed_amount(value, "Unit price", decimal_comma=decimal_comma)


# Accents: the combining diacritical marks (U+0300-036F and its supplements), as
# NFKD splits them off "é", "ü", "Å", Greek tonos, the dot of "İ". Other scripts'
# combining signs (kana voicing marks, Indic vowel signs, ...) change the letter,
# not its accent, and are kept.
_ACCENTS = re.compile("[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")
# Letters whose stroke is an accent that Unicode does not decompose ("Søren",
# "Łódź", "Đorđe"): folded like the others.
_STROKES = str.maketrans({"ø": "o", "ł": "l", "đ": "d", "ħ": "h", "ŧ": "t"})
# German transliterations: where an umlaut cannot be typed it is written "ae",
# "oe", "ue" ("Mueller" for "Müller"), and the umlaut's accent is gone from the
# key already ("muller"), so the digraph folds to the plain vowel too. Not
# after a vowel ("Bauer", "Feuer", "neue" hold no umlaut; "Baeuerle" and
# "Bäuerle" are "bauerle" alike), not after "q" ("Quelle", "Márquez"), and only
# before a letter: German has no umlaut at a word's end, while "Joe", "Zoe",
# "Blue" would become "jo", "zo", "blu" and find "John", "Amazon", "Blum" (the
# cost: a search typed as far as "Mue" finds "Müller" only from "Muel" on).
# Not before an "e" either, so the key of a key is that key ("boee" stays).
_TRANSLITERATED = re.compile(r"(?<![aeiouq])([aou])e(?=[^\W\d_e])")


def search_key(text: str | None) -> str:
    """The form of a name that searches compare: compatibility-decomposed (NFKD:
    "ﬁ" → "fi", fullwidth → ASCII), casefolded ("ß" → "ss"), accents removed,
    recomposed (NFC), runs of whitespace folded into one space; "ø", "ł", "đ",
    "ħ", "ŧ" lose their stroke too; and German transliterations fold like the
    umlauts they stand for: "ae", "oe", "ue" become "a", "o", "u" (see
    _TRANSLITERATED for where), so "Mueller", "Müller" and "Muller" all key as
    "muller", and "Straße" as "strasse" like "Strasse".

    "Café Lumière" → "cafe lumiere", "İstanbul" → "istanbul" (casefold alone
    would give "i" + a combining dot, which then goes as an accent), "ÜRÜN" →
    "urun", "Schoeller" → "scholler", "Bär" and "Baer" → "bar". The Turkish
    dotless "ı" stays a letter of its own: "ıstanbul" does not find "Istanbul"
    (casefold is language-neutral, it maps "I" to "i").
    Stored in orders.customer_key and customers.name_key and applied to the
    search text alike, so the comparison is the same on SQLite and PostgreSQL
    whatever their collations (a change here needs a migration recomputing
    both columns, as 0014 does).

    The price of the folding, accepted for a search: some words that are not
    German key alike ("Michael" and "Michal", "Rafael" and "Rafał", "Guest"
    is "gust" and finds "August"), and a fragment starting inside a folded
    digraph finds nothing ("eller" no longer finds "Mueller", whose key is
    "muller"; a word's start always works). Where the key decides identity
    (an order's free-text customer matched to a record, "Create customer" in
    the picker) such names count as one, as "ACME" and "Acme" do."""
    if not text:
        return ""
    folded = unicodedata.normalize("NFKD", unicodedata.normalize("NFKD", text).casefold())
    folded = unicodedata.normalize("NFC", _ACCENTS.sub("", folded)).translate(_STROKES)
    return _TRANSLITERATED.sub(r"\1", " ".join(folded.split()))


_RATE = re.compile(r"[0-9]{1,3}(?:[.,][0-9]{1,3})?", re.ASCII)
_AMOUNT = re.compile(r"[0-9]{1,9}(?:\.[0-9]{1,2})?", re.ASCII)


def parse_rate(value, what: str, *, decimal_comma: bool = False) -> Decimal:
    """A percentage from 0 to 100 with at most 3 decimals ("19", "5.5",
    "8,125"); empty is 0. Forms and the API alike (the API sends strings or
    numbers). decimal_comma: the form's user writes "5,5", so the message does."""
    message = (f"{what} must be a percentage from 0 to 100, like 19 or "
               f"{styled('5.5', decimal_comma)}.")
    if value is None or value == "":
        return Decimal(0)
    if isinstance(value, bool):
        raise ValueError(message)
    if isinstance(value, (int, Decimal)):
        value = str(value)
    if isinstance(value, float):
        value = repr(value)
    if not isinstance(value, str):
        raise ValueError(message)
    text = value.strip().removesuffix("%").strip()
    if not text:
        return Decimal(0)
    if not _RATE.fullmatch(text):
        raise ValueError(message)
    rate = Decimal(text.replace(",", "."))
    if rate > 100:
        raise ValueError(message)
    return rate


def parse_shipping(value, *, typed: bool = False, decimal_comma: bool = False) -> Decimal:
    """Shipping: 0 or a positive amount with at most 2 decimals; empty is 0.
    typed: as a person types it in a form, in their style (parse_typed_amount)."""
    if typed:
        return parse_typed_amount(value, "Shipping", decimal_comma=decimal_comma, zero=True)
    if isinstance(value, bool):
        raise ValueError(SHIPPING_RULE)
    text = str(value).strip() if isinstance(value, (str, int, Decimal)) else None
    if value is None or text == "" or (text is not None and _ZERO.fullmatch(text)):
        return Decimal("0.00")
    try:
        return parse_price(value)
    except ValueError as exc:
        if "at most" in str(exc) and "decimals" not in str(exc):
            raise ValueError(str(exc).replace("Unit price", "Shipping")) from None
        raise ValueError(SHIPPING_RULE) from None


SHIPPING_RULE = "Shipping must be 0 or a positive amount with at most 2 decimals, like 4.90."
_ZERO = re.compile(r"0+(?:[.,]0{0,2})?|[.,]0{1,2}", re.ASCII)


def parse_reference(value) -> str | None:
    """An external reference (a shop's order number): up to 100 characters
    of text, no control characters; empty is none."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError("External reference must be text.")
    text = value.strip()
    if not text:
        return None
    if _CONTROL.search(text) or "\t" in text or "\n" in text or "\r" in text:
        raise ValueError("External reference contains control characters.")
    if len(text) > 100:
        raise ValueError(f"External reference must be at most 100 characters (got {len(text)}).")
    return text


def parse_notes(value) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError("Notes must be text.")
    text = value.replace("\r\n", "\n").strip()
    if _CONTROL.search(text):
        raise ValueError("Notes contain control characters.")
    if len(text) > 2000:
        raise ValueError(f"Notes must be at most 2,000 characters (got {len(text):,}).")
    return text or None
