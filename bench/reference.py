"""Reference implementations, run in a fresh subprocess on the same data:

* CSV on PostgreSQL: ``COPY (<the summary SELECT>) TO STDOUT WITH (FORMAT csv, HEADER)``
  through psycopg 3 ``cursor.copy()``, written to a file;
* CSV on SQLite: a raw ``sqlite3`` cursor and ``csv.writer`` over the same SELECT;
* PDF: a minimal fpdf2 loop, one ``cell()`` per column per row, DejaVu Sans,
  auto page break only, over the same rows (read with the raw driver).

The SELECT is the one ``tasks.rows.rows_select`` builds for the benchmark's
summary job (items and shipping rows, with net, tax and gross), so the
reference reads exactly the rows and columns the report task writes.

    python -m bench.reference --db postgresql --owner-id 3 --format csv --out /tmp/x.csv

prints one JSON line: {"rows", "seconds", "bytes", "maxrss_mb"}."""
from __future__ import annotations

import argparse
import csv
import json
import logging
import resource
import sqlite3
import sys
import time
from pathlib import Path

from .common import DATE_FROM, DATE_TO, PG_ADMIN_URL, PG_DB, ROOT, SQLITE_PATH

HEADER = ("order_id", "order_number", "order_date", "customer", "status", "product",
          "quantity", "unit_price", "discount_percent", "discount", "net", "tax_percent", "tax",
          "gross")
# The PDF report's column widths (mm, A4 landscape; tasks/generators/pdf/table.py) and row height.
WIDTHS = (19.0, 19.0, 42.0, 17.0, 54.0, 12.0, 21.0, 14.0, 23.0, 12.0, 21.0, 23.0)
ROW_H = 12.5 / (72 / 25.4)
FONT = ROOT / "static" / "fonts" / "DejaVuSans.ttf"
FETCH = 2000


def summary_params() -> dict:
    # what webapp.reports.services.request_summary_report stores for a non-admin
    return {"date_from": DATE_FROM.isoformat(), "date_to": DATE_TO.isoformat(), "customer": None}


def reference_sql(db: str, workspace_id: int) -> str:
    """The task's own summary SELECT (tasks.rows.rows_select), as SQL text: its rows
    carry each line's net, tax and gross already."""
    from sqlalchemy.dialects import postgresql, sqlite

    from tasks.rows import rows_select
    from webapp.models import ReportJob, ReportKind

    job = ReportJob(kind=ReportKind.SUMMARY, workspace_id=workspace_id, params=summary_params())
    stmt = rows_select(job)
    dialect = postgresql.psycopg.dialect() if db == "postgresql" else sqlite.pysqlite.dialect()
    return str(stmt.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))


def _pg_conn():
    import psycopg

    conn = psycopg.connect(f"{PG_ADMIN_URL.rsplit('/', 1)[0]}/{PG_DB}")
    conn.execute("SET TIME ZONE 'UTC'")
    return conn


def csv_postgresql(sql: str, out: Path) -> int:
    rows = 0
    with _pg_conn() as conn, conn.cursor() as cur, open(out, "wb") as fh:
        with cur.copy(f"COPY ({sql}) TO STDOUT WITH (FORMAT csv, HEADER)") as copy:
            for data in copy:
                fh.write(data)
        rows = cur.rowcount
    return rows


def csv_sqlite(sql: str, out: Path) -> int:
    rows = 0
    con = sqlite3.connect(SQLITE_PATH)
    try:
        cur = con.execute(sql)
        with open(out, "w", encoding="utf-8", newline="") as fh:
            writer = csv.writer(fh, lineterminator="\r\n")
            writer.writerow(HEADER)
            while batch := cur.fetchmany(FETCH):
                writer.writerows(batch)
                rows += len(batch)
    finally:
        con.close()
    return rows


def _iter_rows(db: str, sql: str):
    if db == "postgresql":
        with _pg_conn() as conn, conn.cursor(name="reference") as cur:
            cur.itersize = FETCH
            cur.execute(sql)
            yield from cur
    else:
        con = sqlite3.connect(SQLITE_PATH)
        try:
            cur = con.execute(sql)
            while batch := cur.fetchmany(FETCH):
                yield from batch
        finally:
            con.close()


def pdf_minimal(db: str, sql: str, out: Path) -> int:
    from fpdf import FPDF

    logging.getLogger("fpdf").setLevel(logging.ERROR)  # CJK glyphs are missing from DejaVu
    logging.getLogger("fontTools").setLevel(logging.ERROR)
    pdf = FPDF(orientation="L", unit="mm", format="A4")
    pdf.set_auto_page_break(True, margin=14)
    pdf.add_font("DejaVu", "", str(FONT))
    pdf.add_page()
    pdf.set_font("DejaVu", size=8)
    cell = pdf.cell
    rows = 0
    w0, w1, w2, w3, w4, w5, w6, w7, w8, w9, w10, w11 = WIDTHS
    h = ROW_H
    for (_id, number, date, customer, status, product, qty, price, disc_rate, _disc, net,
         tax_rate, tax, gross) in _iter_rows(db, sql):
        cell(w0, h, number)
        cell(w1, h, str(date)[:10])
        cell(w2, h, customer)
        cell(w3, h, status)
        cell(w4, h, product)
        cell(w5, h, str(qty), align="R")
        cell(w6, h, str(price), align="R")
        cell(w7, h, str(disc_rate), align="R")
        cell(w8, h, str(net), align="R")
        cell(w9, h, str(tax_rate), align="R")
        cell(w10, h, str(tax), align="R")
        cell(w11, h, str(gross), align="R", new_x="LMARGIN", new_y="NEXT")
        rows += 1
    pdf.output(str(out))
    return rows


def run(db: str, workspace_id: int, fmt: str, out: Path) -> dict:
    sql = reference_sql(db, workspace_id)
    # imports are not part of the work (the worker has them loaded before a job)
    if db == "postgresql":
        import psycopg  # noqa: F401
    if fmt == "pdf":
        import fpdf  # noqa: F401
    t0 = time.perf_counter()
    if fmt == "csv":
        rows = csv_postgresql(sql, out) if db == "postgresql" else csv_sqlite(sql, out)
    else:
        rows = pdf_minimal(db, sql, out)
    seconds = time.perf_counter() - t0
    size = out.stat().st_size if out.exists() else 0
    return {"rows": rows, "seconds": seconds, "bytes": size,
            "maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--db", choices=("sqlite", "postgresql"), required=True)
    p.add_argument("--owner-id", type=int, required=True)
    p.add_argument("--format", choices=("csv", "pdf"), required=True)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--keep", action="store_true", help="keep the output file")
    args = p.parse_args(argv)
    try:
        result = run(args.db, args.workspace_id, args.format, args.out)
    finally:
        if not args.keep:
            args.out.unlink(missing_ok=True)
    json.dump(result, sys.stdout)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
