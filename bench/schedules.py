"""Scheduled-reports benchmark: `.venv/bin/python -m bench.schedules [--schedules 10000]
[--db sqlite,postgresql]`.

Per database, on a fresh schema of its own (a SQLite file in a temporary folder
under bench/.data/, or the PostgreSQL database `<BENCH_PG_DB>_schedules`,
dropped and created by the bench): N schedules of --owners users, all due at
the same instant T (a real slot of every cron, in its zone), are inserted with
Core. Then one `webapp.schedules.runs.tick(now=T + 20 s)` is timed, publishing
to the real Redis (db 14, a queue of its own, deleted at the end; no worker
runs), and checked: N runs, N jobs, deliveries, no (schedule, due_at) twice,
every schedule moved past T. Then two ticks at once (two threads, the next
common slot T + 7 days) must add exactly N runs. The reference, on the same
database: the bare write of the same N runs and N jobs through the driver into
tables with the same columns (primary key only), one transaction.
PASS when the tick creates every run within 10 s and none twice; exit code 1
on FAIL. Results: bench/results/schedules.json. See bench/README.md."""
from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import io
import json
import logging
import os
import pstats
import shutil
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from .common import (
    DATA_DIR,
    DATABASES,
    PG_ADMIN_URL,
    PG_DB,
    REDIS_URL,
    RESULTS_DIR,
    ROOT,
    app_config,
)

TARGET_S = 10.0
# Monday 15 June 2026, 05:00 UTC: 07:00 in Berlin, 01:00 in New York, 14:00 in
# Tokyo, 10:30 in Kolkata. No zone below changes its offset within the 7 days
# after it, so T + 7 days is a slot of every cron too (the concurrent pair's).
T = dt.datetime(2026, 6, 15, 5, 0, tzinfo=dt.UTC)
T2 = T + dt.timedelta(days=7)
LATE = dt.timedelta(seconds=20)  # the beat fires a little after the minute
ZONES = ("Europe/Berlin", "America/New_York", "Europe/London", "Asia/Tokyo", "Asia/Kolkata",
         "America/Los_Angeles", "Australia/Sydney", "UTC", "America/Sao_Paulo",
         "America/Chicago")
DOW_NAMES = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
FORMATS = ("csv", "pdf", "xlsx", "csv", "pdf")
CUSTOMERS = ("Acme Ltd", "Müller & Söhne", "Globex Corporation")
WEBHOOK = "https://example.com/hook"
REF_REPEAT = 3


def say(*args) -> None:
    print(*args, flush=True)


# --- the schedules --------------------------------------------------------------------

def crons_for(zone: str) -> list[str]:
    """Realistic crons of one zone, every one firing at T (its local wall time)."""
    local = T.astimezone(ZoneInfo(zone))
    m, h = local.minute, local.hour
    w = (local.weekday() + 1) % 7  # cron: 0 = Sunday
    out = [f"{m} {h} * * *",  # daily
           f"{m} {h} * * {w}",  # weekly
           f"{m} {h} * * {DOW_NAMES[w]}",
           f"{m} {h} * * 1-5" if 1 <= w <= 5 else f"{m} {h} * * 0,6",
           f"{m} {h},{(h + 12) % 24} * * *" if h < 12 else f"{m} {(h + 12) % 24},{h} * * *",
           f"{m} * * * *",  # hourly
           f"{m} {h} * * MON-FRI" if 1 <= w <= 5 else f"{m} {h} * * SAT,SUN"]
    if m % 15 == 0:
        out.append("*/15 * * * *")
    out.append("* * * * *")
    return out


def timings() -> list[tuple[str, str]]:
    """(cron, zone) pairs; each checked to have T as its next slot and T2 as a slot."""
    from webapp.schedules.cron import Cron

    pairs = [(c, z) for z in ZONES for c in crons_for(z)]
    for cron, zone in pairs:
        parsed = Cron.parse(cron)
        for slot in (T, T2):
            got = parsed.next_after(slot - dt.timedelta(seconds=1), zone)
            if got != slot:
                raise RuntimeError(f"{cron!r} in {zone}: next slot {got}, not {slot}")
    return pairs


