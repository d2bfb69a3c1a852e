"""The dashboard in headless Chromium: log-in lands on it, its SVG charts are
visible with accessible names, a quick range swaps only the panel and changes
the URL (Back returns to the previous range), the data table opens, it fits
a phone, and "Download this as XLSX" leads to the new report's page. With
real numbers, at 1280, 390 and 320 px: a 77,736,083.58 total stays on one
line of its tile ("77.7M USD", the exact figure at hand), chart text is
11-16 px whatever the chart's width, every value label of the top lists lies
inside its card, x labels never collide, and today's partial bar is marked.

Set DASHBOARD_SCREENSHOTS to a folder to save a full-page screenshot of the
dashboard with real numbers at each width (to look at; nothing compares them)."""
from __future__ import annotations

import datetime as dt
import os
import re

import pytest
from playwright.sync_api import expect

from tests.browser import axe
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



# --- real numbers -------------------------------------------------------------------------

WIDTHS = [(1280, 800), (390, 844), (320, 640)]
BIG_RANGE = "date_from=2025-06-01&date_to=2025-06-30"  # wholly past: no partial bar
EDGE_RANGE = "date_from=2025-07-01&date_to=2025-07-31"  # the largest figure shown exactly


def _completed_order(page, server, customer, product, quantity, price, day):
    page.goto(f"{server}/orders/new")
    page.fill("#customer", customer)
    page.fill("#order_date", day)
    page.fill("#items-0-product", product)
    page.fill("#items-0-quantity", quantity)
    page.fill("#items-0-unit_price", price)
    page.click("text=Create order")
    page.wait_for_url("**/orders/*")
    page.click("button:has-text('Mark completed')")
    page.wait_for_selector(".pill-completed")


@pytest.fixture(scope="module")
def big_numbers(browser, server):
    """June 2025: 77,736,083.58 of revenue in three orders at 0 % tax
    (77 x 1,000,000.00 + 736,071.08 + 12.50); July 2025: one of 99,999.99."""
    context = browser.new_context()
    page = context.new_page()
    try:
        log_in(page, server)
        for customer, product, quantity, price, day in (
                ("Big Buyer Holdings International GmbH & Co. KG", "Turbine", "77",
                 "1000000.00", "2025-06-10"),
                ("Small Shop", "Spare part", "1", "736071.08", "2025-06-11"),
                ("Tiny Café", "Tea", "1", "12.50", "2025-06-12"),
                ("Edge Ltd", "Edge", "1", "99999.99", "2025-07-15")):
            _completed_order(page, server, customer, product, quantity, price, day)
    finally:
        context.close()


def _page_at(browser, server, size):
    context = browser.new_context(viewport={"width": size[0], "height": size[1]})
    page = context.new_page()
    log_in(page, server)
    return context, page


TILES = """() => [...document.querySelectorAll('.kpi')].map(tile => {
  const value = tile.querySelector('.kpi-value');
  const box = value.getBoundingClientRect(), card = tile.getBoundingClientRect();
  return {id: tile.id, height: box.height,
          lineHeight: parseFloat(getComputedStyle(value).lineHeight),
          left: box.left, right: box.right, cardLeft: card.left, cardRight: card.right,
          scroll: value.scrollWidth, client: value.clientWidth, text: value.innerText};
})"""


@pytest.mark.parametrize("size", WIDTHS, ids=lambda s: f"{s[0]}px")
def test_a_77_million_total_fits_one_line_of_its_tile_with_the_exact_value_at_hand(
        browser, server, big_numbers, size):
    context, page = _page_at(browser, server, size)
    try:
        page.goto(f"{server}/dashboard?{BIG_RANGE}")
        revenue = page.locator("#kpi-revenue .kpi-value")
        expect(revenue.locator("[aria-hidden=true]")).to_have_text("77.7M USD")
        # the exact figure: a title for the mouse, text for screen readers
        expect(revenue).to_have_attribute("title", "77,736,083.58 USD")
        expect(revenue.locator(".visually-hidden")).to_have_text("77,736,083.58 USD")
        assert page.get_by_role("listitem").filter(has_text="77,736,083.58 USD").count() == 1
        for tile in page.evaluate(TILES):
            # one line box high, and inside its tile
            assert tile["height"] <= tile["lineHeight"] * 1.05, tile
            assert tile["scroll"] <= tile["client"] + 1, tile
            assert tile["cardLeft"] <= tile["left"] and tile["right"] <= tile["cardRight"], tile
        # the table view keeps the exact amount
        page.locator("#h-revenue ~ details summary").click()
        expect(page.locator("#h-revenue ~ details tfoot")).to_contain_text("77,736,083.58 USD")
        axe.check(page, f"/dashboard?{BIG_RANGE} at {size[0]} px")
        # the largest figure shown exactly still fits one line
        page.goto(f"{server}/dashboard?{EDGE_RANGE}")
        expect(page.locator("#kpi-revenue .kpi-value")).to_have_text("99,999.99 USD")
        for tile in page.evaluate(TILES):
            assert tile["height"] <= tile["lineHeight"] * 1.05, tile
            assert tile["scroll"] <= tile["client"] + 1, tile
    finally:
        context.close()


# rendered size of every chart text shown: its font size in its own user
# units, times the scale from those units to CSS px (1 without a viewBox)
CHART_TEXT = """() => [...document.querySelectorAll('svg.chart text')]
  .filter(t => getComputedStyle(t).display !== 'none')
  .map(t => {
    const ctm = t.getScreenCTM(), r = t.getBoundingClientRect();
    const card = t.closest('.chart-card').getBoundingClientRect();
    const svg = t.ownerSVGElement.getBoundingClientRect();
    return {chart: t.ownerSVGElement.id, cls: t.getAttribute('class') || '', text: t.textContent,
            px: parseFloat(getComputedStyle(t).fontSize) * Math.hypot(ctm.a, ctm.b),
            height: r.height, left: r.left, right: r.right, top: r.top, bottom: r.bottom,
            card: [card.left, card.right, card.top, card.bottom],
            svg: [svg.left, svg.right, svg.top, svg.bottom]};
  })"""


