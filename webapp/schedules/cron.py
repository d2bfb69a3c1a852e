"""Five-field cron schedules whose times are wall-clock times in an IANA zone.

    minute  hour  day-of-month  month  day-of-week
    0-59    0-23  1-31 or L     1-12   0-7 (0 and 7 are Sunday)

Each field takes `*`, a number, `a-b`, `*/n`, `a-b/n`, `a/n` (a up to the
field's maximum, step n) and comma lists of these; months may be written
JAN-DEC and weekdays SUN-SAT, in any case. `L` in the day-of-month field is
the last day of the month (alone or in a list: `1,L`). The aliases @hourly,
@daily, @midnight, @weekly, @monthly, @yearly and @annually are accepted.

Days follow Vixie cron: when day-of-month and day-of-week are both restricted
(neither written `*`), a day matches when either matches; otherwise both must.

Daylight saving time. A schedule names wall-clock times in its zone; a
firing is the instant that wall time happens. Where a wall time does not
happen once, exactly, the rules are:

* Spring forward (a gap): a wall time the clocks skip fires at the first
  instant after the gap, the transition instant itself. Every skipped wall
  time lands on that one instant, and so does a firing due at the wall time
  the clocks jump to, so they fire once: `30 2 * * *` in Europe/Berlin on
  2026-03-29 fires at 01:00 UTC (03:00 CEST), and `*/15 * * * *` fires once,
  not three times, at 03:00.
* Fall back (an overlap): a wall time that happens twice fires once, at its
  first occurrence (fold=0), so a daily 02:30 job runs once. The exception is
  an hour field written `*`: such a job runs every hour, so it keeps running
  through the repeated hour and fires at both occurrences (`*/30 * * * *`
  fires 50 times on Europe/Berlin's 2026-10-25).
* Firings are instants: strictly increasing, never the same instant twice.

next_after, latest_at_or_before and count_between all walk the same set of
firings, so they agree with each other. They step by day, visiting only the
matching days, hours and minutes, and give up after about eight years (long
enough for the next 29 February). `zone` is an IANA name (an unknown one
raises zoneinfo.ZoneInfoNotFoundError); a zone is assumed to change its clocks
at most once per local day, which holds for every zone's current rules.
"""
from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import cache, lru_cache
from typing import NamedTuple
from zoneinfo import ZoneInfo

MAX_LENGTH = 100
# Months searched: the next 29 February can be 8 years away (2096 -> 2104).
HORIZON_MONTHS = 8 * 12 + 1

ALIASES = {
    "@hourly": "0 * * * *",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@weekly": "0 0 * * 0",
    "@monthly": "0 0 1 * *",
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
}
MONTH_NAMES = ("January", "February", "March", "April", "May", "June", "July", "August",
               "September", "October", "November", "December")
WEEKDAY_NAMES = ("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday",
                 "Saturday")  # cron numbering: 0 = Sunday
_LONGEST_MONTH = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)  # February of a leap year
_MON_TO_FRI = frozenset(range(1, 6))
_ALL_HOURS = frozenset(range(24))
_ALL_MONTHS = frozenset(range(1, 13))

_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_SECOND = timedelta(seconds=1)
_DAY = 86400
_MEMO_SIZE = 512
_DIGITS = re.compile(r"[0-9]{1,4}")
_TIME = re.compile(r"([0-9]{1,2}):([0-9]{2})")


class CronError(ValueError):
    """A cron expression we refuse, with a message meant for the person who
    typed it."""


class _Field(NamedTuple):
    name: str  # as used mid-sentence
    label: str  # as used to start a sentence
    low: int
    high: int
    step_high: int  # where `*` and `a/n` stop (day-of-week: 6, as 7 is Sunday again)
    hint: str
    names: dict[str, int]


def _names(words: Sequence[str], first: int) -> dict[str, int]:
    return {word[:3].upper(): number for number, word in enumerate(words, first)}


