"""Steps a person takes in the browser, shared by the browser tests."""
from __future__ import annotations

from tests.conftest import PASSWORD


def log_in(page, server, email="browser@example.com"):
    page.goto(f"{server}/login")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.click("button:has-text('Log in')")
    page.wait_for_url("**/dashboard")


def new_order(page, server, customer, product, quantity, price):
    """Create a one-item order through the form and land on its page."""
    page.goto(f"{server}/orders/new")
    page.fill("#customer", customer)
    page.fill("#items-0-product", product)
    page.fill("#items-0-quantity", quantity)
    page.fill("#items-0-unit_price", price)
    page.click("text=Create order")
    page.wait_for_url("**/orders/*")
