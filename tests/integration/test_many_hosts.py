"""Beyond one machine: a web "host" and two worker "hosts" with no shared
disk (each its own scratch folder and HOSTNAME), on one PostgreSQL, one Redis
and one S3 store (a real SeaweedFS, tests/s3.py). Jobs spread over both
workers; a worker host killed with -9 mid-report loses its job to the other
once the lease runs out (a pid cannot be checked across hosts); every file is
downloaded from the web host; a cancelled job leaves no object behind."""
from __future__ import annotations

import datetime as dt
import signal
from decimal import Decimal

import boto3
import pytest
import requests
import sqlalchemy as sa

from tests.conftest import SESSION, _empty_tables, build_app, logged_in_client, make_user, wait_for
from tests.harness import WORKER_READY, app_env, celery_beat, celery_worker

pytestmark = pytest.mark.integration

CLOCKS = {"REPORT_LEASE_SECONDS": "3", "SWEEP_INTERVAL": "1", "SWEEP_PENDING_AFTER": "3",
          "WORKER_BEAT_SECONDS": "1", "REPORT_MAX_ATTEMPTS": "3"}
HOSTS = ("host-a", "host-b")


class Deployment:
    def __init__(self, tmp, pg_url, redis_url, s3):
        self.tmp, self.s3 = tmp, s3
        self.bucket = s3.bucket()
        self.queue = f"it-hosts-{SESSION}"
        settings = {"REPORTS_STORAGE": f"s3://{self.bucket}/reports",
                    "S3_ENDPOINT_URL": s3.endpoint_url}
        self.env = {**s3.env, **CLOCKS, **settings}
        web_dir = tmp / "web"  # the web host's folder stays empty
        self.app = build_app(pg_url, web_dir, self.queue, redis_url, **settings,
                             REPORT_LEASE_SECONDS=3, REPORT_MAX_OPEN_JOBS=50)
        self.procs = {}
        self.pg_url, self.redis_url = pg_url, redis_url

    def worker(self, host: str):
        scratch = self.tmp / host
        env = app_env(self.pg_url, self.redis_url, self.queue, scratch,
                      **{**self.env, "HOSTNAME": host})
        proc = celery_worker(self.queue, env, self.tmp / f"{host}.log", node=f"w@{host}")
        self.procs[host] = proc.start().wait_ready(WORKER_READY, interval=0.2)
        return proc

    def beat(self):
        env = app_env(self.pg_url, self.redis_url, self.queue, self.tmp / "beat",
                      **{**self.env, "HOSTNAME": "host-beat"})
        self.procs["beat"] = celery_beat(env, self.tmp / "beat.log", self.tmp / "beat-schedule")
        self.procs["beat"].start()

    def objects(self) -> list[str]:
        client = boto3.client("s3", endpoint_url=self.s3.endpoint_url)
        listed = client.list_objects_v2(Bucket=self.bucket)
        return sorted(o["Key"] for o in listed.get("Contents", []))

    def stop(self):
        for proc in self.procs.values():
            proc.stop()


@pytest.fixture(scope="module")
def deployment(tmp_path_factory, pg_url, redis_url, s3_server, pg_app_session):
    d = Deployment(tmp_path_factory.mktemp("hosts"), pg_url, redis_url, s3_server)
    _empty_tables(d.app)
    for host in HOSTS:
        d.worker(host)
    d.beat()
    yield d
    d.stop()


def _seed(workspace_id: int, customer: str, orders: int, items: int) -> None:
    from webapp.extensions import db
    from webapp.models import Order, OrderItem
    from webapp.orders.bulk import order_rows
    from webapp.orders.rollup import rebuild

    now = dt.datetime.now(dt.UTC)
    with db.engine.begin() as conn:
        first = (conn.scalar(sa.select(sa.func.max(Order.id))) or 0) + 1
        conn.execute(sa.insert(Order.__table__), order_rows(conn, [
            {"id": first + n, "workspace_id": workspace_id, "customer": customer,
             "status": "completed", "created_at": now, "updated_at": now,
             "item_count": items, "units": items, "total": Decimal("2.50") * items}
            for n in range(orders)]))
        conn.execute(sa.insert(OrderItem.__table__), [
            {"order_id": first + n, "product": f"Part {i}", "quantity": 1,
             "unit_price": Decimal("2.50")} for n in range(orders) for i in range(items)])
        conn.execute(sa.text("SELECT setval('orders_id_seq', (SELECT max(id) FROM orders))"))
        rebuild(conn, workspace_id)