_FIELDS = (
    _Field("minute", "Minute", 0, 59, 59, "0-59", {}),
    _Field("hour", "Hour", 0, 23, 23, "0-23", {}),
    _Field("day of month", "Day of month", 1, 31, 31, "1-31 or L", {}),
    _Field("month", "Month", 1, 12, 12, "1-12 or JAN-DEC", _names(MONTH_NAMES, 1)),
    _Field("day of week", "Day of week", 0, 7, 6, "0-7 or SUN-SAT", _names(WEEKDAY_NAMES, 0)),
)
_MINUTE, _HOUR, _DOM, _MONTH, _DOW = _FIELDS


# --- parsing ---------------------------------------------------------------------------


def _number(token: str, field: _Field) -> int:
    if token.upper() in field.names:
        return field.names[token.upper()]
    if not _DIGITS.fullmatch(token):
        raise CronError(f"“{token}” is not a valid {field.name} (use {field.hint}).")
    value = int(token)
    if not field.low <= value <= field.high:
        raise CronError(f"{field.label} {value} is out of range ({field.low}-{field.high}).")
    return value


def _step(text: str, item: str, field: _Field) -> int:
    if not _DIGITS.fullmatch(text):
        raise CronError(f"The step in “{item}” must be a whole number.")
    step = int(text)
    span = field.step_high - field.low + 1
    if step == 0:
        raise CronError(f"The step in “{item}” is 0; a step must be at least 1.")
    if step > span:
        raise CronError(f"The step in “{item}” is larger than the {field.name} range "
                        f"(at most {span}).")
    return step


def _item(item: str, field: _Field) -> set[int]:
    """The values of one comma-separated entry of a field."""
    if not item:
        raise CronError(f"The {field.name} field has an empty entry (check the commas).")
    base, slash, step_text = item.partition("/")
    step = _step(step_text, item, field) if slash else 1
    if base == "*":
        low, high = field.low, field.step_high
    elif "-" in base:
        first, _, last = base.partition("-")
        low, high = _number(first, field), _number(last, field)
        if field is _DOW and low > high == 0 and last.upper() == "SUN":
            high = 7  # "FRI-SUN" reads naturally: that SUN is the Sunday written 7
        if low > high:
            raise CronError(f"The range “{base}” in the {field.name} field goes backwards; "
                            "write the smaller value first.")
    else:
        low = _number(base, field)
        high = field.step_high if slash else low
    return set(range(low, high + 1, step))


def _field(text: str, field: _Field) -> tuple[frozenset[int], bool]:
    """(values, has L); L is only meaningful in the day-of-month field."""
    values: set[int] = set()
    last = False
    for item in text.split(","):
        if item.upper() == "L" and field is _DOM:
            last = True
        elif field is _DOM and "L" in item.upper():
            raise CronError("“L” (last day of the month) must stand alone in the day-of-month "
                            "field, as in L or 1,L.")
        else:
            values |= _item(item, field)
    if field is _DOW and 7 in values:
        values = (values - {7}) | {0}
    return frozenset(values), last


def _normalise(text: object) -> str:
    if not isinstance(text, str):
        raise CronError("The cron expression must be text.")
    normal = " ".join(text.split())
    if not normal:
        raise CronError("The cron expression is empty.")
    if len(normal) > MAX_LENGTH:
        raise CronError(f"The cron expression is too long (at most {MAX_LENGTH} characters).")
    if normal.startswith("@"):
        normal = normal.lower()
        if normal not in ALIASES:
            raise CronError(f"Unknown shortcut “{normal}”; use one of {', '.join(ALIASES)}.")
    return normal


def _join(words: Sequence[str]) -> str:
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} or {words[-1]}"


def _check_fires(days: frozenset[int], months: frozenset[int], by_date_only: bool,
                 last_day: bool) -> None:
    """Refuse a day-of-month that no chosen month has (29 February counts: leap
    years). A restricted weekday always fires (Vixie's OR), and so does L."""
    if not by_date_only or last_day:
        return
    first = min(days)
    missing = [m for m in sorted(months) if first > _LONGEST_MONTH[m - 1]]
    if len(missing) == len(months):
        raise CronError(f"This schedule never runs: day {first} does not exist in "
                        f"{_join([MONTH_NAMES[m - 1] for m in missing])}.")


