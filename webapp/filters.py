"""Template filters: money, times and sizes shown the same way everywhere."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from flask import Flask, current_app
from flask_login import current_user

from .timezones import local, zone_of


def money(value: Decimal | None, symbol: bool = True) -> str:
    if value is None:
        return ""
    text = f"{value:,.2f}"
    return f"{text} {current_app.config['CURRENCY']}" if symbol else text


def viewer_zone() -> str:
    """The zone of the user the page is for, UTC for nobody."""
    return zone_of(current_user if current_user else None)


def localtime(value: dt.datetime | None, fmt: str = "%Y-%m-%d %H:%M",
              zone: str | None = None) -> str:
    """A stored (UTC) time as the viewer's wall-clock time (or `zone`'s), with
    the zone's abbreviation of that moment: "2026-11-03 15:05 CET", "… 16:05 CEST"."""
    if not value:
        return ""
    shown = local(value, zone or viewer_zone())
    return f"{shown:{fmt}} {shown.tzname()}"


def filesize(size: int | None) -> str:
    if size is None:
        return ""
    for unit in ("bytes", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:,} {unit}" if unit == "bytes" else f"{size:,.1f} {unit}"
        size /= 1024
    return ""  # pragma: no cover


def duration(value: dt.timedelta | None) -> str:
    if value is None:
        return ""
    seconds = value.total_seconds()
    if seconds < 60:
        return f"{seconds:.1f} s"
    return f"{int(seconds // 60)} min {int(seconds % 60)} s"


def register(app: Flask) -> None:
    app.add_template_filter(money)
    app.add_template_filter(localtime)
    app.add_template_filter(filesize)
    app.add_template_filter(duration)

    @app.context_processor
    def globals_():
        return {"currency": app.config["CURRENCY"], "viewer_zone": viewer_zone,
                "poll_seconds": app.config["STATUS_POLL_SECONDS"]}
