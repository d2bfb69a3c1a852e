"""The two CSV paths: PostgreSQL's COPY (cells formatted in SQL) and the Python
writer over streamed rows must give byte-identical files."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest

from tasks.generators import ReportMeta
from tasks.generators.csv_report import write_csv
from tasks.pg_copy import copy_csv
from tasks.reports import run_job
from tasks.rows import count_rows, stream_rows
from tests.conftest import _empty_tables, make_user
from webapp.extensions import db
from webapp.models import Order, OrderItem, OrderStatus, ReportFormat, ReportJob
from webapp.reports import services

TRICKY = ["Plain", "Café crème, \"quoted\"", "=HYPERLINK(\"x\")", "+1", "-2+3", "@SUM(A1)",
          "\tTab first", "\rCR first", "mid\rcr", "日本茶 Ελληνικά Ürün", "a,b", "'already",
          "x" * 200]


@pytest.fixture
def pg_app(pg_app_session):
    _empty_tables(pg_app_session)
    with pg_app_session.app_context():
        yield pg_app_session
        db.session.remove()


def _seed(owner, names, when):
    for n, name in enumerate(names):
        order = Order(owner_id=owner.id, customer=name, status=OrderStatus.COMPLETED,
                      created_at=when + dt.timedelta(seconds=n, microseconds=999_999))
        order.items = [OrderItem(product=product, quantity=q, unit_price=Decimal(price))
                       for product, q, price in ((names[-n - 1], 1, "0.01"),
                                                 ("Plain", 10000, "999999.99"),
                                                 (name, 3, "4.20"))]
        order.recompute_totals()
        db.session.add(order)
    db.session.commit()


def _summary_job(owner, day):
    job, _ = services.request_summary_report(owner, day, day, None, ReportFormat.CSV)
    return job


def test_copy_and_python_writer_give_byte_identical_files(pg_app, sent, tmp_path):
    owner = make_user("copy@example.com")
    when = dt.datetime(2026, 11, 28, 23, 59, 0, tzinfo=dt.UTC)
    _seed(owner, TRICKY, when)
    job = _summary_job(owner, when.date())
    total = count_rows(db.engine, job)
    assert total == 3 * len(TRICKY)
    copied, written = tmp_path / "copy.csv", tmp_path / "python.csv"
    seen = []
    assert copy_csv(db.engine, job, copied, total, seen.append) == total
    meta = ReportMeta(kind="summary", title="t")
    assert write_csv(stream_rows(db.engine, job), meta, written) == total
    assert copied.read_bytes() == written.read_bytes()
    assert seen[-1] == total
    text = copied.read_bytes().decode("utf-8")
    assert "'=HYPERLINK" in text and "\r\n" in text and "9999999900.00" in text
    assert "2026-11-28T23:59:00Z" in text  # microseconds dropped the same way


def test_a_line_break_in_a_cell_falls_back_to_the_python_writer(pg_app, sent, tmp_path):
    owner = make_user("newline@example.com")
    when = dt.datetime(2026, 11, 1, 12, tzinfo=dt.UTC)
    _seed(owner, ["line\nbreak", "fine"], when)  # inserted behind validation's back
    job = _summary_job(owner, when.date())
    assert copy_csv(db.engine, job, tmp_path / "x.csv", count_rows(db.engine, job)) is None
    assert run_job(job.id) == "completed"
    db.session.expire_all()
    done = db.session.get(ReportJob, job.id)
    data = (Path(pg_app.config["REPORTS_DIR"]) / done.file_name).read_bytes()
    assert b'"line\nbreak"' in data and data.count(b"\r\n") == 7  # header + 6 rows


def test_the_task_uses_copy_on_postgresql(pg_app, sent, monkeypatch):
    import tasks.reports as task

    owner = make_user("fast@example.com")
    _seed(owner, ["A", "B"], dt.datetime(2026, 11, 2, tzinfo=dt.UTC))
    calls = []
    real = task.copy_csv
    monkeypatch.setattr(task, "copy_csv", lambda *a, **k: calls.append(a) or real(*a, **k))
    job = _summary_job(owner, dt.date(2026, 11, 2))
    assert run_job(job.id) == "completed" and len(calls) == 1
    db.session.expire_all()
    assert db.session.get(ReportJob, job.id).rows_done == 6


def test_streamed_rows_carry_decimal_money_and_aware_utc_dates(app, user, sent):
    when = dt.datetime(2026, 11, 3, 10, 30, tzinfo=dt.UTC)
    _seed(user, ["Decimal Co"], when)
    rows = list(stream_rows(db.engine, _summary_job(user, when.date())))
    assert [type(r.unit_price) for r in rows] == [Decimal] * 3
    assert rows[1].line_total == Decimal("9999999900.00")
    assert all(r.order_date.tzinfo is dt.UTC for r in rows)
    assert rows[0].order_date.replace(microsecond=0) == when
