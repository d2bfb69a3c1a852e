"""Fixtures: an app on SQLite and on PostgreSQL, a client, and a real Celery
worker process on the real Redis for integration tests.

PostgreSQL (127.0.0.1:5432) and Redis (127.0.0.1:6379) must be running: a
missing service fails the run instead of skipping tests silently."""
from __future__ import annotations

import os
import time
import uuid
from pathlib import Path

import psycopg
import pytest
import redis
import sqlalchemy as sa
from flask import g

from tests.harness import WORKER_READY, Proc, app_env, celery_worker
from tests.s3 import s3_server  # noqa: F401

# real mail and webhook servers for the delivery tests (fixtures: smtp_server,
# smtp_tls_server, webhook_receiver, …)
pytest_plugins = ("tests.smtp", "tests.webhook_receiver")

ROOT = Path(__file__).resolve().parent.parent
PG_ADMIN_URL = os.environ.get("TEST_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/test")
PG_TEST_DB = os.environ.get("TEST_PG_DB", "reportgen_test")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
SESSION = uuid.uuid4().hex[:8]
PASSWORD = "correct-horse-battery"
TABLES = ("mail_sends", "sender_blocks", "schedule_recipients", "signup_requests",
          "notices", "delivery_attempts", "deliveries", "schedule_runs", "schedules",
          "product_months", "report_events", "report_jobs", "order_items", "orders", "worker_beats",
          "api_tokens", "users")


def pytest_configure(config):
    config.addinivalue_line("markers", "integration: needs a real worker, Redis and PostgreSQL")
    config.addinivalue_line("markers", "browser: drives headless Chromium")
    config.addinivalue_line("markers", "faults: kills and restarts real processes (needs root)")


@pytest.fixture(scope="session")
def redis_url() -> str:
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        pytest.fail(f"Redis is not reachable at {REDIS_URL}: {exc}. Start it (see README).")
    return REDIS_URL


@pytest.fixture(scope="session")
def pg_url() -> str:
    try:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=3) as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s",
                                  (PG_TEST_DB,)).fetchone()
            if not exists:
                conn.execute(f'CREATE DATABASE "{PG_TEST_DB}"')
    except psycopg.Error as exc:
        pytest.fail(f"PostgreSQL is not reachable at {PG_ADMIN_URL}: {exc}. Start it (see README).")
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    return f"{base.replace('postgresql://', 'postgresql+psycopg://')}/{PG_TEST_DB}"


def _migrate_fresh(app) -> None:
    from flask_migrate import upgrade

    from webapp.extensions import db

    with app.app_context():
        with db.engine.begin() as conn:
            for table in (*TABLES, "alembic_version"):
                conn.execute(sa.text(f"DROP TABLE IF EXISTS {table} CASCADE"
                                     if conn.dialect.name == "postgresql"
                                     else f"DROP TABLE IF EXISTS {table}"))
        upgrade(directory=str(ROOT / "migrations"))


