"""Named date ranges for the summary form ("Last month", "Year to date", …).

Pure functions of a day: the caller says what today is (the user's today, in
the user's zone: user_today), so the ranges are testable across month, quarter
and year boundaries. Every range includes both ends, as a summary's dates do."""
from __future__ import annotations

import datetime as dt

from flask import has_request_context
from flask_login import current_user

from ..timezones import today, zone_of

# (name, label), in the order the form shows them
PRESETS: tuple[tuple[str, str], ...] = (
    ("today", "Today"),
    ("last_7_days", "Last 7 days"),
    ("last_30_days", "Last 30 days"),
    ("last_90_days", "Last 90 days"),
    ("this_month", "This month"),
    ("last_month", "Last month"),
    ("this_quarter", "This quarter"),
    ("last_quarter", "Last quarter"),
    ("year_to_date", "Year to date"),
)
LABELS = dict(PRESETS)


def user_today() -> dt.date:
    """Today where the logged-in user is (UTC when nobody is logged in)."""
    return today(zone_of(current_user if has_request_context() else None))


def _quarter_start(day: dt.date) -> dt.date:
    return day.replace(month=(day.month - 1) // 3 * 3 + 1, day=1)


def preset_range(name: str, today: dt.date) -> tuple[dt.date, dt.date]:
    """(date_from, date_to) of the preset `name` as seen on `today`; both ends
    included. "This …" ranges end today; "Last month/quarter" are the whole
    previous period. Raises KeyError for an unknown name."""
    if name not in LABELS:
        raise KeyError(name)
    one_day = dt.timedelta(days=1)
    if name == "today":
        return today, today
    if name == "last_7_days":
        return today - 6 * one_day, today
    if name == "last_30_days":
        return today - 29 * one_day, today
    if name == "last_90_days":
        return today - 89 * one_day, today
    if name == "this_month":
        return today.replace(day=1), today
    if name == "last_month":
        end = today.replace(day=1) - one_day
        return end.replace(day=1), end
    if name == "this_quarter":
        return _quarter_start(today), today
    if name == "last_quarter":
        end = _quarter_start(today) - one_day
        return _quarter_start(end), end
    # year_to_date
    return today.replace(month=1, day=1), today


def matching_preset(date_from: dt.date | None, date_to: dt.date | None,
                    today: dt.date) -> str | None:
    """The first preset whose range is exactly [date_from, date_to] today, if any
    (so the form can mark it as the one in use)."""
    for name, _ in PRESETS:
        if preset_range(name, today) == (date_from, date_to):
            return name
    return None
