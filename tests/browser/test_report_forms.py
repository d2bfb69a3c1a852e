"""The summary report form and the job page in headless Chromium: quick date
ranges (with and without JavaScript), the honest message after a request with
the form kept, and deleting a report only after a confirmation."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.steps import log_in
from webapp.reports.presets import preset_range, user_today

pytestmark = pytest.mark.browser

PDF = "#summary-form input[type=radio][value=pdf]"


def _range(name: str) -> tuple[str, str]:
    start, end = preset_range(name, user_today())
    return start.isoformat(), end.isoformat()


def test_last_month_fills_in_the_dates_and_keeps_what_was_typed(page, server):
    page.goto(f"{server}/reports/")
    page.fill("#customer", "Café Lumière")  # typed, not sent yet
    page.check(PDF)
    page.evaluate("window.__noReload = 1")
    page.click("button:has-text('Last month')")
    start, end = _range("last_month")
    expect(page.locator("#date_from")).to_have_value(start)
    expect(page.locator("#date_to")).to_have_value(end)
    assert page.input_value("#customer") == "Café Lumière"
    assert page.is_checked(PDF)
    assert page.evaluate("window.__noReload") == 1  # only the form was swapped
    assert "preset=last_month" in page.url  # a reload or a bookmark shows the same
    expect(page.locator("#preset-last_month")).to_have_attribute("aria-current", "true")


def test_presets_work_from_the_keyboard_and_keep_the_focus(page, server):
    page.goto(f"{server}/reports/")
    page.focus("#preset-last_7_days")
    page.keyboard.press("Enter")
    start, end = _range("last_7_days")
    expect(page.locator("#date_from")).to_have_value(start)
    expect(page.locator("#date_to")).to_have_value(end)
    expect(page.locator("#preset-last_7_days")).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.locator("#preset-last_30_days")).to_be_focused()


def test_presets_work_without_javascript(browser, server):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    try:
        log_in(page, server)
        page.goto(f"{server}/reports/?customer=ACME&format=pdf")
        page.click("button:has-text('Last quarter')")
        page.wait_for_url(re.compile(r".*preset=last_quarter.*"))
        start, end = _range("last_quarter")
        assert page.input_value("#date_from") == start
        assert page.input_value("#date_to") == end
        assert page.input_value("#customer") == "ACME"
        assert page.is_checked(PDF)
    finally:
        context.close()


def test_a_summary_request_says_what_is_true_and_keeps_the_form(page, server):
    page.goto(f"{server}/reports/")
    page.click("button:has-text('This quarter')")
    start, end = _range("this_quarter")
    expect(page.locator("#date_from")).to_have_value(start)
    page.fill("#customer", "Nobody Ltd")
    page.check(PDF)
    page.click("button:has-text('Generate report')")
    # no such customer: refused on the form (never a report of nothing), input kept
    expect(page.locator("#customer-error")).to_contain_text("No customer matches “Nobody Ltd”")
    assert page.input_value("#customer") == "Nobody Ltd" and page.is_checked(PDF)
    assert page.input_value("#date_from") == start

    page.goto(f"{server}/customers/new")
    page.fill("#name", "Nobody Ltd")
    page.click("button:has-text('Create customer')")
    page.wait_for_url(re.compile(r".*/customers/\d+$"))
    page.goto(f"{server}/reports/")
    page.click("button:has-text('This quarter')")
    expect(page.locator("#date_from")).to_have_value(start)
    page.fill("#customer", "nobody ltd")  # any case: the customer of that name
    page.check(PDF)
    page.click("button:has-text('Generate report')")
    page.wait_for_url(re.compile(r".*/reports/\?.*date_from=.*"))
    flash = page.locator(".flash-success, .flash-info").first
    # the browser tests run a real worker, so the report is being generated
    expect(flash).to_have_text(
        re.compile(r"^Report #\d+ \((CSV|PDF|XLSX)\) requested; it is being generated\.$"))
    assert page.input_value("#date_from") == start
    assert page.input_value("#date_to") == end
    assert page.input_value("#customer") == "nobody ltd"
    assert page.is_checked(PDF)


def test_deleting_a_report_asks_first_and_no_keeps_it(page, server):
    page.goto(f"{server}/reports/")
    page.click("button:has-text('Today')")
    expect(page.locator("#date_from")).to_have_value(_range("today")[0])
    page.click("button:has-text('Generate report')")
    page.wait_for_url(re.compile(r".*/reports/\?.*"))
    number = re.search(r"Report #(\d+)", page.inner_text(".flash")).group(1)
    page.click(f"a:text-is('#{number}')")
    page.wait_for_url(f"**/reports/{number}")

    page.click("text=Delete this report")
    page.wait_for_url(f"**/reports/{number}/delete")
    expect(page.locator("h1")).to_have_text(f"Delete report #{number}?")
    page.click("text=No, keep it")
    page.wait_for_url(f"**/reports/{number}")
    expect(page.locator("h1")).to_have_text(f"Report #{number}")

    page.click("text=Delete this report")
    page.click("button:has-text('Yes, delete the report')")
    page.wait_for_url(re.compile(r".*/reports/$"))
    expect(page.locator(".flash-success")).to_have_text(f"Report #{number} deleted.")
    expect(page.locator(f"a[href='/reports/{number}']")).to_have_count(0)
