"""Benchmark of the report path: `.venv/bin/python -m bench.run [options]`.

For each database and size: build (or reuse) the data, then for each format
time the real task in a real Celery worker process (restarted per job so the
pool child's VmHWM is that job's peak) against a reference on the same data in
the same invocation; then, unless --skip-http, the request side under gunicorn.
Results go to bench/results/latest.json and a table to stdout. See bench/README.md."""
from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import os
import platform
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

import sqlalchemy as sa

from .common import (
    DATA_DIR,
    DATABASES,
    DATE_FROM,
    DATE_TO,
    REDIS_URL,
    RESULTS_DIR,
    ROOT,
    app_config,
    ensure_pg_database,
    parse_size,
    process_env,
    size_label,
)
from .data import ensure_data, migrate, owner_email
from .procs import HwmSampler, proc_status, start_worker

FORMATS = ("csv", "pdf")
TARGETS = {
    "csv_ratio": {"postgresql": 0.6, "sqlite": 0.8},
    "pdf_rows_per_s": 20_000,  # at 100k rows
    "rss_mb": {"csv": 150, "pdf": 250},
    "rss_flat": 1.10,  # peak at the largest size <= 1.10 x peak at the smallest
    "post_p99_ms": 50,
    "status_p99_ms": 20,
    "pickup_p99_ms": 100,
    "live_p99_ms": 20,  # GET /reports/live, 200 open tabs x 5 active jobs
}


def say(*args) -> None:
    print(*args, flush=True)


# --- machine ------------------------------------------------------------------------