@pytest.mark.parametrize("size", WIDTHS[:2], ids=lambda s: f"{s[0]}px")
def test_chart_text_is_readable_on_a_phone_and_not_oversized_on_a_desktop(browser, server,
                                                                          big_numbers, size):
    context, page = _page_at(browser, server, size)
    try:
        page.goto(f"{server}/dashboard?{BIG_RANGE}")
        texts = page.evaluate(CHART_TEXT)
        assert {t["chart"] for t in texts} == {"chart-revenue", "chart-customers",
                                               "chart-products"}
        sizes = [t["px"] for t in texts]
        assert min(sizes) >= 11, min(texts, key=lambda t: t["px"])
        assert max(sizes) <= 16, max(texts, key=lambda t: t["px"])
        # what the eye sees agrees: no glyph box taller than 16 px text makes
        assert max(t["height"] for t in texts) <= 16 * 1.3
    finally:
        context.close()


@pytest.mark.parametrize("size", WIDTHS, ids=lambda s: f"{s[0]}px")
def test_every_value_label_of_the_top_lists_lies_inside_its_card(browser, server, big_numbers,
                                                                 size):
    context, page = _page_at(browser, server, size)
    try:
        page.goto(f"{server}/dashboard?{BIG_RANGE}")
        if os.environ.get("DASHBOARD_SCREENSHOTS"):
            page.screenshot(path=f"{os.environ['DASHBOARD_SCREENSHOTS']}/dashboard-{size[0]}.png",
                            full_page=True)
        texts = page.evaluate(CHART_TEXT)
        ranked = [t for t in texts if t["chart"] in ("chart-customers", "chart-products")]
        values = [t for t in ranked if "value" in t["cls"].split()]
        assert [t["text"] for t in values if t["chart"] == "chart-customers"] == [
            "77.0M USD", "736k USD", "12.5 USD"]
        for t in ranked:  # names and values, inside the card and not clipped by the chart
            left, right, top, bottom = t["card"]
            assert left <= t["left"] and t["right"] <= right, t
            assert top <= t["top"] and t["bottom"] <= bottom, t
            assert t["svg"][0] - 0.5 <= t["left"] and t["right"] <= t["svg"][1] + 0.5, t
        # the top bar's value sits inside the bar's end
        top_bar = page.locator("#chart-customers rect.bar").first.bounding_box()
        first = next(t for t in values if t["chart"] == "chart-customers")
        assert "inside" in first["cls"]
        assert top_bar["x"] <= first["left"] and first["right"] <= top_bar["x"] + top_bar["width"]
        # exact amounts: the bar's title and the table
        expect(page.locator("#chart-customers rect.bar title").first).to_have_text(
            "Big Buyer Holdings International GmbH & Co. KG: 77,000,000.00 USD")
        # revenue chart: x labels shown never collide, and stay inside the chart
        labels = sorted((t for t in texts if t["chart"] == "chart-revenue"
                         and "x-label" in t["cls"]), key=lambda t: t["left"])
        assert len(labels) >= (8 if size[0] >= 1280 else 3)
        for a, b in zip(labels, labels[1:], strict=False):
            assert a["right"] + 4 <= b["left"], (a, b)
        assert labels[0]["left"] >= labels[0]["svg"][0] - 0.5
        assert labels[-1]["right"] <= labels[-1]["svg"][1] + 0.5
    finally:
        context.close()


def test_todays_partial_bar_is_marked_in_the_chart_the_note_and_the_table(page, server,
                                                                          with_orders):
    today = user_today()  # the browser's user is in UTC, as this process's default
    _completed_order(page, server, "Yesterday Ltd", "Tea", "6", "100.00",
                     (today - dt.timedelta(days=1)).isoformat())
    page.goto(f"{server}/dashboard?date_from={today - dt.timedelta(days=6)}&date_to={today}")
    partial = page.locator("svg#chart-revenue rect.bar.partial")
    expect(partial).to_have_count(1)
    expect(partial.locator("title")).to_contain_text("(partial: today, not over yet)")
    expect(page.locator("svg#chart-revenue rect.bar:not(.partial)")).to_have_count(1)
    looks = page.evaluate("""() => [...document.querySelectorAll('svg#chart-revenue rect.bar')]
        .map(r => ({partial: r.classList.contains('partial'), fill: getComputedStyle(r).fill,
                    dashes: getComputedStyle(r).strokeDasharray}))""")
    lighter, solid = ([x for x in looks if x["partial"] == p] for p in (True, False))
    assert lighter[0]["fill"] != solid[0]["fill"], looks  # drawn apart
    assert lighter[0]["dashes"] not in ("none", ""), looks  # and outlined
    note = page.locator("#h-revenue ~ .chart-note")
    expect(note).to_contain_text("Lighter, outlined bars are partial:")
    # yesterday's 600.00 over the six full days; today's part left out
    expect(note).to_contain_text("Average per full day: 100.00 USD (1 partial day left out).")
    page.locator("#h-revenue ~ details summary").click()
    expect(page.locator("#h-revenue ~ details tr.partial th")).to_contain_text(
        "(partial: today, not over yet)")
    expect(page.locator("#chart-revenue-desc")).to_contain_text("partial")
