"""Cron schedules in IANA zones (webapp/schedules/cron.py).

The core check is an independent brute-force oracle: walk every wall-clock
minute of each local day, match the fields with sets the hypothesis strategy
computed itself (not with the module's parser), resolve each wall time with
zoneinfo's fold and a round trip (gap / overlap / plain) and apply the DST
rules, then compare the resulting UTC instants with next_after,
latest_at_or_before and count_between."""
from __future__ import annotations

import dataclasses
import datetime as dt
from functools import cache
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from webapp.schedules.cron import Cron, CronError, describe, simple, simple_choice

UTC = dt.UTC
ONE_SECOND = dt.timedelta(seconds=1)
ONE_DAY = dt.timedelta(days=1)
ZONES = ("UTC", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe",
         "America/Santiago", "Asia/Kolkata", "Pacific/Chatham")
MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
WEEKDAYS = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
LONGEST = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def utc(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)


# --- the oracle ------------------------------------------------------------------------


def local_wall(instant: dt.datetime, tz: ZoneInfo) -> dt.datetime:
    return instant.astimezone(tz).replace(tzinfo=None)


def first_after_gap(wall: dt.datetime, tz: ZoneInfo, before: dt.datetime) -> dt.datetime:
    """The first instant whose wall time is past `wall` (a skipped wall time):
    every earlier instant reads before the gap. Minute steps, then seconds."""
    instant = before
    while local_wall(instant, tz) <= wall:
        instant += dt.timedelta(minutes=1)
    while local_wall(instant - ONE_SECOND, tz) > wall:
        instant -= ONE_SECOND
    return instant


@cache
def resolve(wall: dt.datetime, zone: str, hour_any: bool) -> frozenset[dt.datetime]:
    """The UTC instants at which a job due at local `wall` fires, by the rules."""
    tz = ZoneInfo(zone)
    first = wall.replace(tzinfo=tz, fold=0).astimezone(UTC)
    second = wall.replace(tzinfo=tz, fold=1).astimezone(UTC)
    real_first = local_wall(first, tz) == wall
    real_second = local_wall(second, tz) == wall
    if first == second:
        assert real_first
        return frozenset({first})
    if real_first and real_second:  # the wall time happens twice
        return frozenset({first, second} if hour_any else {first})
    assert not real_first and not real_second  # the wall time never happens
    return frozenset({first_after_gap(wall, tz, min(first, second))})


def first_instant(day: dt.date, zone: str) -> dt.datetime:
    return min(resolve(dt.datetime.combine(day, dt.time()), zone, False))


@dataclasses.dataclass(frozen=True)
class Spec:
    """What a cron expression means, computed by the strategy that wrote it."""

    text: str
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    last_day: bool
    months: frozenset[int]
    weekdays: frozenset[int]
    dom_star: bool
    dow_star: bool
    hour_star: bool

    def day_matches(self, day: dt.date) -> bool:
        if day.month not in self.months:
            return False
        is_last = (day + ONE_DAY).month != day.month
        by_date = day.day in self.days or (self.last_day and is_last)
        by_weekday = day.isoweekday() % 7 in self.weekdays
        if self.dom_star or self.dow_star:
            return by_date and by_weekday
        return by_date or by_weekday  # Vixie: both restricted, either matches

    def never_fires(self) -> bool:
        if self.dom_star or not self.dow_star or self.last_day:
            return False
        return not any(d <= LONGEST[m - 1] for d in self.days for m in self.months)


def oracle(spec: Spec, zone: str, first_day: dt.date, last_day: dt.date) -> list[dt.datetime]:
    """Every firing of the local days first_day..last_day, by walking each minute."""
    fired: set[dt.datetime] = set()
    day = first_day
    while day <= last_day:
        if spec.day_matches(day):
            for minute_of_day in range(24 * 60):
                hour, minute = divmod(minute_of_day, 60)
                if hour in spec.hours and minute in spec.minutes:
                    wall = dt.datetime.combine(day, dt.time(hour, minute))
                    fired |= resolve(wall, zone, spec.hour_star)
        day += ONE_DAY
    return sorted(fired)