def build(app, n: int, owners: int) -> dict:
    """Owners and n schedules with Core, all due at T. Returns counts."""
    from webapp.delivery.webhooks import new_secret
    from webapp.extensions import db
    from webapp.models import Schedule, User
    from webapp.schedules.ranges import RANGES

    t0 = time.perf_counter()
    pairs = timings()
    ranges = [name for name, _ in RANGES]
    with app.app_context(), db.engine.begin() as conn:
        users = User.__table__
        conn.execute(sa.insert(users), [
            {"email": f"sched-{i}@bench.example", "password_hash": "!bench-no-login",
             "is_admin": i % 50 == 0, "timezone": ZONES[i % len(ZONES)], "created_at": T}
            for i in range(owners)])
        workspace_ids = conn.execute(sa.select(users.c.id).order_by(users.c.id)).scalars().all()
        rows = []
        for i in range(n):
            cron, zone = pairs[(i * 7) % len(pairs)]
            webhook = i % 3 == 0
            rows.append({
                "workspace_id": workspace_ids[i % owners], "name": f"Report {i} ({cron}, {zone})",
                "kind": "summary", "format": FORMATS[i % len(FORMATS)],
                "range": ranges[i % len(ranges)],
                "customer": CUSTOMERS[i % len(CUSTOMERS)] if i % 7 == 0 else None,
                "order_id": None, "cron": cron, "timezone": zone,
                "emails": [f"team-{i}@bench.example"],
                "webhook_url": WEBHOOK if webhook else None,
                "webhook_secret": new_secret() if webhook else None,
                "failed_runs": 0, "next_run_at": T, "created_at": T, "updated_at": T})
        for i in range(0, n, 1000):
            conn.execute(sa.insert(Schedule.__table__), rows[i:i + 1000])
    return {"owners": owners, "schedules": n, "timings": len(pairs),
            "webhooks": sum(1 for r in rows if r["webhook_url"]),
            "seconds": time.perf_counter() - t0}


# --- databases --------------------------------------------------------------------------

def pg_bench_db() -> str:
    return f"{PG_DB}_schedules"


def recreate_pg_database(name: str, drop_only: bool = False) -> None:
    import psycopg

    with psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=3) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if not drop_only:
            conn.execute(f'CREATE DATABASE "{name}"')


def db_uri(db_name: str, tmp: Path) -> str:
    if db_name == "sqlite":
        return f"sqlite:///{tmp / 'schedules.sqlite3'}"
    base = PG_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
    return f"{base}/{pg_bench_db()}"


# --- measuring --------------------------------------------------------------------------

class Clock:
    """SQL statements (count, wall time) and broker publishes (count, wall
    time, failures) while `on`; per thread, so the concurrent pair adds up."""

    def __init__(self, engine):
        self.on = False
        self._lock = threading.Lock()
        self.reset()
        sa.event.listen(engine, "before_cursor_execute", self._before)
        sa.event.listen(engine, "after_cursor_execute", self._after)
        sa.event.listen(engine, "commit", self._commit)

    def reset(self) -> None:
        self.sql_s = self.publish_s = 0.0
        self.statements = self.published = self.publish_failed = 0
        self.by_statement: dict[str, float] = {}
        self.last_commit = None

    def _before(self, conn, cursor, statement, parameters, context, executemany):
        conn.info["bench_t0"] = time.perf_counter()

    def _after(self, conn, cursor, statement, parameters, context, executemany):
        t0 = conn.info.pop("bench_t0", None)
        if self.on and t0 is not None:
            spent = time.perf_counter() - t0
            key = " ".join(statement.split()[:4]) + (" (executemany)" if executemany else "")
            with self._lock:
                self.sql_s += spent
                self.statements += 1
                self.by_statement[key] = self.by_statement.get(key, 0.0) + spent

    def _commit(self, conn):
        if self.on:
            self.last_commit = time.perf_counter()

    def wrap_enqueue(self, lifecycle) -> None:
        real = lifecycle.enqueue

        def enqueue(job_id: int) -> bool:
            t0 = time.perf_counter()
            ok = real(job_id)
            with self._lock:
                self.publish_s += time.perf_counter() - t0
                self.published += 1
                self.publish_failed += not ok
            return ok

        lifecycle.enqueue = enqueue
        self._restore = (lifecycle, real)

    def unwrap(self) -> None:
        lifecycle, real = self._restore
        lifecycle.enqueue = real


