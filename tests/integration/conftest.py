from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import SESSION, _empty_tables, _migrate_fresh, build_app

# the real worker, SMTP server and webhook receiver of the delivery tests
from tests.integration.delivery_stack import env, receiver, smtp, stack  # noqa: F401


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def live(request, tmp_path_factory, redis_url, worker_factory):
    """(app, worker) sharing one database, one reports folder and one Redis queue."""
    reports = tmp_path_factory.mktemp(f"live-{request.param}-reports")
    if request.param == "sqlite":
        db_url = f"sqlite:///{tmp_path_factory.mktemp('live-db') / 'live.sqlite3'}"
    else:
        db_url = request.getfixturevalue("pg_url")
    name = f"{request.param}-{request.module.__name__.rsplit('.', 1)[-1]}"
    app = build_app(db_url, reports, f"it-{name}-{SESSION}", redis_url)
    if request.param == "sqlite":
        _migrate_fresh(app)
    else:
        request.getfixturevalue("pg_app_session")  # schema built once per session
    worker = worker_factory(db_url, reports, name)
    yield app, worker
    # stopped with its module: a worker left running would keep beating into
    # the shared PostgreSQL test database and make later tests see a live worker
    worker.stop()


@pytest.fixture
def live_app(live):
    app, worker = live
    _empty_tables(app)
    for leftover in Path(app.config["REPORTS_DIR"]).iterdir():
        leftover.unlink()
    with app.app_context():
        yield app
        from webapp.extensions import db
        db.session.remove()




@pytest.fixture
def user(live_app):
    from tests.conftest import make_user

    return make_user("alice@example.com")


@pytest.fixture
def client(live_app, user):
    from tests.conftest import logged_in_client

    return logged_in_client(live_app, user)
