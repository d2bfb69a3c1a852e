"""Small-report latency: `.venv/bin/python -m bench.small_reports [options]`.

What a person waits for when they ask for one order's file: request → COMPLETED
for a CSV, PDF and XLSX of a 3-line order, through the app's own service and a
real Celery worker (started as bench/run.py and the tests start it), on SQLite
and PostgreSQL.  Per format a fresh worker is started and, once it is idle
(ready, start-up sweep done), asked for:

* **cold**: the first report of that format after the worker started (what
  the first person after a deploy or a restart waits for);
* **warm**: five more, one at a time, each for another order (other products,
  another customer: no two files share their text), median reported.

"request → COMPLETED" runs from calling
`webapp.reports.services.request_order_report` in this process to seeing the
job row COMPLETED (polled every 2 ms on one connection): it includes the
request's own transaction, publishing, the broker, the claim, the file and
the completing transaction.  Each request waits until the worker logged the
previous task as finished (its deliveries included), so none queues behind
another.

Memory of the worker, next to each other: the pool child's peak RSS (VmHWM, the
figure bench/run.py reports) and RSS, PSS and USS (private pages) of the parent
and its pool children summed, from /proc/<pid>/smaps_rollup, once idle and once
after the jobs.  RSS counts a page shared by the parent and its children in
every process (copy-on-write after fork); PSS divides it among them, so PSS
summed over the processes is what the worker really costs the machine.

The worker's CPU time per task (parent and children, from /proc/<pid>/schedstat:
ns on a CPU, and ns runnable but waiting for one) is printed too: on a shared
machine the wait says how much of a latency was other work, the CPU time what
the task itself cost.  `--concurrency N` starts N pool children (default 1, as
bench/run.py), which shows what sharing saves.

Targets (PASS/FAIL, exit code 1 on FAIL): every format's cold request < 300 ms
and warm median < 60 ms (judge them on an otherwise idle machine: the load
average is in the JSON).  Results: bench/results/small-reports.json.
Uses the bench databases, Redis db 14 and bench/.data/ like bench/run.py
(BENCH_* overrides in bench/common.py)."""
from __future__ import annotations

import argparse
import json
import logging
import os
import re
import shutil
import statistics
import sys
import time
import uuid
from pathlib import Path

import sqlalchemy as sa

from .common import (
    DATA_DIR,
    DATABASES,
    PASSWORD,
    REDIS_URL,
    RESULTS_DIR,
    ROOT,
    app_config,
    ensure_pg_database,
    process_env,
)
from .data import migrate
from .procs import proc_status

FORMATS = ("csv", "pdf", "xlsx")
TARGETS = {"cold_ms": 300, "warm_ms": 60}
OWNER = "bench-small@bench.example"
LINES = 3
POLL_S = 0.002

# Three lines per order, none repeating another order's text: a file's fonts are
# subset to its own characters, so warm runs cannot reuse an earlier file's work.
_PRODUCTS = [
    "Espresso beans 1 kg", "Café crème pods", "Oak desk", "Office chair, mesh", "USB-C cable 2 m",
    "Printer paper A4", 'Monitor 27"', "Keyboard, ergonomic", "Stapler (refill)",
    "Whiteboard markers", "Laptop stand", "Noise-cancelling headset", "Green tea – jasmine",
    "Notebook, dotted", "Ballpoint pens (pack of 10)", "Desk lamp XL", "Jalapeño sauce",
    "Smørrebrød board", "Filing cabinet", "Label printer", "HDMI adapter", "Water bottle",
    "Backpack – black", "Mouse pad, premium",
]
_CUSTOMERS = ["Müller & Söhne GmbH", "Globex Corporation", "Brasserie Château", "Initech LLC",
              "Søren's Bikes", "Compañía Andina", "Northstar Logistics", "Kaffeehaus Größl"]


def say(*args) -> None:
    print(*args, flush=True)


# --- data -------------------------------------------------------------------------

