"""Pages of a list: the one page-number parser and the one `Page` type.

Pages forgive an odd ``?page=`` (they show page 1); the API refuses it with
400 (webapp/api/schemas.py, PageQuery). Both read the number with
`page_number`."""
from __future__ import annotations

from dataclasses import dataclass

from flask import request

MAX_PAGE = 1_000_000


def page_number(value: object, *, maximum: int = MAX_PAGE) -> int | None:
    """`value` as a whole number in 1..maximum written in ASCII digits, else None.

    isdigit() alone admits "²" and "٣", which int() then refuses or reads;
    int() alone admits "+1", " 1", "1_0"."""
    if not isinstance(value, str) or not (value.isascii() and value.isdigit()):
        return None
    if len(value.lstrip("0")) > len(str(maximum)):  # int() refuses > 4300 digits
        return None
    number = int(value)
    return number if 1 <= number <= maximum else None


def page_arg(name: str = "page") -> int:
    """A page number from the query string; anything odd means page 1."""
    return page_number(request.args.get(name, "1")) or 1


@dataclass(frozen=True)
class Page:
    items: list
    page: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages
