"""The real processes of the scheduled-delivery tests and their helpers:
a real `celery worker` per database, a real SMTP server (tests/smtp.py) and
a real webhook receiver (tests/webhook_receiver.py), shared by
test_scheduled_delivery.py and test_consent_and_abuse.py.

The fixtures (smtp, receiver, stack, env) are registered for tests/integration
by its conftest.py; each module that uses them gets its own servers and its
own worker (module scope), on its own queue.

The worker runs with REPORT_PDF_MAX_ROWS=1: a PDF summary of more than one
line item fails in the worker for real (the row count is checked before
writing), which is how a test gets a FAILED job with a reason. CSV is not
touched by that limit.

Both the in-test app and the worker put example.com on MAIL_ALLOWED_DOMAINS:
its addresses get reports without confirming (the operator's allow-list),
every other address must confirm first (webapp/delivery/consent.py)."""
from __future__ import annotations

import re
import socket
from pathlib import Path
from types import SimpleNamespace

import pytest
import redis

from tests.conftest import (
    SESSION,
    _empty_tables,
    _migrate_fresh,
    build_app,
    logged_in_client,
    make_user,
    wait_for,
)
from tests.harness import WORKER_READY, app_env, celery_worker
from tests.smtp import SmtpServer
from tests.webhook_receiver import WebhookReceiver
from webapp.extensions import db

PUBLIC_URL = "http://reports.example"
RETRY_DELAYS = "0.5,0.5"  # three attempts, half a second apart
ALLOWED_DOMAINS = "example.com"
TIMEOUT = 60
# never due by itself while the tests run (the beat is not running anyway)
YEARLY = "0 0 1 1 *"


# --- fixtures: one worker per database, with delivery settings in ITS environment ---------

@pytest.fixture(scope="module")
def smtp():
    server = SmtpServer().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def receiver():
    hooks = WebhookReceiver().start()
    try:
        yield hooks
    finally:
        hooks.stop()


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def stack(request, tmp_path_factory, redis_url, smtp, receiver):
    """(app, worker): the in-test app (for the API client) and a real worker
    sharing one database, reports folder and Redis queue, both configured to
    send e-mail to `smtp` and webhooks to `receiver`."""
    reports = tmp_path_factory.mktemp(f"scheduled-{request.param}-reports")
    if request.param == "sqlite":
        db_url = f"sqlite:///{tmp_path_factory.mktemp('scheduled-db') / 'scheduled.sqlite3'}"
    else:
        db_url = request.getfixturevalue("pg_url")
    # a queue per module: a retry left in Redis by one module never reaches the next one's worker
    name = f"{request.param}-{request.module.__name__.rsplit('.', 1)[-1]}"
    queue = f"it-{name}-{SESSION}"
    app = build_app(db_url, reports, queue, redis_url, SMTP_URL=smtp.url,
                    WEBHOOK_ALLOW_PRIVATE=True, DELIVERY_RETRY_DELAYS=RETRY_DELAYS,
                    PUBLIC_URL=PUBLIC_URL, MAIL_ALLOWED_DOMAINS=ALLOWED_DOMAINS)
    if request.param == "sqlite":
        _migrate_fresh(app)
    else:
        request.getfixturevalue("pg_app_session")  # schema built once per session
    worker = celery_worker(
        queue,
        app_env(db_url, redis_url, queue, reports, SMTP_URL=smtp.url,
                WEBHOOK_ALLOW_PRIVATE="1", DELIVERY_RETRY_DELAYS=RETRY_DELAYS,
                PUBLIC_URL=PUBLIC_URL, REPORT_PDF_MAX_ROWS="1",
                MAIL_ALLOWED_DOMAINS=ALLOWED_DOMAINS,
                MAIL_FROM="Order reports <reports@example.com>"),
        tmp_path_factory.mktemp("logs") / f"worker-{name}.log")
    try:
        worker.start().wait_ready(WORKER_READY, interval=0.2)
        yield app, worker
    finally:
        # a worker left running would keep beating into the shared PostgreSQL database
        worker.stop()


@pytest.fixture
def env(stack, smtp, receiver):
    app, worker = stack
    # a test that failed half-way may have left the worker busy with its work;
    # emptying the tables under a task that holds a read transaction open
    # while it waits on a second connection deadlocks them both
    try:
        wait_for(lambda: worker_idle(app), timeout=TIMEOUT, what="the worker to be idle")
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n--- worker log ---\n"
                             f"{worker.output_since_start()[-4000:]}") from None
    _empty_tables(app)
    for leftover in Path(app.config["REPORTS_DIR"]).iterdir():
        leftover.unlink()
    smtp.clear()
    receiver.clear()
    receiver.reply_body = None
    with app.app_context():
        user = make_user("alice@example.com")
        yield SimpleNamespace(app=app, worker=worker, user=user, smtp=smtp, hooks=receiver,
                              client=logged_in_client(app, user))
        db.session.remove()