def _job(client, job_id: int) -> dict:
    return client.get(f"/api/reports/{job_id}").get_json()


def _claimed_by(app, job_id: int) -> str | None:
    """host:pid of the process that started the job's latest attempt."""
    from webapp.extensions import db
    from webapp.models import ReportEvent

    db.session.expire_all()
    return db.session.scalar(sa.select(ReportEvent.worker).where(
        ReportEvent.job_id == job_id, ReportEvent.event.in_(("started", "restarted")))
        .order_by(ReportEvent.id.desc()).limit(1))


def test_jobs_spread_over_two_hosts_a_killed_host_loses_its_job_and_downloads_work(
        deployment):
    d = deployment
    today = dt.date.today().isoformat()
    with d.app.app_context():
        user = make_user("hosts@example.com")
        client = logged_in_client(d.app, user)
        _seed(user.id, "Big", 300, 500)  # 150,000 rows: a PDF takes seconds
        for n in range(6):
            _seed(user.id, f"Small {n}", 20, 50)

        def ask(fmt: str, customer: str) -> int:
            resp = client.post("/api/reports", json={
                "kind": "summary", "format": fmt, "date_from": today, "date_to": today,
                "customer": customer})
            assert resp.status_code == 202, resp.get_json()
            return resp.get_json()["id"]

        # the big one first: one host is busy with it while the other takes the rest
        big = ask("pdf", "Big")
        wait_for(lambda: _job(client, big)["rows_done"] > 0, timeout=60, what="rows flowing")
        busy = _claimed_by(d.app, big).rpartition(":")[0]
        assert busy in HOSTS
        small = [ask(fmt, f"Small {n}") for n in range(6) for fmt in ("csv", "xlsx")]
        # kill -9 the whole worker host that runs the big job, mid-report
        d.procs[busy].signal_group(signal.SIGKILL)
        d.procs[busy].proc.wait()
        ended = {job_id: wait_for(lambda j=job_id: (s := _job(client, j))["status"] in (
            "COMPLETED", "FAILED") and s, timeout=120, what=f"job {job_id}")
                 for job_id in [big, *small]}
        assert {s["status"] for s in ended.values()} == {"COMPLETED"}, ended
        # the other host took the big job over after the lease: attempt 2, its host
        other = next(h for h in HOSTS if h != busy)
        assert ended[big]["attempts"] == 2
        assert _claimed_by(d.app, big).startswith(f"{other}:")
        assert "requeued" in [e["event"] for e in ended[big]["events"]]
        # the small jobs went to both hosts (they were asked while both were up)
        hosts = {_claimed_by(d.app, j).rpartition(":")[0] for j in small}
        assert hosts <= set(HOSTS) and other in hosts
        # every download from the web host: a short-lived presigned URL to the store
        for job_id, state in ended.items():
            resp = client.get(f"/api/reports/{job_id}/download")
            assert resp.status_code == 302, resp.get_data(as_text=True)
            body = requests.get(resp.headers["Location"], timeout=30)
            assert body.status_code == 200 and len(body.content) == state["size"]
            assert body.content[:4] in (b"%PDF", b"PK\x03\x04", b"orde")
            assert "attachment" in body.headers["Content-Disposition"]
        # exactly one object per completed job, nothing else
        assert d.objects() == sorted(f"reports/{_file_name(j)}" for j in ended)
        assert list((d.tmp / "web").iterdir()) == []  # the web host keeps no file

        # a job cancelled mid-run leaves no object behind
        d.worker(busy)  # the host comes back
        again = ask("pdf", "Big")
        wait_for(lambda: _job(client, again)["rows_done"] > 0, timeout=60, what="rows flowing")
        assert client.post(f"/api/reports/{again}/cancel").status_code == 200
        before = d.objects()
        wait_for(lambda: not any(p.name.startswith(f".{again}-")
                                 for h in HOSTS for p in (d.tmp / h).iterdir()),
                 timeout=30, what="the cancelled job's scratch file to go")
        assert _job(client, again)["status"] == "CANCELLED"
        assert d.objects() == before
        assert not any(key.startswith(f"reports/{again}-") for key in d.objects())


def _file_name(job_id: int) -> str:
    from webapp.extensions import db
    from webapp.models import ReportJob

    return db.session.get(ReportJob, job_id).file_name