@lru_cache(maxsize=4096)
def _parse(normal: str) -> Cron:
    fields = ALIASES.get(normal, normal).split(" ")
    if len(fields) != 5:
        raise CronError("The cron expression needs 5 fields (minute hour day-of-month month "
                        f"day-of-week); got {len(fields)}.")
    minutes, _ = _field(fields[0], _MINUTE)
    hours, _ = _field(fields[1], _HOUR)
    days, last_day = _field(fields[2], _DOM)
    months, _ = _field(fields[3], _MONTH)
    weekdays, _ = _field(fields[4], _DOW)
    dom_any, dow_any = fields[2] == "*", fields[4] == "*"
    _check_fires(days, months, not dom_any and dow_any, last_day)
    return Cron(
        text=normal, minutes=tuple(sorted(minutes)), hours=tuple(sorted(hours)),
        days=days, months=months, weekdays=weekdays,
        dom_any=dom_any, dow_any=dow_any, hour_any=fields[1] == "*", last_day=last_day,
        seconds=tuple(h * 3600 + m * 60 for h in sorted(hours) for m in sorted(minutes)),
    )


# --- zones and days ----------------------------------------------------------------------


@cache
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def _seconds(offset: timedelta | None) -> int:
    return offset // _SECOND if offset is not None else 0


class _Clock(NamedTuple):
    """A local day's UTC offsets in seconds: `before` at its start, `after` at
    the start of the next day, and the instant `change` where one became the
    other (0 when they are equal: no change that day)."""

    before: int
    after: int
    change: int


@lru_cache(maxsize=16384)
def _clock(zone: str, ordinal: int) -> _Clock:
    """Cached: a beat tick asks about today in a few zones thousands of times.
    One change per day at most: no zone in use changes its clocks twice a day."""
    tz = _zone(zone)
    # fold=0 at this midnight and fold=1 at the next read the offsets from just
    # before and just after the day, so a change at either edge counts as in it
    before = _seconds(tz.utcoffset(datetime.fromordinal(ordinal)))
    after = _seconds(tz.utcoffset(datetime.fromordinal(ordinal + 1).replace(fold=1)))
    if before == after:
        return _Clock(before, after, 0)
    midnight = (ordinal - _EPOCH_ORDINAL) * _DAY
    # every instant of the local day lies between these two
    low = midnight - max(before, after) - 1
    high = midnight + _DAY - min(before, after) + 1
    return _Clock(before, after, _first_with_offset(tz, low, high, before))


def _offset_at(tz: ZoneInfo, instant: int) -> int:
    return _seconds(datetime.fromtimestamp(instant, tz).utcoffset())


def _first_with_offset(tz: ZoneInfo, low: int, high: int, old: int) -> int:
    """The first instant in (low, high] whose offset is no longer `old`."""
    while high - low > 1:
        middle = (low + high) // 2
        if _offset_at(tz, middle) == old:
            low = middle
        else:
            high = middle
    return high


class _MonthInfo(NamedTuple):
    first_ordinal: int
    length: int
    first_weekday: int  # cron numbering, 0 = Sunday


