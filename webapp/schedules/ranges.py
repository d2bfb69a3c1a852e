"""The ranges a schedule offers, evaluated when a run starts.

A schedule stores a range's name ("last_month"), not dates: each run turns
it into dates with relative_range(name, today), where `today` is the run's day
in the schedule's zone. The ranges themselves are webapp/ranges.py's, the same
as the dashboard's and the summary form's: "Last 7 days" is the run's day and
the six before it everywhere; "Last 7 full days" ends the day before.
"""
from __future__ import annotations

import datetime as dt

from ..ranges import LABELS as _ALL
from ..ranges import Range, resolve

# the names a schedule may use, in the order the schedule form shows them
NAMES: tuple[str, ...] = (
    "today", "yesterday", "last_7_days", "last_7_full_days", "last_30_days",
    "last_30_full_days", "this_month", "last_month", "this_quarter", "last_quarter",
    "this_year", "last_year")
RANGES: tuple[tuple[str, str], ...] = tuple((name, _ALL[name]) for name in NAMES)
LABELS = dict(RANGES)


def relative_range(name: str, today: dt.date) -> Range:
    """(first day, last day) of the range `name` for a run on `today`, both
    included. Raises KeyError for a name schedules do not offer."""
    if name not in LABELS:
        raise KeyError(name)
    return resolve(name, today)
