""""Last 7 days" is one range on every page, and each page says which days it
is next to the words: the dashboard's heading ("Last 7 days: Dec 1–7,
including today"), the summary form's buttons and the line under them, the
schedule form's hint (which follows the chosen range, without a reload) and a
schedule's page. At 1280 and 390 px."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from webapp import ranges
from webapp.reports.presets import user_today

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("width", [1280, 390])
def test_last_7_days_is_the_same_days_on_the_dashboard_the_reports_and_a_schedule(
        page, server, width):
    page.set_viewport_size({"width": width, "height": 844})
    today = user_today()  # the browser user's zone is UTC, as the test process's today
    words = ranges.spelled("last_7_days", today)
    dates = ranges.dates_of("last_7_days", today)
    assert words.endswith(", including today")

    page.goto(f"{server}/dashboard?preset=last_7_days")
    expect(page.locator("#dashboard-range-title")).to_have_text(words)
    expect(page.locator("#range-last_7_days .preset-dates")).to_have_text(dates)

    page.goto(f"{server}/reports/?preset=last_7_days")
    button = page.locator("#preset-last_7_days")
    expect(button).to_have_attribute("aria-current", "true")
    expect(button.locator(".preset-dates")).to_have_text(dates)
    expect(page.locator("#preset-spelled")).to_have_text(f"{words}.")
    start, end = ranges.resolve("last_7_days", today)
    expect(page.locator("#date_from")).to_have_value(start.isoformat())
    expect(page.locator("#date_to")).to_have_value(end.isoformat())

    page.goto(f"{server}/schedules/new")
    hint = page.locator("#range-dates")
    page.select_option("#range", "last_7_days")
    expect(hint).to_have_text(f"Run today: {words}.")
    page.select_option("#range", "last_7_full_days")  # the hint follows the choice
    expect(hint).to_have_text(f"Run today: {ranges.spelled('last_7_full_days', today)}.")
    page.select_option("#range", "last_7_days")
    page.fill("#name", f"Same days at {width}")
    page.check("input[name=kind][value=summary]")
    page.select_option("#timezone", "UTC")
    page.click("button:has-text('Save schedule')")
    page.wait_for_url(re.compile(r".*/schedules/\d+$"))
    expect(page.locator("#range-dates")).to_have_text(f"(run today: {dates}, including today)")
    if width < 640:
        assert page.evaluate("document.documentElement.scrollWidth") <= width