def _empty_tables(app) -> None:
    from webapp.extensions import db

    with app.app_context(), db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(sa.text(f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY CASCADE"))
        else:
            for table in TABLES:
                conn.execute(sa.text(f"DELETE FROM {table}"))


def build_app(db_url: str, reports_dir: Path, queue: str, broker_url: str, **overrides):
    from webapp import create_app

    config = {
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": db_url,
        "REPORTS_DIR": str(reports_dir),
        "REPORTS_QUEUE": queue,
        "CELERY_BROKER_URL": broker_url,
        "WTF_CSRF_ENABLED": False,
        "STATUS_POLL_SECONDS": 1,
        "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",  # fast: tests make many accounts
        "RATELIMIT_STORAGE_URI": "memory://",
        "REPORT_RATE_LIMIT": "1000 per minute",
        "ORDER_WRITE_RATE_LIMIT": "10000 per minute",
    }
    config.update(overrides)
    app = create_app(config)

    @app.before_request
    def _fresh_identity():
        # Tests hold an app context and the test client reuses it, so `g` would
        # carry the previous request's user (flask-login's cache, the API token's
        # user) into the next one. A real server starts each request afresh.
        g.pop("api_user", None)
        g.pop("_login_user", None)

    app.before_request_funcs[None].insert(0, app.before_request_funcs[None].pop())
    return app


@pytest.fixture(scope="session")
def pg_app_session(pg_url, redis_url, tmp_path_factory):
    app = build_app(pg_url, tmp_path_factory.mktemp("pg-reports"), f"unit-{SESSION}", redis_url)
    _migrate_fresh(app)
    return app


@pytest.fixture(params=["sqlite", "postgresql"])
def app(request, tmp_path, redis_url):
    """The app on each database, with an empty schema built by the migrations."""
    if request.param == "sqlite":
        application = build_app(f"sqlite:///{tmp_path / 'test.sqlite3'}", tmp_path / "reports",
                                f"unit-{SESSION}", redis_url)
        _migrate_fresh(application)
    else:
        application = request.getfixturevalue("pg_app_session")
        _empty_tables(application)
        for f in Path(application.config["REPORTS_DIR"]).iterdir():
            f.unlink()
    saved = dict(application.config)  # the PostgreSQL app lives for the whole session
    with application.app_context():
        yield application
        from webapp.auth.throttle import reset_memory
        from webapp.extensions import db, limiter

        db.session.remove()
        limiter.reset()
        reset_memory()
    application.config.clear()
    application.config.update(saved)


def wait_for(predicate, timeout: float = 30, interval: float = 0.05, what: str = "condition"):
    """Poll until predicate() is truthy and return its value; fail after timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def make_user(email: str, *, admin: bool = False, verified: bool = False):
    from webapp.auth.services import create_user

    return create_user(email, PASSWORD, is_admin=admin, verified=verified)


def logged_in_client(app, user):
    """A client with a session for the pages and an API token for /api."""
    from webapp.auth.services import create_token
    from webapp.security import session_fields

    client = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = str(user.id)
        session["_fresh"] = True
        session.update(session_fields(user))
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {create_token(user, 'tests')[1]}"
    return client


@pytest.fixture
def user(app):
    return make_user("alice@example.com")


@pytest.fixture
def client(app, user):
    return logged_in_client(app, user)


@pytest.fixture
def use_generator(monkeypatch):
    """use_generator(fmt, fn): the task writes `fmt` files with `fn` (to force
    failures), on every database: PostgreSQL's COPY path for CSV is switched
    off too, since it would never call the generator."""
    from tasks import reports as task

    def use(fmt, fn) -> None:
        monkeypatch.setitem(task.GENERATORS, fmt, fn)
        monkeypatch.setattr(task, "copy_csv", lambda *args, **kwargs: None)

    return use


@pytest.fixture
def sent(monkeypatch):
    """Record enqueued job ids instead of publishing them (unit tests only)."""
    calls: list[int] = []
    from webapp.reports import lifecycle

    monkeypatch.setattr(lifecycle, "_publish", calls.append)
    return calls


@pytest.fixture(scope="session", autouse=True)
def _drop_test_queues(redis_url):
    yield
    r = redis.Redis.from_url(redis_url)
    for key in r.scan_iter(f"*{SESSION}*"):
        r.delete(key)


@pytest.fixture(scope="session")
def worker_factory(tmp_path_factory, redis_url):
    """start(db_url, reports_dir, name): a real `celery worker` process for one
    database and one queue, ready to consume; stopped at the end of the session."""
    started: list[Proc] = []

    def start(db_url: str, reports_dir: Path, name: str) -> Proc:
        queue = f"it-{name}-{SESSION}"
        worker = celery_worker(queue, app_env(db_url, redis_url, queue, reports_dir),
                               tmp_path_factory.mktemp("logs") / f"worker-{name}.log")
        started.append(worker.start())
        return worker.wait_ready(WORKER_READY, interval=0.2)

    yield start
    for worker in started:
        worker.stop()
