"""The summary form's quick date ranges: a pure function of (name, today),
checked across month, quarter, year and leap-day boundaries."""
from __future__ import annotations

import datetime as dt

import pytest

from webapp.reports.presets import LABELS, PRESETS, matching_preset, preset_range

D = dt.date

# today -> {preset: (date_from, date_to)}
EXPECTED = {
    D(2026, 1, 1): {  # first day of a year, a quarter and a month
        "today": (D(2026, 1, 1), D(2026, 1, 1)),
        "last_7_days": (D(2025, 12, 26), D(2026, 1, 1)),
        "last_30_days": (D(2025, 12, 3), D(2026, 1, 1)),
        "last_90_days": (D(2025, 10, 4), D(2026, 1, 1)),
        "this_month": (D(2026, 1, 1), D(2026, 1, 1)),
        "last_month": (D(2025, 12, 1), D(2025, 12, 31)),
        "this_quarter": (D(2026, 1, 1), D(2026, 1, 1)),
        "last_quarter": (D(2025, 10, 1), D(2025, 12, 31)),
        "year_to_date": (D(2026, 1, 1), D(2026, 1, 1)),
    },
    D(2026, 3, 31): {  # last day of a quarter; the month before is February
        "today": (D(2026, 3, 31), D(2026, 3, 31)),
        "last_7_days": (D(2026, 3, 25), D(2026, 3, 31)),
        "last_30_days": (D(2026, 3, 2), D(2026, 3, 31)),
        "last_90_days": (D(2026, 1, 1), D(2026, 3, 31)),
        "this_month": (D(2026, 3, 1), D(2026, 3, 31)),
        "last_month": (D(2026, 2, 1), D(2026, 2, 28)),
        "this_quarter": (D(2026, 1, 1), D(2026, 3, 31)),
        "last_quarter": (D(2025, 10, 1), D(2025, 12, 31)),
        "year_to_date": (D(2026, 1, 1), D(2026, 3, 31)),
    },
    D(2026, 4, 1): {  # first day of the second quarter
        "last_7_days": (D(2026, 3, 26), D(2026, 4, 1)),
        "this_month": (D(2026, 4, 1), D(2026, 4, 1)),
        "last_month": (D(2026, 3, 1), D(2026, 3, 31)),
        "this_quarter": (D(2026, 4, 1), D(2026, 4, 1)),
        "last_quarter": (D(2026, 1, 1), D(2026, 3, 31)),
        "year_to_date": (D(2026, 1, 1), D(2026, 4, 1)),
    },
    D(2026, 11, 29): {  # an ordinary day late in the year
        "today": (D(2026, 11, 29), D(2026, 11, 29)),
        "last_7_days": (D(2026, 11, 23), D(2026, 11, 29)),
        "last_30_days": (D(2026, 10, 31), D(2026, 11, 29)),
        "this_month": (D(2026, 11, 1), D(2026, 11, 29)),
        "last_month": (D(2026, 10, 1), D(2026, 10, 31)),
        "this_quarter": (D(2026, 10, 1), D(2026, 11, 29)),
        "last_quarter": (D(2026, 7, 1), D(2026, 9, 30)),
        "year_to_date": (D(2026, 1, 1), D(2026, 11, 29)),
    },
    D(2024, 3, 1): {  # a leap year: February has 29 days
        "last_7_days": (D(2024, 2, 24), D(2024, 3, 1)),
        "last_30_days": (D(2024, 2, 1), D(2024, 3, 1)),
        "last_90_days": (D(2023, 12, 3), D(2024, 3, 1)),  # 29 days of February counted
        "last_month": (D(2024, 2, 1), D(2024, 2, 29)),
        "last_quarter": (D(2023, 10, 1), D(2023, 12, 31)),
    },
    D(2024, 2, 29): {
        "this_month": (D(2024, 2, 1), D(2024, 2, 29)),
        "last_month": (D(2024, 1, 1), D(2024, 1, 31)),
    },
    D(2026, 7, 31): {  # a 31-day month after a 30-day one
        "last_month": (D(2026, 6, 1), D(2026, 6, 30)),
        "this_quarter": (D(2026, 7, 1), D(2026, 7, 31)),
        "last_quarter": (D(2026, 4, 1), D(2026, 6, 30)),
    },
}
CASES = [(today, name, rng) for today, ranges in EXPECTED.items() for name, rng in ranges.items()]


@pytest.mark.parametrize(("today", "name", "expected"), CASES,
                         ids=[f"{today}-{name}" for today, name, _ in CASES])
def test_each_preset_gives_its_range_across_month_quarter_and_year_boundaries(
        today, name, expected):
    assert preset_range(name, today) == expected


def test_the_form_offers_nine_presets_in_a_sensible_order_with_labels():
    assert [label for _, label in PRESETS] == [
        "Today", "Last 7 days", "Last 30 days", "Last 90 days", "This month", "Last month",
        "This quarter", "Last quarter", "Year to date"]
    assert set(LABELS) == {name for name, _ in PRESETS}


def test_every_preset_on_every_day_of_three_years_is_a_sane_range():
    day = D(2023, 1, 1)
    while day <= D(2025, 12, 31):
        for name, _ in PRESETS:
            start, end = preset_range(name, day)
            assert start <= end <= day, (day, name)
        assert (preset_range("last_7_days", day)[1] - preset_range("last_7_days", day)[0]).days == 6
        assert (preset_range("last_30_days", day)[1]
                - preset_range("last_30_days", day)[0]).days == 29
        assert (preset_range("last_90_days", day)[1]
                - preset_range("last_90_days", day)[0]).days == 89
        # "last month/quarter" end the day before "this month/quarter" starts
        assert (preset_range("last_month", day)[1] + dt.timedelta(days=1)
                == preset_range("this_month", day)[0])
        assert (preset_range("last_quarter", day)[1] + dt.timedelta(days=1)
                == preset_range("this_quarter", day)[0])
        assert preset_range("last_quarter", day)[0].month in (1, 4, 7, 10)
        day += dt.timedelta(days=1)


def test_an_unknown_preset_is_refused():
    with pytest.raises(KeyError):
        preset_range("next_year", D(2026, 1, 1))


def test_the_preset_in_use_is_recognised_from_the_dates():
    today = D(2026, 11, 29)
    assert matching_preset(D(2026, 10, 1), D(2026, 10, 31), today) == "last_month"
    assert matching_preset(D(2026, 11, 1), D(2026, 11, 29), today) == "this_month"
    assert matching_preset(D(2026, 10, 2), D(2026, 10, 31), today) is None
    assert matching_preset(None, None, today) is None