def ensure_orders(app, n: int) -> tuple[int, list[int]]:
    """The bench-small user (created if missing) and the ids of `n` of its orders
    of 3 lines each (made through the order service when there are fewer)."""
    from decimal import Decimal

    from webapp.auth.services import create_user
    from webapp.extensions import db
    from webapp.models import Order, OrderItem, User
    from webapp.orders.services import ItemInput, create_order

    with app.app_context():
        user = (db.session.scalar(sa.select(User).where(User.email == OWNER))
                or create_user(OWNER, PASSWORD))
        user_id = user.id
        three = (sa.select(Order.id).join(OrderItem, OrderItem.order_id == Order.id)
                 .where(Order.created_by_id == user_id).group_by(Order.id)
                 .having(sa.func.count() == LINES).order_by(Order.id))
        have = list(db.session.scalars(three))
        for k in range(len(have), n):
            items = [ItemInput(_PRODUCTS[(LINES * k + j) % len(_PRODUCTS)], j + 1 + k % 4,
                               Decimal(f"{7 + 13 * k + 5 * j}.{(37 * k + 11 * j) % 100:02d}"),
                               Decimal("19") if j != 1 else Decimal("7"),
                               Decimal("10") if j == 0 and k % 2 else Decimal(0))
                     for j in range(LINES)]
            order = create_order(user, _CUSTOMERS[k % len(_CUSTOMERS)], items,
                                 shipping=Decimal("4.90"), shipping_tax_rate=Decimal("19"))
            have.append(order.id)
        db.session.remove()
    return user_id, have[:n]


def clear_jobs(app, user_id: int) -> None:
    """This bench's earlier report jobs (only its own user's: the database is shared
    with bench/run.py's data)."""
    from webapp.extensions import db
    from webapp.models import ReportEvent, ReportJob

    with app.app_context(), db.engine.begin() as conn:
        mine = sa.select(ReportJob.id).where(ReportJob.created_by_id == user_id)
        conn.execute(sa.delete(ReportEvent).where(ReportEvent.job_id.in_(mine)))
        conn.execute(sa.delete(ReportJob).where(ReportJob.created_by_id == user_id))


# --- memory -----------------------------------------------------------------------

def smaps_rollup(pid: int) -> dict[str, int]:
    """Rss, Pss and the private pages (kB) of one process ({} if it is gone)."""
    out: dict[str, int] = {}
    try:
        with open(f"/proc/{pid}/smaps_rollup") as fh:
            for line in fh:
                key, _, rest = line.partition(":")
                if key in ("Rss", "Pss", "Private_Clean", "Private_Dirty"):
                    out[key] = int(rest.split()[0])
    except (FileNotFoundError, ProcessLookupError):
        return {}
    return out


def worker_memory(worker) -> dict:
    """RSS, PSS and USS (MB) of the worker's parent and pool children, summed, and
    each child's VmHWM (the peak RSS bench/run.py reports)."""
    pids = [worker.pid, *worker.children()]
    per = {pid: smaps_rollup(pid) for pid in pids}
    mb = 1024

    def total(key):
        return sum(p.get(key, 0) for p in per.values()) / mb

    return {
        "pids": pids,
        "rss_mb": total("Rss"), "pss_mb": total("Pss"),
        "uss_mb": (total("Private_Clean") + total("Private_Dirty")),
        "parent_rss_mb": per[worker.pid].get("Rss", 0) / mb,
        "parent_pss_mb": per[worker.pid].get("Pss", 0) / mb,
        "child_rss_mb": [per[p].get("Rss", 0) / mb for p in pids[1:]],
        "child_pss_mb": [per[p].get("Pss", 0) / mb for p in pids[1:]],
        "child_hwm_mb": [proc_status(p).get("VmHWM", 0) / mb for p in pids[1:]],
    }


def schedstat(pids: list[int]) -> tuple[int, int]:
    """(ns on a CPU, ns waiting for one) summed over `pids`, from /proc/<pid>/schedstat."""
    on = wait = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/schedstat") as fh:
                ran, waited, _slices = fh.read().split()
        except (FileNotFoundError, ProcessLookupError, ValueError):
            continue
        on, wait = on + int(ran), wait + int(waited)
    return on, wait