def clock_change_days(zone: str, year: int = 2026) -> list[dt.date]:
    """Local days on which the zone's clocks change (found, not remembered)."""
    tz = ZoneInfo(zone)
    found = []
    day = dt.date(year, 1, 1)
    while day.year == year:
        start = dt.datetime.combine(day, dt.time())
        end = dt.datetime.combine(day + ONE_DAY, dt.time())  # fold=0: before any change there
        if tz.utcoffset(start) != tz.utcoffset(end):
            found.append(day)
        day += ONE_DAY
    return found


@cache
def interesting_days(zone: str) -> tuple[dt.date, ...]:
    # the clock changes, weighted up, plus a month end (for L) and a year end
    return (*clock_change_days(zone) * 3, dt.date(2026, 2, 28), dt.date(2026, 12, 31))


@cache
def changing_hours(zone: str) -> tuple[int, ...]:
    """Local hours holding wall times that are skipped or repeated in 2026."""
    tz = ZoneInfo(zone)
    hours = set()
    for day in clock_change_days(zone):
        for minute_of_day in range(24 * 60):
            wall = dt.datetime.combine(day, dt.time(*divmod(minute_of_day, 60)))
            if tz.utcoffset(wall) != tz.utcoffset(wall.replace(fold=1)):
                hours.add(wall.hour)
    return tuple(sorted(hours))


def test_the_scan_finds_each_zones_clock_changes():
    for zone in ZONES:
        expected = 0 if zone in ("UTC", "Asia/Kolkata") else 2
        assert len(clock_change_days(zone)) == expected, zone
    assert changing_hours("Europe/Berlin") == (2,)
    assert changing_hours("America/Santiago") == (0, 23)
    assert clock_change_days("Europe/Berlin") == [dt.date(2026, 3, 29), dt.date(2026, 10, 25)]


# --- the expression strategy -------------------------------------------------------------


def render(value: int, names: tuple[str, ...] | None, first: int, draw) -> str:
    """A value as cron text: a number or, where the field has names, sometimes a
    name in a random case."""
    if names and draw(st.booleans()):
        name = names[value - first]
        return draw(st.sampled_from([name, name.lower(), name.capitalize()]))
    return str(value)


