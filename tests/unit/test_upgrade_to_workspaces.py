"""Migration 0012 moves every person's data into a workspace of their own. On
each database, a 0011 database with rows in every table comes out of the
upgrade with every row, id and value where it was (owner_id now under
workspace_id, is_admin under site_admin), a workspace per person numbered as
the person, with its owner's membership, and ids that go on counting after the
old ones; the downgrade puts every row back under owner_id.

The first test goes up to 0012 only: a later migration (0013) rebuilds
product_months from the orders, which would replace this file's hand-made rows,
and changes the models, so its new rows are written by SQL as 0012 had them."""
from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import psycopg
import pytest
import sqlalchemy as sa
from flask_migrate import downgrade, upgrade

from tests.conftest import PG_ADMIN_URL, PG_TEST_DB, ROOT, SESSION, build_app, make_user
from webapp import crypto
from webapp.extensions import db
from webapp.models import User
from webapp.orders.services import ItemInput, create_order

MIGRATIONS = str(ROOT / "migrations")
REVISION = "0012"  # the migration under test
# the tables whose owner_id (a person) became workspace_id (that same number)
OWNED = ("orders", "report_jobs", "schedules", "product_months", "sender_blocks", "mail_sends")
MADE_BY = ("orders", "report_jobs", "schedules")  # created_by_id = the old owner
RENAMED = {**{(table, "owner_id"): "workspace_id" for table in OWNED},
           ("users", "is_admin"): "site_admin"}
# the site admin first, a deleted person between the two (ids with a gap), the other last
PEOPLE = (("ada.lovelace@example.com", True, "Europe/Berlin"),
          ("gone@example.com", False, "UTC"),
          ("grace+ops@example.org", False, "America/New_York"))
WITHOUT_ID = {"product_months", "sender_blocks", "worker_beats"}
BASE = dt.datetime(2025, 11, 3, 9, 30, 15, 123456, tzinfo=dt.UTC)


