"""Candidate CSV paths, measured in-process on the bench data, each checked
byte for byte against what the app writes today (stream_rows + write_csv).
They are evidence for a change to the app, not part of it:

* ``app``     tasks.rows.stream_rows + tasks.generators.csv_report.write_csv (today);
* ``raw``     the same SELECT on the raw DBAPI cursor (no SQLAlchemy row processing),
              the same Python formatting as write_csv (dates cached per value);
* ``sql``     formatting and formula neutralisation done by the database:
              PostgreSQL ``COPY (...) TO STDOUT WITH (FORMAT csv, HEADER)`` with
              LF -> CRLF on each chunk; SQLite a formatted SELECT + ``csv.writer``;
* ``ref``     the bench reference (bench/reference.py).

    .venv/bin/python -m bench.prototypes --db postgresql --items 100k
"""
from __future__ import annotations

import argparse
import csv
import filecmp
import logging
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa

from .common import DATA_DIR, SQLITE_PATH, app_config, parse_size
from .data import owner_email
from .reference import FETCH, HEADER, _pg_conn, csv_postgresql, csv_sqlite, reference_sql
from .reference import summary_params as params

DANGEROUS = ("=", "+", "-", "@", "\t", "\r")


def _neutral(col):
    return sa.case((sa.func.substr(col, 1, 1).in_(DANGEROUS), sa.literal("'") + col),
                   else_=col)


def formatted_select(db: str, job):
    """The task's SELECT with every CSV cell formatted by the database."""
    from tasks.rows import rows_select
    from webapp.models import Order, OrderItem

    status = sa.type_coerce(Order.status, sa.String)
    if db == "postgresql":
        date = sa.func.to_char(sa.func.timezone("UTC", Order.created_at),
                               'YYYY-MM-DD"T"HH24:MI:SS"Z"')
        price = OrderItem.unit_price
        total = OrderItem.quantity * OrderItem.unit_price
    else:
        date = sa.func.strftime("%Y-%m-%dT%H:%M:%SZ", Order.created_at)
        price = sa.func.printf("%.2f", OrderItem.unit_price)
        total = sa.func.printf("%.2f", OrderItem.quantity * OrderItem.unit_price)
    cols = (Order.id, date, _neutral(Order.customer), _neutral(status),
            _neutral(OrderItem.product), OrderItem.quantity, price, total)
    # labelled with the CSV header, which COPY's HEADER option writes
    return rows_select(job).with_only_columns(
        *(c.label(name) for c, name in zip(cols, HEADER, strict=True)))


def _sql_text(db: str, stmt) -> str:
    from sqlalchemy.dialects import postgresql, sqlite

    dialect = postgresql.psycopg.dialect() if db == "postgresql" else sqlite.pysqlite.dialect()
    return str(stmt.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))


def sql_csv(db: str, job, out: Path) -> int:
    sql = _sql_text(db, formatted_select(db, job))
    rows = 0
    if db == "postgresql":
        copy_sql = f"COPY ({sql}) TO STDOUT WITH (FORMAT csv, HEADER)"
        with _pg_conn() as conn, conn.cursor() as cur, open(out, "wb") as fh, \
                cur.copy(copy_sql) as copy:
            for chunk in copy:
                data = bytes(chunk)
                rows += data.count(b"\n")  # progress would be counted this way
                fh.write(data.replace(b"\n", b"\r\n"))
        return rows - 1
    return csv_sqlite(sql, out)  # the cells are already formatted: the reference's writer


