"""ISO 3166-1 alpha-2 codes and their English names (pycountry keeps the
list as ISO publishes it), for the customer form's select and for documents."""
from __future__ import annotations

import pycountry

COUNTRIES: dict[str, str] = dict(sorted(
    ((c.alpha_2, getattr(c, "common_name", None) or c.name) for c in pycountry.countries),
    key=lambda pair: pair[1]))


def country_name(code: str | None) -> str | None:
    return COUNTRIES.get(code or "", code)
