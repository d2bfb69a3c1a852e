"""Live status: what open pages cost the server (part of `bench.run` unless
--skip-live), on gunicorn (2 workers x 4 threads) and the bench database.

1. Requests per tab. A tab's polling is deterministic: the page renders one
   poller whose `hx-trigger="load delay:Nms"` says when it asks, and each
   answer renders the poller again with its next delay (or none once nothing
   is active). So a tab is simulated by following exactly that chain against
   the real server: GET /reports/ (a user with 1, then 10 active jobs), then
   GET /reports/live with the page's `.live-param` inputs, waiting (on a
   virtual clock: the rendered delay plus the measured response time) what
   each answer says, updating the inputs from the out-of-band rows as htmx
   would. Counted: requests in the first 10 s and over 60 s. The old page
   (one `hx-trigger="every STATUS_POLL_SECONDS s"` per active badge) is
   counted by its rule: jobs / STATUS_POLL_SECONDS requests per second, the
   first after STATUS_POLL_SECONDS.
2. Load: `tabs` open tabs (default 200), each showing `jobs_per_tab` active
   jobs (5), spread over `users` accounts; each tab polls GET /reports/live
   every STATUS_POLL_SECONDS (its steady interval) from a random phase, for
   `seconds`. Then, in the same run and on the same server and jobs, the old
   way: every badge of every tab polls GET /reports/<id>/status every
   STATUS_POLL_SECONDS (tabs x jobs pollers). Latency from send to last byte,
   each request on its own loopback connection (as http_load.py).

Jobs are written into the database directly (PENDING and PROCESSING, never
queued, no worker runs: they stay active throughout) and deleted afterwards."""
from __future__ import annotations

import random
import re
import sys
import threading
import time
import uuid
from urllib.parse import urlencode

import sqlalchemy as sa

from tests.harness import free_port

from .common import DATE_FROM, DATE_TO, PASSWORD, percentile, process_env
from .http_load import Stats, _request, login
from .procs import start_gunicorn

# gunicorn's access log, one line per request: marker, path, status, microseconds
ACCESS_FORMAT = "TIMED %(U)s %(s)s %(D)s"
TIMED = re.compile(r"^TIMED (\S+) (\d+) (\d+)$", re.M)
PARAM = re.compile(r'<input type="hidden" class="live-param" name="(\w+)" value="([^"]*)">')
OOB_JOB = re.compile(r'id="job-(\d+)(?:-status)?"[^>]*hx-swap-oob="true"')
DELAY = re.compile(r'<div id="job-poller"[^>]*hx-trigger="load delay:(\d+)ms"')


# --- the jobs and accounts ----------------------------------------------------------

def _user(email: str) -> int:
    from webapp.auth.services import create_user
    from webapp.extensions import db
    from webapp.models import User

    user = db.session.scalar(sa.select(User).where(User.email == email))
    return (user or create_user(email, PASSWORD)).id


def _insert_jobs(workspace_id: int, count: int, tag: str) -> list[int]:
    """`count` active summary jobs of the owner: 3 in 5 PENDING, the rest
    PROCESSING at 25 % (they render differently, both are polled)."""
    from webapp.extensions import db
    from webapp.models import JobStatus, ReportFormat, ReportJob, ReportKind, utcnow
    from webapp.reports.params import ReportParams

    now = utcnow()
    rows = []
    for k in range(count):
        processing = k % 5 >= 3
        params = ReportParams.summary(DATE_FROM, DATE_TO, f"live {tag} {k}")
        rows.append({
            "workspace_id": workspace_id, "kind": ReportKind.SUMMARY, "format": ReportFormat.CSV,
            "params": params.to_json(), "dedupe_key": f"bench-live-{uuid.uuid4().hex}",
            "status": JobStatus.PROCESSING if processing else JobStatus.PENDING,
            "attempts": 1 if processing else 0, "max_attempts": 3,
            "rows_total": 100_000 if processing else None,
            "rows_done": 25_000 if processing else 0,
            "started_at": now if processing else None, "created_at": now, "enqueued_at": now,
        })
    table = ReportJob.__table__
    with db.engine.begin() as conn:
        ids = [conn.execute(sa.insert(table).values(**row).returning(table.c.id)).scalar_one()
               for row in rows]
    return ids


def _delete_jobs(app, workspace_ids: list[int]) -> None:
    from webapp.extensions import db
    from webapp.models import ReportEvent, ReportJob

    jobs, events = ReportJob.__table__, ReportEvent.__table__
    with app.app_context(), db.engine.begin() as conn:
        mine = sa.select(jobs.c.id).where(jobs.c.workspace_id.in_(workspace_ids))
        conn.execute(sa.delete(events).where(events.c.job_id.in_(mine)))
        conn.execute(sa.delete(jobs).where(jobs.c.workspace_id.in_(workspace_ids)))


# --- one tab, as htmx runs it -----------------------------------------------------------

