"""Relative date ranges of scheduled reports: a pure function of (name, today),
checked on an ordinary day and across month, quarter, year and leap-day
boundaries, and the same as the dashboard's and the summary form's."""
from __future__ import annotations

import datetime as dt

import pytest

from webapp.reports.presets import LABELS as PRESET_LABELS
from webapp.reports.presets import preset_range
from webapp.schedules.ranges import LABELS, RANGES, relative_range

D = dt.date

# today -> {range: (first day, last day)}
EXPECTED = {
    D(2026, 5, 13): {  # an ordinary Wednesday mid-quarter
        "today": (D(2026, 5, 13), D(2026, 5, 13)),
        "last_7_days": (D(2026, 5, 7), D(2026, 5, 13)),
        "last_30_days": (D(2026, 4, 14), D(2026, 5, 13)),
        "yesterday": (D(2026, 5, 12), D(2026, 5, 12)),
        "last_7_full_days": (D(2026, 5, 6), D(2026, 5, 12)),
        "last_30_full_days": (D(2026, 4, 13), D(2026, 5, 12)),
        "this_month": (D(2026, 5, 1), D(2026, 5, 13)),
        "last_month": (D(2026, 4, 1), D(2026, 4, 30)),
        "this_quarter": (D(2026, 4, 1), D(2026, 5, 13)),
        "last_quarter": (D(2026, 1, 1), D(2026, 3, 31)),
        "this_year": (D(2026, 1, 1), D(2026, 5, 13)),
        "last_year": (D(2025, 1, 1), D(2025, 12, 31)),
    },
    D(2026, 1, 1): {  # first day of a year, a quarter and a month
        "today": (D(2026, 1, 1), D(2026, 1, 1)),
        "last_7_days": (D(2025, 12, 26), D(2026, 1, 1)),
        "last_30_days": (D(2025, 12, 3), D(2026, 1, 1)),
        "yesterday": (D(2025, 12, 31), D(2025, 12, 31)),
        "last_7_full_days": (D(2025, 12, 25), D(2025, 12, 31)),
        "last_30_full_days": (D(2025, 12, 2), D(2025, 12, 31)),
        "this_month": (D(2026, 1, 1), D(2026, 1, 1)),
        "last_month": (D(2025, 12, 1), D(2025, 12, 31)),
        "this_quarter": (D(2026, 1, 1), D(2026, 1, 1)),
        "last_quarter": (D(2025, 10, 1), D(2025, 12, 31)),
        "this_year": (D(2026, 1, 1), D(2026, 1, 1)),
        "last_year": (D(2025, 1, 1), D(2025, 12, 31)),
    },
    D(2026, 3, 1): {  # after a 28-day February
        "today": (D(2026, 3, 1), D(2026, 3, 1)),
        "last_7_days": (D(2026, 2, 23), D(2026, 3, 1)),
        "last_30_days": (D(2026, 1, 31), D(2026, 3, 1)),
        "yesterday": (D(2026, 2, 28), D(2026, 2, 28)),
        "last_7_full_days": (D(2026, 2, 22), D(2026, 2, 28)),
        "last_30_full_days": (D(2026, 1, 30), D(2026, 2, 28)),
        "this_month": (D(2026, 3, 1), D(2026, 3, 1)),
        "last_month": (D(2026, 2, 1), D(2026, 2, 28)),
        "this_quarter": (D(2026, 1, 1), D(2026, 3, 1)),
        "last_quarter": (D(2025, 10, 1), D(2025, 12, 31)),
        "this_year": (D(2026, 1, 1), D(2026, 3, 1)),
        "last_year": (D(2025, 1, 1), D(2025, 12, 31)),
    },
    D(2024, 3, 1): {  # after a leap-year February
        "today": (D(2024, 3, 1), D(2024, 3, 1)),
        "last_7_days": (D(2024, 2, 24), D(2024, 3, 1)),
        "last_30_days": (D(2024, 2, 1), D(2024, 3, 1)),
        "yesterday": (D(2024, 2, 29), D(2024, 2, 29)),
        "last_7_full_days": (D(2024, 2, 23), D(2024, 2, 29)),
        "last_30_full_days": (D(2024, 1, 31), D(2024, 2, 29)),
        "this_month": (D(2024, 3, 1), D(2024, 3, 1)),
        "last_month": (D(2024, 2, 1), D(2024, 2, 29)),
        "this_quarter": (D(2024, 1, 1), D(2024, 3, 1)),
        "last_quarter": (D(2023, 10, 1), D(2023, 12, 31)),
        "this_year": (D(2024, 1, 1), D(2024, 3, 1)),
        "last_year": (D(2023, 1, 1), D(2023, 12, 31)),
    },
    D(2026, 4, 1): {  # first day of the second quarter
        "today": (D(2026, 4, 1), D(2026, 4, 1)),
        "last_7_days": (D(2026, 3, 26), D(2026, 4, 1)),
        "last_30_days": (D(2026, 3, 3), D(2026, 4, 1)),
        "yesterday": (D(2026, 3, 31), D(2026, 3, 31)),
        "last_7_full_days": (D(2026, 3, 25), D(2026, 3, 31)),
        "last_30_full_days": (D(2026, 3, 2), D(2026, 3, 31)),
        "this_month": (D(2026, 4, 1), D(2026, 4, 1)),
        "last_month": (D(2026, 3, 1), D(2026, 3, 31)),
        "this_quarter": (D(2026, 4, 1), D(2026, 4, 1)),
        "last_quarter": (D(2026, 1, 1), D(2026, 3, 31)),
        "this_year": (D(2026, 1, 1), D(2026, 4, 1)),
        "last_year": (D(2025, 1, 1), D(2025, 12, 31)),
    },
    D(2026, 7, 1): {  # first day of the second half-year
        "today": (D(2026, 7, 1), D(2026, 7, 1)),
        "last_7_days": (D(2026, 6, 25), D(2026, 7, 1)),
        "last_30_days": (D(2026, 6, 2), D(2026, 7, 1)),
        "yesterday": (D(2026, 6, 30), D(2026, 6, 30)),
        "last_7_full_days": (D(2026, 6, 24), D(2026, 6, 30)),
        "last_30_full_days": (D(2026, 6, 1), D(2026, 6, 30)),
        "this_month": (D(2026, 7, 1), D(2026, 7, 1)),
        "last_month": (D(2026, 6, 1), D(2026, 6, 30)),
        "this_quarter": (D(2026, 7, 1), D(2026, 7, 1)),
        "last_quarter": (D(2026, 4, 1), D(2026, 6, 30)),
        "this_year": (D(2026, 1, 1), D(2026, 7, 1)),
        "last_year": (D(2025, 1, 1), D(2025, 12, 31)),
    },
    D(2026, 12, 31): {  # last day of the year
        "today": (D(2026, 12, 31), D(2026, 12, 31)),
        "last_7_days": (D(2026, 12, 25), D(2026, 12, 31)),
        "last_30_days": (D(2026, 12, 2), D(2026, 12, 31)),
        "yesterday": (D(2026, 12, 30), D(2026, 12, 30)),
        "last_7_full_days": (D(2026, 12, 24), D(2026, 12, 30)),
        "last_30_full_days": (D(2026, 12, 1), D(2026, 12, 30)),
        "this_month": (D(2026, 12, 1), D(2026, 12, 31)),
        "last_month": (D(2026, 11, 1), D(2026, 11, 30)),
        "this_quarter": (D(2026, 10, 1), D(2026, 12, 31)),
        "last_quarter": (D(2026, 7, 1), D(2026, 9, 30)),
        "this_year": (D(2026, 1, 1), D(2026, 12, 31)),
        "last_year": (D(2025, 1, 1), D(2025, 12, 31)),
    },
}


