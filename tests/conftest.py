"""Fixtures: an app on SQLite and on PostgreSQL, a client, and a real Celery
worker process on the real Redis for integration tests.

PostgreSQL and Redis: the ones at TEST_PG_ADMIN_URL and TEST_REDIS_URL
(127.0.0.1:5432 and :6379 by default) when they answer; else the run starts its
own from the wheels in requirements-dev.txt (tests/servers.py), once, shared by
pytest-xdist's workers, and stops them at its end. A program the selected tests
run (chromium, soffice, pdftotext, …) that is missing stops the run at its start
(tests/tools.py).

Under pytest-xdist each worker has its own PostgreSQL database (TEST_PG_DB_gw0,
…), its own Celery queues and rate-limit keys (SESSION is per process)."""
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

from tests.harness import WORKER_READY, Proc, app_env, celery_worker, stop_all
from tests.s3 import s3_server  # noqa: F401
from tests.servers import OwnServers
from tests.tools import files_of, files_under, missing_line, missing_programs

# real mail and webhook servers for the delivery tests (fixtures: smtp_server,
# smtp_tls_server, webhook_receiver, …)
pytest_plugins = ("tests.smtp", "tests.webhook_receiver")

ROOT = Path(__file__).resolve().parent.parent
PG_ADMIN_URL = os.environ.get("TEST_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/test")
XDIST_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")  # "gw0", "gw1", … or ""
PG_TEST_DB = os.environ.get("TEST_PG_DB", "reportgen_test") + (
    f"_{XDIST_WORKER}" if XDIST_WORKER else "")  # workers at once: a database each
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
SESSION = uuid.uuid4().hex[:8]
OWN_SERVERS = pytest.StashKey[OwnServers]()
PASSWORD = "correct-horse-battery"
TABLES = ("audit_entries", "invitations", "mail_sends", "sender_blocks",
          "schedule_recipients", "signup_requests", "notices", "delivery_attempts", "deliveries",
          "schedule_runs", "schedules", "product_months", "report_events", "report_jobs",
          "order_items", "orders", "customers", "worker_beats", "api_tokens", "memberships",
          "workspaces", "users")


def pytest_configure(config):
    config.addinivalue_line("markers", "integration: needs a real worker, Redis and PostgreSQL")
    config.addinivalue_line("markers", "browser: drives headless Chromium")
    config.addinivalue_line("markers", "faults: kills and restarts real processes (the "
                                       "disk-full case needs root)")
    if XDIST_WORKER or config.option.help or config.option.collectonly:
        return  # the controller checked and started what the workers need; or no test runs
    if _distributed(config):  # the workers collect: check the paths' files
        _stop_if_missing(files_under(config.args))
    _use_running_or_own_servers(config)


def _distributed(config) -> bool:
    return getattr(config.option, "numprocesses", None) not in (None, 0)


def _stop_if_missing(files) -> None:
    missing = missing_programs(files)
    if missing:
        raise pytest.UsageError(missing_line(missing))


def _use_running_or_own_servers(config) -> None:
    """Before any test module is imported (some read PG_ADMIN_URL at import) and
    before pytest-xdist starts its workers (they inherit os.environ): the
    configured servers if they answer, else our own."""
    global PG_ADMIN_URL, REDIS_URL
    own = config.stash[OWN_SERVERS] = OwnServers()
    try:
        PG_ADMIN_URL = os.environ["TEST_PG_ADMIN_URL"] = own.postgres_url(PG_ADMIN_URL)
        REDIS_URL = os.environ["TEST_REDIS_URL"] = own.redis_url(REDIS_URL)
    except Exception as exc:
        own.stop()
        raise pytest.UsageError(f"could not start PostgreSQL/Redis for the tests: {exc}") from exc


def pytest_report_header(config):
    own = config.stash.get(OWN_SERVERS, None)
    if own and own.started:
        return f"started for this run (none answered): {own.describe()}"
    return None


def pytest_unconfigure(config):
    own = config.stash.get(OWN_SERVERS, None)
    if own:
        own.stop()


def pytest_collection_finish(session):
    """A missing program stops the run here, in one line, before the first test."""
    if not XDIST_WORKER and not session.config.option.collectonly:
        _stop_if_missing(files_of(session.items))


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
    from webapp.config import Config

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
        # a test that counts in Redis, and the limiter.reset() after it, touch
        # only this run's keys (not another xdist worker's); dropped at the end
        "RATELIMIT_STORAGE_OPTIONS": {**Config.RATELIMIT_STORAGE_OPTIONS,
                                      "key_prefix": f"LIMITS-{SESSION}"},
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


@pytest.fixture(scope="session")
def sqlite_schema(tmp_path_factory, redis_url) -> bytes:
    """A SQLite database with the empty schema the migrations build, made once
    per run (or xdist worker): each test starts from a copy of it, which takes
    milliseconds where running the migrations took a fifth of a second."""
    folder = tmp_path_factory.mktemp("sqlite-schema")
    path = folder / "schema.sqlite3"
    application = build_app(f"sqlite:///{path}", folder / "reports", f"unit-{SESSION}", redis_url)
    _migrate_fresh(application)
    from webapp.extensions import db

    with application.app_context():
        with db.engine.connect() as conn:  # everything in the file itself, none in the WAL
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        db.engine.dispose()
    return path.read_bytes()


def fresh_sqlite_file(path: Path, schema: bytes) -> Path:
    """`schema` written to a new file, private as the app makes its own (0600)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(schema)
    return path


@pytest.fixture(params=["sqlite", "postgresql"])
def app(request, tmp_path, redis_url):
    """The app on each database, with an empty schema built by the migrations."""
    if request.param == "sqlite":
        schema = request.getfixturevalue("sqlite_schema")
        database = fresh_sqlite_file(tmp_path / "test.sqlite3", schema)
        application = build_app(f"sqlite:///{database}", tmp_path / "reports",
                                f"unit-{SESSION}", redis_url)
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


def make_user(email: str, *, site_admin: bool = False, verified: bool = False):
    """A person with a workspace of their own (its id is theirs in a fresh database)."""
    from webapp.auth.services import create_user

    return create_user(email, PASSWORD, site_admin=site_admin, verified=verified)


def workspace_of(user) -> int:
    """The id of the person's first workspace (their own, from sign-up): not
    their user id, which it only happens to equal in a fresh database."""
    from webapp.extensions import db
    from webapp.models import Membership

    return db.session.scalar(sa.select(Membership.workspace_id)
                             .where(Membership.user_id == user.id)
                             .order_by(Membership.workspace_id).limit(1))


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
    stop_all(started)  # the ones their module's fixture did not stop already