@pytest.fixture(params=["sqlite", "postgresql"])
def old_database(request, tmp_path, redis_url):
    """An app on a database of its own, migrated up to 0011 (before workspaces)."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'old.sqlite3'}"
    else:
        name = f"{PG_TEST_DB}_workspaces_{SESSION}"
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
            conn.execute(f'CREATE DATABASE "{name}"')
        url = PG_ADMIN_URL.rsplit("/", 1)[0].replace(
            "postgresql://", "postgresql+psycopg://") + f"/{name}"
    app = build_app(url, tmp_path / "r", "unused", redis_url)
    with app.app_context():
        upgrade(directory=MIGRATIONS, revision="0011")
        yield app
        db.session.remove()
        db.engine.dispose()
    if request.param == "postgresql":
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')


# --- the 0011 database, by hand-written SQL ----------------------------------------

class Filler:
    """Inserts rows as 0011's SQL had them, every column given (NULL only
    where nothing else fits), so a value the migration drops shows."""

    def __init__(self, conn):
        self.conn = conn
        self.sqlite = conn.dialect.name == "sqlite"

    def at(self, minutes: int) -> dt.datetime:
        """A moment as each database keeps it (SQLite: naive UTC, as UTCDateTime)."""
        value = BASE + dt.timedelta(minutes=minutes, microseconds=minutes)
        return value.replace(tzinfo=None) if self.sqlite else value

    def insert(self, table: str, **values) -> int | None:
        """One row; its id, in the tables that have one."""
        sql = (f"INSERT INTO {table} ({', '.join(values)}) "
               f"VALUES ({', '.join(f':{column}' for column in values)})")
        if table in WITHOUT_ID:
            self.conn.execute(sa.text(sql), values)
            return None
        return self.conn.execute(sa.text(f"{sql} RETURNING id"), values).scalar_one()

    def ghost(self, table: str, **values) -> int:
        """A row inserted and deleted: the highest id handed out is then no
        row's, and must never be handed out again."""
        row_id = self.insert(table, **values)
        self.conn.execute(sa.text(f"DELETE FROM {table} WHERE id = :i"), {"i": row_id})
        return row_id

    # one person and everything they had -----------------------------------------

    def user(self, n: int, email: str, admin: bool, zone: str) -> int:
        return self.insert(
            "users", email=email, password_hash=f"pbkdf2:sha256:1000$salt{n}$hash{n}",
            is_admin=admin, created_at=self.at(n), session_generation=n + 3, timezone=zone,
            csv_excel=n % 2 == 0, csv_decimal_comma=n % 2 == 1, email_verified_at=self.at(n + 1),
            totp_secret=crypto.encrypt(f"JBSWY3DPEHPK3PX{n}", crypto.TOTP_SECRETS),
            totp_enabled_at=self.at(n + 2),
            recovery_codes=json.dumps([f"hash-{n}-a", f"hash-{n}-b"]))

    def order(self, n: int, owner: int, customer: str) -> int:
        order_id = self.insert(
            "orders", owner_id=owner, customer=customer, customer_key=customer.casefold(),
            status=("open", "completed", "cancelled")[n % 3], created_at=self.at(10 + n),
            updated_at=self.at(20 + n), item_count=2, total=f"{n + 10}.75", units=n + 4)
        for k, product in enumerate((f"Tea {n}", f"Cake {n}")):
            self.insert("order_items", order_id=order_id, product=product, quantity=k + n + 1,
                        unit_price=f"{k + 1}.{n + 10}")
        return order_id

    def everything_of(self, n: int, owner: int) -> None:
        first = self.order(2 * n, owner, f"Café {n} GmbH")
        self.order(2 * n + 1, owner, f"ACME {n}")
        for k, product in enumerate(("Tea", "Cake")):
            self.insert("product_months", owner_id=owner, month=dt.date(2025, 10 - k, 1),
                        product=f"{product} {n}", revenue_cents=123_456_789_012 + n + k,
                        units=n + k + 7, orders=n + k + 1)
        job = self.report_job(n, owner, first, None, "COMPLETED")
        retry = self.report_job(n + 10, owner, None, job, "FAILED")
        for k, (job_id, event) in enumerate(((job, "completed"), (retry, "failed"))):
            self.insert("report_events", job_id=job_id, at=self.at(40 + n + k), event=event,
                        detail=f"detail {n} {k}", worker=f"celery@host-{n}")
        self.insert("worker_beats", name=f"celery@host-{n}", seen_at=self.at(50 + n))
        schedule = self.insert(
            "schedules", owner_id=owner, name=f"Weekly {n}", kind="order", format="pdf",
            range="last_week", customer=f"Café {n}", order_id=first, cron=f"0 {7 + n} * * 1",
            timezone="Europe/Berlin", emails=json.dumps([f"boss{n}@example.com"]),
            webhook_url=f"https://hooks.example.com/{n}",
            webhook_secret=crypto.encrypt(f"whsec_{n}"),
            paused_at=self.at(60 + n), pause_reason=f"paused {n}", failed_runs=n + 1,
            next_run_at=self.at(61 + n), created_at=self.at(62 + n), updated_at=self.at(63 + n))
        run = self.insert(
            "schedule_runs", schedule_id=schedule, due_at=self.at(70 + n), trigger="schedule",
            note=f"note {n}", job_id=job, outcome="delivered", detail=f"run {n}",
            created_at=self.at(71 + n), finished_at=self.at(72 + n), waiting=n % 2 == 1)
        for k, (channel, target) in enumerate((("email", f"boss{n}@example.com"),
                                               ("webhook", f"https://hooks.example.com/{n}"))):
            delivery = self.insert(
                "deliveries", job_id=job, run_id=run, channel=channel, target=target,
                status=("sent", "failed")[k], attempts=k + 1, next_attempt_at=self.at(80 + k),
                claimed_at=self.at(81 + k), message_id=f"<m{n}{k}@example.com>",
                payload=json.dumps({"n": n, "k": k}), detail=f"delivery {n} {k}",
                created_at=self.at(82 + k), finished_at=self.at(83 + k))
            self.insert("delivery_attempts", delivery_id=delivery, attempt=k + 1,
                        at=self.at(84 + k), ok=k == 0, code=(250, 502)[k],
                        detail=f"attempt {n} {k}")
        self.insert("notices", user_id=owner, kind="ready", text=f"Report {job} is ready",
                    job_id=job, schedule_id=schedule, created_at=self.at(90 + n),
                    read_at=self.at(91 + n))
        self.insert("api_tokens", user_id=owner, name=f"token {n}", token_hash=f"{n:064x}",
                    prefix=f"rg_{n:09d}", created_at=self.at(92 + n),
                    last_used_at=self.at(93 + n), revoked_at=self.at(94 + n))
        self.insert("schedule_recipients", schedule_id=schedule, address=f"boss{n}@example.com",
                    status="confirmed", asked_at=self.at(95 + n), answered_at=self.at(96 + n),
                    created_at=self.at(97 + n))
        self.insert("sender_blocks", owner_id=owner, address=f"spam{n}@example.net",
                    created_at=self.at(98 + n))
        for k in range(2):
            self.insert("mail_sends", owner_id=owner, at=self.at(100 + n + k))
        self.insert("signup_requests", email=f"new{n}@example.com",
                    password_hash=f"pbkdf2:sha256:1000$s{n}$h{n}", timezone="Asia/Tokyo",
                    token_hash=f"{n + 100:064x}", created_at=self.at(110 + n),
                    expires_at=self.at(111 + n))

    def report_job(self, n: int, owner: int, order_id: int | None, retry_of: int | None,
                   status: str) -> int:
        return self.insert(
            "report_jobs", owner_id=owner, kind="order" if order_id else "summary",
            format=("csv", "pdf", "xlsx")[n % 3], params=json.dumps({"n": n, "to": "2025-10-31"}),
            order_id=order_id, dedupe_key=f"key-{owner}-{n}", status=status, attempts=n % 3 + 1,
            max_attempts=5, rows_total=n + 100, rows_done=n + 50, error=f"error {n}",
            file_name=f"report-{n}.csv", size=5_000_000_000 + n, created_at=self.at(30 + n),
            started_at=self.at(31 + n), finished_at=self.at(32 + n), claimed_by=f"w{n}",
            heartbeat_at=self.at(33 + n), enqueued_at=self.at(34 + n),
            expires_at=self.at(35 + n), retry_of_id=retry_of, deleted_at=self.at(36 + n))


