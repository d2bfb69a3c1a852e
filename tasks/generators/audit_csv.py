"""The audit trail as CSV: one row per entry, newest first, in the same style
as the order CSVs (RFC 4180, CRLF, text cells guarded against formulas, times
ISO 8601 in the zone of who asked, the BOM and ";" of "CSV for Excel")."""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import NamedTuple

from . import PROGRESS_EVERY, Progress, ReportMeta
from .csv_report import BOM, format_local, format_utc, text_cell

HEADER = ("entry_id", "at", "person", "action", "target", "detail", "via")


class AuditRow(NamedTuple):
    entry_id: int
    at: dt.datetime  # UTC, naive or aware
    person: str  # the e-mail address at the time
    action: str  # "order.created"
    target: str | None
    detail: str | None
    via: str  # "web" | "api" | "system"


def write_audit_csv(rows: Iterable[AuditRow], meta: ReportMeta, path,
                    progress: Progress = None) -> int:
    count = 0
    zone = None if meta.timezone == "UTC" else meta.zone
    sep = ";" if meta.csv_excel and meta.decimal_comma else ","
    with open(path, "w", encoding="utf-8", newline="") as fh:
        if meta.csv_excel:
            fh.write(BOM)
        fh.write(sep.join(HEADER) + "\r\n")
        for entry_id, at, person, action, target, detail, via in rows:
            when = format_utc(at) if zone is None else format_local(at, zone)
            cells = [str(entry_id), when, *(text_cell(v or "") for v in
                                             (person, action, target, detail, via))]
            fh.write(sep.join(cells) + "\r\n")
            count += 1
            if progress is not None and count % PROGRESS_EVERY == 0:
                progress(count)
    if progress is not None and (count == 0 or count % PROGRESS_EVERY):
        progress(count)
    return count
