"""Template filters: money, times and sizes shown the same way everywhere."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from flask import Flask, current_app, g, has_request_context
from flask_login import current_user

from .reports.params import params_of
from .timezones import local, zone_of
from .words import size_in_words


def money(value: Decimal | None, symbol: bool = True) -> str:
    if value is None:
        return ""
    text = f"{value:,.2f}"
    return f"{text} {currency()}" if symbol else text


def currency() -> str:
    """The current workspace's currency (the server's default outside one)."""
    here = g.get("actor") if has_request_context() else None
    return here.workspace.currency if here is not None else current_app.config["CURRENCY"]


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


def duration(value: dt.timedelta | None) -> str:
    if value is None:
        return ""
    seconds = value.total_seconds()
    if seconds < 60:
        return f"{seconds:.1f} s"
    return f"{int(seconds // 60)} min {int(seconds % 60)} s"


def rate(value: Decimal | None) -> str:
    """A percentage as people write it: 19, 5.5, 8.125 (no trailing zeros)."""
    if not value:
        return "0"
    return format(Decimal(value).normalize(), "f")


def focus_id(form, default: str) -> str:
    """The id of the control that takes the keyboard focus when `form` is
    shown: the first field, in the form's order, that has an error (a person
    fixes what failed, not the field they already filled), else `default`.
    A group of radio buttons is focused on its first button."""
    for field in form:
        if field.errors and field.type not in ("CSRFTokenField", "HiddenField"):
            return f"{field.id}-0" if field.type == "RadioField" else field.id
    return default


def register(app: Flask) -> None:
    app.add_template_filter(money)
    app.add_template_filter(rate)
    app.add_template_filter(localtime)
    app.add_template_filter(size_in_words, "filesize")
    app.add_template_filter(params_of, "params")
    app.add_template_filter(duration)

    @app.context_processor
    def globals_():
        return {"currency": currency(), "actor": g.get("actor"), "viewer_zone": viewer_zone,
                "focus_id": focus_id,
                "poll_seconds": app.config["STATUS_POLL_SECONDS"]}
