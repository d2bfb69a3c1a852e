"""The migrations build the schema the models describe, and the accounts
migration gives existing rows to a configurable owner."""
from __future__ import annotations

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
            owner = conn.execute(sa.text("SELECT id, email, is_admin FROM users")).one()
            assert owner.email == "boss@example.com" and owner.is_admin
            assert conn.scalar(sa.text("SELECT owner_id FROM orders")) == owner.id
            assert conn.scalar(sa.text("SELECT owner_id FROM report_jobs")) == owner.id
        db.session.remove()
