"""CSV straight from PostgreSQL: `COPY (SELECT …) TO STDOUT WITH CSV`, with
every cell formatted in SQL exactly as generators/csv_report.write_csv formats
it (same header, ISO UTC dates, 2-decimal money, the formula-injection guard),
so both paths give byte-identical files; a test holds them to that.

COPY ends lines with LF; RFC 4180 wants CRLF, so LF becomes CRLF on the way to
the file. That is only right while no cell holds a line break: validation
folds them away, and if one ever slips in (a row count that does not match)
the caller falls back to the Python writer."""
from __future__ import annotations

import logging
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from tasks.generators import PROGRESS_EVERY, Progress, ReportMeta
from tasks.generators.csv_report import (
    ALWAYS_GUARDED_FIRST_CHARS,
    BOM,
    DANGEROUS_FIRST_CHARS,
    FORMULA_SKIP_CHARS,
    FORMULA_START_CHARS,
    HEADER,
)
from tasks.rows import rows_select
from webapp.models import Order, OrderItem, ReportJob

log = logging.getLogger(__name__)


def _guarded(column):
    """SQL twin of csv_report.neutralise: prefix ' when a spreadsheet would run it.

    Guarded when the first character is \\t or \\r, or when the first one left
    after ltrim()-ing FORMULA_SKIP_CHARS is a FORMULA_START_CHARS. The first
    character is tested against DANGEROUS_FIRST_CHARS first, as write_csv does
    (a hashed IN list: as cheap as the old guard), so in practice ltrim only
    runs on the rare cell that starts with a suspicious character."""
    first = sa.func.left(column, 1)
    formula = sa.or_(
        first.in_(sorted(ALWAYS_GUARDED_FIRST_CHARS)),
        sa.func.left(sa.func.ltrim(column, sa.literal(FORMULA_SKIP_CHARS)), 1)
        .in_(sorted(FORMULA_START_CHARS)))
    return sa.case((sa.and_(first.in_(sorted(DANGEROUS_FIRST_CHARS)), formula),
                    sa.literal("'") + column), else_=column)


def formatted_select(job: ReportJob, meta: ReportMeta) -> sa.Select:
    if meta.timezone == "UTC":
        date = sa.func.to_char(sa.func.timezone("UTC", Order.created_at),
                               'YYYY-MM-DD"T"HH24:MI:SS"Z"')
    else:  # in the session's zone (copy_csv sets it), with that moment's offset
        date = sa.func.to_char(Order.created_at, 'YYYY-MM-DD"T"HH24:MI:SSTZH:TZM')
    price, total = OrderItem.unit_price, OrderItem.quantity * OrderItem.unit_price
    if meta.csv_excel and meta.decimal_comma:
        price, total = (sa.func.replace(sa.cast(v, sa.Text), ".", ",") for v in (price, total))
    columns = (Order.id, date, _guarded(Order.customer),
               _guarded(sa.type_coerce(Order.status, sa.String)), _guarded(OrderItem.product),
               OrderItem.quantity, price, total, sa.literal(meta.currency, sa.Text))
    # labelled with the CSV header, which COPY's HEADER option writes
    return rows_select(job).with_only_columns(
        *(column.label(name) for column, name in zip(columns, HEADER, strict=True)))


def copy_csv(engine: Engine, job: ReportJob, meta: ReportMeta, path: Path,
             expected_rows: int, progress: Progress = None) -> int | None:
    """Write the job's CSV with COPY; return the row count, or None when the
    result cannot be trusted to match write_csv (then nothing usable is left)."""
    compiled = formatted_select(job, meta).compile(
        dialect=engine.dialect, compile_kwargs={"render_postcompile": True})
    delimiter = ", DELIMITER ';'" if meta.csv_excel and meta.decimal_comma else ""
    sql = f"COPY ({compiled}) TO STDOUT WITH (FORMAT csv, HEADER{delimiter})"
    lines = 0
    next_report = PROGRESS_EVERY + 1  # +1: the header line
    with engine.connect() as conn, open(path, "wb") as out:
        if meta.csv_excel:
            out.write(BOM.encode())
        with conn.connection.driver_connection.cursor() as cursor:
            if meta.timezone != "UTC":  # to_char shows times in the session's zone
                cursor.execute("SELECT set_config('TimeZone', %s, true)", (meta.timezone,))
        with conn.connection.driver_connection.cursor() as cursor, \
                cursor.copy(sql, compiled.params) as copy:
            for chunk in copy:
                data = bytes(chunk)
                lines += data.count(b"\n")
                out.write(data.replace(b"\n", b"\r\n"))
                if progress is not None and lines >= next_report:
                    next_report = lines + PROGRESS_EVERY
                    progress(lines - 1)
        conn.rollback()
    rows = max(0, lines - 1)
    if rows != expected_rows:
        log.warning("COPY gave %s lines for %s rows (a line break in a cell, or rows that "
                    "changed meanwhile); writing job %s with the Python writer", rows,
                    expected_rows, job.id)
        return None
    if progress is not None:
        progress(rows)
    return rows
