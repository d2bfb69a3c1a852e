"""Amounts typed with a decimal comma, in headless Chromium: a user whose CSV
style is the decimal comma (set on the Account page, as in Berlin) types
prices and shipping as they write them; "1,234" is 3 decimals for them and
refused as such, "189,99" is saved as 189.99 exactly; the order's page shows
money as every page does, and the edit form gives their amounts back with
the comma."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def _use_the_decimal_comma(page, server):
    page.goto(f"{server}/account")
    page.check("#csv_excel")
    page.check("#csv_decimal_comma")
    page.click("button:has-text('Save preferences')")
    expect(page.locator(".flash-success")).to_contain_text("Saved")
    expect(page.locator("#csv_decimal_comma")).to_be_checked()


def _cells(page) -> list[list[str]]:
    # textContent, not innerText: a narrow screen may lay the cells out as labelled rows
    rows = page.locator("table.data tbody tr")
    return [[text.strip() for text in rows.nth(i).locator("td").all_text_contents()]
            for i in range(rows.count())]


@pytest.mark.parametrize("width,height", [(1280, 800), (390, 844)])
def test_a_decimal_comma_user_saves_189_comma_99_as_189_99(page, server, width, height):
    page.set_viewport_size({"width": width, "height": height})
    _use_the_decimal_comma(page, server)

    page.goto(f"{server}/orders/new")
    expect(page.locator("#shipping")).to_have_attribute("placeholder", "0,00")
    page.fill("#customer", f"Müller GmbH {width}")
    page.fill("#items-0-product", "Tee")
    page.fill("#items-0-quantity", "1")
    page.fill("#items-0-unit_price", "1,234")  # 3 decimals with this user's comma
    page.fill("#shipping", "4,90")
    page.click("text=Create order")

    error = page.locator("#items-0-unit_price-error")
    expect(error).to_contain_text("like 12,50: “1,234” has 3 decimals. Write 1,23, or 1234")
    expect(page.locator("#items-0-unit_price")).to_be_focused()
    expect(page.locator("#items-0-unit_price")).to_have_value("1,234")
    expect(page.locator("#shipping")).to_have_value("4,90")

    page.fill("#items-0-unit_price", "189,99")
    page.click("text=Create order")
    page.wait_for_url(re.compile(r".*/orders/\d+$"))
    order_url = page.url
    # pages show money one way for everyone (the money filter), the point
    assert _cells(page)[0][:3] == ["Tee", "1", "189.99"]
    assert _cells(page)[1][:3] == ["Shipping", "1", "4.90"]
    expect(page.locator("#order-total")).to_have_text("194.89 USD")

    page.goto(f"{order_url}/edit")
    expect(page.locator("#items-0-unit_price")).to_have_value("189,99")
    expect(page.locator("#shipping")).to_have_value("4,90")
    page.fill("#items-0-unit_price", "1.189,99")
    page.click("text=Save changes")
    page.wait_for_url(order_url)
    assert _cells(page)[0][2] == "1,189.99"
    expect(page.locator("#order-total")).to_have_text("1,194.89 USD")
