"""The order page's form: errors inline, everything typed kept."""
import datetime as dt
import re
from decimal import Decimal

import pytest

from webapp.extensions import db
from webapp.models import Order
from webapp.timezones import UTC, today


def _today() -> str:
    """What the new-order page fills in (the test users keep the default zone, UTC)."""
    return today(UTC).isoformat()


def _errors(html: str) -> list[str]:
    return re.findall(r'class="field-error"[^>]*>([^<]+)<', html)


def _post(client, customer, items, **extra):
    data = {"customer": customer, "order_date": _today(), **extra}
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
    assert order.order_date.isoformat() == _today() and order.customer_record.name == "ACME"


@pytest.mark.parametrize("typed,message", [
    ("", "The order date is required."),
    ("2026-W48-6", "Give the order date as a date like 2026-11-28."),  # an ISO week date
    ("20261128", "Give the order date as a date like 2026-11-28."),
    ("28.11.2026", "Give the order date as a date like 2026-11-28."),
    ("2026-02-30", "Give the order date as a date like 2026-11-28."),
    ("day after tomorrow", "The order date can be at most 1 day after today"),
])
def test_an_order_date_that_is_missing_malformed_or_too_far_ahead_is_refused_on_its_field(
        client, typed, message):
    if typed == "day after tomorrow":
        typed = (dt.date.fromisoformat(_today()) + dt.timedelta(days=2)).isoformat()
    resp = _post(client, "ACME", [("Tea", "1", "1.00")], order_date=typed)
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422
    [error] = _errors(html)
    assert error.startswith(message), error
    assert f'value="{typed}"' in html and _autofocused(html) == ["order_date"]
    assert Order.query.count() == 0


def test_tomorrow_is_the_latest_order_date_taken(client):
    tomorrow = (dt.date.fromisoformat(_today()) + dt.timedelta(days=1)).isoformat()
    assert _post(client, "ACME", [("Tea", "1", "1.00")], order_date=tomorrow).status_code == 302
    assert Order.query.one().order_date.isoformat() == tomorrow


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
    resp = client.post("/orders/new", data={"customer": "A", "order_date": _today()})
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
    # without JavaScript the picker's customer_id is not sent: the typed name counts
    resp = client.post(f"/orders/{order.id}/edit", data={
        "customer": "New name", "order_date": _today(), "items-0-product": "Coffee",
        "items-0-quantity": "3", "items-0-unit_price": "2.50"})
    assert resp.status_code == 302
    db.session.refresh(order)
    assert order.customer == "New name" and str(order.total) == "7.50"
    assert [i.product for i in order.items] == ["Coffee"]


def _submit_buttons(html: str) -> list[str]:
    form = html[html.index('<form method="post" id="order-form"'):]
    form = form[:form.index("</form>")]
    return re.findall(r"<button\b[^>]*>", form)


@pytest.mark.parametrize("path", ["new", "edit"])
def test_the_forms_default_button_is_a_hidden_save_so_enter_never_removes_a_row(client, path):
    """Enter in a field clicks the form's first submit button (HTML's implicit
    submission): it must be a Save that keyboards and screen readers skip."""
    if path == "edit":
        _post(client, "A", [("Tea", "1", "1.00"), ("Cake", "1", "2.00")])
        path = f"{Order.query.one().id}/edit"
    buttons = _submit_buttons(client.get(f"/orders/{path}").get_data(as_text=True))
    first = buttons[0]
    assert 'name="save"' in first and 'class="default-submit"' in first
    assert 'tabindex="-1"' in first and 'aria-hidden="true"' in first
    assert "hx-" not in first and 'type="submit"' in first
    assert 'name="remove_item"' in buttons[1]  # the rows' buttons come after it
    assert 'class="primary" name="save"' in buttons[-1]


def test_saving_through_the_default_button_keeps_every_row(client):
    resp = _post(client, "A", [("Tea", "1", "1.00"), ("Cake", "2", "2.00")], save="")
    assert resp.status_code == 302
    assert [i.product for i in Order.query.one().items] == ["Tea", "Cake"]


def _autofocused(html: str) -> list[str]:
    return re.findall(r'<(?:input|button)\b[^>]*\bid="([\w-]+)"[^>]*\bautofocus\b', html)


def test_the_first_field_has_the_focus_on_new_and_edit_pages(client):
    assert _autofocused(client.get("/orders/new").get_data(as_text=True)) == ["customer"]
    _post(client, "A", [("Tea", "1", "1.00")])
    html = client.get(f"/orders/{Order.query.one().id}/edit").get_data(as_text=True)
    assert _autofocused(html) == ["customer"]


