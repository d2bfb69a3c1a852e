"""One definition of each named range (webapp/ranges.py), spelled out next to
its words: "Last 7 days: Dec 1–7, including today"."""
from __future__ import annotations

import datetime as dt

import pytest

from webapp import ranges

D = dt.date
TODAY = D(2026, 12, 7)


@pytest.mark.parametrize(("name", "words"), [
    ("today", "Today: Dec 7"),
    ("yesterday", "Yesterday: Dec 6"),
    ("last_7_days", "Last 7 days: Dec 1–7, including today"),
    ("last_7_full_days", "Last 7 full days: Nov 30 – Dec 6"),
    ("last_30_days", "Last 30 days: Nov 8 – Dec 7, including today"),
    ("last_30_full_days", "Last 30 full days: Nov 7 – Dec 6"),
    ("last_90_days", "Last 90 days: Sep 9 – Dec 7, including today"),
    ("this_month", "This month: Dec 1–7, including today"),
    ("last_month", "Last month: Nov 1–30"),
    ("this_quarter", "This quarter: Oct 1 – Dec 7, including today"),
    ("last_quarter", "Last quarter: Jul 1 – Sep 30"),
    ("this_year", "Year to date: Jan 1 – Dec 7, including today"),
    ("last_year", "Last year: Jan 1 – Dec 31, 2025"),
])
def test_every_range_is_spelled_with_its_dates(name, words):
    assert ranges.spelled(name, TODAY) == words


def test_years_are_named_when_the_range_crosses_one_or_is_not_this_years():
    assert ranges.spelled("last_7_days", D(2027, 1, 3)) == \
        "Last 7 days: Dec 28, 2026 – Jan 3, 2027, including today"
    assert ranges.dates_of("last_month", D(2027, 1, 3)) == "Dec 1–31, 2026"
    assert ranges.dates_of("this_month", D(2027, 1, 1)) == "Jan 1"


def test_an_old_name_is_the_same_range_under_its_listed_name():
    assert ranges.canonical("year_to_date") == "this_year"
    assert ranges.resolve("year_to_date", TODAY) == ranges.resolve("this_year", TODAY)
    assert ranges.canonical("last_week") is None
    with pytest.raises(KeyError):
        ranges.resolve("last_week", TODAY)


def test_the_same_words_are_the_same_dates_everywhere():
    """The labels are unique, and the matching finds the first listed name."""
    assert len(set(ranges.LABELS.values())) == len(ranges.LABELS)
    start, end = ranges.resolve("last_7_days", TODAY)
    assert ranges.matching(start, end, TODAY) == "last_7_days"
    assert ranges.matching(D(2026, 11, 30), D(2026, 12, 6), TODAY) == "last_7_full_days"
    assert ranges.matching(D(2026, 11, 30), D(2026, 12, 5), TODAY) is None
