"""Request side: gunicorn (2 workers x 4 threads) + one Celery worker on the bench
database, driven over loopback HTTP.

1. Load window (bounded, default 20 s) while large PDF reports generate in the
   worker: `pollers` clients poll ``GET /reports/<id>/status`` (the HTMX status
   partial, session cookie) every `poll_interval` s on a fixed schedule (the page
   polls every STATUS_POLL_SECONDS = 2 s), and `posters` clients send
   ``POST /api/reports`` (API token) every `post_interval` s, each with a
   distinct customer filter so every request creates a new job (equal
   parameters while a job is pending would return that job: 200 instead of 202).
2. Pickup: ~30 small jobs, one at a time on an idle worker: time from the POST's
   response to the job's ``started_at`` (the worker's claim).

Each client request opens its own loopback connection (no keep-alive)."""
from __future__ import annotations

import http.client
import json
import random
import re
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import urlencode

import sqlalchemy as sa

from tests.harness import free_port

from .common import DATE_FROM, DATE_TO, PASSWORD, percentile, process_env
from .procs import start_gunicorn, start_worker


def _request(port: int, method: str, path: str, body: bytes | None = None,
             headers: dict | None = None, timeout: float = 30):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        data = resp.read()
        return resp.status, resp.getheaders(), data
    finally:
        conn.close()


def _cookie(headers) -> str | None:
    for name, value in headers:
        if name.lower() == "set-cookie" and value.startswith("session="):
            return value.split(";", 1)[0]
    return None


def login(port: int, email: str, password: str) -> str:
    """Log in through the real form (CSRF token and all); returns the session cookie."""
    status, headers, body = _request(port, "GET", "/login")
    cookie = _cookie(headers)
    m = re.search(rb'name="csrf_token"[^>]*value="([^"]+)"', body)
    if status != 200 or not cookie or not m:
        raise RuntimeError(f"login page: {status}")
    form = urlencode({"email": email, "password": password, "csrf_token": m.group(1).decode(),
                      "next": "/reports/"}).encode()
    status, headers, body = _request(port, "POST", "/login", form, {
        "Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded"})
    cookie = _cookie(headers)
    if status != 303 or not cookie:
        raise RuntimeError(f"login failed: {status} {body[:300]!r}")
    return cookie


def _summary_body(fmt: str, customer: str | None = None, date_to=DATE_TO) -> bytes:
    return json.dumps({"kind": "summary", "format": fmt, "date_from": DATE_FROM.isoformat(),
                       "date_to": date_to.isoformat(), "customer": customer}).encode()


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.ms: list[float] = []
        self.codes: dict[str, int] = {}
        self.errors: list[str] = []
        self.seen: dict[str, int] = {}  # job status shown by the partial

    def add(self, ms: float, code: int | str) -> None:
        with self.lock:
            self.ms.append(ms)
            self.codes[str(code)] = self.codes.get(str(code), 0) + 1

    def summary(self, seconds: float) -> dict:
        ms = self.ms
        return {"n": len(ms), "rps": len(ms) / seconds if seconds else None,
                "p50_ms": percentile(ms, 50), "p95_ms": percentile(ms, 95),
                "p99_ms": percentile(ms, 99), "max_ms": max(ms) if ms else None,
                "codes": self.codes, "errors": self.errors[:5], "n_errors": len(self.errors),
                "status_seen": self.seen}


def _poller(port, cookie, job_id, interval, deadline, stats: Stats):
    headers = {"Cookie": cookie, "HX-Request": "true"}
    path = f"/reports/{job_id}/status"
    next_at = time.monotonic() + random.random() * interval  # spread the clients
    while True:
        delay = next_at - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        if time.monotonic() >= deadline:
            return
        t0 = time.perf_counter()
        try:
            status, _, body = _request(port, "GET", path, headers=headers)
        except OSError as exc:
            with stats.lock:
                stats.errors.append(repr(exc))
        else:
            stats.add((time.perf_counter() - t0) * 1000, status)
            m = re.search(rb'data-status="(\w+)"', body)
            key = m.group(1).decode() if m else "?"
            with stats.lock:
                stats.seen[key] = stats.seen.get(key, 0) + 1
        next_at = next_at + interval if interval > 0 else time.monotonic()