def test_failed_submit_focuses_the_first_field_with_an_error_and_ties_the_error_to_it(client):
    html = _post(client, "A", [("Tea", "1", "1.00"), ("Cake", "x", "-1")]).get_data(as_text=True)
    assert _autofocused(html) == ["items-1-quantity"]
    tag = re.search(r'<input[^>]*id="items-1-quantity"[^>]*>', html).group(0)
    assert 'aria-invalid="true"' in tag and 'aria-describedby="items-1-quantity-error"' in tag
    assert re.search(r'id="items-1-quantity-error"[^>]*>Quantity must be', html)
    html = _post(client, "", [("Tea", "x", "1.00")]).get_data(as_text=True)
    assert _autofocused(html) == ["customer"]


def test_too_many_rows_error_is_tied_to_the_rows_and_focuses_the_first_one(client):
    html = _post(client, "A", [("P", "1", "1.00")] * 501).get_data(as_text=True)
    assert 'aria-describedby="items-error"' in html and 'id="items-error"' in html
    assert _autofocused(html) == ["items-0-product"]


ROWS = {"customer": "A",
        "items-0-product": "Tea", "items-0-quantity": "1", "items-0-unit_price": "1",
        "items-1-product": "Cake", "items-1-quantity": "2", "items-1-unit_price": "2",
        "items-2-product": "Pie", "items-2-quantity": "3", "items-2-unit_price": "3"}


@pytest.mark.parametrize("edit,focus,announced", [
    ({"add_item": "1"}, "items-3-product", ""),
    ({"remove_item": "1"}, "items-1-product", "Item 2 removed."),  # the row now in its place
    ({"remove_item": "0"}, "items-0-product", "Item 1 removed."),
    ({"remove_item": "2"}, "add-item", "Item 3 removed."),  # no next row
])
def test_row_edits_say_where_the_focus_goes_and_what_happened(client, edit, focus, announced):
    # with HTMX: the rows alone, for static/js/forms.js (and HTMX's own autofocus)
    html = client.post("/orders/items", data={**ROWS, **edit}).get_data(as_text=True)
    assert f'data-focus="{focus}"' in html and f'data-announce="{announced}"' in html
    assert _autofocused(html) == [focus]
    # without JavaScript: the whole page, focus by autofocus, words in the live region
    page = _post(client, "A", [("Tea", "1", "1"), ("Cake", "2", "2"), ("Pie", "3", "3")],
                 **edit).get_data(as_text=True)
    assert _autofocused(page) == [focus]
    assert re.search(r'<p id="items-status" class="items-status" role="status">([^<]*)</p>',
                     page).group(1) == announced
    assert Order.query.count() == 0


def test_removing_the_only_row_leaves_an_empty_row_with_the_focus(client):
    html = client.post("/orders/items", data={**{k: v for k, v in ROWS.items()
                                                  if k.startswith(("customer", "items-0"))},
                                               "remove_item": "0"}).get_data(as_text=True)
    assert html.count('class="item-row"') == 1 and 'value="Tea"' not in html
    assert _autofocused(html) == ["items-0-product"]


@pytest.mark.parametrize("typed,saved", [
    ("189,99", "189.99"), ("1.234,50", "1234.50"), ("1,234.50", "1234.50"), ("7,5", "7.50"),
])
def test_a_price_typed_with_a_decimal_comma_or_thousands_separators_is_saved_exactly(
        client, typed, saved):
    resp = _post(client, "Müller GmbH", [("Tee", "1", typed)])
    assert resp.status_code == 302, _errors(resp.get_data(as_text=True))
    assert str(Order.query.one().items[0].unit_price) == saved


def test_a_comma_that_could_separate_thousands_or_decimals_is_asked_about(client):
    resp = _post(client, "ACME", [("Tea", "1", "1,500")])
    assert resp.status_code == 422
    [error] = _errors(resp.get_data(as_text=True))
    assert "could separate thousands or decimals" in error and "write 1500, or 1,50" in error
    assert 'value="1,500"' in resp.get_data(as_text=True)


@pytest.fixture
def comma_user(user):
    """A user whose CSV style writes a decimal comma (Account: CSV for Excel,
    with the decimal comma), as in Berlin."""
    user.csv_excel, user.csv_decimal_comma = True, True
    db.session.commit()
    return user


@pytest.mark.parametrize("style", ["decimal comma", "decimal point"])
@pytest.mark.parametrize("typed,saved", [
    ("189,99", Decimal("189.99")), ("1.234,56", Decimal("1234.56")),
    ("189.99", Decimal("189.99")), ("1 234,56", Decimal("1234.56")),
])
def test_an_unambiguous_amount_is_saved_exactly_whatever_the_users_style(
        client, user, style, typed, saved):
    user.csv_excel, user.csv_decimal_comma = True, style == "decimal comma"
    db.session.commit()
    resp = _post(client, "Müller GmbH", [("Tee", "1", typed)], shipping=typed)
    assert resp.status_code == 302, _errors(resp.get_data(as_text=True))
    order = Order.query.one()
    assert order.items[0].unit_price == saved and str(order.items[0].unit_price) == str(saved)
    assert order.shipping == saved and str(order.shipping) == str(saved)