def test_ranges_are_listed_in_form_order_with_labels():
    assert [name for name, _ in RANGES] == [
        "today", "yesterday", "last_7_days", "last_7_full_days", "last_30_days",
        "last_30_full_days", "this_month", "last_month", "this_quarter", "last_quarter",
        "this_year", "last_year"]
    assert LABELS["last_7_days"] == "Last 7 days"
    assert LABELS["last_7_full_days"] == "Last 7 full days"
    assert LABELS["this_year"] == "Year to date"
    assert LABELS["last_quarter"] == "Last quarter"
    assert list(LABELS) == [name for name, _ in RANGES]


@pytest.mark.parametrize("today", list(EXPECTED), ids=str)
def test_every_range_on_boundary_days(today):
    assert {name: relative_range(name, today) for name in LABELS} == EXPECTED[today]


@pytest.mark.parametrize("today", list(EXPECTED), ids=str)
def test_a_schedule_reads_each_range_as_the_dashboard_and_the_summary_form_do(today):
    """One definition: the same words give the same dates on every page."""
    for name in set(LABELS) & set(PRESET_LABELS):
        assert relative_range(name, today) == preset_range(name, today), name
        assert PRESET_LABELS[name] == LABELS[name]


@pytest.mark.parametrize("name", ["last_90_days", "year_to_date", "", "LAST_MONTH"])
def test_unknown_name_is_a_key_error(name):
    with pytest.raises(KeyError):
        relative_range(name, D(2026, 5, 13))


def test_invariants_for_every_day_of_three_years():
    """Whole periods are whole, full-day ranges end yesterday, "last N days" and
    "this" ranges end today."""
    one_day = dt.timedelta(days=1)
    day = D(2023, 1, 1)
    while day <= D(2025, 12, 31):
        ranges = {name: relative_range(name, day) for name in LABELS}
        for start, end in ranges.values():
            assert start <= end <= day
        for name, days in (("yesterday", 1), ("last_7_full_days", 7), ("last_30_full_days", 30)):
            start, end = ranges[name]
            assert end == day - one_day and (end - start).days + 1 == days
        for name, days in (("today", 1), ("last_7_days", 7), ("last_30_days", 30)):
            start, end = ranges[name]
            assert end == day and (end - start).days + 1 == days
        for this, last in (("this_month", "last_month"), ("this_quarter", "last_quarter"),
                           ("this_year", "last_year")):
            assert ranges[this][1] == day
            assert ranges[last][1] + one_day == ranges[this][0]  # the previous period adjoins
            assert ranges[last][0].day == 1 and ranges[this][0].day == 1
        assert (ranges["last_month"][1] + one_day).day == 1  # ends on a month's last day
        assert ranges["last_quarter"][0].month in (1, 4, 7, 10)
        assert ranges["last_year"][0] == D(day.year - 1, 1, 1)
        day += one_day
