"""Helpers shared by the hostile-input tests (test_hostile_values.py,
test_hostile_routes.py, test_hostile_properties.py): hostile strings, request
builders, and checks that an answer is a clear error with a message."""
from __future__ import annotations

import re

import sqlalchemy as sa

from webapp.extensions import db
from webapp.timezones import UTC, today

ITEM = {"product": "Tea", "quantity": 2, "unit_price": "12.50"}

LONG = "x" * 10_000

# Typed into a quantity or a price field, none of these is acceptable.
HOSTILE_NUMBERS = [
    "-1", "0", "NaN", "sNaN", "Infinity", "-Infinity", "1E+999999", "1e-999999", "10^20",
    "100000000000000000000", "٣", "²", "1.005", "1,500", "0x10", "1_000", "½", " ", "$5",
]

NON_STANDARD_TOKENS = ["NaN", "Infinity", "-Infinity"]

FORMULAS = ['=HYPERLINK("http://x","y")', "+1+1", "-2+3", "@SUM(A1)"]
XSS = "<img src=x onerror=alert(1)>"
TEMPLATE = "{{7*7}}"


def _form(customer, items, **extra) -> dict:
    """The order form as a browser without JavaScript sends it: the picker's
    customer_id is disabled then, so only the typed name; the date as the new-order
    page fills it in (today: the test users keep the default zone, UTC)."""
    data = {"customer": customer, "order_date": today(UTC).isoformat(), **extra}
    for i, (product, qty, price) in enumerate(items):
        data |= {f"items-{i}-product": product, f"items-{i}-quantity": qty,
                 f"items-{i}-unit_price": price}
    return data


def _field_errors(html: str) -> list[str]:
    return re.findall(r'class="field-error"[^>]*>([^<]+)<', html)


def _count(table) -> int:
    with db.engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()


def _json_error(resp, code: int) -> dict:
    """A JSON answer with this status and a non-empty "detail" message."""
    assert resp.status_code == code, (resp.status_code, resp.get_data(as_text=True)[:500])
    assert resp.is_json, resp.content_type
    body = resp.get_json()
    assert isinstance(body.get("detail"), str) and body["detail"].strip(), body
    if "errors" in body:
        assert all(isinstance(m, list) and m and all(isinstance(x, str) for x in m)
                   for m in body["errors"].values()), body
    return body


def _page_error(resp, code: int) -> str:
    """An HTML error page with this status and a non-empty message."""
    assert resp.status_code == code, (resp.status_code, resp.get_data(as_text=True)[:500])
    assert resp.mimetype == "text/html", resp.content_type
    html = resp.get_data(as_text=True)
    message = re.search(r'<p class="error-message">([^<]*)</p>', html)
    assert message and message.group(1).strip(), html[:1000]
    return message.group(1)


def _create_order(client, customer="ACME", items=None) -> dict:
    resp = client.post("/api/orders", json={"customer": customer, "items": items or [ITEM]})
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()