@pytest.mark.parametrize("field", ["unit_price", "shipping"])
def test_for_a_decimal_point_user_1_234_is_asked_about_in_either_field(client, field):
    fields = {"shipping": "1,234"} if field == "shipping" else {}
    resp = _post(client, "ACME", [("Tea", "1", "1,234" if field == "unit_price" else "1")],
                 **fields)
    assert resp.status_code == 422
    [error] = _errors(resp.get_data(as_text=True))
    assert "like 12.50" in error or "like 4.90" in error
    assert "the comma could separate thousands or decimals: write 1234, or 1,23." in error
    assert 'value="1,234"' in resp.get_data(as_text=True) and Order.query.count() == 0


@pytest.mark.parametrize("field,what,example", [("unit_price", "Unit price", "12,50"),
                                                ("shipping", "Shipping", "4,90")])
def test_for_a_decimal_comma_user_1_234_has_3_decimals_and_is_refused_as_such(
        client, comma_user, field, what, example):
    fields = {"shipping": "1,234"} if field == "shipping" else {}
    resp = _post(client, "ACME", [("Tea", "1", "1,234" if field == "unit_price" else "1")],
                 **fields)
    assert resp.status_code == 422
    [error] = _errors(resp.get_data(as_text=True))
    assert error.startswith(f"{what} must be ") and "with at most 2 decimals" in error
    assert f"like {example}: “1,234” has 3 decimals. Write 1,23, or 1234 for thousands." in error
    assert "could separate" not in error  # the user's style has answered that
    assert 'value="1,234"' in resp.get_data(as_text=True) and Order.query.count() == 0


def test_for_a_decimal_comma_user_a_point_before_3_digits_is_asked_about(client, comma_user):
    resp = _post(client, "ACME", [("Tea", "1", "1.234")])
    assert resp.status_code == 422
    [error] = _errors(resp.get_data(as_text=True))
    assert "like 12,50; in “1.234” the point could separate thousands or decimals: " \
           "write 1234, or 1.23." in error


@pytest.mark.parametrize("comma,price,shipping,rate", [
    (True, "like 12,50.", "like 4,90.", "like 19 or 5,5."),
    (False, "like 12.50.", "like 4.90.", "like 19 or 5.5."),
])
def test_error_messages_give_their_example_in_the_users_style(
        client, user, comma, price, shipping, rate):
    user.csv_excel, user.csv_decimal_comma = True, comma
    db.session.commit()
    resp = _post(client, "ACME", [("Tea", "1", "12.5.0")], shipping="-1",
                 **{"items-0-tax_rate": "x"})
    errors = _errors(resp.get_data(as_text=True))
    assert resp.status_code == 422 and len(errors) == 3, errors
    assert errors[0].endswith(price) and errors[1].endswith(rate)  # in the row: price, tax
    assert errors[2].endswith(shipping) and errors[2].startswith("Shipping must be 0 or ")


def test_without_csv_for_excel_the_decimal_comma_does_not_set_the_style(client, user):
    # as for CSV files (the account page says so): the comma alone has no effect
    user.csv_excel, user.csv_decimal_comma = False, True
    db.session.commit()
    [error] = _errors(_post(client, "ACME", [("Tea", "1", "1,234")]).get_data(as_text=True))
    assert "could separate thousands or decimals" in error and "like 12.50" in error


def test_a_decimal_comma_user_edits_amounts_as_they_write_them(client, comma_user):
    _post(client, "ACME", [("Tea", "2", "1.189,99")], shipping="4,9",
          **{"items-0-tax_rate": "5,5"})
    order = Order.query.one()
    page = client.get(f"/orders/{order.id}/edit").get_data(as_text=True)
    assert 'value="1189,99"' in page and 'value="4,90"' in page and 'value="5,5"' in page
    assert 'placeholder="0,00"' in page and "read with a decimal comma" in page
    # saved unchanged, the order keeps its amounts
    data = {"customer": "ACME", "order_date": _today(), "items-0-product": "Tea",
            "items-0-quantity": "2", "items-0-unit_price": "1189,99", "items-0-tax_rate": "5,5",
            "shipping": "4,90"}
    assert client.post(f"/orders/{order.id}/edit", data=data).status_code == 302
    db.session.refresh(order)
    assert (order.items[0].unit_price, order.items[0].tax_rate, order.shipping) == (
        Decimal("1189.99"), Decimal("5.5"), Decimal("4.90"))


def test_a_decimal_point_user_sees_amounts_with_a_point(client):
    _post(client, "ACME", [("Tea", "1", "189,99")])
    page = client.get(f"/orders/{Order.query.one().id}/edit").get_data(as_text=True)
    assert 'value="189.99"' in page and 'placeholder="0.00"' in page
    assert "decimal comma" not in page
