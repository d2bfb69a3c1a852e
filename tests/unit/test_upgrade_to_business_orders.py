"""Migration 0013 turns free-text customers into records and gives orders
numbers, dates and stored amounts, on each database, without losing an order
or changing an id; the downgrade gives back the old schema's rows, and the
upgrade runs again on them.

The data is made at head through the services, taken down to 0012 (the
downgrade under test too), given what only 0012 could hold (spellings of one
name that differ, an order made late in its maker's evening), and brought up
again."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import psycopg
import pytest
import sqlalchemy as sa
from flask_migrate import downgrade, upgrade

from tests.conftest import PG_ADMIN_URL, PG_TEST_DB, ROOT, SESSION, build_app, make_user
from webapp.extensions import db
from webapp.models import Customer, Order, OrderStatus, ProductMonth, User, Workspace
from webapp.orders.services import ItemInput, create_order

MIGRATIONS = str(ROOT / "migrations")
D = Decimal


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_app(request, tmp_path, redis_url):
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'up.sqlite3'}"
    else:
        name = f"{PG_TEST_DB}_business_{SESSION}"
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
            conn.execute(f'CREATE DATABASE "{name}"')
        url = PG_ADMIN_URL.rsplit("/", 1)[0].replace(
            "postgresql://", "postgresql+psycopg://") + f"/{name}"
    app = build_app(url, tmp_path / "r", "unused", redis_url)
    with app.app_context():
        upgrade(directory=MIGRATIONS)
        yield app
        db.session.remove()
        db.engine.dispose()
    if request.param == "postgresql":
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')


def _item(product: str, quantity: int, price: str) -> ItemInput:
    return ItemInput(product, quantity, D(price))


def test_the_upgrade_makes_customers_numbers_and_dates_and_keeps_every_order(fresh_app):
    alice = make_user("alice@example.com")
    alice.timezone = "Europe/Berlin"
    bob = make_user("bob@example.com")
    db.session.commit()
    a1 = create_order(alice, "Müller & Söhne", [_item("Tea", 2, "3.35"), _item("Cup", 1, "9.99")],
                      status=OrderStatus.COMPLETED)
    a2 = create_order(alice, "ACME", [_item("Tea", 1, "3.35")], status=OrderStatus.COMPLETED)
    a3 = create_order(alice, "Müller & Söhne", [_item("Cake", 3, "2.50")])
    b1 = create_order(bob, "ACME", [_item("Tea", 4, "1.00")], status=OrderStatus.COMPLETED)
    gone = create_order(bob, "ACME", [_item("Tea", 1, "1.00")])
    ids = {o.id: (o.workspace_id, [(i.id, i.product, i.quantity, i.unit_price) for i in o.items])
           for o in (a1, a2, a3, b1)}
    gone_id = gone.id
    a1_id, a2_id, a3_id, b1_id = a1.id, a2.id, a3.id, b1.id
    alice_id, bob_id = alice.id, bob.id
    db.session.delete(gone)
    db.session.commit()
    db.session.remove()

    downgrade(directory=MIGRATIONS, revision="0012")
    conn = db.session.connection()
    assert "customers" not in sa.inspect(conn).get_table_names()
    totals = dict(conn.execute(sa.text("SELECT id, total FROM orders")).all())
    assert {k: D(str(v)).quantize(D("0.01")) for k, v in totals.items()} == {
        a1_id: D("16.69"), a2_id: D("3.35"), a3_id: D("7.50"), b1_id: D("4.00")}
    # what only 0012 could hold: one name spelled two ways, an order made at
    # 23:30 UTC (00:30 the next day in Berlin, its maker's zone)
    late = (dt.datetime(2026, 3, 1, 23, 30) if conn.dialect.name == "sqlite"
            else dt.datetime(2026, 3, 1, 23, 30, tzinfo=dt.UTC))
    conn.execute(sa.text("UPDATE orders SET customer = 'MÜLLER &  SÖHNE', created_at = :at "
                         "WHERE id = :id"), {"at": late, "id": a3_id})
    conn.execute(sa.text("UPDATE orders SET created_at = :at WHERE id = :id"),
                 {"at": late, "id": b1_id})
    db.session.commit()
    db.session.remove()

    upgrade(directory=MIGRATIONS)
    orders = {o.id: o for o in db.session.scalars(sa.select(Order))}
    assert set(orders) == set(ids)
    for order_id, (workspace_id, items) in ids.items():
        order = orders[order_id]
        assert order.workspace_id == workspace_id
        assert [(i.id, i.product, i.quantity, i.unit_price) for i in order.items] == items
        for item in order.items:  # no tax, no discount: net = gross = quantity × price
            assert (item.net, item.gross, item.tax, item.discount) == (
                item.quantity * item.unit_price, item.quantity * item.unit_price, 0, 0)
        assert order.net_total == order.total and order.tax_total == 0
    # one customer per name and workspace, whatever the spelling; named as the
    # newest order spells it when two spellings are as common
    customers = db.session.execute(sa.select(Customer.workspace_id, Customer.name)
                                   .order_by(Customer.workspace_id, Customer.name)).all()
    assert [tuple(c) for c in customers] == [
        (alice_id, "ACME"), (alice_id, "MÜLLER &  SÖHNE"), (bob_id, "ACME")]
    assert orders[a1_id].customer_id == orders[a3_id].customer_id
    assert orders[a1_id].customer == "MÜLLER &  SÖHNE"
    assert orders[b1_id].customer_id != orders[a2_id].customer_id  # two workspaces' ACMEs
    # numbers per workspace in id order; each sequence goes on after them
    assert [orders[i].number for i in (a1_id, a2_id, a3_id)] == [
        "SO-000001", "SO-000002", "SO-000003"]
    assert orders[b1_id].number == "SO-000001"
    assert db.session.get(Workspace, alice_id).next_order_number == 4
    # the day each was made in its maker's zone
    assert orders[a3_id].order_date == dt.date(2026, 3, 2)  # Berlin
    assert orders[b1_id].order_date == dt.date(2026, 3, 1)  # UTC
    # the product rollup by order date
    months = db.session.execute(
        sa.select(ProductMonth.workspace_id, ProductMonth.month, ProductMonth.product,
                  ProductMonth.revenue_cents, ProductMonth.net_cents)
        .where(ProductMonth.workspace_id == bob_id)).all()
    assert [tuple(m) for m in months] == [(bob_id, dt.date(2026, 3, 1), "Tea", 400, 400)]
    # ids and numbers go on: the deleted order's id is never handed out again
    db.session.remove()
    new = create_order(db.session.get(User, bob_id), "acme", [_item("Tea", 1, "1.00")])
    assert new.id > gone_id
    assert new.number == "SO-000002" and new.customer_id == orders[b1_id].customer_id
