"""50 simulated users against gunicorn, a worker and beat (locust, headless,
bounded): no 5xx, every job ends final, the queue drains."""
from __future__ import annotations

import csv
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.conftest import ROOT, wait_for
from tests.harness import GUNICORN_BOOTED, free_port, gunicorn

pytestmark = [pytest.mark.faults, pytest.mark.integration]

USERS = int(os.environ.get("LOAD_USERS", "50"))
SECONDS = int(os.environ.get("LOAD_SECONDS", "60"))


def test_fifty_users_get_no_5xx_and_every_job_ends_final(cluster, tmp_path):
    from tests.conftest import PASSWORD, make_user
    from webapp.auth.services import create_token

    accounts = tmp_path / "accounts.txt"
    with cluster.app.app_context():
        lines = []
        for n in range(USERS):
            user = make_user(f"load{n}@example.com")
            lines.append(f"{user.email} {PASSWORD} {create_token(user, 'load')[1]}")
    accounts.write_text("\n".join(lines) + "\n")
    cluster.worker(concurrency=2)
    cluster.beat()
    port = free_port()
    web = cluster.start(gunicorn(port, cluster.env(), tmp_path / "web.log", workers=2, threads=8,
                                 # longer than any user's pause, so gunicorn never closes an
                                 # idle keep-alive connection just as the client reuses it (a
                                 # reset that says nothing about the app)
                                 extra=("--keep-alive", "30")))
    web.wait_ready(GUNICORN_BOOTED, port=port, timeout=30)
    time.sleep(1)
    stats = tmp_path / "load"
    run = subprocess.run(
        [str(Path(sys.executable).parent / "locust"),
         "-f", str(ROOT / "tests/faults/locustfile.py"),
         "--headless", "-u", str(USERS), "-r", "10", "-t", f"{SECONDS}s", "--stop-timeout", "5",
         "--host", f"http://127.0.0.1:{port}", "--csv", str(stats), "--only-summary"],
        capture_output=True, text=True, timeout=SECONDS + 120, cwd=ROOT,
        env={**os.environ, "LOAD_ACCOUNTS": str(accounts)})
    with open(f"{stats}_stats.csv", newline="") as f:
        rows = {r["Name"]: r for r in csv.DictReader(f)}
    with open(f"{stats}_failures.csv", newline="") as f:
        failures = list(csv.DictReader(f))
    table = "\n".join(
        f"{name:32} n={r['Request Count']:>6} fail={r['Failure Count']:>3} "
        f"p50={r['50%']}ms p95={r['95%']}ms p99={r['99%']}ms"
        for name, r in rows.items())
    print(f"\nload: {USERS} users for {SECONDS}s\n{table}")
    assert rows["Aggregated"]["Request Count"] != "0", run.stdout[-2000:] + run.stderr[-2000:]
    server_errors = [f for f in failures if "50" in f["Error"]]
    assert not server_errors, failures
    assert not failures, failures  # 4xx would be our fault too: the users send valid input
    assert "Traceback" not in web.output()

    from webapp.extensions import db
    from webapp.models import ReportJob

    def all_final():
        with cluster.app.app_context():
            counts = dict(db.session.execute(
                sa.select(ReportJob.status, sa.func.count()).group_by(ReportJob.status)).all())
            db.session.remove()
        return counts if not ({"PENDING", "PROCESSING"} & {s.value for s in counts}) else None

    final = wait_for(all_final, timeout=180, interval=1, what="the queue to drain")
    print(f"jobs by final state: { {s.value: n for s, n in final.items()} }")
    assert set(s.value for s in final) <= {"COMPLETED"}, final
    assert not [n for n in cluster.files() if n.endswith(".tmp")]
