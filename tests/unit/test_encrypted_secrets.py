"""Webhook secrets are encrypted at rest: the column holds a Fernet token, the
app still signs with the secret, a key rotation (old key in
SECRET_KEY_FALLBACKS) keeps them readable, `flask rotate-secrets` moves them
to the new key, and migration 0009 encrypts the clear values it finds."""
from __future__ import annotations

import datetime as dt
import json
import logging
import secrets

import psycopg
import pytest
import sqlalchemy as sa
from flask_migrate import downgrade, upgrade

from tests.conftest import PG_ADMIN_URL, PG_TEST_DB, ROOT, SESSION, build_app
from tests.unit.test_schedules import (
    MONDAY_7_BERLIN,
    _create,
    _end_job,
    _runs,
    _send_all,
    _set,
)
from webapp import crypto
from webapp.extensions import db
from webapp.models import JobStatus, Schedule
from webapp.schedules import runs

MIGRATIONS = str(ROOT / "migrations")


def _stored(schedule_id: int) -> str:
    """The column as the database holds it (no model, no type decorator)."""
    return db.session.execute(sa.text("SELECT webhook_secret FROM schedules WHERE id = :i"),
                              {"i": schedule_id}).scalar_one()


def _secret(schedule_id: int) -> str | None:
    """The secret as the app reads it."""
    db.session.expire_all()
    return db.session.get(Schedule, schedule_id).webhook_secret


def _rotate(app):
    return app.test_cli_runner().invoke(args=["rotate-secrets"])


@pytest.fixture
def hook(client, app, webhook_receiver):
    app.config["WEBHOOK_ALLOW_PRIVATE"] = True
    return _create(client, webhook_url=webhook_receiver.url())


def test_the_webhook_secret_is_stored_encrypted_and_still_signs_deliveries(
        app, hook, webhook_receiver):
    secret = hook["webhook_secret"]
    stored = _stored(hook["id"])
    assert secret not in stored and "whsec_" not in stored
    assert stored.startswith("gAAAAA")  # a Fernet token
    assert _secret(hook["id"]) == secret
    webhook_receiver.secret = secret
    _set(hook["id"], next_run_at=MONDAY_7_BERLIN)
    runs.tick(MONDAY_7_BERLIN)
    _end_job(_runs()[0].job_id, JobStatus.COMPLETED)
    assert "delivered" in _send_all(MONDAY_7_BERLIN + dt.timedelta(minutes=1))
    got = webhook_receiver.wait_for(1)
    assert got[0].verified and json.loads(got[0].body)["type"] == "report.completed"


def test_a_rotated_secret_is_stored_encrypted_too(client, hook):
    rotated = client.patch(hook["url"], json={"rotate_secret": True}).get_json()
    new = rotated["webhook_secret"]
    assert new != hook["webhook_secret"] and new not in _stored(hook["id"])
    assert _secret(hook["id"]) == new


def test_secrets_survive_a_key_rotation_and_rotate_secrets_moves_them_to_the_new_key(
        app, hook, caplog):
    secret, old_key = hook["webhook_secret"], app.config["SECRET_KEY"]
    before = _stored(hook["id"])
    app.config.update(SECRET_KEY=secrets.token_urlsafe(48), SECRET_KEY_FALLBACKS=[old_key])
    assert _secret(hook["id"]) == secret  # opened with the fallback

    result = _rotate(app)
    assert result.exit_code == 0, result.output
    assert "1 re-encrypted with the current key, 0 already under it" in result.output
    after = _stored(hook["id"])
    assert after != before and secret not in after

    app.config["SECRET_KEY_FALLBACKS"] = []  # the old key is gone
    assert _secret(hook["id"]) == secret
    again = _rotate(app)
    assert "0 re-encrypted with the current key, 1 already under it" in again.output
    assert _stored(hook["id"]) == after  # nothing rewritten

    app.config["SECRET_KEY"] = old_key  # a key that never made it: unreadable, said so
    with caplog.at_level(logging.ERROR, logger="webapp.crypto"):
        assert _secret(hook["id"]) is None
    assert "opens with no key" in caplog.text and secret not in caplog.text


