"""Named date ranges ("Last 7 days", "Last month"): one definition of each,
used by the dashboard, the summary form and schedules alike, and spelled out
next to its words wherever it is offered ("Last 7 days: Dec 1–7, including
today").

A range is a pure function of a day: the caller says what today is (the
user's today in their zone; for a schedule, the run's day in the schedule's
zone). Both ends are included, as a report's dates are.

    today                   [t, t]
    yesterday               [t-1, t-1]
    last_7_days             [t-6, t]      7 days, today included
    last_30_days            [t-29, t]
    last_90_days            [t-89, t]
    last_7_full_days        [t-7, t-1]    7 whole days, ending yesterday
    last_30_full_days       [t-30, t-1]
    this_month              [1st of t's month, t]
    last_month              the whole previous month
    this_quarter            [1st day of t's quarter, t]
    last_quarter            the whole previous quarter
    this_year               [1 January of t's year, t]   "Year to date"
    last_year               the whole previous year

"Last 7 days" counts today on every page. A schedule that wants only whole
days picks "Last 7 full days" (schedules made before both existed had
that meaning under the shorter words; migration 0015 renamed them).
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable

Range = tuple[dt.date, dt.date]
_ONE_DAY = dt.timedelta(days=1)


def _month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def _quarter_start(day: dt.date) -> dt.date:
    return day.replace(month=(day.month - 1) // 3 * 3 + 1, day=1)


def _year_start(day: dt.date) -> dt.date:
    return day.replace(month=1, day=1)


def _days_to_today(count: int) -> Callable[[dt.date], Range]:
    return lambda today: (today - (count - 1) * _ONE_DAY, today)


def _complete_days(count: int) -> Callable[[dt.date], Range]:
    return lambda today: (today - count * _ONE_DAY, today - _ONE_DAY)


def _to_date(start_of: Callable[[dt.date], dt.date]) -> Callable[[dt.date], Range]:
    return lambda today: (start_of(today), today)


def _previous(start_of: Callable[[dt.date], dt.date]) -> Callable[[dt.date], Range]:
    """The whole period before the one holding today."""
    def whole(today: dt.date) -> Range:
        end = start_of(today) - _ONE_DAY
        return start_of(end), end
    return whole


# name: (label, rule), in the order the pages list them
_RANGES: dict[str, tuple[str, Callable[[dt.date], Range]]] = {
    "today": ("Today", lambda today: (today, today)),
    "yesterday": ("Yesterday", lambda today: (today - _ONE_DAY, today - _ONE_DAY)),
    "last_7_days": ("Last 7 days", _days_to_today(7)),
    "last_30_days": ("Last 30 days", _days_to_today(30)),
    "last_90_days": ("Last 90 days", _days_to_today(90)),
    "last_7_full_days": ("Last 7 full days", _complete_days(7)),
    "last_30_full_days": ("Last 30 full days", _complete_days(30)),
    "this_month": ("This month", _to_date(_month_start)),
    "last_month": ("Last month", _previous(_month_start)),
    "this_quarter": ("This quarter", _to_date(_quarter_start)),
    "last_quarter": ("Last quarter", _previous(_quarter_start)),
    "this_year": ("Year to date", _to_date(_year_start)),
    "last_year": ("Last year", _previous(_year_start)),
}
NAMES: tuple[str, ...] = tuple(_RANGES)
LABELS: dict[str, str] = {name: label for name, (label, _) in _RANGES.items()}
# older names still understood in links and by the API: the same range
ALIASES = {"year_to_date": "this_year"}


def canonical(name: str | None) -> str | None:
    """The range's name as listed here, for a listed name or an alias; else None."""
    name = ALIASES.get(name, name)
    return name if name in _RANGES else None


def resolve(name: str, today: dt.date) -> Range:
    """(first day, last day) of the range `name` seen on `today`, both
    included. Raises KeyError for an unknown name."""
    known = canonical(name)
    if known is None:
        raise KeyError(name)
    return _RANGES[known][1](today)


def matching(date_from: dt.date | None, date_to: dt.date | None, today: dt.date,
             names: tuple[str, ...] = NAMES) -> str | None:
    """The first of `names` whose range is exactly [date_from, date_to] today."""
    for name in names:
        if resolve(name, today) == (date_from, date_to):
            return name
    return None


def _day(day: dt.date, with_year: bool) -> str:
    return f"{day:%b} {day.day}, {day.year}" if with_year else f"{day:%b} {day.day}"


def dates_words(start: dt.date, end: dt.date, today: dt.date) -> str:
    """"Dec 1–7", "Nov 30 – Dec 6", "Dec 7"; the year when it is not today's
    ("Oct 1 – Dec 31, 2025"), both years when the range crosses one."""
    with_year = start.year != end.year or end.year != today.year
    if start == end:
        return _day(start, with_year)
    if (start.year, start.month) == (end.year, end.month):
        year = f", {end.year}" if with_year else ""
        return f"{start:%b} {start.day}–{end.day}{year}"
    if start.year == end.year:  # one year, named once at the end
        return f"{_day(start, False)} – {_day(end, with_year)}"
    return f"{_day(start, True)} – {_day(end, True)}"


def dates_of(name: str, today: dt.date) -> str:
    """Just the range's dates seen on `today`: "Dec 1–7"."""
    return dates_words(*resolve(name, today), today)


def spelled(name: str, today: dt.date) -> str:
    """The range's words and its dates seen on `today`: "Last 7 days: Dec 1–7,
    including today", "Last 7 full days: Nov 30 – Dec 6"."""
    start, end = resolve(name, today)
    words = f"{LABELS[canonical(name)]}: {dates_words(start, end, today)}"
    return f"{words}, including today" if end == today and start != end else words
