"""The order form with a keyboard and a screen reader in mind, in headless
Chromium: Enter in any field saves the order (never removes a row), with and
without JavaScript; the focus starts on the first field, follows added and
removed rows, and goes to the first field with an error after a failed submit;
a polite live region says which item was removed."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.steps import log_in

pytestmark = pytest.mark.browser

FOCUSED = ("() => document.activeElement"
           " && (document.activeElement.id || document.activeElement.className)")


def _focused(page) -> str:
    return page.evaluate(FOCUSED)


def _fill_row(page, index, product, quantity, price):
    page.fill(f"#items-{index}-product", product)
    page.fill(f"#items-{index}-quantity", quantity)
    page.fill(f"#items-{index}-unit_price", price)


def _items_on_order_page(page) -> list[list[str]]:
    rows = page.locator("table.data tbody tr")
    return [rows.nth(i).locator("td").all_inner_texts() for i in range(rows.count())]


def _two_row_order_form(page, server, customer):
    page.goto(f"{server}/orders/new")
    page.fill("#customer", customer)
    _fill_row(page, 0, "Tea", "2", "3.50")
    page.click("text=+ Add item")
    page.wait_for_selector("#items-1-product")
    _fill_row(page, 1, "Cak", "1", "10.00")


def test_enter_in_row_two_of_a_new_order_saves_both_rows(page, server):
    _two_row_order_form(page, server, "Enter New Ltd")
    page.focus("#items-1-product")
    page.keyboard.type("e")  # "Cake": typing, then Enter, as a person does
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r".*/orders/\d+$"))
    expect(page.locator(".flash-success")).to_contain_text("Enter New Ltd saved")
    items = _items_on_order_page(page)
    assert [row[0] for row in items] == ["Tea", "Cake"]
    assert page.inner_text("#order-total") == "17.00 USD"


def test_enter_in_row_two_of_the_edit_page_saves_both_rows(page, server):
    _two_row_order_form(page, server, "Enter Edit Ltd")
    _fill_row(page, 1, "Cake", "1", "10.00")
    page.click("text=Create order")
    page.wait_for_url(re.compile(r".*/orders/\d+$"))
    order_url = page.url
    page.goto(f"{order_url}/edit")
    page.fill("#items-1-quantity", "")
    page.focus("#items-1-quantity")
    page.keyboard.type("3")
    page.keyboard.press("Enter")
    page.wait_for_url(order_url)
    expect(page.locator(".flash-success")).to_contain_text("updated")
    items = _items_on_order_page(page)
    assert [(row[0], row[1]) for row in items] == [("Tea", "2"), ("Cake", "3")]
    assert page.inner_text("#order-total") == "37.00 USD"


def test_enter_saves_and_row_buttons_work_without_javascript(browser, server):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    log_in(page, server)
    page.goto(f"{server}/orders/new")
    page.fill("#customer", "No Script GmbH")
    _fill_row(page, 0, "Tea", "2", "3.50")
    page.click("text=+ Add item")  # a full-page round trip without JavaScript
    page.wait_for_selector("#items-1-product")
    _fill_row(page, 1, "Cake", "1", "10.00")
    page.click("text=+ Add item")
    page.wait_for_selector("#items-2-product")
    _fill_row(page, 2, "Drop me", "1", "1.00")
    page.click("button[aria-label='Remove item 3']")
    page.wait_for_selector("#items-2-product", state="detached")
    assert page.inner_text("#items-status") == "Item 3 removed."
    assert _focused(page) == "add-item"  # the removed row was the last one
    page.focus("#items-1-unit_price")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r".*/orders/\d+$"))
    assert [row[0] for row in _items_on_order_page(page)] == ["Tea", "Cake"]
    context.close()


def test_the_default_button_is_invisible_unreachable_by_tab_and_hidden_from_readers(page, server):
    page.goto(f"{server}/orders/new")
    default = page.locator("#order-form button[type=submit]").first
    assert default.get_attribute("class") == "default-submit"
    box = default.bounding_box()
    assert box is None or (box["width"] <= 1 and box["height"] <= 1)
    assert default.inner_text() == ""
    # screen readers: the form's buttons are the visible ones, by their names
    names = [b.get_attribute("aria-label") or b.inner_text()
             for b in page.locator("#order-form").get_by_role("button").all()]
    assert names == ["Remove item 1", "+ Add item", "Create order"]
    # keyboard: Tab from the first field walks every control but never stops on it
    stops = []
    for _ in range(30):
        page.keyboard.press("Tab")
        stops.append(page.evaluate("document.activeElement.className || document.activeElement.id"))
        if "primary" in stops[-1]:
            break
    assert "default-submit" not in stops
    assert stops[-1] == "primary" and "add-item" in stops


def test_focus_starts_on_the_first_field_of_new_and_edit_pages(page, server):
    page.goto(f"{server}/orders/new")
    assert _focused(page) == "customer"
    _fill_row(page, 0, "Tea", "1", "1.00")
    page.fill("#customer", "Focus Edit AG")
    page.click("text=Create order")
    page.wait_for_url(re.compile(r".*/orders/\d+$"))
    page.goto(f"{page.url}/edit")
    assert _focused(page) == "customer"


def test_focus_follows_added_and_removed_rows_and_removal_is_announced(page, server):
    page.goto(f"{server}/orders/new")
    page.focus("#add-item")
    page.keyboard.press("Enter")  # on the button itself Enter adds a row
    expect(page.locator(".item-row")).to_have_count(2)
    expect(page.locator("#items-1-product")).to_be_focused()
    page.keyboard.type("Second")
    page.click("text=+ Add item")
    expect(page.locator("#items-2-product")).to_be_focused()
    page.keyboard.type("Third")
    region = page.locator("#items-status")
    assert region.get_attribute("role") == "status"  # polite live region

    # remove the middle row: the focus goes to the row that took its place
    page.focus("button[aria-label='Remove item 2']")
    page.keyboard.press("Enter")
    expect(page.locator(".item-row")).to_have_count(2)
    expect(page.locator("#items-1-product")).to_be_focused()
    assert page.input_value("#items-1-product") == "Third"
    expect(region).to_have_text("Item 2 removed.")

    # remove the last row: no next row, the focus goes to "+ Add item"
    page.focus("button[aria-label='Remove item 2']")
    page.keyboard.press("Enter")
    expect(page.locator(".item-row")).to_have_count(1)
    expect(page.locator("#add-item")).to_be_focused()
    expect(region).to_have_text("Item 2 removed.")  # said again, for the other row


def test_failed_submit_focuses_the_first_field_with_an_error_tied_to_it(page, server):
    page.goto(f"{server}/orders/new")
    page.fill("#customer", "Errors Inc")
    page.fill("#items-0-product", "Tea")
    page.fill("#items-0-quantity", "lots")
    page.fill("#items-0-unit_price", "-1")
    page.focus("#items-0-unit_price")
    page.keyboard.press("Enter")
    page.wait_for_selector(".field-error")
    assert _focused(page) == "items-0-quantity"
    field = page.locator("#items-0-quantity")
    assert field.get_attribute("aria-invalid") == "true"
    described = field.get_attribute("aria-describedby")
    assert page.inner_text(f"#{described}") == "Quantity must be a whole number from 1 to 10,000."
    # the customer comes first once it is wrong too
    page.fill("#customer", "")
    page.click("text=Create order")
    page.wait_for_selector("#customer[aria-invalid=true]")
    assert _focused(page) == "customer"
    assert page.inner_text(f"#{page.get_attribute('#customer', 'aria-describedby')}") == \
        "Customer is required."


# --- the customer picker ---------------------------------------------------------

def _new_customer(page, server, name, city="") -> None:
    page.goto(f"{server}/customers/new")
    page.fill("#name", name)
    if city:
        page.fill("#city", city)
    page.click("button:has-text('Create customer')")
    page.wait_for_url(re.compile(r".*/customers/\d+$"))


def test_the_picker_finds_a_customer_without_accents_and_enter_picks_it(page, server):
    _new_customer(page, server, "Müller & Söhne GmbH", city="Köln")
    _new_customer(page, server, "Mulligan's Bar")
    page.goto(f"{server}/orders/new")
    assert _focused(page) == "customer"
    page.keyboard.type("muller")  # no umlaut, any case: the search key
    listbox = page.locator("#customer-listbox")
    expect(listbox.locator("[role=option]").first).to_contain_text("Müller & Söhne GmbH")
    expect(page.locator("#customer")).to_have_attribute("aria-expanded", "true")
    page.keyboard.press("ArrowDown")
    active = page.get_attribute("#customer", "aria-activedescendant")
    assert active and page.locator(f"#{active}").inner_text().startswith("Müller & Söhne GmbH")
    page.keyboard.press("Enter")  # picks; the form is not submitted
    expect(page.locator("#customer")).to_have_value("Müller & Söhne GmbH")
    expect(listbox).to_be_hidden()
    assert page.url.endswith("/orders/new")
    expect(page.locator("#customer-status")).to_contain_text("chosen")
    picked_id = page.input_value("input[name=customer_id]")
    assert picked_id.isdigit()
    _fill_row(page, 0, "Tea", "2", "3.50")
    page.keyboard.press("Enter")  # now Enter saves
    page.wait_for_url(re.compile(r".*/orders/\d+$"))
    link = page.locator(f"a[href$='/customers/{picked_id}']")
    expect(link).to_have_text("Müller & Söhne GmbH")


def test_a_new_customer_is_made_inline_and_the_typed_order_is_kept(page, server):
    page.goto(f"{server}/orders/new")
    _fill_row(page, 0, "Coffee", "3", "4.20")
    page.fill("#notes", "Deliver to the back door")
    page.focus("#customer")
    page.keyboard.type("Neue Kundin AG")
    create = page.locator("#customer-listbox-create")
    expect(create).to_have_text("Create customer “Neue Kundin AG”")
    for _ in range(page.locator("#customer-listbox [role=option]").count()):
        page.keyboard.press("ArrowDown")  # the create option is the last one
        if page.get_attribute("#customer", "aria-activedescendant") == "customer-listbox-create":
            break
    page.keyboard.press("Enter")
    expect(page.locator("#customer-status")).to_contain_text("created and chosen")
    new_id = page.input_value("input[name=customer_id]")
    assert new_id.isdigit()
    # nothing else on the page changed: still the new-order form, as typed
    assert page.url.endswith("/orders/new")
    assert page.input_value("#items-0-product") == "Coffee"
    assert page.input_value("#items-0-quantity") == "3"
    assert page.input_value("#notes") == "Deliver to the back door"
    page.click("text=Create order")
    page.wait_for_url(re.compile(r".*/orders/\d+$"))
    expect(page.locator(f"a[href$='/customers/{new_id}']")).to_have_text("Neue Kundin AG")
    page.goto(f"{server}/customers/{new_id}")
    expect(page.locator("h1")).to_contain_text("Neue Kundin AG")
    expect(page.locator("main")).to_contain_text("12.60")  # its one order, listed