def _fill(conn) -> list[int]:
    """Two people (one the site admin, one deleted between them) with a row in
    every table; the ids of the two."""
    fill = Filler(conn)
    ada, gone, grace = (fill.user(n, *person) for n, person in enumerate(PEOPLE))
    conn.execute(sa.text("DELETE FROM users WHERE id = :i"), {"i": gone})
    for n, owner in enumerate((ada, grace)):
        fill.everything_of(n, owner)
    return [ada, grace]


# --- reading a database back -------------------------------------------------------

def _tables(conn) -> list[str]:
    return sorted(set(sa.inspect(conn).get_table_names()) - {"alembic_version"})


def _columns(conn, table: str) -> list[str]:
    return [column["name"] for column in sa.inspect(conn).get_columns(table)]


def _keys(conn) -> dict[str, list[str]]:
    """Each table's primary key columns, by their 0011 names."""
    return {table: sa.inspect(conn).get_pk_constraint(table)["constrained_columns"]
            for table in _tables(conn)}


def _snapshot(conn) -> dict[str, list[dict]]:
    """Every row of every table, every column, as the driver hands it back."""
    return {table: [dict(row) for row in conn.execute(sa.text(f"SELECT * FROM {table}"))
                    .mappings()] for table in _tables(conn)}


def _as_at_0011(table: str, row: dict, columns: list[str], renamed: dict) -> dict:
    return {column: row[renamed.get((table, column), column)] for column in columns}


def _differences(before: dict, now: dict, keys: dict, columns: dict,
                 renamed: dict = RENAMED) -> dict:
    """table -> (key, row before, row now or None) for each row of `before`
    that is gone or has another value in any of its 0011 columns (found in
    `now` under their `renamed` names)."""
    found = {}
    for table, rows in before.items():
        seen = {tuple(row[k] for k in keys[table]): row
                for row in (_as_at_0011(table, r, columns[table], renamed) for r in now[table])}
        for row in rows:
            key = tuple(row[k] for k in keys[table])
            if seen.get(key) != row:
                found.setdefault(table, []).append((key, row, seen.get(key)))
    return found


def _new_rows(before: dict, now: dict, keys: dict, table: str) -> list[dict]:
    old = {tuple(row[k] for k in keys[table]) for row in before[table]}
    return [row for row in now[table] if tuple(row[k] for k in keys[table]) not in old]


# --- the test ----------------------------------------------------------------------