def state(conn) -> dict:
    """What the ticks left in the database."""
    count = lambda q: conn.execute(q).scalar_one()  # noqa: E731
    one = sa.text
    return {
        "runs": count(one("SELECT count(*) FROM schedule_runs")),
        "distinct_slots": count(one(
            "SELECT count(*) FROM (SELECT DISTINCT schedule_id, due_at FROM schedule_runs) s")),
        "runs_with_job": count(one("SELECT count(*) FROM schedule_runs WHERE job_id IS NOT NULL")),
        "runs_not_scheduled": count(one(
            "SELECT count(*) FROM schedule_runs WHERE \"trigger\" <> 'schedule'")),
        "jobs": count(one("SELECT count(*) FROM report_jobs")),
        "jobs_pending": count(one("SELECT count(*) FROM report_jobs WHERE status = 'PENDING'")),
        "requested_events": count(one(
            "SELECT count(*) FROM report_events WHERE event = 'requested'")),
        "deliveries": count(one("SELECT count(*) FROM deliveries")),
    }


def moved_past(conn, after: dt.datetime) -> tuple[int, int]:
    """(schedules whose next_run_at is not past `after`, schedules whose
    next_run_at differs from their cron's next slot after the tick)."""
    from webapp.models import Schedule
    from webapp.schedules.cron import Cron

    s = Schedule.__table__
    stuck = conn.execute(sa.select(sa.func.count()).where(
        sa.or_(s.c.next_run_at.is_(None), s.c.next_run_at <= after))).scalar_one()
    wrong = 0
    for cron, zone, nxt, k in conn.execute(sa.select(
            s.c.cron, s.c.timezone, s.c.next_run_at, sa.func.count())
            .group_by(s.c.cron, s.c.timezone, s.c.next_run_at)):
        if nxt != Cron.parse(cron).next_after(after + LATE, zone):
            wrong += k
    return stuck, wrong


def queue_length(queue: str) -> int:
    import redis

    return redis.Redis.from_url(REDIS_URL).llen(queue)


def drop_queue(queue: str) -> None:
    import redis

    r = redis.Redis.from_url(REDIS_URL)
    for key in r.scan_iter(f"*{queue}*"):
        r.delete(key)
    for key in r.scan_iter("_kombu.binding.*"):  # the queue's binding, if kombu made one
        for member in r.smembers(key):
            if queue.encode() in member:
                r.srem(key, member)


def reference(app, n: int, repeat: int) -> dict:
    """The bare write: the N runs and N jobs the tick writes, into tables with
    the same columns (primary key only), through the driver with statements
    and values prepared beforehand, one transaction and its commit: on SQLite
    multi-row INSERTs as large as it takes (32,766 values), on PostgreSQL one
    INSERT … SELECT FROM unnest(<an array per column>) per table. Median of
    `repeat`; the tables are emptied in between."""
    from webapp.extensions import db
    from webapp.models import ReportJob, ScheduleRun

    md = sa.MetaData()
    copies = {}
    for name, table in (("runs", ScheduleRun.__table__), ("jobs", ReportJob.__table__)):
        copies[name] = sa.Table(
            f"bench_ref_{table.name}", md,
            *[sa.Column(c.name, c.type, primary_key=c.primary_key, nullable=c.nullable)
              for c in table.columns], sqlite_autoincrement=True)
    params = json.dumps({"date_from": "2026-06-08", "date_to": "2026-06-14", "customer": None,
                         "timezone": "Europe/Berlin"})
    with app.app_context():
        sqlite = db.engine.dialect.name == "sqlite"
        # values as the driver takes them (SQLite keeps naive UTC text)
        when = lambda t: t.strftime("%Y-%m-%d %H:%M:%S.%f") if sqlite else t  # noqa: E731
        due, now = when(T), when(T + LATE)
        rows = {  # note and order_id stay NULL, as they do for the tick's rows
            "runs": (("schedule_id", "due_at", "trigger", "created_at"),
                     [(i + 1, due, "schedule", now) for i in range(n)]),
            "jobs": (("workspace_id", "kind", "format", "params", "dedupe_key", "status",
                      "attempts", "max_attempts", "rows_done", "enqueued_at", "created_at"),
                     [(i % 100 + 1, "summary", "csv", params, f"schedule-run:{i + 1}",
                       "PENDING", 0, 3, 0, now, now) for i in range(n)]),
        }
        statements = []
        for name, (columns, values) in rows.items():
            table = copies[name]
            names = ", ".join(f'"{c}"' for c in columns)
            if sqlite:  # at most 32,766 values per statement
                step = 32_766 // len(columns)
                one = "(" + ", ".join(["?"] * len(columns)) + ")"
                for i in range(0, n, step):
                    chunk = values[i:i + step]
                    statements.append((
                        f"INSERT INTO {table.name} ({names}) VALUES "
                        + ", ".join([one] * len(chunk)), tuple(v for row in chunk for v in row)))
            else:  # one statement: a column per array parameter
                types = [table.c[c].type.compile(dialect=db.engine.dialect) for c in columns]
                statements.append((
                    f"INSERT INTO {table.name} ({names}) SELECT * FROM unnest("
                    + ", ".join(f"%s::{t}[]" for t in types) + ")",
                    tuple(list(column) for column in zip(*values, strict=True))))
        md.create_all(db.engine)
        times = []
        try:
            for _ in range(repeat):
                t0 = time.perf_counter()
                with db.engine.begin() as conn:
                    for sql, values in statements:
                        conn.exec_driver_sql(sql, values)
                times.append(time.perf_counter() - t0)
                with db.engine.begin() as conn:
                    for table in copies.values():
                        got = conn.execute(sa.select(sa.func.count()).select_from(table))
                        if got.scalar_one() != n:
                            raise RuntimeError(f"the reference wrote a wrong count to {table}")
                        conn.execute(sa.delete(table))
        finally:
            md.drop_all(db.engine)
    return {"what": "the N runs + N jobs written through the driver (same columns, primary "
                    "key only), one transaction: multi-row INSERTs (SQLite), INSERT … "
                    "SELECT FROM unnest(arrays) (PostgreSQL)",
            "statements": len(statements), "seconds": statistics.median(times),
            "runs_s": times}


