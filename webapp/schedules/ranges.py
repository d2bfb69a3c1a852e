"""Relative date ranges for scheduled reports, evaluated when a run starts.

A schedule stores a name ("last_month"), not dates: each run turns the name
into dates with relative_range(name, today), where `today` is the run's day in
the schedule's zone. Both ends are included, as a report's dates are.

A scheduled report covers complete days where it can, so the rolling ranges
end yesterday and the "last …" ranges are whole periods; only the "this …"
ranges run to date (today included, though today is not over):

    yesterday      [t-1, t-1]
    last_7_days    [t-7, t-1]
    last_30_days   [t-30, t-1]
    this_month     [first day of t's month, t]
    last_month     the whole previous month
    this_quarter   [first day of t's quarter, t]
    last_quarter   the whole previous quarter
    this_year      [1 January of t's year, t]
    last_year      the whole previous year
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable

# (name, label), in the order the schedule form shows them
RANGES: tuple[tuple[str, str], ...] = (
    ("yesterday", "Yesterday"),
    ("last_7_days", "Last 7 days"),
    ("last_30_days", "Last 30 days"),
    ("this_month", "This month"),
    ("last_month", "Last month"),
    ("this_quarter", "This quarter"),
    ("last_quarter", "Last quarter"),
    ("this_year", "This year"),
    ("last_year", "Last year"),
)
LABELS = dict(RANGES)

_ONE_DAY = dt.timedelta(days=1)
Range = tuple[dt.date, dt.date]


def _month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def _quarter_start(day: dt.date) -> dt.date:
    return day.replace(month=(day.month - 1) // 3 * 3 + 1, day=1)


def _year_start(day: dt.date) -> dt.date:
    return day.replace(month=1, day=1)


def _days_back(count: int) -> Callable[[dt.date], Range]:
    """The `count` complete days before today."""
    return lambda today: (today - count * _ONE_DAY, today - _ONE_DAY)


def _to_date(start_of: Callable[[dt.date], dt.date]) -> Callable[[dt.date], Range]:
    return lambda today: (start_of(today), today)


def _previous(start_of: Callable[[dt.date], dt.date]) -> Callable[[dt.date], Range]:
    """The whole period before the one holding today: it ends the day before
    this period starts, and starts where that day's period starts."""
    def whole(today: dt.date) -> Range:
        end = start_of(today) - _ONE_DAY
        return start_of(end), end
    return whole


_RULES: dict[str, Callable[[dt.date], Range]] = {
    "yesterday": _days_back(1),
    "last_7_days": _days_back(7),
    "last_30_days": _days_back(30),
    "this_month": _to_date(_month_start),
    "last_month": _previous(_month_start),
    "this_quarter": _to_date(_quarter_start),
    "last_quarter": _previous(_quarter_start),
    "this_year": _to_date(_year_start),
    "last_year": _previous(_year_start),
}
assert tuple(_RULES) == tuple(LABELS), "every listed range needs a rule, in order"


def relative_range(name: str, today: dt.date) -> Range:
    """(first day, last day) of the range `name` for a run on `today`, both
    included. Raises KeyError for an unknown name."""
    if name not in _RULES:
        raise KeyError(name)
    return _RULES[name](today)