@lru_cache(maxsize=4096)
def _month(year: int, month: int) -> _MonthInfo:
    first = date(year, month, 1).toordinal()
    following = date(year + month // 12, month % 12 + 1, 1).toordinal()  # year <= 9998
    return _MonthInfo(first, following - first, first % 7)  # ordinal 1 was a Monday


# --- the schedule ------------------------------------------------------------------------


@dataclass(frozen=True)
class Cron:
    """A parsed cron expression. Build it with Cron.parse."""

    text: str
    minutes: tuple[int, ...]
    hours: tuple[int, ...]
    days: frozenset[int]  # days of month, without L
    months: frozenset[int]
    weekdays: frozenset[int]  # 0 = Sunday
    dom_any: bool
    dow_any: bool
    hour_any: bool
    last_day: bool
    seconds: tuple[int, ...]  # every matching wall time as seconds after midnight, sorted
    # Per-schedule memo of month days and clock-change days: a schedule is asked
    # again and again about the same few months and days. Not part of equality.
    _memo: dict[tuple[object, ...], Sequence[int]] = field(
        default_factory=dict, init=False, repr=False, compare=False)

    @classmethod
    def parse(cls, text: str) -> Cron:
        """Parse (cached) or raise CronError with a message for the user."""
        return _parse(_normalise(text))

    # -- which days --

    def _remember(self, key: tuple[object, ...], value: Sequence[int]) -> Sequence[int]:
        if len(self._memo) >= _MEMO_SIZE:
            self._memo.clear()  # crude, but bounded and rarely reached
        self._memo[key] = value
        return value

    def _month_days(self, year: int, month: int) -> Sequence[int]:
        if self.dom_any and self.dow_any:
            return range(1, _month(year, month).length + 1)
        days = self._memo.get((year, month))
        return days if days is not None else self._remember(
            (year, month), self._matching_days(year, month))

    def _matching_days(self, year: int, month: int) -> Sequence[int]:
        info = _month(year, month)
        days = range(1, info.length + 1)
        by_date = [d for d in days if d in self.days or (self.last_day and d == info.length)]
        start = info.first_weekday - 1  # weekday of day d is (start + d) % 7
        by_weekday = [d for d in days if (start + d) % 7 in self.weekdays]
        if self.dom_any:
            return by_weekday
        if self.dow_any:
            return by_date
        return sorted(set(by_date) | set(by_weekday))  # Vixie: either may match

    def _day_ordinals(self, start: date, months: int, forward: bool) -> Iterator[int]:
        """Ordinals of the matching local days from `start` on (or back), `start`
        included, over at most `months` calendar months."""
        year, month, first = start.year, start.month, start.toordinal()
        for _ in range(months):
            if not 1 <= year <= 9998:
                return
            if month in self.months:
                info = _month(year, month)
                days = self._month_days(year, month)
                for day in (days if forward else reversed(days)):
                    ordinal = info.first_ordinal + day - 1
                    if (ordinal >= first) if forward else (ordinal <= first):
                        yield ordinal
            month += 1 if forward else -1
            if month == 13:
                year, month = year + 1, 1
            elif month == 0:
                year, month = year - 1, 12

    # -- which instants on a day --

    def _day(self, zone: str, ordinal: int) -> tuple[int, Sequence[int]]:
        """The day's firings as (base, offsets): instants base + offsets[i], in
        increasing order. On a day without a clock change that is simply local
        midnight in UTC plus each matching wall time."""
        midnight = (ordinal - _EPOCH_ORDINAL) * _DAY  # local midnight, read as if UTC
        clock = _clock(zone, ordinal)
        if clock.before == clock.after:
            return midnight - clock.before, self.seconds
        key = (zone, ordinal)
        instants = self._memo.get(key)
        if instants is None:
            changed = self._spring_forward if clock.before < clock.after else self._fall_back
            instants = self._remember(key, changed(midnight, clock))
        return 0, instants

    def _spring_forward(self, midnight: int, clock: _Clock) -> list[int]:
        """Wall times before the gap use the old offset, those after it the new
        one; those in it fire at the change, as does the wall time the clocks
        jump to, so the change is kept once."""
        seconds, old, new, change = self.seconds, clock.before, clock.after, clock.change
        gap_start = bisect_left(seconds, change + old - midnight)
        gap_end = bisect_left(seconds, change + new - midnight)
        instants = [midnight + s - old for s in seconds[:gap_start]]
        if gap_end > gap_start:
            instants.append(change)
        instants += [midnight + s - new for s in seconds[gap_end:]
                     if midnight + s - new != change or gap_end == gap_start]
        return instants

    def _fall_back(self, midnight: int, clock: _Clock) -> list[int]:
        """Wall times up to the end of the repeated stretch fire at their first
        occurrence (old offset); with an hour field of `*` the repeated ones fire
        again at their second (new offset); later ones use the new offset."""
        seconds, old, new, change = self.seconds, clock.before, clock.after, clock.change
        repeat_start = bisect_left(seconds, change + new - midnight)
        repeat_end = bisect_left(seconds, change + old - midnight)
        instants = [midnight + s - old for s in seconds[:repeat_end]]  # all before the change
        if self.hour_any:
            instants += [midnight + s - new for s in seconds[repeat_start:repeat_end]]
        instants += [midnight + s - new for s in seconds[repeat_end:]]
        return instants

    # -- walking the firings --

    def _forward(self, after: int, start: date, zone: str, months: int) -> Iterator[int]:
        """Firings strictly after `after` (epoch seconds), increasing, from the
        local day `start` on."""
        for ordinal in self._day_ordinals(start, months, forward=True):
            base, offsets = self._day(zone, ordinal)
            for index in range(bisect_right(offsets, after - base), len(offsets)):
                # moving `after` on keeps an instant from being given twice: a
                # jump over midnight puts one day's last firing on the next's first
                after = base + offsets[index]
                yield after

    def _backward(self, until: int, start: date, zone: str, months: int) -> Iterator[int]:
        """Firings at or before `until` (epoch seconds), decreasing, from the
        local day `start` back."""
        below = until + 1
        for ordinal in self._day_ordinals(start, months, forward=False):
            base, offsets = self._day(zone, ordinal)
            for index in range(bisect_left(offsets, below - base) - 1, -1, -1):
                below = base + offsets[index]
                yield below

    def next_after(self, after: datetime, zone: str) -> datetime:
        """The first firing strictly after `after` (aware, any zone), in UTC.
        Raises CronError when there is none in the next 8 years (parse refuses
        schedules that never run, so only a hand-built Cron gets there)."""
        seconds = _epoch_seconds(after)
        start = after.astimezone(_zone(zone)).date()
        for instant in self._forward(seconds, start, zone, HORIZON_MONTHS):
            return _utc(instant)
        raise CronError("This schedule does not run in the next 8 years.")

    def latest_at_or_before(self, now: datetime, zone: str) -> datetime | None:
        """The most recent firing at or before `now`, in UTC; None when there
        was none in the last 8 years."""
        seconds = _epoch_seconds(now)
        start = now.astimezone(_zone(zone)).date()
        for instant in self._backward(seconds, start, zone, HORIZON_MONTHS):
            return _utc(instant)
        return None

    def count_between(self, start: datetime, end: datetime, zone: str, cap: int = 1000) -> int:
        """How many firings f have start < f <= end, counting no further than cap."""
        first, last = _epoch_seconds(start), _epoch_seconds(end)
        if last <= first or cap <= 0:
            return 0
        tz = _zone(zone)
        local_start, local_end = start.astimezone(tz).date(), end.astimezone(tz).date()
        months = (local_end.year - local_start.year) * 12 + local_end.month - local_start.month
        count = 0
        for instant in self._forward(first, local_start, zone, months + 2):
            if instant > last:
                break
            count += 1
            if count >= cap:
                break
        return count


def _epoch_seconds(moment: datetime) -> int:
    """Whole seconds since the epoch, rounded down: a firing (whole seconds)
    is after `moment` exactly when it is after this, and likewise for at-or-before."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("A time zone aware datetime is required.")
    return (moment - _EPOCH) // _SECOND


def _utc(seconds: int) -> datetime:
    return _EPOCH + timedelta(seconds=seconds)


# --- words for the page ------------------------------------------------------------------


class _Shape(NamedTuple):
    frequency: str  # daily | weekdays | weekly | monthly
    hour: int
    minute: int
    weekday: int | None  # cron numbering
    day: str | None  # "1".."28" or "last"


def _shape(cron: Cron) -> _Shape | None:
    """The plain choice a schedule was made from, when it is one of simple()'s
    shapes: one time of day, every month, and one simple day rule."""
    if len(cron.minutes) != 1 or len(cron.hours) != 1 or cron.months != _ALL_MONTHS:
        return None
    hour, minute = cron.hours[0], cron.minutes[0]
    if cron.dom_any and cron.dow_any:
        return _Shape("daily", hour, minute, None, None)
    if cron.dom_any and cron.weekdays == _MON_TO_FRI:
        return _Shape("weekdays", hour, minute, None, None)
    if cron.dom_any and len(cron.weekdays) == 1:
        return _Shape("weekly", hour, minute, min(cron.weekdays), None)
    if cron.dow_any and cron.last_day and not cron.days:
        return _Shape("monthly", hour, minute, None, "last")
    if cron.dow_any and not cron.last_day and len(cron.days) == 1 and min(cron.days) <= 28:
        return _Shape("monthly", hour, minute, None, str(min(cron.days)))
    return None


def describe(cron_text: str) -> str:
    """Plain words for a schedule ("Every Monday at 07:00"), or the cron text
    itself when no short phrase fits. The caller appends the zone."""
    try:
        cron = Cron.parse(cron_text)
    except CronError:
        return f"Cron “{cron_text}”"
    every_day = (frozenset(cron.hours) == _ALL_HOURS and cron.dom_any and cron.dow_any
                 and cron.months == _ALL_MONTHS)
    if every_day and len(cron.minutes) == 1:
        return f"Every hour at :{cron.minutes[0]:02d}"
    step = _even_step(cron.minutes)
    if every_day and step == 1:
        return "Every minute"
    if every_day and step and cron.minutes[0] == 0 and 60 % step == 0:
        return f"Every {step} minutes"
    shape = _shape(cron)
    if shape is None:
        return f"Cron “{cron.text}”"
    at = f"at {shape.hour:02d}:{shape.minute:02d}"
    if shape.frequency == "daily":
        return f"Every day {at}"
    if shape.frequency == "weekdays":
        return f"Every weekday (Mon–Fri) {at}"
    if shape.frequency == "weekly" and shape.weekday is not None:
        return f"Every {WEEKDAY_NAMES[shape.weekday]} {at}"
    if shape.day == "last":
        return f"On the last day of every month {at}"
    return f"On day {shape.day} of every month {at}"


def _even_step(minutes: Sequence[int]) -> int | None:
    """The step of minutes that are evenly spaced (0, 15, 30, 45 → 15), else None."""
    if len(minutes) < 2:
        return None
    step = minutes[1] - minutes[0]
    even = all(b - a == step for a, b in zip(minutes, minutes[1:], strict=False))
    return step if even else None


FREQUENCIES = ("daily", "weekdays", "weekly", "monthly")


def _parse_time(time: str) -> tuple[int, int]:
    match = _TIME.fullmatch(time.strip()) if isinstance(time, str) else None
    if not match or int(match[1]) > 23 or int(match[2]) > 59:
        raise CronError("The time must be HH:MM on a 24-hour clock, e.g. 07:30.")
    return int(match[1]), int(match[2])


def _day_field(day: str | None) -> str:
    text = str(day).strip().lower() if day is not None else ""
    if text == "last":
        return "L"
    if _DIGITS.fullmatch(text) and 1 <= int(text) <= 28:
        return str(int(text))
    raise CronError("Choose a day of the month from 1 to 28, or the last day.")


def simple(frequency: str, time: str, weekday: int | None = None,
           day: str | None = None) -> str:
    """Cron text for the page's plain choices. weekday: 0 = Monday … 6 = Sunday
    (as Python counts; only for "weekly"); day: "1".."28" or "last" (only for
    "monthly"; days 29-31 are left out because some months lack them)."""
    hour, minute = _parse_time(time)
    if frequency == "daily":
        return f"{minute} {hour} * * *"
    if frequency == "weekdays":
        return f"{minute} {hour} * * 1-5"
    if frequency == "weekly":
        if isinstance(weekday, bool) or not isinstance(weekday, int) or not 0 <= weekday <= 6:
            raise CronError("Choose a day of the week.")
        return f"{minute} {hour} * * {(weekday + 1) % 7}"
    if frequency == "monthly":
        return f"{minute} {hour} {_day_field(day)} * *"
    raise CronError(f"Unknown frequency “{frequency}”; choose {_join(FREQUENCIES)}.")


def simple_choice(cron_text: str) -> dict[str, str | int | None] | None:
    """The inverse of simple(): {"frequency", "time", "weekday", "day"} when the
    schedule is one of its shapes (weekday 0 = Monday), else None."""
    try:
        shape = _shape(Cron.parse(cron_text))
    except CronError:
        return None
    if shape is None:
        return None
    return {
        "frequency": shape.frequency,
        "time": f"{shape.hour:02d}:{shape.minute:02d}",
        "weekday": None if shape.weekday is None else (shape.weekday + 6) % 7,
        "day": shape.day,
    }
