"""Dashboard benchmark: `.venv/bin/python -m bench.dashboard [--items 1M] [--db sqlite,postgresql]`.

Times GET /dashboard for each preset in-process (Flask test client, logged in
as the bench owner of --items, one request at a time) and compute() alone,
p50/p95 over -n runs each, on bench.run's data (built here if missing, with
its own builder). The data is dated 2025, so "today" is fixed at 2025-12-31
and the presets cover it. PASS when the page's p95 < 500 ms. Each of the
overview's SQL statements is timed too, so a FAIL names its slow query
(--explain prints that query's plan)."""
from __future__ import annotations

import argparse
import datetime as dt
import logging
import statistics
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from pathlib import Path

import sqlalchemy as sa

from .common import (
    DATA_DIR,
    DATABASES,
    app_config,
    ensure_pg_database,
    parse_size,
    percentile,
    size_label,
)
from .data import ensure_data, migrate

TODAY = dt.date(2025, 12, 31)
TARGET_MS = 500.0
PRESETS = ("last_7_days", "last_30_days", "last_90_days", "this_month", "last_month",
           "this_quarter", "year_to_date")
# the overview's statements in the order compute() runs them
QUERIES = ("kpis", "kpis (previous)", "periods", "customers (count)", "customers",
           "products")


def say(*args) -> None:
    print(*args, flush=True)


class StatementClock:
    """Wall time of each SQL statement run while `on` is set, by position."""

    def __init__(self, engine):
        self.on = False
        self.times: list[tuple[str, object, float]] = []
        sa.event.listen(engine, "before_cursor_execute", self._before)
        sa.event.listen(engine, "after_cursor_execute", self._after)

    def _before(self, conn, cursor, statement, parameters, context, executemany):
        conn.info["bench_t0"] = time.perf_counter()

    def _after(self, conn, cursor, statement, parameters, context, executemany):
        if self.on:
            self.times.append((statement, parameters,
                               time.perf_counter() - conn.info.pop("bench_t0")))


def _ms(values: list[float], p: float) -> float:
    return percentile(values, p) * 1000


def bench_db(db_name: str, items: int, n: int, explain: bool) -> list[dict]:
    from webapp import create_app
    from webapp.dashboard import views as dashboard_views
    from webapp.extensions import db
    from webapp.models import User
    from webapp.reports import overview
    from webapp.reports.params import ReportParams
    from webapp.reports.presets import preset_range
    from webapp.security import session_fields
    from webapp.timezones import zone_of

    if db_name == "postgresql":
        ensure_pg_database()
    tmp = Path(tempfile.mkdtemp(dir=DATA_DIR))
    app = create_app(app_config(db_name, f"bench-dash-{uuid.uuid4().hex[:6]}", tmp))
    migrate(app)
    info = ensure_data(app, items, say=say)
    say(f"== {db_name} {size_label(items)}: data "
        + (f"built in {info['seconds']:.1f} s" if info["built"] else "reused"))
    dashboard_views.user_today = lambda: TODAY  # the data's "today"
    rows = []
    with app.app_context():
        clock = StatementClock(db.engine)
        owner = db.session.get(User, info["workspace_id"])
        client = app.test_client()
        with client.session_transaction() as session:
            session["_user_id"] = str(owner.id)
            session["_fresh"] = True
            session.update(session_fields(owner))
        for preset in PRESETS:
            start, end = preset_range(preset, TODAY)
            params = ReportParams.summary(start, end, timezone=zone_of(owner)).scoped_for(owner)
            assert client.get(f"/dashboard?preset={preset}").status_code == 200  # warm-up
            page, alone = [], []
            per_query: dict[str, list[float]] = defaultdict(list)
            statements: dict[str, tuple] = {}
            for _ in range(n):
                t0 = time.perf_counter()
                resp = client.get(f"/dashboard?preset={preset}")
                page.append(time.perf_counter() - t0)
                assert resp.status_code == 200, resp.status_code
                clock.times.clear()
                clock.on = True
                t0 = time.perf_counter()
                overview.compute(owner.id, params, "USD")
                alone.append(time.perf_counter() - t0)
                clock.on = False
                for name, (statement, parameters, seconds) in zip(QUERIES, clock.times,
                                                                   strict=True):
                    per_query[name].append(seconds)
                    statements[name] = (statement, parameters)
            slowest = max(per_query, key=lambda q: statistics.median(per_query[q]))
            row = {"db": db_name, "items": items, "preset": preset, "days": (end - start).days + 1,
                   "page_p50": _ms(page, 50), "page_p95": _ms(page, 95),
                   "compute_p50": _ms(alone, 50), "compute_p95": _ms(alone, 95),
                   "queries_ms": {q: statistics.median(v) * 1000 for q, v in per_query.items()},
                   "slowest": slowest}
            row["pass"] = row["page_p95"] < TARGET_MS
            rows.append(row)
            say(f"   {preset:<13} page p50 {row['page_p50']:7.1f} ms  p95 {row['page_p95']:7.1f}"
                f" ms  compute p50 {row['compute_p50']:7.1f} ms  slowest: {slowest} "
                f"{row['queries_ms'][slowest]:.1f} ms")
            if explain and preset == "year_to_date":
                _explain(db, *statements[slowest], slowest)
    return rows


