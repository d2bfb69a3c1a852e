"""The quick ranges of the summary form and the dashboard ("Last month",
"Year to date", …): webapp/ranges.py's ranges, which schedules use too, and
the user's today they are read on."""
from __future__ import annotations

import datetime as dt

from flask import has_request_context
from flask_login import current_user

from .. import ranges
from ..timezones import today, zone_of

# the summary form's buttons, in order (any range of webapp/ranges.py, or an
# alias such as year_to_date, is understood in a link)
PRESET_NAMES = ("today", "last_7_days", "last_30_days", "last_90_days", "this_month",
                "last_month", "this_quarter", "last_quarter", "this_year")
PRESETS: tuple[tuple[str, str], ...] = tuple((n, ranges.LABELS[n]) for n in PRESET_NAMES)
LABELS = dict(PRESETS)


def user_today() -> dt.date:
    """Today where the logged-in user is (UTC when nobody is logged in)."""
    return today(zone_of(current_user if has_request_context() else None))


def known(name: str | None) -> str | None:
    """The range's name for a link's ?preset= (an alias gives its range's name)."""
    return ranges.canonical(name)


def preset_range(name: str, today: dt.date) -> tuple[dt.date, dt.date]:
    """(date_from, date_to) of the range `name` seen on `today`; both ends
    included. Raises KeyError for an unknown name."""
    return ranges.resolve(name, today)


def matching_preset(date_from: dt.date | None, date_to: dt.date | None,
                    today: dt.date, names: tuple[str, ...] = PRESET_NAMES) -> str | None:
    """The first of `names` whose range is exactly [date_from, date_to] today, if
    any (so the form can mark it as the one in use)."""
    return ranges.matching(date_from, date_to, today, names)


def dates_of(name: str, today: dt.date) -> str:
    """"Dec 1–7": a quick range's dates, under its words on the buttons."""
    return ranges.dates_of(name, today)


def spelled(name: str, today: dt.date) -> str:
    """"Last 7 days: Dec 1–7, including today" (shown next to the words)."""
    return ranges.spelled(name, today)
