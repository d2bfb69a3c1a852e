"""Whether this request came from htmx (it sends ``HX-Request: true``)."""
from __future__ import annotations

from flask import request


def is_htmx() -> bool:
    return request.headers.get("HX-Request") == "true"