@st.composite
def field(draw, low: int, high: int, favourites: list[int], names=None, weekday=False,
          star_weight: int = 1):
    """(text, values, star) of one field. high is where `*` and a/n stop."""
    if draw(st.integers(0, star_weight + 1)) > 1:
        return "*", frozenset(range(low, high + 1)), True
    value = st.sampled_from(favourites) | st.integers(low, high)
    texts, values = [], set()
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(["one", "one", "range", "star_step", "range_step",
                                     "start_step"]))
        step = draw(st.integers(1, max(1, (high - low + 1) // 2)))
        a, b = sorted((draw(value), draw(value)))
        if kind == "one":
            if weekday and a == 0 and draw(st.booleans()):
                texts.append("7")  # 7 is Sunday too
            else:
                texts.append(render(a, names, low, draw))
            values.add(a)
        elif kind == "range":
            if weekday and draw(st.booleans()):  # a range ending in Sunday, written 7
                texts.append(f"{render(a, names, low, draw)}-7")
                values |= set(range(a, 7)) | {0}
            else:
                texts.append(f"{render(a, names, low, draw)}-{render(b, names, low, draw)}")
                values |= set(range(a, b + 1))
        elif kind == "star_step":
            texts.append(f"*/{step}")
            values |= set(range(low, high + 1, step))
        elif kind == "range_step":
            texts.append(f"{a}-{b}/{step}")
            values |= set(range(a, b + 1, step))
        else:
            texts.append(f"{a}/{step}")
            values |= set(range(a, high + 1, step))
    return ",".join(texts), frozenset(values), False


@st.composite
def cases(draw):
    """(spec, zone, first day, last day): a window of local days around a clock
    change (or an ordinary edge day) and an expression likely to fire in it."""
    zone = draw(st.sampled_from(ZONES))
    centre = draw(st.sampled_from(interesting_days(zone)))
    first_day = centre - draw(st.integers(0, 2)) * ONE_DAY
    last_day = centre + draw(st.integers(0, 2)) * ONE_DAY
    window = [first_day + i * ONE_DAY for i in range((last_day - first_day).days + 1)]

    minutes = field(0, 59, [0, 1, 15, 30, 45, 59])
    hours = field(0, 23, [0, 1, 2, 3, 23, *changing_hours(zone) * 3])
    days = field(1, 31, [d.day for d in window] + [28, 29, 30, 31], star_weight=3)
    months = field(1, 12, [centre.month], names=MONTHS, star_weight=4)
    weekdays = field(0, 6, [d.isoweekday() % 7 for d in window], names=WEEKDAYS,
                     weekday=True, star_weight=3)
    minute_text, minute_values, _ = draw(minutes)
    hour_text, hour_values, hour_star = draw(hours)
    day_text, day_values, dom_star = draw(days)
    last = not dom_star and draw(st.integers(0, 3)) == 0
    if last:
        day_text = draw(st.sampled_from(["L", f"{day_text},L", f"L,{day_text}"]))
        day_values = frozenset() if day_text == "L" else day_values
    month_text, month_values, _ = draw(months)
    weekday_text, weekday_values, dow_star = draw(weekdays)
    spec = Spec(
        text=" ".join((minute_text, hour_text, day_text, month_text, weekday_text)),
        minutes=minute_values, hours=hour_values, days=day_values, last_day=last,
        months=month_values, weekdays=weekday_values,
        dom_star=dom_star, dow_star=dow_star, hour_star=hour_star)
    return spec, zone, first_day, last_day


def walk(cron: Cron, zone: str, start: dt.datetime, end: dt.datetime) -> list[dt.datetime]:
    """The firings in (start, end], by repeated next_after."""
    fired: list[dt.datetime] = []
    instant = cron.next_after(start, zone)
    while instant <= end:
        assert not fired or instant > fired[-1], "firings must strictly increase"
        fired.append(instant)
        instant = cron.next_after(instant, zone)
    return fired


@settings(max_examples=500, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(cases(), st.data())
def test_matches_the_minute_by_minute_oracle(case, data):
    spec, zone, first_day, last_day = case
    if spec.never_fires():
        with pytest.raises(CronError, match="never runs"):
            Cron.parse(spec.text)
        return
    cron = Cron.parse(spec.text)
    expected = oracle(spec, zone, first_day, last_day)
    start = first_instant(first_day, zone) - ONE_SECOND
    end = first_instant(last_day + ONE_DAY, zone) - ONE_SECOND

    # next_after accepts any zone; walking it gives exactly the oracle's firings
    assert walk(cron, zone, start.astimezone(ZoneInfo(zone)), end) == expected
    assert cron.count_between(start, end, zone, cap=10**6) == len(expected)

    latest = cron.latest_at_or_before(end, zone)
    if expected:
        assert latest == expected[-1]
    else:
        assert latest is None or latest <= start

    # every firing is found from just before it, and is the latest at itself
    for index in data.draw(st.lists(st.integers(0, len(expected) - 1), max_size=12)
                           if expected else st.just([])):
        fired = expected[index]
        previous = expected[index - 1] if index else None
        for just_before in (fired - ONE_SECOND, fired - dt.timedelta(microseconds=1)):
            assert cron.next_after(just_before, zone) == fired
            earlier = cron.latest_at_or_before(just_before, zone)
            assert earlier == previous if previous else (earlier is None or earlier <= start)
        assert cron.latest_at_or_before(fired, zone) == fired
        assert cron.next_after(fired, zone) > fired

    # next_after and latest_at_or_before agree at any moment
    seconds = int((end - start).total_seconds())
    for offset in data.draw(st.lists(st.integers(0, seconds), min_size=1, max_size=5)):
        moment = start + dt.timedelta(seconds=offset)
        following = cron.next_after(moment, zone)
        assert following > moment
        assert cron.latest_at_or_before(following, zone) == following
        before = cron.latest_at_or_before(moment, zone)
        if before is not None:
            assert before <= moment < cron.next_after(before, zone) == following


# --- explicit clock changes --------------------------------------------------------------


def local_day_firings(text: str, zone: str, day: dt.date) -> list[dt.datetime]:
    start = first_instant(day, zone) - ONE_SECOND
    end = first_instant(day + ONE_DAY, zone) - ONE_SECOND
    return walk(Cron.parse(text), zone, start, end)


def test_skipped_time_fires_once_at_the_transition_in_berlin():
    assert local_day_firings("30 2 * * *", "Europe/Berlin", dt.date(2026, 3, 29)) == [
        utc(2026, 3, 29, 1, 0)]  # 03:00 CEST: the moment the clocks jumped


def test_repeated_time_fires_once_at_its_first_occurrence_in_berlin():
    assert local_day_firings("30 2 * * *", "Europe/Berlin", dt.date(2026, 10, 25)) == [
        utc(2026, 10, 25, 0, 30)]  # 02:30 CEST, not 02:30 CET an hour later


def test_every_half_hour_through_both_berlin_changes():
    spring = local_day_firings("*/30 * * * *", "Europe/Berlin", dt.date(2026, 3, 29))
    autumn = local_day_firings("*/30 * * * *", "Europe/Berlin", dt.date(2026, 10, 25))
    assert len(spring) == 46  # 23 hours, and 02:00 / 02:30 collapse into 03:00
    assert spring.count(utc(2026, 3, 29, 1, 0)) == 1
    assert len(autumn) == 50  # 25 hours: the hour field is *, so the repeat runs too
    assert utc(2026, 10, 25, 0, 30) in autumn and utc(2026, 10, 25, 1, 30) in autumn


def test_quarter_hours_do_not_fire_twice_at_the_jump():
    fired = local_day_firings("*/15 * * * *", "Europe/Berlin", dt.date(2026, 3, 29))
    assert len(fired) == len(set(fired)) == 23 * 4
    assert fired == sorted(fired)


def test_an_hour_list_fires_once_in_the_repeated_hour():
    # 0-23 is not *: a wall time that happens twice fires at its first occurrence
    fired = local_day_firings("0 0-23 * * *", "Europe/Berlin", dt.date(2026, 10, 25))
    assert len(fired) == 24
    assert utc(2026, 10, 25, 0, 0) in fired and utc(2026, 10, 25, 1, 0) not in fired


def test_santiago_midnight_that_does_not_exist_fires_at_the_transition():
    tz = ZoneInfo("America/Santiago")
    spring = [d for d in clock_change_days("America/Santiago")
              if tz.utcoffset(dt.datetime.combine(d, dt.time()))
              < tz.utcoffset(dt.datetime.combine(d, dt.time(fold=1)))]
    assert len(spring) == 1
    day = spring[0]
    midnight = dt.datetime.combine(day, dt.time())
    # the jump happens where midnight would have been on the old offset
    transition = (midnight - tz.utcoffset(midnight)).replace(tzinfo=UTC)
    assert local_wall(transition, tz) == midnight + dt.timedelta(hours=1)
    assert local_wall(transition - ONE_SECOND, tz) == midnight - ONE_SECOND
    assert local_day_firings("0 0 * * *", "America/Santiago", day) == [transition]
    before = transition - dt.timedelta(hours=12)
    assert Cron.parse("0 0 * * *").next_after(before, "America/Santiago") == transition
    assert Cron.parse("0 0 * * *").latest_at_or_before(
        transition, "America/Santiago") == transition


def test_lord_howe_half_hour_jump():
    tz = ZoneInfo("Australia/Lord_Howe")
    day = clock_change_days("Australia/Lord_Howe")[-1]  # spring, in October
    assert tz.utcoffset(dt.datetime.combine(day, dt.time(12))) == dt.timedelta(hours=11)
    fired = local_day_firings("0,15,30,45 2 * * *", "Australia/Lord_Howe", day)
    # 02:00 and 02:15 are skipped: both land on the jump to 02:30, which also fires
    assert [local_wall(f, tz).time() for f in fired] == [dt.time(2, 30), dt.time(2, 45)]
    assert fired[1] - fired[0] == dt.timedelta(minutes=15)


def test_results_are_utc_and_inputs_may_be_in_any_zone():
    cron = Cron.parse("0 7 * * 1")
    after = dt.datetime(2026, 5, 13, 12, tzinfo=ZoneInfo("America/New_York"))
    fired = cron.next_after(after, "Europe/Berlin")
    assert fired == utc(2026, 5, 18, 5, 0) and fired.utcoffset() == dt.timedelta(0)
    assert fired.tzinfo is UTC
    with pytest.raises(ValueError):
        cron.next_after(dt.datetime(2026, 5, 13), "Europe/Berlin")


# --- calendar rules ----------------------------------------------------------------------


def firings(text: str, after: dt.datetime, count: int, zone: str = "UTC") -> list[dt.datetime]:
    cron, out = Cron.parse(text), []
    for _ in range(count):
        after = cron.next_after(after, zone)
        out.append(after)
    return out


def test_last_day_of_month():
    assert firings("0 18 L * *", utc(2026, 1, 15), 4) == [
        utc(2026, 1, 31, 18), utc(2026, 2, 28, 18), utc(2026, 3, 31, 18), utc(2026, 4, 30, 18)]
    assert firings("0 18 L 2 *", utc(2027, 3, 1), 1) == [utc(2028, 2, 29, 18)]
    assert firings("0 0 1,L * *", utc(2026, 4, 2), 3) == [
        utc(2026, 4, 30), utc(2026, 5, 1), utc(2026, 5, 31)]


def test_29_february_waits_for_a_leap_year():
    cron = Cron.parse("0 0 29 2 *")
    assert cron.next_after(utc(2026, 3, 1), "UTC") == utc(2028, 2, 29)
    assert cron.latest_at_or_before(utc(2026, 3, 1), "UTC") == utc(2024, 2, 29)
    # 2100 is not a leap year: the longest wait, almost 8 years
    assert cron.next_after(utc(2096, 3, 1), "UTC") == utc(2104, 2, 29)
    assert cron.latest_at_or_before(utc(2104, 2, 28), "UTC") == utc(2096, 2, 29)


def test_a_schedule_with_no_run_gives_up():
    # parse refuses such a schedule; build one past it to check the search ends
    never = dataclasses.replace(Cron.parse("0 0 30 1 *"), months=frozenset({2}))
    with pytest.raises(CronError, match="8 years"):
        never.next_after(utc(2026, 1, 1), "UTC")
    assert never.latest_at_or_before(utc(2026, 1, 1), "UTC") is None
    assert never.count_between(utc(2026, 1, 1), utc(2040, 1, 1), "UTC") == 0


def test_vixie_day_rule():
    # both restricted: the 13th OR any Friday
    assert firings("0 0 13 * 5", utc(2026, 3, 1), 7) == [
        utc(2026, 3, 6), utc(2026, 3, 13), utc(2026, 3, 20), utc(2026, 3, 27),
        utc(2026, 4, 3), utc(2026, 4, 10), utc(2026, 4, 13)]
    # one of them *: the other alone decides
    assert firings("0 0 13 * *", utc(2026, 3, 1), 2) == [utc(2026, 3, 13), utc(2026, 4, 13)]
    assert firings("0 0 * * 5", utc(2026, 3, 1), 2) == [utc(2026, 3, 6), utc(2026, 3, 13)]
    # a restricted weekday rescues a day-of-month February lacks
    assert firings("0 0 30 2 1", utc(2026, 1, 31), 1) == [utc(2026, 2, 2)]


def test_seven_and_names_mean_the_same_days():
    sunday = firings("0 9 * * 0", utc(2026, 3, 1, 10), 3)
    assert sunday == [utc(2026, 3, 8, 9), utc(2026, 3, 15, 9), utc(2026, 3, 22, 9)]
    for text in ("0 9 * * 7", "0 9 * * SUN", "0 9 * * sun", "0 9 * MAR-dec Sun"):
        assert firings(text, utc(2026, 3, 1, 10), 3) == sunday, text
    assert firings("0 9 * JAN,jul MON", utc(2026, 1, 1), 2) == [
        utc(2026, 1, 5, 9), utc(2026, 1, 12, 9)]
    assert firings("0 9 * JAN,jul MON", utc(2026, 1, 31), 1) == [utc(2026, 7, 6, 9)]


@pytest.mark.parametrize("alias, after, expected", [
    ("@hourly", utc(2026, 3, 4, 10, 5), utc(2026, 3, 4, 11)),
    ("@daily", utc(2026, 3, 4, 10, 5), utc(2026, 3, 5)),
    ("@midnight", utc(2026, 3, 4, 10, 5), utc(2026, 3, 5)),
    ("@weekly", utc(2026, 3, 4, 10, 5), utc(2026, 3, 8)),  # the next Sunday
    ("@monthly", utc(2026, 3, 4, 10, 5), utc(2026, 4, 1)),
    ("@yearly", utc(2026, 3, 4, 10, 5), utc(2027, 1, 1)),
    ("@annually", utc(2026, 3, 4, 10, 5), utc(2027, 1, 1)),
    ("@Daily", utc(2026, 3, 4, 10, 5), utc(2026, 3, 5)),
])
def test_aliases(alias, after, expected):
    assert Cron.parse(alias).next_after(after, "UTC") == expected


def test_count_between_bounds_and_cap():
    cron = Cron.parse("0 * * * *")
    start = utc(2026, 5, 1)
    assert cron.count_between(start, start + ONE_DAY, "UTC") == 24  # start excluded, end in
    assert cron.count_between(start - ONE_SECOND, start + ONE_DAY, "UTC") == 25
    assert cron.count_between(start, start, "UTC") == 0
    assert cron.count_between(start + ONE_DAY, start, "UTC") == 0
    assert cron.count_between(start, start + 100 * ONE_DAY, "UTC") == 1000
    assert cron.count_between(start, start + 100 * ONE_DAY, "UTC", cap=30) == 30


# --- parsing -----------------------------------------------------------------------------


def r(a: int, b: int, step: int = 1) -> frozenset[int]:
    return frozenset(range(a, b + 1, step))


@pytest.mark.parametrize("text, attribute, expected", [
    ("* * * * *", "minutes", tuple(range(60))),
    ("5 * * * *", "minutes", (5,)),
    ("1-5 * * * *", "minutes", (1, 2, 3, 4, 5)),
    ("*/15 * * * *", "minutes", (0, 15, 30, 45)),
    ("10-30/10 * * * *", "minutes", (10, 20, 30)),
    ("50/5 * * * *", "minutes", (50, 55)),
    ("1,2,5-6,40/10 * * * *", "minutes", (1, 2, 5, 6, 40, 50)),
    ("0 */6 * * *", "hours", (0, 6, 12, 18)),
    ("0 9-17/4 * * *", "hours", (9, 13, 17)),
    ("0 0 1,15 * *", "days", frozenset({1, 15})),
    ("0 0 */10 * *", "days", frozenset({1, 11, 21, 31})),
    ("0 0 * JAN,mar-May *", "months", frozenset({1, 3, 4, 5})),
    ("0 0 * */3 *", "months", frozenset({1, 4, 7, 10})),
    ("0 0 * Dec *", "months", frozenset({12})),
    ("0 0 * * mon-FRI", "weekdays", r(1, 5)),
    ("0 0 * * 7", "weekdays", frozenset({0})),
    ("0 0 * * 0,7", "weekdays", frozenset({0})),
    ("0 0 * * 5-7", "weekdays", frozenset({5, 6, 0})),
    ("0 0 * * FRI-SUN", "weekdays", frozenset({5, 6, 0})),
    ("0 0 * * */2", "weekdays", frozenset({0, 2, 4, 6})),
    ("0 0 * * 1/2", "weekdays", frozenset({1, 3, 5})),
    ("0 0 * * *", "weekdays", r(0, 6)),
])
def test_accepted_syntax(text, attribute, expected):
    assert getattr(Cron.parse(text), attribute) == expected


def test_text_is_normalised_and_flags_are_set():
    cron = Cron.parse("  0   7 *\t* 1 ")
    assert cron.text == "0 7 * * 1"
    assert (cron.dom_any, cron.dow_any, cron.hour_any, cron.last_day) == (True, False, False,
                                                                          False)
    last = Cron.parse("0 18 1,L * *")
    assert last.days == frozenset({1}) and last.last_day and not last.dom_any
    assert Cron.parse("0 18 l * *").last_day and Cron.parse("0 18 L * *").days == frozenset()
    every = Cron.parse("*/5 * * * *")
    assert every.hour_any and every.dom_any and every.dow_any
    assert not Cron.parse("0 0-23 * * *").hour_any
    assert Cron.parse("@WEEKLY").text == "@weekly"
    assert Cron.parse("@weekly").weekdays == frozenset({0})
    assert Cron.parse("0 0 29 2 *").days == frozenset({29})
    assert Cron.parse("0 0 31 2,3 *").months == frozenset({2, 3})  # March has a 31st
    assert Cron.parse("0 0 30,L 2 *").last_day


@pytest.mark.parametrize("text, words", [
    ("0 7 * *", ["needs 5 fields", "got 4"]),
    ("0 7 * * * *", ["needs 5 fields", "got 6"]),
    ("", ["empty"]),
    ("   ", ["empty"]),
    (None, ["must be text"]),
    ("1" + " " * 50 + "2 3 4 5" + ",1" * 50, ["too long", "100"]),
    ("61 * * * *", ["Minute 61 is out of range (0-59)."]),
    ("0 24 * * *", ["Hour 24 is out of range (0-23)."]),
    ("0 0 0 * *", ["Day of month 0 is out of range (1-31)."]),
    ("0 0 32 * *", ["Day of month 32", "out of range"]),
    ("0 0 * 13 *", ["Month 13 is out of range (1-12)."]),
    ("0 0 * 0 *", ["Month 0"]),
    ("0 0 * * 8", ["Day of week 8 is out of range (0-7)."]),
    ("*/0 * * * *", ["step", "at least 1"]),
    ("0 0 * * 1/0", ["step", "at least 1"]),
    ("*/61 * * * *", ["step", "larger"]),
    ("*/x * * * *", ["step", "whole number"]),
    ("*/5/2 * * * *", ["step"]),
    ("5-1 * * * *", ["range", "5-1", "backwards"]),
    ("0 0 * DEC-JAN *", ["backwards"]),
    ("0 0 * * 5-1", ["backwards"]),
    ("abc * * * *", ["not a valid minute", "0-59"]),
    ("-5 * * * *", ["not a valid minute"]),
    ("1-2-3 * * * *", ["not a valid minute"]),
    ("٣ * * * *", ["not a valid minute"]),
    ("0 L * * *", ["not a valid hour"]),
    ("0 0 * JANUARY *", ["not a valid month", "JAN-DEC"]),
    ("0 0 * * FOO", ["not a valid day of week", "SUN-SAT"]),
    ("0 0 ? * 1", ["not a valid day of month"]),
    ("MON 0 * * *", ["not a valid minute"]),
    ("1,,2 * * * *", ["empty entry"]),
    ("1, * * * *", ["empty entry"]),
    ("0 0 L-3 * *", ["L", "stand alone"]),
    ("0 0 L/2 * *", ["stand alone"]),
    ("@fortnightly", ["Unknown shortcut", "@daily"]),
    ("0 0 30 2 *", ["never runs", "day 30", "February"]),
    ("0 0 30,31 2 *", ["never runs", "day 30", "February"]),
    ("0 0 31 4,6,9,11 *", ["This schedule never runs: day 31 does not exist in April, June, "
                           "September or November."]),
    ("0 0 31 APR *", ["This schedule never runs: day 31 does not exist in April."]),
])
def test_refused_with_a_plain_message(text, words):
    with pytest.raises(CronError) as caught:
        Cron.parse(text)
    for word in words:
        assert word in str(caught.value)


def test_refusals_are_value_errors():
    assert issubclass(CronError, ValueError)


# --- words and plain choices -------------------------------------------------------------


@pytest.mark.parametrize("text, words", [
    ("0 7 * * *", "Every day at 07:00"),
    ("0 7 * * 1", "Every Monday at 07:00"),
    ("0 7 * * MON", "Every Monday at 07:00"),
    ("0 9 * * 7", "Every Sunday at 09:00"),
    ("30 8 * * 1-5", "Every weekday (Mon–Fri) at 08:30"),
    ("0 6 1 * *", "On day 1 of every month at 06:00"),
    ("0 18 L * *", "On the last day of every month at 18:00"),
    ("15 * * * *", "Every hour at :15"),
    ("@hourly", "Every hour at :00"),
    ("* * * * *", "Every minute"),
    ("*/15 * * * *", "Every 15 minutes"),
    ("0,20,40 * * * *", "Every 20 minutes"),
    ("*/7 * * * *", "Cron “*/7 * * * *”"),  # 56 then 0: not evenly spaced across the hour
    ("5/15 * * * *", "Cron “5/15 * * * *”"),
    ("@daily", "Every day at 00:00"),
    ("0 6 31 * *", "Cron “0 6 31 * *”"),  # not every month has one
    ("0 7 * 1 *", "Cron “0 7 * 1 *”"),
    ("*/15 9-17 * * 1-5", "Cron “*/15 9-17 * * 1-5”"),
    ("0  7 1 * 1", "Cron “0 7 1 * 1”"),
    ("not cron", "Cron “not cron”"),
])
def test_describe(text, words):
    assert describe(text) == words


@pytest.mark.parametrize("args, text", [
    (("daily", "07:00"), "0 7 * * *"),
    (("daily", "7:05"), "5 7 * * *"),
    (("weekdays", "08:30"), "30 8 * * 1-5"),
    (("weekly", "07:00", 0), "0 7 * * 1"),  # Monday
    (("weekly", "23:59", 6), "59 23 * * 0"),  # Sunday
    (("monthly", "06:00", None, "1"), "0 6 1 * *"),
    (("monthly", "06:00", None, "28"), "0 6 28 * *"),
    (("monthly", "18:00", None, "last"), "0 18 L * *"),
])
def test_simple_builds_cron_and_round_trips(args, text):
    assert simple(*args) == text
    frequency, time, *rest = args
    choice = simple_choice(text)
    assert choice is not None and choice["frequency"] == frequency
    assert simple(choice["frequency"], choice["time"], choice["weekday"], choice["day"]) == text


def test_simple_choice_values():
    assert simple_choice("0 7 * * 1") == {"frequency": "weekly", "time": "07:00",
                                          "weekday": 0, "day": None}
    assert simple_choice("0 18 L * *") == {"frequency": "monthly", "time": "18:00",
                                           "weekday": None, "day": "last"}
    assert simple_choice("5 7 * * *") == {"frequency": "daily", "time": "07:05",
                                          "weekday": None, "day": None}
    assert simple_choice("0 9 * * SUN")["weekday"] == 6
    for other in ("15 * * * *", "0 7 * 1 *", "0 7 31 * *", "0 7,8 * * *", "0 7 1 * 1",
                  "0 7 * * 1,3", "0 7 1,L * *", "garbage"):
        assert simple_choice(other) is None, other


@pytest.mark.parametrize("args, words", [
    (("daily", "24:00"), "HH:MM"),
    (("daily", "07:60"), "HH:MM"),
    (("daily", "7am"), "HH:MM"),
    (("daily", ""), "HH:MM"),
    (("weekly", "07:00"), "day of the week"),
    (("weekly", "07:00", 7), "day of the week"),
    (("weekly", "07:00", True), "day of the week"),
    (("monthly", "07:00"), "day of the month"),
    (("monthly", "07:00", None, "29"), "1 to 28"),
    (("monthly", "07:00", None, "0"), "1 to 28"),
    (("hourly", "07:00"), "Unknown frequency"),
])
def test_simple_refuses_bad_choices(args, words):
    with pytest.raises(CronError, match=words):
        simple(*args)
