"""The migrations build the schema the models describe, and the accounts
migration gives existing rows to a configurable owner."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import upgrade

from tests.conftest import ROOT, build_app
from webapp.extensions import db


def test_migrated_schema_matches_the_models(app):
    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), db.metadata)
    assert diff == []


def test_existing_rows_go_to_the_configured_owner(tmp_path, redis_url, monkeypatch):
    app = build_app(f"sqlite:///{tmp_path / 'old.sqlite3'}", tmp_path / "r", "unused", redis_url)
    migrations = str(ROOT / "migrations")
    with app.app_context():
        upgrade(directory=migrations, revision="0002")
        with db.engine.begin() as conn:
            conn.execute(sa.text(
                "INSERT INTO orders (id, customer, status, created_at, updated_at, item_count, "
                "total) VALUES (1, 'Old Co', 'open', '2026-01-01 00:00:00', "
                "'2026-01-01 00:00:00', 0, 0)"))
            conn.execute(sa.text(
                "INSERT INTO report_jobs (id, kind, format, params, dedupe_key, status, attempts,"
                " max_attempts, rows_done, created_at) VALUES (1, 'order', 'csv', '{}', 'k', "
                "'COMPLETED', 1, 3, 0, '2026-01-01 00:00:00')"))
        monkeypatch.setenv("DEFAULT_OWNER_EMAIL", "Boss@Example.com")
        upgrade(directory=migrations)
        with db.engine.connect() as conn:
            owner = conn.execute(sa.text("SELECT id, email, site_admin FROM users")).one()
            assert owner.email == "boss@example.com" and owner.site_admin
            assert conn.scalar(sa.text("SELECT workspace_id FROM orders")) == owner.id
            assert conn.scalar(sa.text("SELECT workspace_id FROM report_jobs")) == owner.id
        db.session.remove()


def test_upgrading_sqlite_keeps_line_items_and_events(tmp_path, redis_url):
    """Batch migrations rebuild tables by copy, drop and rename; with foreign
    keys on, the drop used to cascade and wipe every line item and event."""
    app = build_app(f"sqlite:///{tmp_path / 'old.sqlite3'}", tmp_path / "r", "unused", redis_url)
    migrations = str(ROOT / "migrations")
    with app.app_context():
        upgrade(directory=migrations, revision="0002")
        with db.engine.begin() as conn:
            conn.execute(sa.text(
                "INSERT INTO orders (id, customer, status, created_at, updated_at, item_count, "
                "total) VALUES (1, 'Old Co', 'open', '2026-01-01 00:00:00', "
                "'2026-01-01 00:00:00', 2, 3)"))
            conn.execute(sa.text(
                "INSERT INTO order_items (id, order_id, product, quantity, unit_price) VALUES "
                "(1, 1, 'Tea', 1, 1), (2, 1, 'Cake', 1, 2)"))
            conn.execute(sa.text(
                "INSERT INTO report_jobs (id, kind, format, params, dedupe_key, status, attempts,"
                " max_attempts, rows_done, created_at, order_id) VALUES (1, 'order', 'csv', "
                "'{}', 'k', 'COMPLETED', 1, 3, 0, '2026-01-01 00:00:00', 1)"))
            conn.execute(sa.text(
                "INSERT INTO report_events (id, job_id, at, event) VALUES "
                "(1, 1, '2026-01-01 00:00:00', 'requested')"))
        upgrade(directory=migrations)
        with db.engine.connect() as conn:
            assert conn.scalar(sa.text("SELECT count(*) FROM order_items")) == 2
            assert conn.scalar(sa.text("SELECT count(*) FROM report_events")) == 1
            assert conn.scalar(sa.text("SELECT order_id FROM report_jobs")) == 1
            assert conn.scalar(sa.text("PRAGMA foreign_keys")) == 1
            index = conn.scalar(sa.text("SELECT sql FROM sqlite_master WHERE name = "
                                        "'uq_report_jobs_active_dedupe_key'"))
            assert "WHERE status IN ('PENDING', 'PROCESSING')" in index
        db.session.remove()


def test_ids_of_deleted_rows_are_never_handed_out_again(app, sent):
    """An old link or report job must never come to mean someone else's row
    (SQLite reuses a deleted newest rowid unless the table is AUTOINCREMENT)."""
    from tests.conftest import make_user
    from webapp.models import ReportFormat
    from webapp.orders.services import ItemInput, create_order, delete_order
    from webapp.reports.services import request_summary_report

    owner = make_user("ids@example.com")
    items = [ItemInput("Tea", 1, Decimal("1.00"))]
    order = create_order(owner, "Co", items)
    order_id, item_id = order.id, order.items[0].id
    delete_order(owner, order_id)
    again = create_order(owner, "Co", items)
    assert again.id > order_id and again.items[0].id > item_id

    day = dt.date(2026, 1, 1)
    job, _ = request_summary_report(owner, day, day, None, ReportFormat.CSV)
    job_id = job.id
    db.session.execute(sa.text("DELETE FROM report_events"))
    db.session.execute(sa.text("DELETE FROM report_jobs"))
    db.session.commit()
    assert request_summary_report(owner, day, day, None, ReportFormat.CSV)[0].id > job_id

    gone = make_user("gone@example.com").id
    db.session.execute(sa.text("DELETE FROM users WHERE id = :i"), {"i": gone})
    db.session.commit()
    assert make_user("next@example.com").id > gone


def test_schedules_keep_their_whole_day_ranges_when_the_words_get_one_meaning(
        tmp_path, redis_url):
    """0015: a schedule's "last_7_days" meant the seven days before the run's day;
    it becomes last_7_full_days (same dates), and "Last 7 days" now counts the
    run's day as the dashboard does. Downgrade gives the old names back."""
    from flask_migrate import downgrade

    from tests.conftest import make_user
    from webapp.models import ReportFormat, ReportKind
    from webapp.schedules import services as schedules

    app = build_app(f"sqlite:///{tmp_path / 'old.sqlite3'}", tmp_path / "r", "unused", redis_url)
    migrations = str(ROOT / "migrations")
    with app.app_context():
        upgrade(directory=migrations)
        user = make_user("ranges@example.com")
        for name, range_ in (("week", "last_7_full_days"), ("month", "last_30_full_days"),
                             ("quarter", "last_quarter")):
            schedules.create(user, schedules.ScheduleSpec(
                name=name, kind=ReportKind.SUMMARY, format=ReportFormat.CSV,
                cron="0 7 * * 1", timezone="UTC", range=range_))
        db.session.commit()
        db.session.remove()
        downgrade(directory=migrations, revision="0014")
        ranges = "SELECT name, range FROM schedules ORDER BY name"
        with db.engine.connect() as conn:
            assert conn.execute(sa.text(ranges)).all() == [
                ("month", "last_30_days"), ("quarter", "last_quarter"), ("week", "last_7_days")]
        upgrade(directory=migrations)
        with db.engine.connect() as conn:
            assert conn.execute(sa.text(ranges)).all() == [
                ("month", "last_30_full_days"), ("quarter", "last_quarter"),
                ("week", "last_7_full_days")]
        db.session.remove()
