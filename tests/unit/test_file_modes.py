"""Files the app writes are not readable by other users of the machine: the
SQLite database (and its -wal/-shm) and the instance secret key 0600, report
files 0640 from their first byte. Every test runs with umask 000, so a file
made with the default open() would come out world-readable (0666/0644)."""
from __future__ import annotations

import logging
import os
import stat
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask

from tasks.generators.csv_report import write_csv
from tasks.reports import run_job
from tests.conftest import SESSION, _migrate_fresh, build_app, make_user
from webapp.extensions import db
from webapp.models import JobStatus, ReportFormat, ReportJob
from webapp.orders.services import ItemInput, create_order
from webapp.reports import services
from webapp.security import ensure_secret_key


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture
def open_umask():
    old = os.umask(0)
    yield
    os.umask(old)


def _sqlite_app(tmp_path, redis_url, name="own.sqlite3"):
    app = build_app(f"sqlite:///{tmp_path / name}", tmp_path / "reports", f"unit-{SESSION}",
                    redis_url)
    _migrate_fresh(app)
    return app


def test_a_new_sqlite_database_and_its_wal_files_are_private(tmp_path, redis_url, open_umask):
    path = tmp_path / "own.sqlite3"
    app = _sqlite_app(tmp_path, redis_url)
    with app.app_context():
        make_user("alice@example.com")  # a write: WAL mode keeps -wal and -shm beside it
        with db.engine.connect() as conn:  # open, so they are not checkpointed away
            assert conn.scalar(sa.text("PRAGMA journal_mode")) == "wal"
            files = [path, Path(f"{path}-wal"), Path(f"{path}-shm")]
            assert all(f.exists() for f in files), sorted(p.name for p in tmp_path.iterdir())
            assert {f.name: _mode(f) for f in files} == {f.name: 0o600 for f in files}
        db.session.remove()
        db.engine.dispose()


def test_a_relative_sqlite_path_is_made_private_in_the_instance_folder(
        tmp_path, redis_url, open_umask, monkeypatch):
    monkeypatch.chdir(tmp_path)  # not where Flask-SQLAlchemy puts the file
    name = f"relative-{SESSION}.sqlite3"
    app = build_app(f"sqlite:///{name}", tmp_path / "reports", f"unit-{SESSION}", redis_url)
    made = Path(app.instance_path) / name
    try:
        assert _mode(made) == 0o600 and not (tmp_path / name).exists()
    finally:
        made.unlink(missing_ok=True)


def test_an_existing_readable_sqlite_database_is_made_private(tmp_path, redis_url, caplog):
    path = tmp_path / "old.sqlite3"
    path.write_bytes(b"")
    path.chmod(0o644)
    with caplog.at_level(logging.WARNING, logger="webapp"):
        _sqlite_app(tmp_path, redis_url, name="old.sqlite3")
    assert _mode(path) == 0o600
    assert "readable by others" in caplog.text


def test_the_instance_secret_key_is_private_whatever_the_umask(tmp_path, open_umask):
    stub = Flask("keyed", instance_path=str(tmp_path))
    stub.config["SECRET_KEY"] = None
    ensure_secret_key(stub)
    assert _mode(tmp_path / "secret_key") == 0o600


@pytest.fixture
def order_job(app, sent, open_umask):
    user = make_user("alice@example.com")
    order = create_order(user, "ACME", [ItemInput(f"P{i}", 1, Decimal("1.00")) for i in range(5)])

    def job(fmt: ReportFormat) -> ReportJob:
        return services.request_order_report(user, order.id, fmt)[0]

    return job


def _finished_file(job_id: int) -> Path:
    db.session.expire_all()
    done = db.session.get(ReportJob, job_id)
    assert done.status is JobStatus.COMPLETED, done.error
    from flask import current_app

    return Path(current_app.config["REPORTS_DIR"]) / done.file_name


@pytest.mark.parametrize("fmt", [ReportFormat.CSV, ReportFormat.PDF, ReportFormat.XLSX])
def test_report_files_are_0640(app, order_job, fmt):
    """On PostgreSQL the CSV comes from COPY, elsewhere from the generators."""
    job = order_job(fmt)
    assert run_job(job.id) == "completed"
    assert _mode(_finished_file(job.id)) == 0o640


def test_a_report_file_is_never_readable_by_others_while_it_is_written(
        app, order_job, use_generator):
    seen = []

    def watched(rows, meta, path, progress=None):
        seen.append(_mode(path))  # the scratch file, before the first byte
        return write_csv(rows, meta, path, progress=progress)

    use_generator(ReportFormat.CSV, watched)
    job = order_job(ReportFormat.CSV)
    assert run_job(job.id) == "completed"
    assert seen == [0o640]
    assert _mode(_finished_file(job.id)) == 0o640
