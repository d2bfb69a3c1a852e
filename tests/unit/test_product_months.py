"""product_months (webapp/orders/rollup.py) stays in step with the orders,
on SQLite and PostgreSQL: after any sequence of ORM writes (the services,
and attributes set directly as the CLI and tests do) the table equals a
rebuild from the line items; the migration's SQL backfill gives the same.
A cell is a month of order dates (Order.order_date): when an order was typed
in (created_at) moves nothing."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import make_user
from webapp.extensions import db
from webapp.models import Order, OrderStatus, ProductMonth
from webapp.orders import rollup
from webapp.orders.services import ItemInput, create_order, delete_order, update_order

PRODUCTS = ["Widget", "Gadget", "Ürün"]
# tax and discounts make gross and net differ, so both sums are checked
items_strategy = st.lists(st.tuples(st.sampled_from(PRODUCTS), st.integers(1, 10_000),
                                    st.decimals("0.01", "99999.99", places=2),
                                    st.sampled_from([Decimal(0), Decimal(7), Decimal(19)]),
                                    st.sampled_from([Decimal(0), Decimal("12.5")])),
                          min_size=1, max_size=3)
day_strategy = st.dates(dt.date(2026, 1, 30), dt.date(2026, 4, 2))  # around month ends
when_strategy = st.datetimes(dt.datetime(2026, 1, 1), dt.datetime(2026, 5, 1)).map(
    lambda t: t.replace(tzinfo=dt.UTC))
operations = st.lists(st.one_of(
    st.tuples(st.just("create"), st.integers(0, 1), items_strategy,
              st.sampled_from(list(OrderStatus)), day_strategy),
    st.tuples(st.just("items"), st.integers(0, 30), items_strategy),
    st.tuples(st.just("status"), st.integers(0, 30), st.sampled_from(list(OrderStatus))),
    st.tuples(st.just("move"), st.integers(0, 30), day_strategy),  # through the service
    st.tuples(st.just("redate"), st.integers(0, 30), day_strategy),  # the attribute itself
    st.tuples(st.just("retime"), st.integers(0, 30), when_strategy),  # created_at only
    st.tuples(st.just("delete"), st.integers(0, 30)),
), max_size=12)


def _table() -> dict:
    rows = db.session.execute(sa.select(ProductMonth.workspace_id, ProductMonth.month,
                                        ProductMonth.product, ProductMonth.revenue_cents,
                                        ProductMonth.units, ProductMonth.orders,
                                        ProductMonth.net_cents)).all()
    return {(o, m, p): (c, u, n, net) for o, m, p, c, u, n, net in rows}


def _rebuilt() -> dict:
    with db.engine.begin() as conn:
        rollup.rebuild(conn)
    db.session.expire_all()
    return _table()


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=operations)
def test_the_rollup_follows_every_write(app, ops):
    from tests.conftest import _empty_tables

    db.session.rollback()  # TRUNCATE waits for any transaction still open
    _empty_tables(app)
    owners = [make_user("a@example.com"), make_user("b@example.com")]
    made: list[int] = []
    for op in ops:
        kind, *args = op
        if kind == "create":
            who, items, status, day = args
            order = create_order(owners[who], "ACME", [ItemInput(*i) for i in items],
                                 order_date=day)
            order.status = status
            db.session.commit()
            made.append((order.id, who))
            continue
        if not made:
            continue
        order_id, who = made[args[0] % len(made)]
        if db.session.get(Order, order_id) is None:
            continue
        if kind == "items":
            update_order(owners[who], order_id, items=[ItemInput(*i) for i in args[1]])
        elif kind == "status":
            update_order(owners[who], order_id, status=args[1])
        elif kind == "move":
            update_order(owners[who], order_id, order_date=args[1])
        elif kind == "redate":
            db.session.get(Order, order_id).order_date = args[1]
            db.session.commit()
        elif kind == "retime":
            db.session.get(Order, order_id).created_at = args[1]
            db.session.commit()
        else:
            delete_order(owners[who], order_id)
    kept = _table()
    assert kept == _rebuilt()
    assert all(n > 0 for _, _, n, _ in kept.values())


def test_one_order_in_words(app, user):
    order = create_order(user, "ACME", [ItemInput("Widget", 2, Decimal("1.25")),
                                        ItemInput("Widget", 1, Decimal("10.00"), Decimal(19)),
                                        ItemInput("Gadget", 3, Decimal("0.10"))],
                         order_date=dt.date(2026, 3, 31))
    assert _table() == {}  # open orders do not count
    order.status = OrderStatus.COMPLETED
    # typed in on April 1st (UTC and most zones), dated March 31st: March it is
    order.created_at = dt.datetime(2026, 4, 1, 9, 0, tzinfo=dt.UTC)
    db.session.commit()
    march = dt.date(2026, 3, 1)
    # Widget: 2.50 + 10.00 net, 1.90 tax on the second line
    assert _table() == {(user.id, march, "Widget"): (1440, 3, 1, 1250),
                        (user.id, march, "Gadget"): (30, 3, 1, 30)}
    order.created_at = dt.datetime(2026, 5, 2, 9, 0, tzinfo=dt.UTC)  # moves nothing
    db.session.commit()
    assert set(_table()) == {(user.id, march, "Widget"), (user.id, march, "Gadget")}
    update_order(user, order.id, order_date=dt.date(2026, 4, 1))  # into April
    assert set(_table()) == {(user.id, dt.date(2026, 4, 1), "Widget"),
                             (user.id, dt.date(2026, 4, 1), "Gadget")}
    delete_order(user, order.id)
    assert _table() == {}


def test_the_migrations_backfill_matches_a_rebuild(app, user):
    from tests.conftest import ROOT

    # The downgrade drops order dates and the upgrade dates each order by its
    # maker's zone: 23:30 UTC on Feb 28 is March 1st in Berlin, so the order
    # dates (and months) the upgrade must find again are Berlin's.
    user.timezone = "Europe/Berlin"
    berlin = ZoneInfo(user.timezone)
    for n, month in enumerate((1, 2, 2, 5)):
        created = dt.datetime(2026, month, 28, 23, 30, tzinfo=dt.UTC)
        order = create_order(user, "ACME", [ItemInput("Widget", n + 1, Decimal("2.50")),
                                            ItemInput(f"P{n % 2}", 1, Decimal("99.99"))],
                             order_date=created.astimezone(berlin).date())
        order.status = OrderStatus.COMPLETED
        order.created_at = created
    db.session.commit()
    expected = _table()
    assert {month for _, month, _ in expected} == {
        dt.date(2026, 1, 1), dt.date(2026, 3, 1), dt.date(2026, 5, 1)}
    assert expected == _rebuilt()
    from flask_migrate import downgrade, upgrade

    db.session.remove()
    downgrade(directory=str(ROOT / "migrations"), revision="0006")
    upgrade(directory=str(ROOT / "migrations"))  # head: later tests need every table
    assert _table() == expected