# --- one request ------------------------------------------------------------------

_FINISHED = re.compile(r"Task reports\.generate\[[^\]]+\] (?:succeeded|failed|raised)")


def measure(app, worker, user_id: int, order_id: int, fmt: str, timeout: float = 60) -> dict:
    from webapp.extensions import db
    from webapp.models import ReportFormat, ReportJob, User
    from webapp.reports.services import request_order_report

    jobs = ReportJob.__table__
    ended_before = len(_FINISHED.findall(worker.output_since_start()))
    pids = [worker.pid, *worker.children()]
    cpu0, wait0 = schedstat(pids)
    with app.app_context():
        owner = db.session.get(User, user_id)
        engine = db.engine
        with engine.connect() as conn:  # opened before the clock starts
            wall0, t0 = time.time(), time.perf_counter()
            job, created = request_order_report(owner, order_id, ReportFormat(fmt))
            t_requested = time.perf_counter()
            job_id = job.id
            db.session.remove()
            if not created:
                raise RuntimeError(f"job {job_id} was deduplicated: an equal one is active")
            status = jobs.c.status
            poll = sa.select(status).where(jobs.c.id == job_id)
            while True:
                state = conn.execute(poll).scalar_one()
                conn.rollback()
                if state == "COMPLETED":
                    t_seen = time.perf_counter()
                    break
                if state in ("FAILED", "CANCELLED", "EXPIRED"):
                    raise RuntimeError(f"job {job_id} ended {state}:\n{worker.output()[-3000:]}")
                if time.perf_counter() - t0 > timeout:
                    raise RuntimeError(f"job {job_id} not done after {timeout} s ({state})")
                time.sleep(POLL_S)
            row = conn.execute(sa.select(jobs.c.started_at, jobs.c.finished_at, jobs.c.size,
                                         jobs.c.rows_done).where(jobs.c.id == job_id)).one()
    # the task ends after COMPLETED (its deliveries): the next request must not queue
    worker.wait_until(lambda out: len(_FINISHED.findall(out)) > ended_before, timeout=timeout,
                      interval=0.01, what=f"done with job {job_id}")
    cpu1, wait1 = schedstat(pids)
    return {
        # the worker's CPU time for the whole task (deliveries included), and its time
        # runnable but waiting for a CPU: on a shared machine, what else was running
        "worker_cpu_ms": (cpu1 - cpu0) / 1e6, "worker_cpu_wait_ms": (wait1 - wait0) / 1e6,
        "job_id": job_id, "order_id": order_id, "bytes": row.size, "rows": row.rows_done,
        "e2e_ms": (t_seen - t0) * 1000,
        "request_ms": (t_requested - t0) * 1000,
        "pickup_ms": (row.started_at.timestamp() - wall0) * 1000,
        "job_ms": (row.finished_at - row.started_at).total_seconds() * 1000,
    }


def start_worker(env, queue: str, log: Path, concurrency: int, timeout: float = 60):
    """`celery -A tasks.worker worker` with `concurrency` pool children (as
    bench/procs.py starts one), returned once idle: ready and its start-up sweep
    done."""
    from tests.harness import WORKER_READY, celery_worker

    def swept(output: str) -> bool:
        _, ready, after = output.partition(WORKER_READY)
        return bool(ready) and "reports.sweep" in after and "succeeded" in after

    worker = celery_worker(queue, env, log, concurrency=concurrency).start()
    try:
        worker.wait_until(swept, timeout=timeout, what="ready with its start-up sweep done")
        worker.wait_until(lambda _out: len(worker.children()) == concurrency, timeout=timeout,
                          what=f"running {concurrency} pool children")
    except Exception:
        worker.stop()
        raise
    return worker


