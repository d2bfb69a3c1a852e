"""Numbers as people read them, one way everywhere: waits, limits, sizes.
Part of the core: imports nothing of the app."""
from __future__ import annotations

import math


def seconds_in_words(seconds: float) -> str:
    """"1 second", "45 seconds", "90 seconds", "2 minutes", "15 minutes". Up
    to two minutes in seconds; longer, in whole minutes, rounded up, so that
    "try again in" is never sooner than the truth."""
    whole = max(0, math.ceil(seconds))
    if whole < 120 and whole % 60:
        return f"{whole} second{'s' if whole != 1 else ''}"
    minutes = math.ceil(whole / 60)
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


def size_in_words(size: int | None) -> str:
    """"512 bytes", "3.4 KB", "12.0 MB": binary units, one decimal."""
    if size is None:
        return ""
    value = float(size)
    for unit in ("bytes", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{int(value):,} {unit}" if unit == "bytes" else f"{value:,.1f} {unit}"
        value /= 1024
    return ""  # pragma: no cover