def machine_facts() -> dict:
    def cpuinfo(key):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith(key):
                return line.split(":", 1)[1].strip()
        return None

    meminfo = Path("/proc/meminfo").read_text()
    ram_kb = int(re.search(r"MemTotal:\s+(\d+)", meminfo).group(1))
    facts = {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "nproc": len(os.sched_getaffinity(0)),
        "cpu_model": cpuinfo("model name"),
        "ram_gb": round(ram_kb / 1024 / 1024, 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "sqlite": sqlite3.sqlite_version,
        "loadavg_at_start": os.getloadavg(),
    }
    try:
        from importlib.metadata import version

        facts["packages"] = {p: version(p) for p in (
            "SQLAlchemy", "psycopg", "fpdf2", "celery", "Flask", "gunicorn")}
    except Exception:  # pragma: no cover - informational only
        pass
    return facts


def service_versions(app) -> dict:
    from webapp.extensions import db

    with app.app_context(), db.engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            return {"postgresql": conn.scalar(sa.text("SHOW server_version"))}
    return {}


# --- one measured job -------------------------------------------------------------

def reset_jobs(app) -> None:
    """Start from no report jobs: the bench database is the bench's own."""
    from webapp.extensions import db

    with app.app_context(), db.engine.begin() as conn:
        for table in ("report_events", "report_jobs", "worker_beats", "api_tokens"):
            conn.execute(sa.text(f"DELETE FROM {table}"))


# extra settings for the worker when finished files go to an S3 store
# (--storage s3: a SeaweedFS server started by main(), as the tests do)
STORE: dict = {}


def _forget_file(reports_dir: Path, name: str) -> None:
    if STORE:
        STORE["client"].delete_object(Bucket=STORE["bucket"], Key=f"reports/{name}")
    else:
        (reports_dir / name).unlink(missing_ok=True)


def measure_job(app, db_name: str, workspace_id: int, fmt: str, queue: str, reports_dir: Path,
                log: Path, timeout: float) -> dict:
    """Request one summary report through the app's service, let a fresh worker run
    it, poll the job row until COMPLETED; times from the row, VmHWM of the child."""
    from webapp.extensions import db
    from webapp.models import ReportEvent, ReportFormat, ReportJob, User
    from webapp.reports.services import request_summary_report

    worker = start_worker(process_env(db_name, queue, reports_dir, **STORE.get("env", {})),
                          queue, log)
    sampler = HwmSampler(worker)
    try:
        kids = worker.children()
        if len(kids) != 1:
            raise RuntimeError(f"expected one pool child, found {kids}")
        idle_kb = proc_status(kids[0]).get("VmHWM", 0)
        sampler.start()
        jobs = ReportJob.__table__
        with app.app_context():
            owner = db.session.get(User, workspace_id)
            t0 = time.time()
            job, created = request_summary_report(owner, DATE_FROM, DATE_TO, None,
                                                  ReportFormat(fmt))
            t_requested = time.time()
            job_id = job.id
            db.session.remove()
            if not created:
                raise RuntimeError(f"job {job_id} was deduplicated: an equal one is active")
            while True:
                with db.engine.connect() as conn:
                    row = conn.execute(sa.select(
                        jobs.c.status, jobs.c.started_at, jobs.c.finished_at, jobs.c.rows_done,
                        jobs.c.size, jobs.c.file_name, jobs.c.error)
                        .where(jobs.c.id == job_id)).one()
                if row.status == "COMPLETED":
                    t_seen = time.time()
                    break
                if row.status in ("FAILED", "CANCELLED", "EXPIRED"):
                    raise RuntimeError(f"job {job_id} ended {row.status}: {row.error}\n"
                                       f"{worker.output()[-3000:]}")
                if time.time() - t0 > timeout:
                    raise RuntimeError(f"job {job_id} not done after {timeout}s ({row.status})")
                time.sleep(0.02)
            # VmHWM right away: the child is reused (idle) until the worker stops
            with db.engine.connect() as conn:
                detail = conn.scalar(sa.select(ReportEvent.detail).where(
                    ReportEvent.job_id == job_id, ReportEvent.event == "started"))
        m = re.search(r":(\d+)$", detail or "")
        pid = int(m.group(1)) if m else kids[0]
        hwm_kb = proc_status(pid).get("VmHWM", 0)
        sampler.stop()
        peak_kb = max(hwm_kb, sampler.peak_kb.get(pid, 0))
    finally:
        if sampler.is_alive():
            sampler.stop()
        worker.stop()
    if row.file_name:
        _forget_file(reports_dir, row.file_name)
    job_s = (row.finished_at - row.started_at).total_seconds()
    return {
        "job_id": job_id, "rows": row.rows_done, "bytes": row.size,
        "job_s": job_s,  # started_at -> finished_at, from the job row
        "e2e_s": t_seen - t0,  # service call -> COMPLETED seen by a 20 ms poll
        "request_ms": (t_requested - t0) * 1000,
        "queue_s": row.started_at.timestamp() - t0,
        "rows_per_s": row.rows_done / job_s if job_s > 0 else None,
        "peak_rss_mb": peak_kb / 1024, "idle_rss_mb": idle_kb / 1024,
        "pid_ran_job": pid, "pid_was_pool_child": pid in kids,
        "loadavg_1m_after": os.getloadavg()[0],
    }


def run_reference(db_name: str, workspace_id: int, fmt: str, out: Path) -> dict:
    proc = subprocess.run(
        [sys.executable, "-m", "bench.reference", "--db", db_name, "--owner-id", str(workspace_id),
         "--format", fmt, "--out", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=7200)
    if proc.returncode != 0:
        raise RuntimeError(f"reference failed:\n{proc.stderr[-3000:]}")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    result["rows_per_s"] = result["rows"] / result["seconds"] if result["seconds"] else None
    return result


def _median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


# --- targets ------------------------------------------------------------------------

def evaluate(results: dict) -> list[dict]:
    out = []

    def add(name, where, value, limit, ok):
        out.append({"target": name, "where": where, "value": value, "limit": limit,
                    "met": None if value is None else bool(ok)})

    by_key = {}
    for r in results["reports"]:
        by_key[(r["db"], r["items"], r["format"])] = r
        where = f"{r['db']} {size_label(r['items'])} {r['format']}"
        if r["format"] == "csv":
            limit = TARGETS["csv_ratio"][r["db"]]
            ref = "COPY" if r["db"] == "postgresql" else "raw sqlite3 + csv"
            add(f"CSV >= {limit}x {ref}", where, r["ratio"], limit,
                r["ratio"] is not None and r["ratio"] >= limit)
        elif r["items"] >= 100_000:
            limit = TARGETS["pdf_rows_per_s"]
            add(f"PDF >= {limit:,} rows/s (at 100k rows)", where, r["rows_per_s"], limit,
                r["rows_per_s"] >= limit)
        limit = TARGETS["rss_mb"][r["format"]]
        add(f"peak RSS < {limit} MB ({r['format']})", where, r["peak_rss_mb"], limit,
            r["peak_rss_mb"] < limit)
    for db_name in DATABASES:
        for fmt in FORMATS:
            sizes = sorted(n for d, n, f in by_key if d == db_name and f == fmt)
            if len(sizes) >= 2:
                small, large = by_key[db_name, sizes[0], fmt], by_key[db_name, sizes[-1], fmt]
                growth = large["peak_rss_mb"] / small["peak_rss_mb"]
                add(f"peak RSS flat ({size_label(sizes[0])} -> {size_label(sizes[-1])}, "
                    f"<= {TARGETS['rss_flat']}x)", f"{db_name} {fmt}", growth,
                    TARGETS["rss_flat"], growth <= TARGETS["rss_flat"])
    for db_name, h in results.get("http", {}).items():
        if "load" in h:
            p = h["load"]["post_api_reports"]["p99_ms"]
            add("POST /api/reports p99 < 50 ms", db_name, p, 50, p is not None and p < 50)
            s = h["load"]["status_partial"]["p99_ms"]
            add("status partial p99 < 20 ms (50 pollers)", db_name, s, 20,
                s is not None and s < 20)
        if "pickup" in h:
            p = h["pickup"]["after_response_ms"]["p99"]
            add("pickup p99 < 100 ms", db_name, p, 100, p < 100)
    for db_name, live in results.get("live", {}).items():
        load = live["load"]
        p, limit = load["new"]["p99_ms"], TARGETS["live_p99_ms"]
        add(f"page poll p99 < {limit} ms ({load['tabs']} tabs x {load['jobs_per_tab']} jobs)",
            db_name, p, limit, p is not None and p < limit)
    return out


# --- output -------------------------------------------------------------------------

def _f(value, fmt="{:,.0f}"):
    return "–" if value is None else fmt.format(value)


def table(results: dict) -> str:
    lines = [
        "| db | size | format | rows | job wall s | request→done s | rows/s | peak RSS MB "
        "| idle RSS MB | reference | ref rows/s | ratio |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---|---:|---:|",
    ]
    for r in results["reports"]:
        lines.append(
            f"| {r['db']} | {size_label(r['items'])} | {r['format']} | {r['rows']:,} "
            f"| {_f(r['job_s'], '{:.2f}')} | {_f(r['e2e_s'], '{:.2f}')} | {_f(r['rows_per_s'])} "
            f"| {_f(r['peak_rss_mb'], '{:.0f}')} | {_f(r['idle_rss_mb'], '{:.0f}')} "
            f"| {r['reference']} | {_f(r['ref_rows_per_s'])} | {_f(r['ratio'], '{:.2f}')} |")
    for db_name, h in results.get("http", {}).items():
        if "load" not in h:
            continue
        load = h["load"]
        lines.append("")
        lines.append(f"HTTP on {db_name} ({load['pollers']} pollers every "
                     f"{load['poll_interval_s']} s, {load['posters']} posters every "
                     f"{load['post_interval_s']} s, {load['seconds']:.0f} s, large "
                     f"{load['large_report']}):")
        lines.append("| request | n | req/s | p50 ms | p95 ms | p99 ms | max ms | codes |")
        lines.append("|---|---:|---:|---:|---:|---:|---:|---|")
        for name, key in (("POST /api/reports", "post_api_reports"),
                          ("GET /reports/<id>/status", "status_partial")):
            s = load[key]
            lines.append(f"| {name} | {s['n']} | {_f(s['rps'], '{:.1f}')} "
                         f"| {_f(s['p50_ms'], '{:.1f}')} | {_f(s['p95_ms'], '{:.1f}')} "
                         f"| {_f(s['p99_ms'], '{:.1f}')} | {_f(s['max_ms'], '{:.1f}')} "
                         f"| {s['codes']} |")
        p = h["pickup"]
        lines.append(f"pickup ({p['n']} jobs, idle worker): POST response → started_at "
                     f"p50 {p['after_response_ms']['p50']:.1f} ms, "
                     f"p99 {p['after_response_ms']['p99']:.1f} ms "
                     f"({p['claimed_before_response']} claimed before the response arrived); "
                     f"row insert → started_at p50 {p['after_row_insert_ms']['p50']:.1f} ms, "
                     f"p99 {p['after_row_insert_ms']['p99']:.1f} ms")
    for db_name, live in results.get("live", {}).items():
        lines.append("")
        lines.append(f"Live status on {db_name}: requests per open tab "
                     f"(poll interval {live['poll_seconds']} s, first {live['first_ms']} ms)")
        lines.append("| active jobs | page | first check s | requests in 10 s | req/s (10 s) "
                     "| req/s (60 s) |")
        lines.append("|---:|---|---:|---:|---:|---:|")
        for n, row in live["per_tab"].items():
            for name, key in (("one poller (now)", "new"), ("a poller per badge (before)", "old")):
                r = row[key]
                lines.append(f"| {n} | {name} | {_f(r['first_check_s'], '{:.2f}')} "
                             f"| {r['requests_first_10s']} | {r['rps_first_10s']:.2f} "
                             f"| {r['rps_60s']:.2f} |")
        load = live["load"]
        lines.append(f"{load['tabs']} open tabs x {load['jobs_per_tab']} active jobs "
                     f"({load['users']} users, {load['seconds']:.0f} s):")
        lines.append("| request | offered req/s | n | req/s | p50 ms | p95 ms | p99 ms | max ms "
                     "| server p50 ms | server p99 ms | codes |")
        lines.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
        for key in ("new", "old"):
            s = load[key]
            lines.append(f"| {s['request']} | {s['offered_rps']:.0f} | {s['n']} "
                         f"| {_f(s['rps'], '{:.1f}')} "
                         f"| {_f(s['p50_ms'], '{:.1f}')} | {_f(s['p95_ms'], '{:.1f}')} "
                         f"| {_f(s['p99_ms'], '{:.1f}')} | {_f(s['max_ms'], '{:.1f}')} "
                         f"| {_f(s['server_p50_ms'], '{:.1f}')} "
                         f"| {_f(s['server_p99_ms'], '{:.1f}')} | {s['codes']} |")
    return "\n".join(lines)


def verdicts(targets: list[dict]) -> str:
    lines = ["| target | where | value | met |", "|---|---|---:|---|"]
    for t in targets:
        value = t["value"]
        shown = "–" if value is None else (f"{value:,.2f}" if value < 100 else f"{value:,.0f}")
        met = {True: "yes", False: "**no**", None: "–"}[t["met"]]
        lines.append(f"| {t['target']} | {t['where']} | {shown} | {met} |")
    return "\n".join(lines)


def write_results(results: dict, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(results, indent=2, default=str) + "\n")
    os.replace(tmp, path)


# --- main ---------------------------------------------------------------------------

def _split(values: list[str]) -> list[str]:
    return [v.strip() for item in values for v in item.split(",") if v.strip()]


def parse_args(argv):
    p = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n\n")[0])
    p.add_argument("--items", nargs="+", default=["10k", "100k"],
                   help="line items per report, e.g. 10k 100k 1M (default: 10k 100k)")
    p.add_argument("--db", default="sqlite,postgresql", help="sqlite,postgresql (default both)")
    p.add_argument("--formats", default="csv,pdf",
                   help="csv,pdf (default both); none: only the HTTP part")
    p.add_argument("--skip-http", action="store_true", help="skip the gunicorn request side")
    p.add_argument("--rebuild", action="store_true", help="rebuild the data even if it matches")
    p.add_argument("--repeat", type=int, default=3,
                   help="runs of each CSV job and its reference; medians are reported (default 3)")
    p.add_argument("--pdf-repeat", type=int, default=1,
                   help="runs of each PDF job and its reference (default 1: the fpdf2 "
                        "reference alone takes ~40 s at 100k rows)")
    p.add_argument("--http-seconds", type=float, default=20)
    p.add_argument("--pollers", type=int, default=50)
    p.add_argument("--poll-interval", type=float, default=2.0,
                   help="seconds between one poller's requests (0: back to back)")
    p.add_argument("--pickup-jobs", type=int, default=30)
    p.add_argument("--http-large", choices=("pdf", "csv", "none"), default="pdf",
                   help="format of the large reports running during the HTTP load "
                        "(none: idle worker, to separate CPU contention from request cost)")
    p.add_argument("--http-items", default=None,
                   help="data size whose PDF keeps the worker busy during the HTTP load "
                        "(default: the largest of --items)")
    p.add_argument("--storage", choices=("local", "s3"), default="local",
                   help="where the worker puts finished files: the reports folder, or an "
                        "S3 store (a SeaweedFS server started for the run)")
    p.add_argument("--skip-live", action="store_true",
                   help="skip the live-status part (requests per tab, page poll under load)")
    p.add_argument("--live-tabs", type=int, default=200, help="open tabs in the live load")
    p.add_argument("--live-jobs", type=int, default=5, help="active jobs shown per tab")
    p.add_argument("--live-seconds", type=float, default=15,
                   help="length of each live load (the page poll, then the old badges)")
    p.add_argument("--out", type=Path, default=RESULTS_DIR / "latest.json")
    args = p.parse_args(argv)
    args.sizes = sorted({parse_size(s) for s in _split(args.items)})
    args.dbs = _split([args.db])
    args.fmts = [f for f in _split([args.formats]) if f != "none"]  # none: HTTP only
    for d in args.dbs:
        if d not in DATABASES:
            p.error(f"unknown database {d!r}")
    for f in args.fmts:
        if f not in FORMATS:
            p.error(f"unknown format {f!r}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("webapp").setLevel(logging.ERROR)  # the start-up "database=..." line
    started = time.monotonic()
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    logs = DATA_DIR / "logs"
    shutil.rmtree(logs, ignore_errors=True)
    logs.mkdir()
    results: dict = {
        "machine": machine_facts(),
        "args": {"items": args.sizes, "db": args.dbs, "formats": args.fmts,
                 "repeat": args.repeat, "pdf_repeat": args.pdf_repeat,
                 "skip_http": args.skip_http, "skip_live": args.skip_live,
                 "storage": args.storage},
        "targets_config": TARGETS, "data": [], "reports": [], "http": {}, "live": {},
        "timings_s": {},
        "services": {"redis": REDIS_URL},
    }
    from webapp import create_app

    s3 = _start_store(DATA_DIR / "s3") if args.storage == "s3" else None
    try:
        return _run(args, results, started, logs, create_app)
    finally:
        if s3 is not None:
            s3.stop()


def _start_store(workdir: Path):
    """A SeaweedFS S3 server for the run (tests/s3.py), and the worker's settings."""
    from tests.s3 import S3Server

    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    server = S3Server(workdir).start()
    os.environ.update(server.env)
    bucket = server.bucket()
    STORE.update(bucket=bucket, client=server.client(),
                 env={**server.env, "REPORTS_STORAGE": f"s3://{bucket}/reports"})
    say(f"== S3 store at {server.endpoint_url}, bucket {bucket}")
    return server


def _run(args, results: dict, started: float, logs: Path, create_app) -> int:
    for db_name in args.dbs:
        t_db = time.monotonic()
        if db_name == "postgresql":
            ensure_pg_database()
        queue = f"bench-{db_name}-{uuid.uuid4().hex[:6]}"
        reports_dir = DATA_DIR / "reports" / db_name
        shutil.rmtree(reports_dir, ignore_errors=True)
        reports_dir.mkdir(parents=True)
        app = create_app(app_config(db_name, queue, reports_dir))
        say(f"== {db_name}: migrations")
        migrate(app)
        results["services"].update(service_versions(app))
        reset_jobs(app)
        owners = {}
        for n in args.sizes:
            say(f"== {db_name} {size_label(n)}: data")
            info = ensure_data(app, n, rebuild=args.rebuild, say=say)
            owners[n] = info["workspace_id"]
            results["data"].append({"db": db_name, "items": n, **info})
            say(f"   built in {info['seconds']:.1f} s" if info["built"] else "   reused")
        for n in args.sizes if args.fmts else ():
            ref_dir = DATA_DIR / "ref"
            ref_dir.mkdir(exist_ok=True)
            # untimed warm-up read, so neither side pays for a cold page cache
            run_reference(db_name, owners[n], "csv", ref_dir / "warm.csv")
            for fmt in args.fmts:
                label = f"{db_name} {size_label(n)} {fmt}"
                ours, refs = [], []
                repeat = args.repeat if fmt == "csv" else args.pdf_repeat
                for rep in range(repeat):
                    say(f"== {label}: task in the worker (run {rep + 1}/{repeat})")
                    ours.append(measure_job(app, db_name, owners[n], fmt, queue, reports_dir,
                                            logs / f"worker-{db_name}-{n}-{fmt}-{rep}.log",
                                            timeout=600 + n / 1000))
                    say(f"   {ours[-1]['rows']:,} rows in {ours[-1]['job_s']:.2f} s, "
                        f"peak RSS {ours[-1]['peak_rss_mb']:.0f} MB")
                    say(f"== {label}: reference")
                    refs.append(run_reference(db_name, owners[n], fmt, ref_dir / f"ref.{fmt}"))
                    say(f"   {refs[-1]['rows']:,} rows in {refs[-1]['seconds']:.2f} s")
                for r in ours + refs:
                    if r["rows"] != n:
                        raise RuntimeError(f"{label}: {r['rows']} rows, expected {n}")
                row = {
                    "db": db_name, "items": n, "format": fmt, "rows": ours[0]["rows"],
                    "job_s": _median([o["job_s"] for o in ours]),
                    "e2e_s": _median([o["e2e_s"] for o in ours]),
                    "rows_per_s": _median([o["rows_per_s"] for o in ours]),
                    "peak_rss_mb": max(o["peak_rss_mb"] for o in ours),
                    "idle_rss_mb": _median([o["idle_rss_mb"] for o in ours]),
                    "bytes": ours[0]["bytes"],
                    "reference": ("COPY" if db_name == "postgresql" else "sqlite3+csv")
                    if fmt == "csv" else "fpdf2 cell()",
                    "ref_seconds": _median([r["seconds"] for r in refs]),
                    "ref_rows_per_s": _median([r["rows_per_s"] for r in refs]),
                    "ref_bytes": refs[0]["bytes"], "ref_maxrss_mb": refs[0]["maxrss_mb"],
                    "runs": ours, "reference_runs": refs,
                }
                row["ratio"] = (row["rows_per_s"] / row["ref_rows_per_s"]
                                if row["rows_per_s"] and row["ref_rows_per_s"] else None)
                results["reports"].append(row)
                write_results(results, args.out)
        if not args.skip_http:
            from . import http_load

            big = parse_size(args.http_items) if args.http_items else max(args.sizes)
            if big not in owners:
                owners[big] = ensure_data(app, big, say=say)["workspace_id"]
            say(f"== {db_name}: HTTP (gunicorn), large report over {size_label(big)} rows")
            t_http = time.monotonic()
            results["http"][db_name] = http_load.run(
                app, db_name, owners[big], owner_email(big), queue, reports_dir, logs,
                seconds=args.http_seconds, pollers=args.pollers,
                poll_interval=args.poll_interval, pickup_jobs=args.pickup_jobs,
                big_format=args.http_large, say=say)
            results["timings_s"][f"{db_name}_http"] = time.monotonic() - t_http
        if not args.skip_live:
            from . import live_status

            say(f"== {db_name}: live status (gunicorn)")
            t_live = time.monotonic()
            results["live"][db_name] = live_status.run(
                app, db_name, queue, reports_dir, logs, tabs=args.live_tabs,
                jobs_per_tab=args.live_jobs, seconds=args.live_seconds, say=say)
            results["timings_s"][f"{db_name}_live"] = time.monotonic() - t_live
            write_results(results, args.out)
        results["timings_s"][db_name] = time.monotonic() - t_db
        from webapp.extensions import db

        with app.app_context():
            db.engine.dispose()
        shutil.rmtree(reports_dir, ignore_errors=True)
        _drop_queue_keys(queue)

    results["timings_s"]["total"] = time.monotonic() - started
    results["machine"]["loadavg_at_end"] = os.getloadavg()
    results["targets"] = evaluate(results)
    write_results(results, args.out)
    say("")
    say(table(results))
    say("")
    say(verdicts(results["targets"]))
    say(f"\nresults: {args.out.relative_to(ROOT) if args.out.is_relative_to(ROOT) else args.out}"
        f" · total {results['timings_s']['total']:.0f} s")
    return 0


def _drop_queue_keys(queue: str) -> None:
    import redis

    r = redis.Redis.from_url(REDIS_URL)
    for key in r.scan_iter(f"*{queue}*"):
        r.delete(key)


if __name__ == "__main__":
    sys.exit(main())