def bench_db(db_name: str, n: int, owners: int, profile: bool) -> dict:
    from webapp import create_app
    from webapp.extensions import db
    from webapp.reports import lifecycle
    from webapp.schedules import runs

    from .data import migrate

    DATA_DIR.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="schedules-", dir=DATA_DIR))
    queue = f"bench-schedules-{db_name}-{uuid.uuid4().hex[:6]}"
    if db_name == "postgresql":
        recreate_pg_database(pg_bench_db())
    config = {**app_config(db_name, queue, tmp / "reports"),
              "SQLALCHEMY_DATABASE_URI": db_uri(db_name, tmp),
              # every due run starts (the tick's cost is measured, not the
              # open-jobs budget, which would leave most of them waiting)
              "REPORT_MAX_OPEN_JOBS": n}
    app = create_app(config)
    result: dict = {"db": db_name, "schedules": n, "queue": queue,
                    "loadavg_1m_before": os.getloadavg()[0]}
    clock = None
    try:
        logging.disable(logging.INFO)  # alembic's env.py turns its INFO lines back on
        try:
            migrate(app)
        finally:
            logging.disable(logging.NOTSET)
        result["build"] = build(app, n, owners)
        say(f"== {db_name}: {n:,} schedules ({result['build']['timings']} cron/zone pairs, "
            f"{owners} owners) built in {result['build']['seconds']:.1f} s")
        with app.app_context():
            clock = Clock(db.engine)
            clock.wrap_enqueue(lifecycle)
            if db_name == "postgresql":
                with db.engine.connect() as conn:
                    result["server"] = conn.scalar(sa.text("SHOW server_version"))
            # --- one tick: every schedule due at T
            profiler = cProfile.Profile() if profile else None
            clock.on = True
            if profiler:
                profiler.enable()
            t0 = time.perf_counter()
            counts = runs.tick(now=T + LATE)
            seconds = time.perf_counter() - t0
            if profiler:
                profiler.disable()
            clock.on = False
            tick = {"seconds": seconds, "counts": counts, "sql_s": clock.sql_s,
                    "statements": clock.statements, "publish_s": clock.publish_s,
                    "published": clock.published, "publish_failed": clock.publish_failed,
                    "profiled": profile}
            tick["other_s"] = seconds - clock.sql_s - clock.publish_s
            tick["sql_by_statement_s"] = dict(sorted(
                clock.by_statement.items(), key=lambda kv: -kv[1]))
            # when the last batch's runs were committed (publishing goes on after each batch)
            tick["runs_committed_s"] = (clock.last_commit - t0) if clock.last_commit else None
            tick["runs_per_s"] = counts["runs"] / seconds if seconds else None
            with db.engine.connect() as conn:
                tick["state"] = state(conn)
                tick["not_moved"], tick["moved_wrong"] = moved_past(conn, T)
            tick["queued"] = queue_length(queue)
            result["tick"] = tick
            say(f"   tick: {counts['runs']:,} runs in {seconds:.2f} s (SQL {clock.sql_s:.2f} s in "
                f"{clock.statements} statements, publish {clock.publish_s:.2f} s, "
                f"rest {tick['other_s']:.2f} s; last commit at {tick['runs_committed_s']:.2f} s)")
            top = list(tick["sql_by_statement_s"].items())[:3]
            say("   slowest SQL: " + "; ".join(f"{k} {v:.2f} s" for k, v in top))
            if profiler:
                out = io.StringIO()
                pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(30)
                say(out.getvalue())
            # --- the reference, on the same database
            ref = reference(app, n, REF_REPEAT)
            result["reference"] = ref
            say(f"   reference: {ref['seconds']:.2f} s (median of {REF_REPEAT})")
            # --- two ticks at once, at the next common slot
            with db.engine.begin() as conn:
                conn.execute(sa.update(runs.Schedule.__table__).values(next_run_at=T2))
            clock.reset()
            barrier = threading.Barrier(2)
            pair: list[dict] = [{}, {}]

            def beat(k: int) -> None:
                with app.app_context():
                    barrier.wait()
                    t_start = time.perf_counter()
                    try:
                        pair[k] = {"counts": runs.tick(now=T2 + LATE)}
                    except Exception as exc:  # reported as a FAIL, not a traceback
                        pair[k] = {"error": f"{type(exc).__name__}: {exc}"}
                    pair[k]["seconds"] = time.perf_counter() - t_start
                    db.session.remove()

            threads = [threading.Thread(target=beat, args=(k,)) for k in range(2)]
            clock.on = True
            t0 = time.perf_counter()
            for t in threads:
                t.start()
            for t in threads:
                t.join(600)
            pair_s = time.perf_counter() - t0
            clock.on = False
            with db.engine.connect() as conn:
                after = state(conn)
                not_moved, moved_wrong = moved_past(conn, T2)
            result["pair"] = {"seconds": pair_s, "ticks": pair, "state": after,
                              "not_moved": not_moved, "moved_wrong": moved_wrong,
                              "published": clock.published,
                              "publish_failed": clock.publish_failed,
                              "queued": queue_length(queue)}
            say(f"   two ticks at once: {[p.get('counts', p.get('error')) for p in pair]} "
                f"in {pair_s:.2f} s; runs in total {after['runs']:,}")
    finally:
        if clock is not None and hasattr(clock, "_restore"):
            clock.unwrap()
        with app.app_context():
            db.engine.dispose()
        drop_queue(queue)
        shutil.rmtree(tmp, ignore_errors=True)
        if db_name == "postgresql":
            recreate_pg_database(pg_bench_db(), drop_only=True)
    result["loadavg_1m_after"] = os.getloadavg()[0]
    result["checks"] = checks(result, n)
    result["ratio"] = result["tick"]["seconds"] / result["reference"]["seconds"]
    result["pass"] = result["tick"]["seconds"] <= TARGET_S and all(
        c["ok"] for c in result["checks"])
    return result