def test_rotate_secrets_names_the_schedules_no_key_opens(app, hook):
    db.session.execute(sa.text("UPDATE schedules SET webhook_secret = 'gAAAAA-not-ours'"))
    db.session.commit()
    result = _rotate(app)
    assert result.exit_code == 1
    assert f"1 webhook secret(s) open with no key (schedules {hook['id']})" in result.output
    assert "SECRET_KEY_FALLBACKS" in result.output


def test_a_secret_encrypted_for_one_purpose_opens_for_no_other(app):
    token = crypto.encrypt("whsec_abc")
    assert crypto.decrypt(token) == "whsec_abc"
    with pytest.raises(crypto.InvalidToken):
        crypto.decrypt(token, purpose=b"something-else")


# --- migration 0009 ----------------------------------------------------------------

@pytest.fixture(params=["sqlite", "postgresql"])
def old_database(request, tmp_path, redis_url):
    """An app on a database of its own, migrated up to 0008 (clear secrets)."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'old.sqlite3'}"
    else:
        name = f"{PG_TEST_DB}_crypto_{SESSION}"
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
            conn.execute(f'CREATE DATABASE "{name}"')
        url = PG_ADMIN_URL.rsplit("/", 1)[0].replace(
            "postgresql://", "postgresql+psycopg://") + f"/{name}"
    app = build_app(url, tmp_path / "r", "unused", redis_url)
    with app.app_context():
        upgrade(directory=MIGRATIONS, revision="0008")
        yield app
        db.session.remove()
        db.engine.dispose()
    if request.param == "postgresql":
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')


def _old_schedule(conn, schedule_id: int, secret: str | None) -> None:
    conn.execute(sa.text(
        "INSERT INTO schedules (id, owner_id, name, kind, format, cron, timezone, emails, "
        "webhook_url, webhook_secret, failed_runs, created_at, updated_at) VALUES (:id, 1, "
        "'S', 'summary', 'csv', '0 7 * * 1', 'UTC', '[]', 'https://example.com/h', :secret, "
        "0, :now, :now)"), {"id": schedule_id, "secret": secret, "now": MONDAY_7_BERLIN})


def test_migration_0009_encrypts_clear_secrets_and_leaves_encrypted_ones(old_database):
    clear = "whsec_" + secrets.token_urlsafe(32)
    # SQLite keeps any length in VARCHAR(100): a token can be there already
    # (a re-run); PostgreSQL could not hold one before 0009 widened the column
    sqlite = db.engine.dialect.name == "sqlite"
    already = crypto.encrypt("whsec_already-encrypted") if sqlite else None
    with db.engine.begin() as conn:
        conn.execute(sa.text(
            "INSERT INTO users (id, email, password_hash, is_admin, created_at) "
            "VALUES (1, 'a@example.com', '!', false, :now)"), {"now": MONDAY_7_BERLIN})
        _old_schedule(conn, 1, clear)
        _old_schedule(conn, 2, already)
        _old_schedule(conn, 3, None)
    upgrade(directory=MIGRATIONS, revision="0009")
    stored = dict(db.session.execute(sa.text("SELECT id, webhook_secret FROM schedules")).all())
    assert clear not in stored[1] and crypto.decrypt(stored[1]) == clear
    assert len(stored[1]) > 100  # the column was widened first (VARCHAR(100) on PostgreSQL)
    assert stored[2] == already and stored[3] is None
    db.session.commit()

    downgrade(directory=MIGRATIONS, revision="0008")
    stored = dict(db.session.execute(sa.text("SELECT id, webhook_secret FROM schedules")).all())
    assert stored == {1: clear, 2: "whsec_already-encrypted" if sqlite else None, 3: None}
