"""Strict JSON input for the API: every problem becomes InvalidInput (400)."""
from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

from flask import request

from ..errors import InvalidInput
from ..orders.services import ItemInput
from ..orders.validation import MAX_ITEMS, parse_name, parse_price, parse_quantity


def _reject_constant(name: str):
    raise ValueError(f"{name} is not a number this API accepts")


def json_body() -> dict:
    raw = request.get_data(cache=False)
    if not raw:
        raise InvalidInput("The request body must be a JSON object.")
    try:
        # Decimal keeps 12.50 exact; NaN/Infinity are not JSON and are refused.
        body = json.loads(raw, parse_float=Decimal, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as exc:
        raise InvalidInput(f"The request body is not valid JSON: {exc}") from None
    if not isinstance(body, dict):
        raise InvalidInput("The request body must be a JSON object.")
    try:
        # "\ud800" is valid JSON but no text: refuse it here, not in the database
        json.dumps(body, ensure_ascii=False, default=str).encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidInput("The request contains text that is not valid Unicode "
                           "(a lone surrogate).") from None
    return body


def reject_unknown(body: dict, allowed: set[str]) -> None:
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise InvalidInput(f"Unknown field(s): {', '.join(unknown)}. "
                           f"Allowed: {', '.join(sorted(allowed))}.",
                           {name: ["Unknown field."] for name in unknown})


def order_fields(body: dict, *, partial: bool) -> tuple[str | None, list[ItemInput] | None]:
    errors: dict[str, list[str]] = {}
    customer = items = None
    if "customer" in body or not partial:
        try:
            customer = parse_name(body.get("customer"), "Customer")
        except ValueError as exc:
            errors["customer"] = [str(exc)]
    if "items" in body or not partial:
        raw_items = body.get("items")
        if not isinstance(raw_items, list) or not raw_items:
            errors["items"] = ["Give a list of at least one item."]
        elif len(raw_items) > MAX_ITEMS:
            errors["items"] = [f"At most {MAX_ITEMS} items per order (got {len(raw_items)})."]
        else:
            items = []
            for index, raw in enumerate(raw_items):
                prefix = f"items[{index}]"
                if not isinstance(raw, dict):
                    errors[prefix] = ["Each item must be an object."]
                    continue
                unknown = sorted(set(raw) - {"product", "quantity", "unit_price"})
                if unknown:
                    errors[prefix] = [f"Unknown field {name!r}." for name in unknown]
                    continue
                values = {}
                for field, parser in (("product", lambda v: parse_name(v, "Product")),
                                      ("quantity", parse_quantity),
                                      ("unit_price", parse_price)):
                    try:
                        values[field] = parser(raw.get(field))
                    except ValueError as exc:
                        errors[f"{prefix}.{field}"] = [str(exc)]
                if len(values) == 3:
                    items.append(ItemInput(**values))
    if errors:
        raise InvalidInput("The order is not valid.", errors)
    return customer, items


def positive_id(value, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 2**31:
        raise InvalidInput(f"{field} must be a positive whole number.",
                           {field: ["Must be a positive whole number."]})
    return value


def iso_date(value, field: str) -> dt.date:
    if not isinstance(value, str):
        raise InvalidInput(f"{field} must be a date like 2026-11-28.",
                           {field: ["Must be a date like 2026-11-28."]})
    try:
        if len(value) != 10:
            raise ValueError
        return dt.date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(f"{field} must be a date like 2026-11-28.",
                           {field: ["Must be a date like 2026-11-28."]}) from None


def page_params(max_per_page: int = 100) -> tuple[int, int]:
    page, per_page = request.args.get("page", "1"), request.args.get("per_page", "20")
    ascii_digits = all(v.isascii() and v.isdigit() for v in (page, per_page))
    if not ascii_digits or int(page) < 1 or not (
            1 <= int(per_page) <= max_per_page) or int(page) > 1_000_000:
        raise InvalidInput(f"page must be ≥ 1 and per_page between 1 and {max_per_page}.")
    return int(page), int(per_page)