def test_the_upgrade_keeps_every_row_and_gives_each_person_a_workspace(old_database):
    with db.engine.begin() as conn:
        ada, grace = _fill(conn)
    with db.engine.connect() as conn:
        tables, keys = _tables(conn), _keys(conn)
        columns = {table: _columns(conn, table) for table in tables}
        before = _snapshot(conn)
    # a table added before 0012 without rows here would prove nothing: fill it above
    assert [table for table in tables if not before[table]] == []
    for table in tables:
        owner = next((c for c in ("owner_id", "user_id") if c in columns[table]), None)
        if owner:
            assert {row[owner] for row in before[table]} == {ada, grace}, table
    assert {row["id"]: row["is_admin"] for row in before["users"]} == {ada: True, grace: False}

    upgrade(directory=MIGRATIONS, revision=REVISION)
    with db.engine.connect() as conn:
        assert set(tables) <= set(_tables(conn))
        lost = {table: [column for column in columns[table]
                        if RENAMED.get((table, column), column) not in _columns(conn, table)]
                for table in tables}
        after = _snapshot(conn)
    assert {table: gone for table, gone in lost.items() if gone} == {}
    assert _differences(before, after, keys, columns) == {}
    assert {table: len(after[table]) for table in tables} == \
        {table: len(before[table]) for table in tables}

    people = {row["id"]: row for row in before["users"]}
    workspaces = {row["id"]: row for row in after["workspaces"]}
    assert set(workspaces) == {ada, grace}
    for user_id, person in people.items():
        workspace = workspaces[user_id]
        assert workspace["name"] == f"{person['email'].split('@')[0]}’s workspace"
        assert (workspace["currency"], workspace["default_timezone"]) == ("USD",
                                                                          person["timezone"])
    assert workspaces[ada]["name"] == "ada.lovelace’s workspace"
    assert workspaces[grace]["name"] == "grace+ops’s workspace"
    assert sorted((m["workspace_id"], m["user_id"], m["role"]) for m in after["memberships"]) \
        == [(ada, ada, "owner"), (grace, grace, "owner")]
    assert after["invitations"] == [] and after["audit_entries"] == []
    for table in MADE_BY:
        assert {row["id"]: row["created_by_id"] for row in after[table]} == \
            {row["id"]: row["owner_id"] for row in before[table]}, table
    assert {row["id"]: (row["workspace_id"], row["scope"]) for row in after["api_tokens"]} == \
        {row["id"]: (row["user_id"], "write") for row in before["api_tokens"]}
    assert {row["id"]: row["workspace_id"] for row in after["notices"]} == \
        {row["id"]: row["user_id"] for row in before["notices"]}

    # new ids count on after the old ones (PostgreSQL: the workspaces
    # sequence the migration sets after the ids it gave)
    with db.engine.begin() as conn:
        new_ids = _insert_at_0012(conn, ada)
        new_ids.update(_insert_in_rebuilt_tables(conn, ada))
    newcomer_id = new_ids["users"]
    old_ids = {table: max(row["id"] for row in after[table]) for table in new_ids}
    assert {table: new_ids[table] for table in new_ids if new_ids[table] <= old_ids[table]} \
        == {}, f"ids handed out again: new {new_ids}, highest before {old_ids}"

    # the downgrade: every old row back as it was, under owner_id
    downgrade(directory=MIGRATIONS, revision="0011")
    with db.engine.connect() as conn:
        assert _tables(conn) == tables
        assert {table: _columns(conn, table) for table in tables} == columns
        back = _snapshot(conn)
    assert _differences(before, back, keys, columns, renamed={}) == {}
    for table in OWNED:  # what was made in ada's workspace since goes back to her
        assert {row["owner_id"] for row in _new_rows(before, back, keys, table)} <= {ada}, table
    assert [row["email"] for row in _new_rows(before, back, keys, "users")] == \
        ["newcomer@example.com"]

    upgrade(directory=MIGRATIONS, revision=REVISION)  # and up again
    with db.engine.connect() as conn:
        again = _snapshot(conn)
    assert _differences(before, again, keys, columns) == {}
    assert {row["id"] for row in again["workspaces"]} == {ada, grace, newcomer_id}


def _now(conn) -> dt.datetime:
    now = dt.datetime.now(dt.UTC)
    return now.replace(tzinfo=None) if conn.dialect.name == "sqlite" else now