def checks(result: dict, n: int) -> list[dict]:
    tick, pair = result["tick"], result["pair"]
    s, p = tick["state"], pair["state"]
    deliveries = 2 * n + result["build"]["webhooks"]  # e-mail + notice each, webhook every 3rd
    out = [
        ("tick: runs created", tick["counts"]["runs"], n),
        ("tick: runs in the table", s["runs"], n),
        ("tick: no (schedule, due_at) twice", s["distinct_slots"], n),
        ("tick: every run has a job", s["runs_with_job"], n),
        ("tick: none a catch-up", s["runs_not_scheduled"], 0),
        ("tick: jobs", s["jobs"], n),
        ("tick: jobs PENDING", s["jobs_pending"], n),
        ("tick: 'requested' events", s["requested_events"], n),
        ("tick: deliveries", s["deliveries"], deliveries),
        ("tick: schedules not moved past T", tick["not_moved"], 0),
        ("tick: schedules not at their next slot", tick["moved_wrong"], 0),
        ("tick: published", tick["published"], n),
        ("tick: publish failures", tick["publish_failed"], 0),
        ("tick: messages in the queue", tick["queued"], n),
        ("pair: no errors", sum("error" in t for t in pair["ticks"]), 0),
        ("pair: runs created by the two", sum(t.get("counts", {}).get("runs", 0)
                                              for t in pair["ticks"]), n),
        ("pair: runs in total", p["runs"], 2 * n),
        ("pair: no (schedule, due_at) twice", p["distinct_slots"], 2 * n),
        ("pair: jobs in total", p["jobs"], 2 * n),
        ("pair: deliveries in total", p["deliveries"], 2 * deliveries),
        ("pair: schedules not moved past T2", pair["not_moved"], 0),
        ("pair: schedules not at their next slot", pair["moved_wrong"], 0),
        ("pair: published", pair["published"], n),
        ("pair: messages in the queue", pair["queued"], 2 * n),
    ]
    return [{"check": name, "value": value, "expected": want, "ok": value == want}
            for name, value, want in out]


