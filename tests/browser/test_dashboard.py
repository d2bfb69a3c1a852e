"""The dashboard in headless Chromium: log-in lands on it, its SVG charts are
visible with accessible names, a quick range swaps only the panel and changes
the URL (Back returns to the previous range), the data table opens, it fits
a phone, and "Download this as XLSX" leads to the new report's page."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.steps import log_in, new_order
from webapp.reports.presets import preset_range, user_today

pytestmark = pytest.mark.browser


def _range(name: str) -> tuple[str, str]:
    start, end = preset_range(name, user_today())
    return start.isoformat(), end.isoformat()


@pytest.fixture
def with_orders(page, server):
    """Two completed orders today (new_order leaves the browser on the order's page)."""
    for customer, product, price in (("Dash <b>Corp</b>", "Tea", "12.50"),
                                     ("Ürün A.Ş.", "Kaffee", "7.25")):
        new_order(page, server, customer, product, "2", price)
        page.click("button:has-text('Mark completed')")
        page.wait_for_selector(".pill-completed")
    page.goto(f"{server}/dashboard")


def test_log_in_lands_on_the_dashboard(browser, server):
    context = browser.new_context()
    page = context.new_page()
    try:
        log_in(page, server)  # waits for **/dashboard
        expect(page.locator("h1")).to_have_text("Dashboard")
        expect(page.locator("header nav a").first).to_have_text("Dashboard")
        expect(page.locator("header nav a").first).to_have_attribute("aria-current", "page")
    finally:
        context.close()


def test_the_charts_are_visible_svg_with_accessible_names(page, server, with_orders):
    expect(page.locator("#kpi-orders .kpi-value")).to_have_text("2")
    expect(page.locator("#kpi-revenue .kpi-value")).to_have_text("39.50 USD")
    for chart in ("chart-revenue", "chart-customers", "chart-products"):
        svg = page.locator(f"svg#{chart}")
        expect(svg).to_be_visible()
        assert svg.bounding_box()["width"] > 200
    expect(page.get_by_role("img", name=re.compile(r"^Revenue per day, .*total 39\.50 USD"))
           ).to_be_visible()
    expect(page.get_by_role("img", name=re.compile(r"^Top 2 customers by revenue, .*first "
                                                   r"Dash <b>Corp<.b> with 25\.00 USD"))
           ).to_be_visible()
    expect(page.get_by_role("img", name=re.compile(r"^Top 2 products by revenue"))).to_be_visible()
    assert page.locator("svg#chart-customers rect.bar").count() == 2
    assert page.locator("b").count() == 0  # the customer's markup stayed text


def test_a_quick_range_swaps_only_the_panel_and_changes_the_url(page, server):
    page.goto(f"{server}/dashboard")
    page.evaluate("window.__marker = 1")
    page.click("#range-last_7_days")
    start, end = _range("last_7_days")
    expect(page.locator("#range-date_from")).to_have_value(start)
    expect(page.locator("#range-date_to")).to_have_value(end)
    expect(page.locator("#range-last_7_days")).to_have_attribute("aria-current", "true")
    page.wait_for_url(re.compile(r".*/dashboard\?preset=last_7_days$"))
    assert page.evaluate("window.__marker") == 1  # no full reload
    expect(page.locator("#range-last_7_days")).to_be_focused()
    # a custom range through the form, then Back to the last 7 days
    page.fill("#range-date_from", "2025-01-01")
    page.fill("#range-date_to", "2025-03-31")
    page.click("#range-custom")
    page.wait_for_url(re.compile(r".*date_from=2025-01-01&date_to=2025-03-31$"))
    expect(page.locator("#h-revenue")).to_have_text("Revenue per week")
    assert page.evaluate("window.__marker") == 1
    page.go_back()
    page.wait_for_url(re.compile(r".*preset=last_7_days$"))
    expect(page.locator("#range-date_from")).to_have_value(start)


def test_a_bad_range_shows_the_error_in_the_panel_and_keeps_the_dates(page, server):
    page.goto(f"{server}/dashboard")
    page.evaluate("window.__marker = 1")
    page.fill("#range-date_from", "2025-03-31")
    page.fill("#range-date_to", "2025-03-01")
    page.click("#range-custom")
    expect(page.locator("#dashboard-panel .flash-error")).to_contain_text(
        "The start date is after the end date.")
    expect(page.locator("#range-date_from")).to_have_value("2025-03-31")
    expect(page.locator("#range-date_to")).to_have_attribute("aria-invalid", "true")
    assert page.evaluate("window.__marker") == 1


def test_the_data_table_opens_under_a_chart(page, server, with_orders):
    details = page.locator("#h-customers ~ details")
    table = details.locator("table")
    expect(table).to_be_hidden()
    details.locator("summary").click()
    expect(table).to_be_visible()
    expect(table.locator("tbody tr")).to_have_count(2)
    expect(table.locator("tbody tr").first).to_contain_text("Dash <b>Corp</b>")


def test_the_dashboard_works_without_javascript(browser, server):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    try:
        log_in(page, server)
        page.click("#range-last_90_days")
        page.wait_for_url(re.compile(r".*preset=last_90_days$"))
        expect(page.locator("#range-date_from")).to_have_value(_range("last_90_days")[0])
        expect(page.locator("h1")).to_have_text("Dashboard")
    finally:
        context.close()


def test_the_dashboard_fits_a_phone(browser, server):
    context = browser.new_context(viewport={"width": 320, "height": 640})
    page = context.new_page()
    try:
        log_in(page, server)
        page.wait_for_load_state()
        widths = page.evaluate("() => [innerWidth, document.documentElement.scrollWidth]")
        assert widths[1] <= widths[0], widths
        box = page.locator("svg#chart-revenue").bounding_box()
        assert 200 < box["width"] <= 320
    finally:
        context.close()


def test_download_this_as_xlsx_leads_to_the_job_page(page, server, with_orders):
    page.click("button:has-text('Download this as XLSX')")
    page.wait_for_url(re.compile(r".*/reports/\d+$"))
    expect(page.locator("h1")).to_have_text(re.compile(r"Report #\d+"))
    expect(page.locator(".flash")).to_contain_text("(XLSX)")
    expect(page.locator(".facts")).to_contain_text("XLSX")
    page.wait_for_selector(".job-status[data-status=COMPLETED]", timeout=60_000)
