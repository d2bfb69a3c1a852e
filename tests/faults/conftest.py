"""The fault suite's own services: a private Redis and a private PostgreSQL
instance (real servers, started here), so killing and restarting them does
not disturb anything else on the machine. Needs root (it runs PostgreSQL as
the `postgres` user and mounts a tiny tmpfs for the disk-full case)."""
from __future__ import annotations

import datetime as dt
import glob
import os
import shutil
import signal
import socket
import subprocess
import tempfile
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.conftest import SESSION, _empty_tables, _migrate_fresh, build_app, wait_for
from tests.harness import WORKER_READY, Proc, app_env, celery_beat, celery_worker, free_port

FAULT_ENV = {
    # short clocks so each scenario resolves in seconds, not minutes
    "REPORT_LEASE_SECONDS": "4",
    "SWEEP_INTERVAL": "1",
    "SWEEP_PENDING_AFTER": "3",
    "WORKER_BEAT_SECONDS": "1",
    "REPORT_MAX_ATTEMPTS": "3",
}


class RedisServer:
    def __init__(self, workdir: Path):
        self.port = free_port()
        self.workdir = workdir
        self.proc: Proc | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = Proc(["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
                          "--save", "", "--appendonly", "no", "--dir", str(self.workdir)],
                         os.environ, self.workdir / "redis.log").start()
        self.proc.wait_until(lambda _: self.answers(), timeout=10, what="answering PING")

    def answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as s:
                s.sendall(b"PING\r\n")
                return s.recv(7).startswith(b"+PONG")
        except OSError:
            return False

    def kill(self) -> None:
        if self.proc:
            self.proc.signal_group(signal.SIGKILL)
            self.proc.proc.wait()
            self.proc.stop()  # closes its log