class Tab:
    """What a page holds for its poller: its .live-param inputs (the poller's
    step and view, one "id:state" per active job) and the poller's delay."""

    def __init__(self, html: str):
        self.step, self.view, self.jobs = "0", "row", {}
        self.delay_ms: int | None = None
        self.apply(html)

    def apply(self, html: str) -> None:
        """Take in a page or a poll answer: the new poller, rows swapped out of band."""
        m = DELAY.search(html)
        self.delay_ms = int(m.group(1)) if m else None
        for job_id in OOB_JOB.findall(html):
            self.jobs.pop(int(job_id), None)  # replaced: its new input (if any) follows
        for name, value in PARAM.findall(html):
            if name == "job":
                self.jobs[int(value.split(":", 1)[0])] = value
            elif name == "step":
                self.step = value
            elif name == "view":
                self.view = value

    def query(self) -> str:
        return urlencode([("job", v) for v in self.jobs.values()]
                         + [("step", self.step), ("view", self.view)])


def count_tab_requests(port: int, cookie: str, horizon: float) -> list[float]:
    """Open /reports/ and follow the poller's own schedule for `horizon` s of
    virtual time (rendered delays + measured response times; no sleeping):
    the virtual times at which the tab's poll requests go out."""
    headers = {"Cookie": cookie, "HX-Request": "true"}
    status, _, body = _request(port, "GET", "/reports/", headers={"Cookie": cookie})
    if status != 200:
        raise RuntimeError(f"/reports/: {status}")
    tab, t, sent = Tab(body.decode()), 0.0, []
    while tab.delay_ms is not None:
        t += tab.delay_ms / 1000
        if t > horizon:
            break
        t0 = time.perf_counter()
        status, _, body = _request(port, "GET", f"/reports/live?{tab.query()}", headers=headers)
        if status != 200:
            raise RuntimeError(f"/reports/live: {status}")
        sent.append(t)
        t += time.perf_counter() - t0
        tab.apply(body.decode())
    return sent


