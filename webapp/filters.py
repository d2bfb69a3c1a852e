"""Template filters: money, times and sizes shown the same way everywhere."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from flask import Flask, current_app


def money(value: Decimal | None, symbol: bool = True) -> str:
    if value is None:
        return ""
    text = f"{value:,.2f}"
    return f"{text} {current_app.config['CURRENCY']}" if symbol else text


def utc(value: dt.datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    return f"{value:{fmt}} UTC" if value else ""


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
    app.add_template_filter(utc)
    app.add_template_filter(filesize)
    app.add_template_filter(duration)

    @app.context_processor
    def globals_():
        return {"currency": app.config["CURRENCY"],
                "poll_seconds": app.config["STATUS_POLL_SECONDS"]}