class PostgresServer:
    """initdb + pg_ctl as the postgres user, on a free port, in a temp folder."""

    def __init__(self):
        bins = sorted(glob.glob("/usr/lib/postgresql/*/bin"))
        if not bins:
            pytest.fail("PostgreSQL server binaries not found under /usr/lib/postgresql")
        self.bin = Path(bins[-1])
        self.port = free_port()
        # pytest's temp folders are private to root; the server runs as postgres
        self.workdir = Path(tempfile.mkdtemp(prefix="reportgen-faults-pg-"))
        self.data = self.workdir / "pgdata"
        self.log = self.workdir / "pg.log"

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/faults"

    def _as_postgres(self, *args: str) -> None:
        subprocess.run(["runuser", "-u", "postgres", "--", *args], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)

    def init(self) -> None:
        if os.geteuid() != 0:
            pytest.fail("the fault suite runs its own PostgreSQL and needs root")
        shutil.chown(self.workdir, "postgres")
        self._as_postgres(str(self.bin / "initdb"), "-D", str(self.data), "-A", "trust",
                          "-U", "postgres", "--no-sync")
        self.start()
        self._as_postgres(str(self.bin / "createdb"), "-h", "127.0.0.1", "-p", str(self.port),
                          "-U", "postgres", "faults")

    def start(self) -> None:
        self._as_postgres(str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.log),
                          "-o", f"-p {self.port} -k /tmp -c listen_addresses=127.0.0.1 "
                                f"-c fsync=off", "-w", "start")

    def restart(self) -> None:
        self._as_postgres(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate",
                          "-w", "restart")

    def stop(self) -> None:
        subprocess.run(["runuser", "-u", "postgres", "--", str(self.bin / "pg_ctl"), "-D",
                        str(self.data), "-m", "immediate", "-w", "stop"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        shutil.rmtree(self.workdir, ignore_errors=True)


@pytest.fixture(scope="session")
def fault_services(tmp_path_factory):
    base = tmp_path_factory.mktemp("faults")
    redis = RedisServer(base)
    redis.start()
    pg = PostgresServer()
    pg.init()
    yield redis, pg
    redis.kill()
    pg.stop()


class Cluster:
    """App + workers + beat against the private services, with helpers."""

    def __init__(self, redis: RedisServer, pg: PostgresServer, base: Path):
        self.redis, self.pg, self.base = redis, pg, base
        self.reports = base / "reports"
        self.reports.mkdir(exist_ok=True)
        self.queue = f"faults-{SESSION}"
        self.app = build_app(pg.url, self.reports, self.queue, redis.url)
        self.procs: list[Proc] = []
        self.owner_id: int | None = None

    def login(self) -> None:
        """The user whose orders and jobs the scenarios make (after the schema is fresh)."""
        from tests.conftest import logged_in_client, make_user

        with self.app.app_context():
            user = make_user("faults@example.com")
            self.owner_id = user.id
            self.client = logged_in_client(self.app, user)

    def env(self, **extra) -> dict:
        return app_env(self.pg.url, self.redis.url, self.queue, self.reports,
                       **{**FAULT_ENV, "BROKER_DIR": self.base / "broker", **extra})

    def start(self, proc: Proc) -> Proc:
        """Start a process that stop_all() (and the fixture's teardown) will stop."""
        self.procs.append(proc.start())
        return proc

    def worker(self, name: str = "w", concurrency: int = 1, **env) -> Proc:
        label = f"{name}-{len(self.procs)}"
        return self.start(celery_worker(self.queue, self.env(**env), self.base / f"{label}.log",
                                        node=f"{label}@%h", concurrency=concurrency)
                          ).wait_ready(WORKER_READY)

    def beat(self) -> Proc:
        label = f"beat-{len(self.procs)}"
        return self.start(celery_beat(self.env(), self.base / f"{label}.log", self.base / label))

    def stop_all(self) -> None:
        for proc in self.procs:
            proc.stop()
        self.procs.clear()

    # -- data and jobs ----------------------------------------------------
    def seed(self, orders: int, items: int, customer: str = "Bulk Ltd") -> None:
        """Completed orders inserted in bulk (fast), dated today."""
        from webapp.extensions import db
        from webapp.models import Order, OrderItem

        now = dt.datetime.now(dt.UTC)
        with self.app.app_context(), db.engine.begin() as conn:
            first = (conn.scalar(sa.select(sa.func.max(Order.id))) or 0) + 1
            conn.execute(sa.insert(Order.__table__), [
                {"id": first + n, "owner_id": self.owner_id, "customer": customer,
                 "status": "completed", "created_at": now,
                 "updated_at": now, "item_count": items, "units": items,
                 "total": Decimal("2.50") * items} for n in range(orders)])
            conn.execute(sa.insert(OrderItem.__table__), [
                {"order_id": first + n, "product": f"Ürün {i} Ελληνικά", "quantity": 1,
                 "unit_price": Decimal("2.50")} for n in range(orders) for i in range(items)])
            if conn.dialect.name == "postgresql":
                conn.execute(sa.text(
                    "SELECT setval('orders_id_seq', (SELECT max(id) FROM orders))"))
            from webapp.orders.rollup import rebuild

            rebuild(conn, self.owner_id)  # Core inserts bypass the ORM hook

    def request(self, fmt: str = "pdf", customer: str | None = "Bulk Ltd") -> dict:
        today = dt.date.today().isoformat()
        with self.app.app_context():
            resp = self.client.post("/api/reports", json={
                "kind": "summary", "format": fmt, "date_from": today, "date_to": today,
                "customer": customer})
            assert resp.status_code in (200, 202), resp.get_json()
            return resp.get_json()

    def job(self, job_id: int) -> dict:
        from webapp.extensions import db

        with self.app.app_context():
            try:
                return self.client.get(f"/api/reports/{job_id}").get_json()
            finally:
                db.session.remove()

    def claimed_by_pid(self, job_id: int) -> int | None:
        """The pid of the process running the job (an operator's view: users
        never see it), from the job row."""
        from webapp.extensions import db
        from webapp.models import ReportJob

        with self.app.app_context():
            try:
                owner = db.session.get(ReportJob, job_id).claimed_by
            finally:
                db.session.remove()
        return int(owner.rsplit(":", 1)[1]) if owner else None

    def wait_status(self, job_id: int, statuses, timeout: float = 90) -> dict:
        statuses = {statuses} if isinstance(statuses, str) else set(statuses)
        return wait_for(lambda: (j := self.job(job_id))["status"] in statuses and j,
                        timeout=timeout, interval=0.05, what=f"job {job_id} in {statuses}")

    def files(self) -> list[str]:
        return sorted(p.name for p in self.reports.iterdir())

    def assert_clean(self, job: dict) -> None:
        """Exactly the job's file if it completed, and never a leftover .tmp."""
        names = self.files()
        assert not [n for n in names if n.endswith(".tmp")], names
        if job["status"] == "COMPLETED":
            assert len([n for n in names if n.startswith(f"{job['id']}-")]) == 1, names


@pytest.fixture
def cluster(fault_services, tmp_path):
    redis, pg = fault_services
    if not redis.answers():
        redis.start()
    c = Cluster(redis, pg, tmp_path)
    _migrate_fresh(c.app)
    _empty_tables(c.app)
    c.login()
    yield c
    c.stop_all()