def run_format(app, db_name: str, fmt: str, user_id: int, order_ids: list[int], queue: str,
               reports_dir: Path, log: Path, concurrency: int = 1) -> dict:
    worker = start_worker(process_env(db_name, queue, reports_dir), queue, log, concurrency)
    try:
        idle = worker_memory(worker)
        cold = measure(app, worker, user_id, order_ids[0], fmt)
        warm = [measure(app, worker, user_id, oid, fmt) for oid in order_ids[1:]]
        after = worker_memory(worker)
    finally:
        worker.stop()
    return {
        "db": db_name, "format": fmt, "cold": cold, "warm": warm,
        "cold_ms": cold["e2e_ms"], "warm_ms": statistics.median(w["e2e_ms"] for w in warm),
        "cold_job_ms": cold["job_ms"],
        "warm_job_ms": statistics.median(w["job_ms"] for w in warm),
        "warm_worker_cpu_ms": statistics.median(w["worker_cpu_ms"] for w in warm),
        "warm_worker_cpu_wait_ms": statistics.median(w["worker_cpu_wait_ms"] for w in warm),
        "memory_idle": idle, "memory_after": after,
        "loadavg_1m_after": os.getloadavg()[0],
    }


# --- output -----------------------------------------------------------------------

def evaluate(rows: list[dict]) -> list[dict]:
    out = []
    for r in rows:
        where = f"{r['db']} {r['format']}"
        for case in ("cold", "warm"):
            limit, value = TARGETS[f"{case}_ms"], r[f"{case}_ms"]
            what = "first after start" if case == "cold" else "median of warm"
            out.append({"target": f"one-order {r['format'].upper()} request → COMPLETED "
                                  f"< {limit} ms ({what})",
                        "where": where, "value": value, "limit": limit, "met": value < limit})
    return out


def table(rows: list[dict], targets: list[dict]) -> str:
    met = {(t["where"], "cold" if "first" in t["target"] else "warm"): t["met"] for t in targets}
    verdict = {True: "PASS", False: "**FAIL**"}
    lines = [
        "| db | format | cold ms (job ms) | target | | warm median ms (job ms) | target | "
        "| child peak RSS MB | RSS MB parent+children | PSS MB parent+children | USS MB |",
        "|---|---|---:|---:|---|---:|---:|---|---:|---:|---:|---:|",
    ]
    for r in rows:
        where = f"{r['db']} {r['format']}"
        mem = r["memory_after"]
        lines.append(
            f"| {r['db']} | {r['format'].upper()} | {r['cold_ms']:.0f} ({r['cold_job_ms']:.0f}) "
            f"| < {TARGETS['cold_ms']} | {verdict[met[where, 'cold']]} "
            f"| {r['warm_ms']:.0f} ({r['warm_job_ms']:.0f}) | < {TARGETS['warm_ms']} "
            f"| {verdict[met[where, 'warm']]} | {max(mem['child_hwm_mb']):.0f} "
            f"| {mem['rss_mb']:.0f} | {mem['pss_mb']:.0f} | {mem['uss_mb']:.0f} |")
    lines.append("")
    lines.append("Worker memory idle (ready, before the first job): "
                 + "; ".join(f"{r['db']} {r['format']} RSS {r['memory_idle']['rss_mb']:.0f} / "
                             f"PSS {r['memory_idle']['pss_mb']:.0f} MB" for r in rows))
    lines.append("warm runs, ms: " + "; ".join(
        f"{r['db']} {r['format']} " + " ".join(f"{w['e2e_ms']:.0f}" for w in r["warm"])
        for r in rows))
    lines.append("worker CPU per task (parent + children, /proc/<pid>/schedstat), ms on a CPU "
                 "/ ms waiting for one, cold; warm median: " + "; ".join(
                     f"{r['db']} {r['format']} {r['cold']['worker_cpu_ms']:.0f} / "
                     f"{r['cold']['worker_cpu_wait_ms']:.0f}; {r['warm_worker_cpu_ms']:.0f} / "
                     f"{r['warm_worker_cpu_wait_ms']:.0f}" for r in rows))
    return "\n".join(lines)


# --- main -------------------------------------------------------------------------