def _poster(port, token, tag, interval, deadline, stats: Stats, created: list[int]):
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    i = 0
    next_at = time.monotonic() + random.random() * interval
    while True:
        delay = next_at - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        if time.monotonic() >= deadline:
            return
        i += 1
        body = _summary_body("csv", customer=f"bench-load-{tag}-{i}")
        t0 = time.perf_counter()
        try:
            status, _, data = _request(port, "POST", "/api/reports", body, headers)
        except OSError as exc:
            with stats.lock:
                stats.errors.append(repr(exc))
        else:
            stats.add((time.perf_counter() - t0) * 1000, status)
            if status in (200, 202):
                with stats.lock:
                    created.append(json.loads(data)["id"])
        next_at += interval


def _job_row(app, job_id: int):
    from webapp.extensions import db
    from webapp.models import ReportJob

    t = ReportJob.__table__
    with app.app_context(), db.engine.connect() as conn:
        return conn.execute(sa.select(t.c.status, t.c.started_at, t.c.finished_at, t.c.created_at)
                            .where(t.c.id == job_id)).one()


def _wait(predicate, timeout: float, interval: float = 0.05, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise RuntimeError(f"timed out after {timeout}s waiting for {what}")


def _cancel_active(app, workspace_id: int) -> int:
    """Cancel every active job of the bench user (the load's leftovers) in the database."""
    from webapp.extensions import db
    from webapp.models import ReportJob

    t = ReportJob.__table__
    with app.app_context(), db.engine.begin() as conn:
        return conn.execute(sa.update(t).where(t.c.workspace_id == workspace_id,
                                               t.c.status.in_(["PENDING", "PROCESSING"]))
                            .values(status="CANCELLED", claimed_by=None)).rowcount


def _purge_queue(queue: str) -> None:
    import redis

    from .common import REDIS_URL

    r = redis.Redis.from_url(REDIS_URL)
    r.delete(queue)


def run(app, db_name: str, workspace_id: int, email: str, queue: str, reports_dir: Path,
        log_dir: Path, *, seconds: float = 20, pollers: int = 50, poll_interval: float = 2.0,
        posters: int = 2, post_interval: float = 0.25, pickup_jobs: int = 30,
        big_format: str = "pdf", say=print) -> dict:
    from webapp.auth.services import create_token
    from webapp.extensions import db
    from webapp.models import User

    # Limits raised so the bench measures the request path, not 429s: the rate
    # limiter still runs (against Redis), it just never trips.
    env = process_env(db_name, queue, reports_dir, REPORT_RATE_LIMIT="1000000 per minute",
                      REPORT_MAX_OPEN_JOBS="1000000")
    worker = start_worker(env, queue, log_dir / f"http-worker-{db_name}.log")
    port = free_port()
    web = None
    result: dict = {"db": db_name, "gunicorn": "2 workers x 4 threads (gthread)",
                    "limits": {"REPORT_RATE_LIMIT": "1000000 per minute",
                               "REPORT_MAX_OPEN_JOBS": 1000000}}
    try:
        web = start_gunicorn(env, port, log_dir / f"gunicorn-{db_name}.log")
        with app.app_context():
            user = db.session.get(User, workspace_id)
            token = create_token(user, "bench")[1]
            db.session.remove()
        cookie = login(port, email, PASSWORD)
        api = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

        # Large reports keeping the worker busy through the window; distinct date_to
        # (past the data) gives the same rows under a new dedupe key.
        big_ids = []
        for k in range(6 if big_format != "none" else 0):
            to = DATE_TO.replace(year=DATE_TO.year + 1) if k else DATE_TO
            to = to.fromordinal(to.toordinal() + k)
            status, _, data = _request(port, "POST", "/api/reports",
                                       _summary_body(big_format, date_to=to), api)
            if status != 202:
                raise RuntimeError(f"big report request: {status} {data[:300]!r}")
            big_ids.append(json.loads(data)["id"])
        if big_ids:
            _wait(lambda: _job_row(app, big_ids[0]).status == "PROCESSING", 60,
                  what="the large report to start")
        else:  # idle worker: the pollers watch a small finished job
            status, _, data = _request(port, "POST", "/api/reports",
                                       _summary_body("csv", customer="bench-idle"), api)
            big_ids = [json.loads(data)["id"]]
            _wait(lambda: _job_row(app, big_ids[0]).status == "COMPLETED", 60,
                  what="the small report")

        say(f"  load: {pollers} pollers every {poll_interval}s + {posters} posters every "
            f"{post_interval}s for {seconds}s")
        polls, posts = Stats(), Stats()
        created: list[int] = []
        deadline = time.monotonic() + seconds
        tag = uuid.uuid4().hex[:6]
        threads = [threading.Thread(target=_poller, daemon=True, args=(
            port, cookie, big_ids[i % min(2, len(big_ids))], poll_interval, deadline, polls))
            for i in range(pollers)]
        threads += [threading.Thread(target=_poster, daemon=True, args=(
            port, token, f"{tag}-{i}", post_interval, deadline, posts, created))
            for i in range(posters)]
        t0 = time.monotonic()
        for t in threads:
            t.start()
        for t in threads:
            t.join(seconds + 60)
        elapsed = time.monotonic() - t0
        big_status = [_job_row(app, i).status for i in big_ids]
        result["load"] = {
            "seconds": elapsed, "pollers": pollers, "poll_interval_s": poll_interval,
            "posters": posters, "post_interval_s": post_interval,
            "large_report": (f"summary {big_format}, {len(big_ids)} queued"
                             if big_format != "none" else "none (idle worker)"),
            "large_report_status_after": big_status,
            "status_partial": polls.summary(elapsed), "post_api_reports": posts.summary(elapsed),
        }

        # Clean up: cancel the running large report through the API (the worker
        # notices and stops), drop the rest in the database, empty the queue.
        for i in big_ids:
            _request(port, "POST", f"/api/reports/{i}/cancel", b"", api)
        _cancel_active(app, workspace_id)
        _purge_queue(queue)
        time.sleep(1.5)  # let the worker notice the cancellation and go idle

        say(f"  pickup: {pickup_jobs} small jobs, one at a time")
        pickup, post_to_start, created_to_start = [], [], []
        for i in range(pickup_jobs):
            body = _summary_body("csv", customer=f"bench-pickup-{tag}-{i}")
            t_req = time.time()
            status, _, data = _request(port, "POST", "/api/reports", body, api)
            t_ret = time.time()
            if status != 202:
                raise RuntimeError(f"pickup request: {status} {data[:300]!r}")
            job_id = json.loads(data)["id"]
            row = _wait(lambda jid=job_id: (r := _job_row(app, jid)).status in (
                "COMPLETED", "FAILED", "CANCELLED") and r, 30, 0.005, what="a pickup job")
            if row.status != "COMPLETED" or row.started_at is None:
                raise RuntimeError(f"pickup job {job_id} ended {row.status}")
            started = row.started_at.timestamp()
            pickup.append((started - t_ret) * 1000)
            post_to_start.append((started - t_req) * 1000)
            created_to_start.append((started - row.created_at.timestamp()) * 1000)
        result["pickup"] = {
            "n": len(pickup),
            # the worker may claim the job before the POST's response has arrived: < 0
            "claimed_before_response": sum(1 for v in pickup if v < 0),
            "after_response_ms": {"p50": percentile(pickup, 50), "p99": percentile(pickup, 99),
                                  "max": max(pickup)},
            "after_request_start_ms": {"p50": percentile(post_to_start, 50),
                                       "p99": percentile(post_to_start, 99)},
            "after_row_insert_ms": {"p50": percentile(created_to_start, 50),
                                    "p99": percentile(created_to_start, 99)},
        }
        if "Traceback" in web.output():
            result["gunicorn_tracebacks"] = web.output().count("Traceback")
    finally:
        if web is not None:
            web.stop()
        worker.stop()
        _cancel_active(app, workspace_id)
        _purge_queue(queue)
    return result