# --- helpers ------------------------------------------------------------------------------

def worker_node(app) -> str:
    """The worker's Celery node name (the harness names it <queue>@<host>)."""
    return f"{app.config['REPORTS_QUEUE']}@{socket.gethostname()}"


def worker_idle(app) -> bool:
    """True when the worker runs no task, holds none (prefetched or waiting
    for a retry's countdown) and its queue in Redis is empty."""
    node = worker_node(app)
    inspect = app.extensions["celery"].control.inspect(destination=[node], timeout=5, limit=1)
    for ask in (inspect.active, inspect.reserved, inspect.scheduled):
        replies = ask() or {}
        if node not in replies or replies[node]:  # no answer counts as busy
            return False
    broker = redis.Redis.from_url(app.config["CELERY_BROKER_URL"])
    return broker.llen(app.config["REPORTS_QUEUE"]) == 0


def wait_until(env, predicate, what: str, timeout: float = TIMEOUT):
    """wait_for, with the end of the worker's log when it times out."""
    try:
        return wait_for(predicate, timeout=timeout, what=what)
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n--- worker log ---\n"
                             f"{env.worker.output_since_start()[-4000:]}") from None


def get_json(client, path: str) -> dict:
    # the test holds the app context, so requests share its session: forget what it read
    db.session.rollback()
    answer = client.get(path)
    assert answer.status_code == 200, (path, answer.get_data(as_text=True))
    return answer.get_json()


def make_orders(client, count: int = 3) -> None:
    """`count` completed orders of the client's user, created today, and one open
    order (which no summary of completed orders includes)."""
    for n in range(count + 1):
        made = client.post("/api/orders", json={"customer": f"Customer {n}", "items": [
            {"product": f"Tea {n}", "quantity": n + 1, "unit_price": "2.50"},
            {"product": "Café crème", "quantity": 1, "unit_price": "4.20"}]})
        assert made.status_code == 201, made.get_json()
        if n < count:
            done = client.patch(made.get_json()["url"], json={"status": "completed"})
            assert done.status_code == 200, done.get_json()


def make_schedule(env, fmt: str = "csv", client=None, **changes) -> dict:
    body = {"name": "Monthly sales", "cron": YEARLY, "timezone": "UTC",
            "report": {"kind": "summary", "format": fmt, "range": "this_month"},
            "email": ["boss@example.com", "ann@example.com"],
            "webhook_url": env.hooks.url(), **changes}
    answer = (client or env.client).post("/api/schedules", json=body)
    assert answer.status_code == 201, answer.get_json()
    made = answer.get_json()
    if made.get("webhook_secret"):
        env.hooks.secret = made["webhook_secret"]  # the receiver checks against it
    return made


def run_now(env, schedule: dict, client=None) -> int:
    """Run now; the new job's id."""
    answer = (client or env.client).post(f"/api/schedules/{schedule['id']}/run")
    assert answer.status_code == 202, answer.get_json()
    return answer.get_json()["id"]


def settled_run(env, schedule: dict, client=None) -> dict:
    """The schedule's newest run once it has an outcome (every delivery final)."""
    def settled():
        items = get_json(client or env.client, schedule["runs_url"])["items"]
        return bool(items) and items[0]["outcome"] is not None and items[0]
    return wait_until(env, settled, f"a settled run of schedule {schedule['id']}")


def recipients(client, schedule: dict) -> dict[str, str]:
    """address -> consent status, as the API says it."""
    return {r["address"]: r["status"] for r in get_json(client, schedule["url"])["recipients"]}


def attempts_of(delivery: dict) -> list[tuple[int, bool, int | None]]:
    return [(a["attempt"], a["ok"], a["code"]) for a in delivery["attempts"]]


def tick(env) -> None:
    """The beat's tick as beat sends it: the real task, run by the worker; returns
    once the worker says it ran."""
    sent = env.app.extensions["celery"].send_task("schedules.tick")
    wait_until(env, lambda: f"schedules.tick[{sent.id}] succeeded"
               in env.worker.output_since_start(), f"tick {sent.id} to run")


def attachment_of(received) -> bytes:
    [part] = list(received.message.iter_attachments())
    return part.get_payload(decode=True)


def text_of(received) -> str:
    return received.message.get_body(("plain",)).get_content()


def link_in(received, path: str) -> str:
    """The first PUBLIC_URL link in a mail's text whose path starts with `path`,
    as a path for the test client (PUBLIC_URL is not this app's address)."""
    found = re.search(re.escape(PUBLIC_URL + path) + r"\S*", text_of(received))
    assert found, f"no {path} link in {text_of(received)!r}"
    return found.group().removeprefix(PUBLIC_URL)


def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