def table(results: list[dict]) -> str:
    head = (f"{'db':<10} {'schedules':>9} {'tick s':>7} {'runs/s':>7} {'SQL s':>6} "
            f"{'publish s':>9} {'rest s':>6} {'ref s':>6} {'tick/ref':>8} {'pair s':>6}  verdict")
    lines = [head, "-" * len(head)]
    for r in results:
        t = r["tick"]
        failed = [c["check"] for c in r["checks"] if not c["ok"]]
        verdict = "PASS" if r["pass"] else "FAIL"
        verdict += f" (all runs within {TARGET_S:.0f} s, none twice)"
        if failed:
            verdict += f"; failed: {', '.join(failed)}"
        lines.append(
            f"{r['db']:<10} {r['schedules']:>9,} {t['seconds']:>7.2f} {t['runs_per_s']:>7,.0f} "
            f"{t['sql_s']:>6.2f} {t['publish_s']:>9.2f} {t['other_s']:>6.2f} "
            f"{r['reference']['seconds']:>6.3f} {r['ratio']:>7.1f}x {r['pair']['seconds']:>6.2f}  "
            f"{verdict}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.schedules",
                                description=__doc__.split("\n\n")[0])
    p.add_argument("--schedules", type=int, default=10_000, help="due schedules (10000)")
    p.add_argument("--owners", type=int, default=100, help="users owning them (100)")
    p.add_argument("--db", default="sqlite,postgresql")
    p.add_argument("--profile", action="store_true",
                   help="run the tick under cProfile and print where its time goes "
                        "(the tick's seconds then include the profiler's overhead)")
    p.add_argument("--out", type=Path, default=RESULTS_DIR / "schedules.json")
    args = p.parse_args(argv)
    dbs = [d.strip() for d in args.db.split(",") if d.strip()]
    for d in dbs:
        if d not in DATABASES:
            p.error(f"unknown database {d!r}")
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("webapp").setLevel(logging.ERROR)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    from .run import machine_facts, write_results

    started = time.monotonic()
    results = {"machine": machine_facts(),
               "args": {"schedules": args.schedules, "owners": args.owners, "db": dbs,
                        "profile": args.profile},
               "target": {"tick_s": TARGET_S, "runs_twice": 0},
               "due_at": T.isoformat(), "concurrent_due_at": T2.isoformat(),
               "services": {"redis": REDIS_URL}, "results": []}
    for d in dbs:
        results["results"].append(bench_db(d, args.schedules, args.owners, args.profile))
    results["machine"]["loadavg_at_end"] = os.getloadavg()
    results["seconds"] = time.monotonic() - started
    write_results(results, args.out)
    say("")
    say(table(results["results"]))
    say("tick/ref: the tick's wall time over the bare write of the same runs and jobs "
        "(reference), same database, same run")
    out = args.out.relative_to(ROOT) if args.out.is_relative_to(ROOT) else args.out
    say(f"results: {out} · total {results['seconds']:.0f} s · load average "
        f"{results['machine']['loadavg_at_start'][0]:.1f} at start, "
        f"{results['machine']['loadavg_at_end'][0]:.1f} at end "
        f"({results['machine']['nproc']} cores)")
    return 0 if all(r["pass"] for r in results["results"]) else 1


if __name__ == "__main__":
    sys.exit(main())