def raw_csv(db: str, job, out: Path) -> int:
    """The SELECT on the raw driver cursor, formatted in Python exactly like write_csv."""
    import datetime as dt
    from decimal import Decimal

    from tasks.generators.csv_report import format_utc, neutralise
    from tasks.rows import rows_select

    sql = _sql_text(db, rows_select(job))
    dangerous = frozenset(DANGEROUS)
    cache: dict = {}

    def write(batches):
        n = 0
        with open(out, "w", encoding="utf-8", newline="") as fh:
            writer = csv.writer(fh, lineterminator="\r\n")
            writer.writerow(HEADER)
            for batch in batches:
                lines = []
                for order_id, created, customer, status, product, qty, price in batch:
                    date_s = cache.get(created)
                    if date_s is None:
                        d = created if isinstance(created, dt.datetime) else \
                            dt.datetime.fromisoformat(created)
                        date_s = cache[created] = format_utc(d)
                    if customer[:1] in dangerous:
                        customer = neutralise(customer)
                    if product[:1] in dangerous:
                        product = neutralise(product)
                    if isinstance(price, float):  # SQLite hands back floats
                        price = Decimal(f"{price:.2f}")
                    lines.append((order_id, date_s, customer, status, product, qty,
                                  f"{price:.2f}", f"{qty * price:.2f}"))
                writer.writerows(lines)
                n += len(lines)
        return n

    if db == "postgresql":
        with _pg_conn() as conn, conn.cursor(name="proto") as cur:
            cur.itersize = FETCH
            cur.execute(sql)
            return write(iter(lambda: cur.fetchmany(FETCH), []))
    con = sqlite3.connect(SQLITE_PATH)
    try:
        cur = con.execute(sql)
        return write(iter(lambda: cur.fetchmany(FETCH), []))
    finally:
        con.close()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--db", choices=("sqlite", "postgresql"), required=True)
    p.add_argument("--items", default="100k")
    p.add_argument("--repeat", type=int, default=3)
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("webapp").setLevel(logging.ERROR)

    from tasks.generators import ReportMeta
    from tasks.generators.csv_report import write_csv
    from tasks.rows import stream_rows
    from webapp import create_app
    from webapp.extensions import db
    from webapp.models import ReportJob, ReportKind, User

    n = parse_size(args.items)
    tmp = Path(tempfile.mkdtemp(dir=DATA_DIR))
    app = create_app(app_config(args.db, "bench-proto", tmp))
    with app.app_context():
        owner = db.session.scalar(sa.select(User).where(User.email == owner_email(n)))
        if owner is None:
            sys.exit(f"no data of {args.items} items on {args.db}: run bench.run first")
        job = ReportJob(kind=ReportKind.SUMMARY, owner_id=owner.id, params=params())
        meta = ReportMeta(kind="summary", title="Completed orders")
        ref_sql = reference_sql(args.db, owner.id)
        paths = {
            "app": lambda out: write_csv(stream_rows(db.engine, job), meta, out),
            "raw": lambda out: raw_csv(args.db, job, out),
            "sql": lambda out: sql_csv(args.db, job, out),
            "ref": lambda out: (csv_postgresql(ref_sql, out) if args.db == "postgresql"
                                else csv_sqlite(ref_sql, out)),
        }
        times: dict[str, list[float]] = {k: [] for k in paths}
        for _ in range(args.repeat):  # interleaved, so background noise hits all alike
            for name, fn in paths.items():
                t0 = time.perf_counter()
                rows = fn(tmp / f"{name}.csv")
                times[name].append(time.perf_counter() - t0)
                if rows != n:
                    sys.exit(f"{name}: {rows} rows, expected {n}")
        ref = n / statistics.median(times["ref"])
        print(f"{args.db} {args.items}: median of {args.repeat}, rows/s and ratio to the reference")
        for name in paths:
            rate = n / statistics.median(times[name])
            same = "" if name == "ref" else (
                "  output identical to app" if filecmp.cmp(tmp / "app.csv", tmp / f"{name}.csv",
                                                           shallow=False)
                else "  OUTPUT DIFFERS from app")
            print(f"  {name:<4} {rate:>10,.0f} rows/s  {rate / ref:5.2f}x{same}")
    for f in tmp.iterdir():
        f.unlink()
    tmp.rmdir()
    return 0


if __name__ == "__main__":
    sys.exit(main())
