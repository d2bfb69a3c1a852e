"""The pages as a person uses them, in headless Chromium (Debian's package),
against the app served over HTTP and a real worker on Redis."""
from __future__ import annotations

import io
from pathlib import Path

import pytest
from playwright.sync_api import expect
from pypdf import PdfReader

from tests.browser import axe
from tests.browser.steps import log_in, new_order
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser

def test_create_order_with_three_rows_then_pdf_badge_completes_without_reload(page, server):
    page.goto(f"{server}/orders/new")
    page.fill("#customer", "Café Lumière")
    rows = [("Café crème", "3", "4.20"), ("日本茶", "2", "9.80"), ("Ελληνικά βιβλία", "1", "15.00")]
    for index, (product, qty, price) in enumerate(rows):
        if index:
            page.click("text=+ Add item")
            page.wait_for_selector(f"#items-{index}-product")
        page.fill(f"#items-{index}-product", product)
        page.fill(f"#items-{index}-quantity", qty)
        page.fill(f"#items-{index}-unit_price", price)
    assert page.locator(".item-row").count() == 3
    page.click("text=Create order")
    page.wait_for_url("**/orders/*")
    assert page.inner_text("#order-total") == "47.20 USD"

    # a marker that survives only if the page is never reloaded
    page.evaluate("window.__noReload = 'still here'")
    page.click("text=Generate PDF")
    badge = page.locator(".job-status").first
    badge.wait_for()
    assert badge.get_attribute("data-status") in ("PENDING", "PROCESSING", "COMPLETED")
    page.wait_for_selector(".job-status[data-status=COMPLETED]", timeout=60_000)
    assert page.evaluate("window.__noReload") == "still here"
    # final badge stops polling: no hx-trigger left on it
    assert page.locator(".job-status[hx-trigger]").count() == 0

    with page.expect_download() as info:
        page.click("text=Download PDF")
    download = info.value
    name = download.suggested_filename
    assert name.startswith("order-") and name.endswith(".pdf")
    data = Path(download.path()).read_bytes()
    assert data.startswith(b"%PDF-")
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages)
    for product, *_ in rows:
        assert product in text
    assert "47.20" in text


def test_invalid_order_form_shows_errors_next_to_fields_and_keeps_input(page, server):
    page.goto(f"{server}/orders/new")
    page.fill("#items-0-product", "Ürün")
    page.fill("#items-0-quantity", "٣")
    page.fill("#items-0-unit_price", "1.005")
    page.click("text=+ Add item")
    page.wait_for_selector("#items-1-product")
    page.fill("#items-1-product", "Second")
    page.fill("#items-1-quantity", "2")
    page.fill("#items-1-unit_price", "NaN")
    page.click("text=Create order")
    page.wait_for_selector(".field-error")
    errors = page.locator(".field-error").all_inner_texts()
    assert "Customer is required." in errors
    assert "Quantity must be a whole number from 1 to 10,000." in errors
    assert sum("Unit price must be a positive amount" in e for e in errors) == 2
    assert page.input_value("#items-0-product") == "Ürün"
    assert page.input_value("#items-0-quantity") == "٣"
    assert page.input_value("#items-0-unit_price") == "1.005"
    assert page.input_value("#items-1-unit_price") == "NaN"
    assert page.get_attribute("#items-0-quantity", "aria-invalid") == "true"
    # fix it and save: the kept rows go through
    page.fill("#customer", "Fixed Ltd")
    page.fill("#items-0-quantity", "3")
    page.fill("#items-0-unit_price", "1.50")
    page.fill("#items-1-unit_price", "2")
    page.click("text=Create order")
    page.wait_for_url("**/orders/*")
    assert page.inner_text("#order-total") == "8.50 USD"