def _split(text: str) -> list[str]:
    return [v.strip() for v in text.split(",") if v.strip()]


def parse_args(argv):
    p = argparse.ArgumentParser(prog="python -m bench.small_reports",
                                description=__doc__.split("\n\n")[0])
    p.add_argument("--db", default="sqlite,postgresql", help="sqlite,postgresql (default both)")
    p.add_argument("--formats", default=",".join(FORMATS), help="csv,pdf,xlsx (default all)")
    p.add_argument("--warm", type=int, default=5, help="warm requests per format (default 5)")
    p.add_argument("--concurrency", type=int, default=1,
                   help="pool children of the worker (default 1, as bench/run.py); with more, "
                        "the warm requests go to whichever child is free")
    p.add_argument("--out", type=Path, default=RESULTS_DIR / "small-reports.json")
    args = p.parse_args(argv)
    args.dbs, args.fmts = _split(args.db), _split(args.formats)
    for d in args.dbs:
        if d not in DATABASES:
            p.error(f"unknown database {d!r}")
    for f in args.fmts:
        if f not in FORMATS:
            p.error(f"unknown format {f!r}")
    if args.warm < 1:
        p.error("--warm must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("webapp").setLevel(logging.ERROR)  # the start-up "database=..." line
    from webapp import create_app
    from webapp.extensions import db

    started = time.monotonic()
    logs = DATA_DIR / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    results: dict = {"date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                     "nproc": len(os.sched_getaffinity(0)), "loadavg_at_start": os.getloadavg(),
                     "targets_config": TARGETS, "redis": REDIS_URL,
                     "concurrency": args.concurrency, "reports": []}
    for db_name in args.dbs:
        if db_name == "postgresql":
            ensure_pg_database()
        queue = f"bench-small-{db_name}-{uuid.uuid4().hex[:6]}"
        reports_dir = DATA_DIR / "reports" / f"small-{db_name}"
        shutil.rmtree(reports_dir, ignore_errors=True)
        reports_dir.mkdir(parents=True)
        app = create_app(app_config(db_name, queue, reports_dir))
        say(f"== {db_name}: migrations, {args.warm + 1} orders of {LINES} lines")
        migrate(app)
        user_id, order_ids = ensure_orders(app, args.warm + 1)
        clear_jobs(app, user_id)
        try:
            for fmt in args.fmts:
                say(f"== {db_name} {fmt}: fresh worker, 1 cold + {args.warm} warm requests")
                row = run_format(app, db_name, fmt, user_id, order_ids, queue, reports_dir,
                                 logs / f"worker-small-{db_name}-{fmt}.log", args.concurrency)
                say(f"   cold {row['cold_ms']:.0f} ms, warm median {row['warm_ms']:.0f} ms, "
                    f"PSS {row['memory_after']['pss_mb']:.0f} MB")
                results["reports"].append(row)
        finally:
            clear_jobs(app, user_id)
            with app.app_context():
                db.engine.dispose()
            shutil.rmtree(reports_dir, ignore_errors=True)
            _drop_queue_keys(queue)
    results["targets"] = evaluate(results["reports"])
    results["loadavg_at_end"] = os.getloadavg()
    results["seconds"] = time.monotonic() - started
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2, default=str) + "\n")
    say("")
    say("Small reports: one order of 3 lines, request → COMPLETED through a real worker "
        f"(concurrency {args.concurrency}); memory after the jobs")
    say(table(results["reports"], results["targets"]))
    failed = [t for t in results["targets"] if not t["met"]]
    shown = args.out.relative_to(ROOT) if args.out.is_relative_to(ROOT) else args.out
    say(f"\n{len(results['targets']) - len(failed)} of {len(results['targets'])} targets met"
        f" · results: {shown} · {results['seconds']:.0f} s")
    return 1 if failed else 0


def _drop_queue_keys(queue: str) -> None:
    import redis

    r = redis.Redis.from_url(REDIS_URL)
    for key in r.scan_iter(f"*{queue}*"):
        r.delete(key)


if __name__ == "__main__":
    sys.exit(main())