def _explain(db, statement: str, parameters, name: str) -> None:
    """The plan of the overview's `name` statement, run with the same parameters."""
    with db.engine.connect() as conn:
        prefix = ("EXPLAIN QUERY PLAN " if conn.dialect.name == "sqlite"
                  else "EXPLAIN (ANALYZE, BUFFERS) ")
        say(f"   EXPLAIN {name}:")
        for line in conn.exec_driver_sql(prefix + statement, parameters):
            say("     ", " | ".join(str(c) for c in line))


def table(rows: list[dict]) -> str:
    head = (f"{'db':<10} {'items':>5} {'preset':<13} {'days':>4} {'page p50':>9} {'page p95':>9} "
            f"{'compute p50':>11} {'compute p95':>11}  {'slowest query (median)':<30} verdict")
    lines = [head, "-" * len(head)]
    for r in rows:
        lines.append(
            f"{r['db']:<10} {size_label(r['items']):>5} {r['preset']:<13} {r['days']:>4} "
            f"{r['page_p50']:>7.1f}ms {r['page_p95']:>7.1f}ms {r['compute_p50']:>9.1f}ms "
            f"{r['compute_p95']:>9.1f}ms  "
            f"{r['slowest'] + ' ' + format(r['queries_ms'][r['slowest']], '.1f') + ' ms':<30} "
            f"{'PASS' if r['pass'] else 'FAIL'} (p95 < {TARGET_MS:.0f} ms)")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.dashboard",
                                description=__doc__.split("\n\n")[0])
    p.add_argument("--items", default="1M", help="data size (bench user), e.g. 100k, 1M")
    p.add_argument("--db", default="sqlite,postgresql")
    p.add_argument("-n", type=int, default=30, help="requests per preset (default 30)")
    p.add_argument("--explain", action="store_true",
                   help="print the plan of the slowest query of the year-to-date range")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("webapp").setLevel(logging.ERROR)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    dbs = [d.strip() for d in args.db.split(",") if d.strip()]
    for d in dbs:
        if d not in DATABASES:
            p.error(f"unknown database {d!r}")
    rows = []
    for d in dbs:
        rows += bench_db(d, parse_size(args.items), args.n, args.explain)
    say("")
    say(table(rows))
    failed = [r for r in rows if not r["pass"]]
    say(f"\n{len(rows) - len(failed)} of {len(rows)} PASS (GET /dashboard p95 < "
        f"{TARGET_MS:.0f} ms, in-process, one request at a time, today = {TODAY})")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