def test_remove_row_button_drops_the_row_without_reload(page, server):
    page.goto(f"{server}/orders/new")
    page.fill("#items-0-product", "Keep me")
    page.click("text=+ Add item")
    page.wait_for_selector("#items-1-product")
    page.fill("#items-1-product", "Drop me")
    page.evaluate("window.__noReload = 1")
    page.click("button[aria-label='Remove item 2']")
    expect(page.locator(".item-row")).to_have_count(1)
    assert page.input_value("#items-0-product") == "Keep me"
    assert page.evaluate("window.__noReload") == 1


def test_log_in_order_report_download_then_log_out_refuses_the_link(browser, server):
    context = browser.new_context(accept_downloads=True)
    page = context.new_page()
    page.goto(f"{server}/reports/")
    page.wait_for_url("**/login?next=/reports/")  # every page needs a session
    page.fill("#email", "other@example.com")
    page.fill("#password", "wrong password!")
    page.click("button:has-text('Log in')")
    assert "Wrong e-mail or password." in page.inner_text(".field-error")
    assert page.input_value("#email") == "other@example.com"  # kept for the next try
    axe.check(page, "failed log-in")
    page.fill("#password", PASSWORD)
    page.click("button:has-text('Log in')")
    page.wait_for_url("**/reports/")
    new_order(page, server, "Other Corp", "Ürün", "1", "9.99")
    page.click("text=Generate CSV")
    page.wait_for_selector(".job-status[data-status=COMPLETED]", timeout=60_000)
    link = page.get_attribute("a.download", "href")
    with page.expect_download() as info:
        page.click("a.download")
    assert Path(info.value.path()).read_text(encoding="utf-8").startswith("order_id,")
    page.click("button:has-text('Log out')")
    page.wait_for_url("**/login")
    response = page.request.get(f"{server}{link}", max_redirects=0)
    assert response.status == 302 and "/login" in response.headers["location"]
    context.close()


def test_another_users_order_page_is_not_found(browser, server, page):
    new_order(page, server, "Mine", "Tea", "1", "1.00")
    mine = page.url
    other = browser.new_context()
    intruder = other.new_page()
    log_in(intruder, server, "other@example.com")
    response = intruder.goto(mine)
    assert response.status == 404
    other.close()


def test_stale_csrf_token_gives_a_clear_message_instead_of_a_dead_button(page, server, browser):
    page.goto(f"{server}/orders/new")
    page.fill("#items-0-product", "Kept")
    # the session changes elsewhere (log out and in again in another tab)
    other = page.context.new_page()
    other.goto(f"{server}/orders/")
    other.click("button:has-text('Log out')")
    log_in(other, server)
    other.close()
    page.click("text=+ Add item")  # an HTMX request with the old token
    page.wait_for_selector("#notices .flash-error")
    assert "open too long or your session changed" in page.inner_text("#notices")
    assert page.input_value("#items-0-product") == "Kept"  # nothing typed was lost


def test_after_log_out_neither_the_back_button_nor_a_copied_cookie_shows_data(
        browser, page, server):
    new_order(page, server, "Back-Button Secret AG", "Tea", "1", "2.00")
    copied = page.context.cookies()
    page.click("button:has-text('Log out')")
    page.wait_for_url("**/login*")
    page.go_back()  # the page comes from the server again, which now says "log in"
    page.wait_for_load_state()
    assert "/login" in page.url
    assert "Back-Button Secret AG" not in page.content()

    thief = browser.new_context()
    thief.add_cookies(copied)
    stolen = thief.new_page()
    stolen.goto(f"{server}/orders/")
    assert "/login" in stolen.url
    assert "Back-Button Secret AG" not in stolen.content()
    expect(stolen.locator(".flash")).to_contain_text("You were logged out")
    thief.close()


def test_log_out_everywhere_ends_the_other_browsers_session(browser, page, server):
    laptop = browser.new_context()
    other = laptop.new_page()
    log_in(other, server)
    page.goto(f"{server}/account")
    page.click("button:has-text('Log out everywhere')")
    page.wait_for_url("**/login*")
    expect(page.locator(".flash")).to_contain_text("Every session of your account has ended")
    other.goto(f"{server}/account")
    assert "/login" in other.url
    laptop.close()
