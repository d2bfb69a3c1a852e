"""Cost of one request, in-process and one at a time (Flask test client, no
network, no concurrency): milliseconds, SQL statements and Redis round trips per
request for the status partial and for POST /api/reports, plus a cProfile.
What gunicorn adds under load (queueing for 2 cores) is measured by bench.run.

    .venv/bin/python -m bench.profile_http --db postgresql --cprofile
"""
from __future__ import annotations

import argparse
import cProfile
import io
import json
import logging
import pstats
import sys
import tempfile
import time
import uuid
from pathlib import Path

import sqlalchemy as sa

from .common import DATA_DIR, DATE_FROM, DATE_TO, REDIS_URL, app_config, parse_size, percentile
from .data import owner_email


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--db", choices=("sqlite", "postgresql"), required=True)
    p.add_argument("--items", default="100k", help="whose bench user to act as")
    p.add_argument("-n", type=int, default=300, help="requests of each kind")
    p.add_argument("--cprofile", action="store_true")
    p.add_argument("--top", type=int, default=25)
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("webapp").setLevel(logging.ERROR)

    import redis

    from webapp import create_app
    from webapp.auth.services import create_token
    from webapp.extensions import db
    from webapp.models import ReportJob, User

    queue = f"bench-profile-http-{uuid.uuid4().hex[:6]}"
    tmp = Path(tempfile.mkdtemp(dir=DATA_DIR))
    config = app_config(args.db, queue, tmp)
    # as under gunicorn in bench.run: the limiter counts in Redis but never trips
    config.update(RATELIMIT_STORAGE_URI=REDIS_URL, REPORT_RATE_LIMIT="1000000 per minute",
                  REPORT_MAX_OPEN_JOBS=1_000_000)
    app = create_app(config)
    r = redis.Redis.from_url(REDIS_URL)
    jobs = ReportJob.__table__
    with app.app_context():
        owner = db.session.scalar(sa.select(User).where(
            User.email == owner_email(parse_size(args.items))))
        if owner is None:
            sys.exit(f"no bench user for {args.items} on {args.db}: run bench.run first")
        workspace_id = owner.id
        token = create_token(owner, "bench-profile")[1]
        db.session.remove()

    statements = [0]

    @sa.event.listens_for(sa.engine.Engine, "before_cursor_execute")
    def _count(*_):
        statements[0] += 1

    client = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = str(workspace_id)
        session["_fresh"] = True
    api = {"Authorization": f"Bearer {token}"}

    def post(i: int, tag: str):
        body = {"kind": "summary", "format": "csv", "date_from": DATE_FROM.isoformat(),
                "date_to": DATE_TO.isoformat(), "customer": f"bench-profile-{tag}-{i}"}
        resp = client.post("/api/reports", json=body, headers=api)
        assert resp.status_code == 202, (resp.status_code, resp.data[:300])
        return resp.get_json()["id"]

    # a job shown as PROCESSING, as while a large report runs
    job_id = post(0, "target")
    with app.app_context(), db.engine.begin() as conn:
        conn.execute(sa.update(jobs).where(jobs.c.id == job_id).values(
            status="PROCESSING", rows_total=100_000, rows_done=42_000))

    def status(_i: int, _tag: str):
        resp = client.get(f"/reports/{job_id}/status", headers={"HX-Request": "true"})
        assert resp.status_code == 200, resp.status_code
        return None

    redis_calls = [0]
    original = redis.connection.Connection.send_command

    def counting_send(self, *a, **k):
        redis_calls[0] += 1
        return original(self, *a, **k)

    redis.connection.Connection.send_command = counting_send
    report = {}
    try:
        for name, fn in (("GET /reports/<id>/status", status), ("POST /api/reports", post)):
            tag = uuid.uuid4().hex[:6]
            for i in range(20):  # warm up: compiled-statement caches, pools, templates
                fn(i, f"warm{tag}")
            ms, stmts, rcalls = [], [], []
            for i in range(args.n):
                statements[0] = redis_calls[0] = 0
                t0 = time.perf_counter()
                fn(i, tag)
                ms.append((time.perf_counter() - t0) * 1000)
                stmts.append(statements[0])
                rcalls.append(redis_calls[0])
            report[name] = {"n": args.n, "p50_ms": percentile(ms, 50),
                            "p99_ms": percentile(ms, 99), "mean_ms": sum(ms) / len(ms),
                            "sql_statements": max(stmts), "redis_commands": max(rcalls)}
            print(f"{name:<28} p50 {report[name]['p50_ms']:6.2f} ms  p99 "
                  f"{report[name]['p99_ms']:6.2f} ms  mean {report[name]['mean_ms']:6.2f} ms  "
                  f"SQL statements {max(stmts)}  Redis commands {max(rcalls)}")
            if args.cprofile:
                prof = cProfile.Profile()
                prof.enable()
                for i in range(args.n):
                    fn(i, f"prof{tag}")
                prof.disable()
                buf = io.StringIO()
                pstats.Stats(prof, stream=buf).sort_stats("tottime").print_stats(args.top)
                print(f"\n--- cProfile, {args.n} x {name}, by tottime ---")
                print("\n".join(buf.getvalue().splitlines()[4:]))
                buf = io.StringIO()
                pstats.Stats(prof, stream=buf).sort_stats("cumulative").print_stats(
                    r"/(webapp|flask_limiter|flask_login)/|send_task", args.top)
                print(f"\n--- cProfile, {args.n} x {name}, app code by cumulative ---")
                print("\n".join(buf.getvalue().splitlines()[4:]))
    finally:
        redis.connection.Connection.send_command = original
        with app.app_context(), db.engine.begin() as conn:
            conn.execute(sa.update(jobs).where(jobs.c.workspace_id == workspace_id,
                                               jobs.c.status.in_(["PENDING", "PROCESSING"]))
                         .values(status="CANCELLED", claimed_by=None))
        for key in r.scan_iter(f"*{queue}*"):
            r.delete(key)
        tmp.rmdir()
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