def _insert_at_0012(conn, workspace: int) -> dict[str, int]:
    """By SQL, what the app made at 0012: a person with a workspace of their own
    (its id from the workspaces' sequence), and an order with an item in
    `workspace`, made by its owner; their ids."""
    values = {"w": workspace, "now": _now(conn)}

    def insert(table: str, sql: str, **more) -> int:
        return conn.execute(sa.text(f"INSERT INTO {table} {sql} RETURNING id"),
                            {**values, **more}).scalar_one()

    ids = {"users": insert("users", "(email, password_hash, site_admin, created_at, "
                                    "session_generation, timezone, csv_excel, "
                                    "csv_decimal_comma) VALUES ('newcomer@example.com', '!', "
                                    "false, :now, 0, 'UTC', false, false)"),
           "workspaces": insert("workspaces", "(name, currency, default_timezone, "
                                              "require_two_factor, created_at) VALUES "
                                              "('newcomer’s workspace', 'USD', 'UTC', false, "
                                              ":now)")}
    conn.execute(sa.text("INSERT INTO memberships (workspace_id, user_id, role, created_at) "
                         "VALUES (:workspace, :user, 'owner', :now)"),
                 {**values, "workspace": ids["workspaces"], "user": ids["users"]})
    ids["orders"] = insert("orders", "(workspace_id, created_by_id, customer, customer_key, "
                                     "status, created_at, updated_at, item_count, total, units) "
                                     "VALUES (:w, :w, 'New Co', 'new co', 'open', :now, :now, "
                                     "1, 1, 1)")
    ids["order_items"] = insert("order_items", "(order_id, product, quantity, unit_price) "
                                               "VALUES (:order, 'Tea', 1, 1)",
                                order=ids["orders"])
    return ids


def _insert_in_rebuilt_tables(conn, workspace: int) -> dict[str, int]:
    """A new row, by SQL, in each other table the SQLite batch rebuilt (the same
    SQL at 0012 and at head); their ids."""
    now = _now(conn)
    rows = {
        "report_jobs": "(workspace_id, kind, format, params, dedupe_key, status, attempts, "
                       "max_attempts, rows_done, created_at) VALUES (:w, 'summary', 'csv', "
                       "'{}', 'new', 'COMPLETED', 1, 3, 0, :now)",
        "schedules": "(workspace_id, name, kind, format, cron, timezone, emails, failed_runs, "
                     "created_at, updated_at) VALUES (:w, 'New', 'summary', 'csv', "
                     "'0 7 * * 1', 'UTC', '[]', 0, :now, :now)",
        "mail_sends": "(workspace_id, at) VALUES (:w, :now)",
        "api_tokens": "(user_id, workspace_id, name, token_hash, prefix, created_at) VALUES "
                      "(:w, :w, 'new', :hash, 'rg_new', :now)",
        "notices": "(user_id, workspace_id, kind, text, created_at) VALUES "
                   "(:w, :w, 'ready', 'new', :now)",
    }
    return {table: conn.execute(sa.text(f"INSERT INTO {table} {values} RETURNING id"),
                                {"w": workspace, "now": now, "hash": "e" * 64}).scalar_one()
            for table, values in rows.items()}


def test_ids_of_rows_deleted_before_the_upgrade_are_not_handed_out_again(old_database):
    """The newest row of each table the migration rebuilds on SQLite, deleted
    before the upgrade: its id is no one's and must stay so (see 0004)."""
    with db.engine.begin() as conn:
        fill = Filler(conn)
        ada = fill.user(0, *PEOPLE[0])
        at = fill.at(0)
        gone = {
            "users": fill.ghost("users", email="ghost@example.com", password_hash="!",
                                is_admin=False, created_at=at),
            "orders": fill.ghost("orders", owner_id=ada, customer="Ghost", customer_key="ghost",
                                 status="open", created_at=at, updated_at=at, item_count=0,
                                 total="0"),
            "report_jobs": fill.ghost("report_jobs", owner_id=ada, kind="summary",
                                      format="csv", params="{}", dedupe_key="ghost",
                                      status="COMPLETED", attempts=1, max_attempts=3,
                                      rows_done=0, created_at=at),
            "schedules": fill.ghost("schedules", owner_id=ada, name="Ghost", kind="summary",
                                    format="csv", cron="0 7 * * 1", timezone="UTC",
                                    emails="[]", failed_runs=0, created_at=at, updated_at=at),
            "mail_sends": fill.ghost("mail_sends", owner_id=ada, at=at),
            "api_tokens": fill.ghost("api_tokens", user_id=ada, name="ghost",
                                     token_hash="f" * 64, prefix="rg_ghost", created_at=at),
            "notices": fill.ghost("notices", user_id=ada, kind="ready", text="ghost",
                                  created_at=at),
        }
    upgrade(directory=MIGRATIONS)
    new_ids = {"orders": create_order(db.session.get(User, ada), "New Co",
                                      [ItemInput("Tea", 1, Decimal("1.00"))]).id,
               "users": make_user("newcomer@example.com").id}
    db.session.remove()
    with db.engine.begin() as conn:
        new_ids.update(_insert_in_rebuilt_tables(conn, ada))
    assert {table: new_ids[table] for table in gone if new_ids[table] <= gone[table]} == {}, \
        f"ids of rows deleted before the upgrade handed out again: new {new_ids}, gone {gone}"