def per_tab(port: int, cookie: str, active: int, poll_seconds: float) -> dict:
    first10 = count_tab_requests(port, cookie, 10.0)
    minute = count_tab_requests(port, cookie, 60.0)
    return {
        "active_jobs": active,
        "new": {"first_check_s": first10[0] if first10 else None,
                "requests_first_10s": len(first10), "rps_first_10s": len(first10) / 10,
                "requests_60s": len(minute), "rps_60s": len(minute) / 60,
                "schedule_first_10s": [round(x, 3) for x in first10]},
        # one `hx-trigger="every {poll_seconds}s"` per active badge, the first after one interval
        "old": {"first_check_s": poll_seconds,
                "requests_first_10s": active * int(10 // poll_seconds),
                "rps_first_10s": active * int(10 // poll_seconds) / 10,
                "requests_60s": active * int(60 // poll_seconds),
                "rps_60s": active * int(60 // poll_seconds) / 60},
    }


# --- load: many open tabs -----------------------------------------------------------

def _poll_tab(port, cookie, tab: Tab, interval, deadline, stats: Stats):
    headers = {"Cookie": cookie, "HX-Request": "true"}
    next_at = time.monotonic() + random.random() * interval
    while True:
        delay = next_at - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        if time.monotonic() >= deadline:
            return
        t0 = time.perf_counter()
        try:
            status, _, body = _request(port, "GET", f"/reports/live?{tab.query()}",
                                       headers=headers)
        except OSError as exc:
            with stats.lock:
                stats.errors.append(repr(exc))
        else:
            stats.add((time.perf_counter() - t0) * 1000, status)
            tab.apply(body.decode())
            changed = len(OOB_JOB.findall(body.decode()))
            with stats.lock:
                stats.seen["rows_swapped"] = stats.seen.get("rows_swapped", 0) + changed
        next_at = next_at + interval


def _poll_badges(port, cookie, job_ids, interval, deadline, stats: Stats):
    """One tab of the old page: each active badge polls its own status partial."""
    headers = {"Cookie": cookie, "HX-Request": "true"}
    due = sorted((time.monotonic() + random.random() * interval, j) for j in job_ids)
    while True:
        at, job_id = due.pop(0)
        delay = at - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        if time.monotonic() >= deadline:
            return
        t0 = time.perf_counter()
        try:
            status, _, _ = _request(port, "GET", f"/reports/{job_id}/status", headers=headers)
        except OSError as exc:
            with stats.lock:
                stats.errors.append(repr(exc))
        else:
            stats.add((time.perf_counter() - t0) * 1000, status)
        due.append((at + interval, job_id))
        due.sort()


def _load(web, target, args_of, tabs: int, seconds: float) -> dict:
    """Run one thread per tab for `seconds`; latency as the client saw it, and
    as gunicorn timed it (its access log: from handling start to response
    written, so without waiting for a free thread)."""
    stats = Stats()
    before = len(web.output())
    deadline = time.monotonic() + seconds
    threads = [threading.Thread(target=target, daemon=True, args=(*args_of(i), deadline, stats))
               for i in range(tabs)]
    # 200 client threads in one process: a short GIL switch interval keeps the
    # client's own scheduling out of the latency it measures
    switch = sys.getswitchinterval()
    sys.setswitchinterval(0.0005)
    t0 = time.monotonic()
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(seconds + 60)
    finally:
        sys.setswitchinterval(switch)
    elapsed = time.monotonic() - t0
    time.sleep(0.5)  # the last access-log lines
    server_ms = [int(us) / 1000 for path, _, us in TIMED.findall(web.output()[before:])
                 if path.startswith("/reports/")]
    return {**stats.summary(elapsed), "server_n": len(server_ms),
            "server_p50_ms": percentile(server_ms, 50),
            "server_p99_ms": percentile(server_ms, 99)}


def run(app, db_name: str, queue: str, reports_dir, log_dir, *, tabs: int = 200,
        jobs_per_tab: int = 5, users: int = 20, seconds: float = 15, say=print) -> dict:
    from webapp.extensions import db
    from webapp.models import WorkerBeat

    poll_seconds = app.config["STATUS_POLL_SECONDS"]
    users = max(1, min(users, tabs))
    with app.app_context():
        # no worker runs in this part: say so on every page, whatever ran before
        with db.engine.begin() as conn:
            conn.execute(sa.delete(WorkerBeat.__table__))
        one, ten = _user("bench-tab-1@bench.example"), _user("bench-tab-10@bench.example")
        owners = [_user(f"bench-tabs-{u}@bench.example") for u in range(users)]
        _delete_jobs(app, [one, ten, *owners])
        _insert_jobs(one, 1, "one")
        _insert_jobs(ten, 10, "ten")
        tab_jobs = [_insert_jobs(owners[t % users], jobs_per_tab, f"tab {t}") for t in range(tabs)]
        db.session.remove()
    env = process_env(db_name, queue, reports_dir)
    port = free_port()
    web = start_gunicorn(env, port, log_dir / f"gunicorn-live-{db_name}.log", extra=(
        "--access-logfile", "-", "--access-logformat", ACCESS_FORMAT))
    result: dict = {"db": db_name, "gunicorn": "2 workers x 4 threads (gthread)",
                    "poll_seconds": poll_seconds,
                    "first_ms": app.config["STATUS_POLL_FIRST_MS"]}
    try:
        say("  live: requests per tab (1 and 10 active jobs), simulated schedule")
        result["per_tab"] = {
            str(n): per_tab(port, login(port, email, PASSWORD), n, poll_seconds)
            for n, email in ((1, "bench-tab-1@bench.example"),
                             (10, "bench-tab-10@bench.example"))}
        cookies = [login(port, f"bench-tabs-{u}@bench.example", PASSWORD) for u in range(users)]
        # each tab's inputs as its page renders them (the jobs' states included)
        pages = []
        for t in range(tabs):
            tab = Tab("")
            tab.jobs = {j: f"{j}:?" for j in tab_jobs[t]}
            status, _, body = _request(port, "GET", f"/reports/live?{tab.query()}", headers={
                "Cookie": cookies[t % users], "HX-Request": "true"})
            if status != 200:
                raise RuntimeError(f"/reports/live: {status}")
            tab.apply(body.decode())
            tab.step = "9"  # a tab open for a while: at the steady interval
            if len(tab.jobs) != jobs_per_tab:
                raise RuntimeError(f"tab {t} follows {len(tab.jobs)} jobs, not {jobs_per_tab}")
            pages.append(tab)

        say(f"  live: {tabs} tabs x {jobs_per_tab} active jobs, one poll per tab every "
            f"{poll_seconds} s, {seconds:.0f} s")
        new = _load(web, _poll_tab, lambda i: (port, cookies[i % users], pages[i],
                                               poll_seconds), tabs, seconds)
        say(f"  live: the old page, {tabs * jobs_per_tab} badges polling each every "
            f"{poll_seconds} s, {seconds:.0f} s")
        old = _load(web, _poll_badges, lambda i: (port, cookies[i % users], tab_jobs[i],
                                                  poll_seconds), tabs, seconds)
        result["load"] = {
            "tabs": tabs, "jobs_per_tab": jobs_per_tab, "users": users, "seconds": seconds,
            "new": {"request": f"GET /reports/live ({jobs_per_tab} jobs)",
                    "offered_rps": tabs / poll_seconds, **new},
            "old": {"request": "GET /reports/<id>/status (1 job)",
                    "offered_rps": tabs * jobs_per_tab / poll_seconds, **old},
        }
        if "Traceback" in web.output():
            result["gunicorn_tracebacks"] = web.output().count("Traceback")
    finally:
        web.stop()
        with app.app_context():
            _delete_jobs(app, [one, ten, *owners])
    return result
