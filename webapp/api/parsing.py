"""Strict JSON input for the API: every problem becomes InvalidInput (400).

`json_body` reads the bytes (exact decimals, no NaN, no lone surrogates);
`validated` checks them against a model of schemas.py and turns pydantic's
errors into the messages users have always read, one list per field."""
from __future__ import annotations

import json
from decimal import Decimal
from typing import TypeVar

from flask import request
from pydantic import BaseModel, RootModel, ValidationError

from ..errors import InvalidInput
from ..orders.validation import MAX_ITEMS, parse_name, parse_price, parse_quantity
from .schemas import MAX_PER_PAGE, PageQuery


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


# --- pydantic's errors in our words -----------------------------------------

def _required(parse) -> str:
    try:
        parse(None)
    except ValueError as exc:
        return str(exc)
    raise AssertionError(f"{parse} accepts None")  # pragma: no cover


# Every error of these fields reads the same: the value is one of a few words
# or a plain number. (field message, sentence for `detail`)
FIXED = {
    "kind": ("Must be 'order' or 'summary'.", "kind must be 'order' or 'summary'."),
    "format": ("Must be 'csv', 'pdf' or 'xlsx'.", "format must be 'csv', 'pdf' or 'xlsx'."),
    "order_id": ("Must be a positive whole number.", "order_id must be a positive whole number."),
    "date_from": ("Must be a date like 2026-11-28.", "date_from must be a date like 2026-11-28."),
    "date_to": ("Must be a date like 2026-11-28.", "date_to must be a date like 2026-11-28."),
    "status": ("Must be open, completed or cancelled.",
               "status must be one of open, completed, cancelled."),
}
PAGE_DETAIL = f"page must be ≥ 1 and per_page between 1 and {MAX_PER_PAGE}."
# A field that is missing reads as its parser reads None.
REQUIRED = {
    "customer": _required(lambda v: parse_name(v, "Customer")),
    "product": _required(lambda v: parse_name(v, "Product")),
    "quantity": _required(parse_quantity),
    "unit_price": _required(parse_price),
}
ITEMS_MESSAGE = "Give a list of at least one item."


def _path(loc: tuple) -> str:
    """("items", 0, "quantity") → "items[0].quantity"."""
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _message(loc: tuple, error: dict, data: dict) -> str:
    kind = error["type"]
    field = loc[-1] if loc else "kind"
    if kind.startswith("union_tag_"):  # the discriminator of ReportRequest
        return FIXED["kind"][0]
    if field in FIXED and len(loc) == 1:
        return FIXED[field][0]
    if kind == "value_error":  # one of our validators said why
        return str(error["ctx"]["error"])
    if loc == ("items",):
        if kind == "too_long":
            return f"At most {MAX_ITEMS} items per order (got {len(data['items'])})."
        return ITEMS_MESSAGE
    if isinstance(field, int):
        return "Each item must be an object."
    if kind == "missing" and field in REQUIRED:
        return REQUIRED[field]
    return error["msg"].rstrip(".") + "."  # pragma: no cover - every field is covered above


def _allowed_fields(model: type[BaseModel], data: dict) -> set[str]:
    if issubclass(model, RootModel):  # a union told apart by "kind"
        for variant in model.model_fields["root"].annotation.__args__:
            if variant.model_fields["kind"].annotation.__args__[0] == data.get("kind"):
                return set(variant.model_fields)
        return {"kind"}
    return set(model.model_fields)


def invalid_input(exc: ValidationError, model: type[BaseModel], data: dict,
                  headline: str | None = None) -> InvalidInput:
    """One InvalidInput with every field's messages. `detail` names unknown
    fields first (a typo explains the rest); else the sentence of the fields
    that have one; else `headline`."""
    tagged = issubclass(model, RootModel)
    errors: dict[str, list[str]] = {}
    unknown: list[str] = []
    for error in exc.errors():
        loc = tuple(error["loc"])
        if tagged and loc:
            loc = loc[1:]  # the variant's tag ("order", "summary")
        if error["type"] == "extra_forbidden":
            if len(loc) == 1:
                unknown.append(str(loc[0]))
                key, message = _path(loc), "Unknown field."
            else:
                key, message = _path(loc[:-1]), f"Unknown field {loc[-1]!r}."
        else:
            key = _path(loc) or "kind"
            message = _message(loc, error, data)
        if message not in errors.setdefault(key, []):
            errors[key].append(message)
    # what is wrong with a list or an item as a whole says it all
    for whole in [k for k in errors if k == "items" or k.startswith("items[") and "." not in k]:
        for key in [k for k in errors if k.startswith(f"{whole}[") or k.startswith(f"{whole}.")]:
            del errors[key]
    if unknown:
        allowed = ", ".join(sorted(_allowed_fields(model, data)))
        detail = f"Unknown field(s): {', '.join(sorted(unknown))}. Allowed: {allowed}."
    elif all(key in FIXED for key in errors):
        detail = " ".join(FIXED[key][1] for key in errors)
    elif headline:
        detail = headline
    else:
        detail = " ".join(FIXED[key][1] if key in FIXED else
                          (f"{key} {messages[0][0].lower()}{messages[0][1:]}"
                           if messages[0].startswith("Must ") else messages[0])
                          for key, messages in errors.items())
    return InvalidInput(detail, errors)


M = TypeVar("M", bound=BaseModel)


def validated(model: type[M], data: dict, headline: str | None = None) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise invalid_input(exc, model, data, headline) from None


def page_query() -> PageQuery:
    """?page= and ?per_page= of a list; anything odd is a 400 (pages forgive it)."""
    try:
        return PageQuery.model_validate(request.args.to_dict())
    except ValidationError as exc:
        errors = invalid_input(exc, PageQuery, {}).errors
        raise InvalidInput(PAGE_DETAIL, errors) from None
