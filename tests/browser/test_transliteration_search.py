"""German transliterations in headless Chromium, on a desktop and a phone:
"Mueller" typed in the orders search box finds the orders of "Müller …"
(and "Schöller" finds "Schoeller …"), and typed in the order form's customer
picker offers "Müller …", which a click picks and the saved order carries."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.steps import new_order

pytestmark = pytest.mark.browser

SIZES = [(1280, 800), (390, 844)]


def _customers_listed(page) -> list[str]:
    # textContent: on a phone the rows may be laid out as labelled cells
    cells = page.locator("table.data tbody td[data-label=Customer]")
    return [text.strip() for text in cells.all_text_contents()]


def _search_orders(page, server, text):
    page.goto(f"{server}/orders/")
    page.fill("#q", text)
    page.press("#q", "Enter")
    page.wait_for_url(re.compile(r".*/orders/\?q="))


@pytest.mark.parametrize("width,height", SIZES)
def test_mueller_in_the_orders_search_finds_mueller_and_back(page, server, width, height):
    page.set_viewport_size({"width": width, "height": height})
    new_order(page, server, f"Müller Feinkost {width}", "Tee", "1", "2.50")
    new_order(page, server, f"Schoeller Papier {width}", "Papier", "2", "4.00")

    _search_orders(page, server, f"Mueller Feinkost {width}")
    assert _customers_listed(page) == [f"Müller Feinkost {width}"]
    _search_orders(page, server, f"Schöller Papier {width}")
    assert _customers_listed(page) == [f"Schoeller Papier {width}"]
    _search_orders(page, server, f"muller feinkost {width}")  # no umlaut, as before
    assert _customers_listed(page) == [f"Müller Feinkost {width}"]
    assert page.evaluate("document.documentElement.scrollWidth") <= width


@pytest.mark.parametrize("width,height", SIZES)
def test_mueller_in_the_customer_picker_offers_mueller(page, server, width, height):
    page.set_viewport_size({"width": width, "height": height})
    name = f"Müller & Söhne {width}"
    page.goto(f"{server}/customers/new")
    page.fill("#name", name)
    page.click("button:has-text('Create customer')")
    page.wait_for_url(re.compile(r".*/customers/\d+$"))
    customer_id = page.url.rsplit("/", 1)[-1]

    page.goto(f"{server}/orders/new")
    page.focus("#customer")
    page.keyboard.type("Mueller")
    listbox = page.locator("#customer-listbox")
    option = listbox.locator("[role=option]", has_text=name)
    expect(option).to_be_visible()
    expect(page.locator("#customer")).to_have_attribute("aria-expanded", "true")
    box = option.bounding_box()
    assert box and box["x"] >= 0 and box["x"] + box["width"] <= width
    # "Mueller" alone is no customer's name yet, so making one is offered too
    expect(page.locator("#customer-listbox-create")).to_have_text("Create customer “Mueller”")

    option.click()
    expect(page.locator("#customer")).to_have_value(name)
    expect(listbox).to_be_hidden()
    assert page.input_value("input[name=customer_id]") == customer_id
    page.fill("#items-0-product", "Kaffee")
    page.fill("#items-0-quantity", "1")
    page.fill("#items-0-unit_price", "9.00")
    page.click("text=Create order")
    page.wait_for_url(re.compile(r".*/orders/\d+$"))
    expect(page.locator(f"a[href$='/customers/{customer_id}']")).to_have_text(name)
