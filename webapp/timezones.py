"""Each user's time zone: an IANA name ("Europe/Berlin"), UTC until chosen.
Stored times stay UTC; they are shown in the user's zone, and a user's date
ranges are that zone's days (webapp/reports/params.py: local_midnight)."""
from __future__ import annotations

import datetime as dt
from functools import cache
from zoneinfo import ZoneInfo, available_timezones

UTC = "UTC"


@cache
def zones() -> frozenset[str]:
    """Every zone this machine knows (the tzdata package ships them where the
    system has none), "UTC" included."""
    return frozenset(available_timezones()) | {UTC}


@cache
def choices() -> list[str]:
    """The zones offered on the account page: the canonical Area/City names,
    UTC first (aliases such as "US/Eastern" are accepted but not listed)."""
    listed = sorted(z for z in zones() if "/" in z and not z.startswith(
        ("Etc/", "SystemV/", "US/", "Canada/", "Mexico/", "Brazil/", "Chile/")))
    return [UTC, *listed]


def is_zone(name: str | None) -> bool:
    return bool(name) and name in zones()


def zone_of(user) -> str:
    """The user's zone (an Actor's person's), UTC for no user or for a name
    this machine lost."""
    name = getattr(getattr(user, "user", user), "timezone", None)
    return name if is_zone(name) else UTC


@cache
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def local(value: dt.datetime, zone: str) -> dt.datetime:
    """`value` (aware, or naive UTC) as wall-clock time in `zone`."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(_zone(zone))


def today(zone: str) -> dt.date:
    return dt.datetime.now(_zone(zone)).date()
