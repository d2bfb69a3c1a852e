"""The order page's form: errors inline, everything typed kept."""
import re

import pytest

from webapp.extensions import db
from webapp.models import Order


def _errors(html: str) -> list[str]:
    return re.findall(r'class="field-error"[^>]*>([^<]+)<', html)


def _post(client, customer, items, **extra):
    data = {"customer": customer, **extra}
    for i, (product, qty, price) in enumerate(items):
        data |= {f"items-{i}-product": product, f"items-{i}-quantity": qty,
                 f"items-{i}-unit_price": price}
    return client.post("/orders/new", data=data)


def test_valid_form_creates_the_order_and_redirects_to_it(client, app):
    resp = _post(client, "ACME", [("Tea", "2", "3.50"), ("Cake", "1", "10")])
    assert resp.status_code == 302
    order = Order.query.one()
    assert resp.headers["Location"].endswith(f"/orders/{order.id}")
    assert str(order.total) == "17.00" and order.item_count == 2


@pytest.mark.parametrize("customer,item,message", [
    ("", ("Tea", "1", "1.00"), "Customer is required."),
    ("A", ("", "1", "1.00"), "Product is required."),
    ("A", ("Tea", "0", "1.00"), "Quantity must be a whole number from 1 to 10,000."),
    ("A", ("Tea", "10001", "1.00"), "Quantity must be a whole number from 1 to 10,000."),
    ("A", ("Tea", "2.5", "1.00"), "Quantity must be a whole number from 1 to 10,000."),
    ("A", ("Tea", "٣", "1.00"), "Quantity must be a whole number from 1 to 10,000."),
    ("A", ("Tea", "1", "1.005"), "Unit price must be a positive amount with at most 2 decimals"),
    ("A", ("Tea", "1", "NaN"), "Unit price must be a positive amount"),
    ("A", ("Tea", "1", "Infinity"), "Unit price must be a positive amount"),
    ("A", ("Tea", "1", "1E+999999"), "Unit price must be a positive amount"),
    ("A", ("Tea", "1", "-4"), "Unit price must be a positive amount"),
    ("A", ("Tea", "1", "0"), "Unit price must be a positive amount"),
])
def test_invalid_field_shows_its_error_and_keeps_every_typed_value(client, customer, item, message):
    resp = _post(client, customer, [item, ("Second row", "4", "2.00")])
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert any(e.startswith(message) for e in _errors(html)), _errors(html)
    for typed in (customer, *item, "Second row", "4", "2.00"):
        assert f'value="{typed}"' in html
    assert "nothing was saved" in html
    assert Order.query.count() == 0


def test_form_without_items_says_to_add_one(client):
    resp = client.post("/orders/new", data={"customer": "A"})
    # WTForms keeps one empty row (min_entries=1), which then fails as empty
    assert resp.status_code == 422
    assert "Product is required." in _errors(resp.get_data(as_text=True))


def test_more_than_500_items_is_refused_with_the_count(client):
    items = [("P", "1", "1.00")] * 501
    resp = _post(client, "A", items)
    assert resp.status_code == 422
    assert "An order can have at most 500 items (this one has 501)." in resp.get_data(as_text=True)
    assert Order.query.count() == 0


def test_add_item_button_returns_the_rows_with_one_more_and_keeps_values(client):
    resp = client.post("/orders/items", data={
        "customer": "A", "items-0-product": "Tea", "items-0-quantity": "x",
        "items-0-unit_price": "1",
        "add_item": "1"})
    html = resp.get_data(as_text=True)
    assert html.count('class="item-row"') == 2
    assert 'value="Tea"' in html and 'value="x"' in html
    assert "autofocus" in html  # the new row's product field takes the focus


def test_remove_item_button_drops_that_row_and_renumbers(client):
    resp = client.post("/orders/items", data={
        "items-0-product": "Tea", "items-0-quantity": "1", "items-0-unit_price": "1",
        "items-1-product": "Cake", "items-1-quantity": "2", "items-1-unit_price": "2",
        "remove_item": "0"})
    html = resp.get_data(as_text=True)
    assert html.count('class="item-row"') == 1
    assert 'name="items-0-product" id="items-0-product" value="Cake"' in html
    assert "Tea" not in html


def test_row_buttons_work_without_javascript_on_the_full_page(client):
    resp = _post(client, "A", [("Tea", "1", "1.00")], add_item="1")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200 and html.count('class="item-row"') == 2
    assert Order.query.count() == 0


def test_edit_form_is_prefilled_and_saves_changes(client, app):
    _post(client, "Old name", [("Tea", "1", "1.00")])
    order = Order.query.one()
    page = client.get(f"/orders/{order.id}/edit").get_data(as_text=True)
    assert 'value="Old name"' in page and 'value="1.00"' in page
    resp = client.post(f"/orders/{order.id}/edit", data={
        "customer": "New name", "items-0-product": "Coffee", "items-0-quantity": "3",
        "items-0-unit_price": "2.50"})
    assert resp.status_code == 302
    db.session.refresh(order)
    assert order.customer == "New name" and str(order.total) == "7.50"
    assert [i.product for i in order.items] == ["Coffee"]
