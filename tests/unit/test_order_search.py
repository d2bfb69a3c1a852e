"""The customer search ignores case and accents the same way on SQLite and
PostgreSQL (both sides compared as search keys, orders.customer_key), takes LIKE
wildcards literally, and keeps what was typed in the box."""
from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
import sqlalchemy as sa
from flask_migrate import downgrade, upgrade
from markupsafe import escape

from tests.conftest import ROOT
from webapp.extensions import db
from webapp.models import Order, OrderStatus, User
from webapp.orders.bulk import order_rows
from webapp.orders.services import ItemInput, create_order, list_orders, update_order
from webapp.orders.validation import search_key

NAMES = ["Café Lumière", "İstanbul Ltd", "URUN A.S.", "Straße & Söhne", "ACME", "Søren's Bikes",
         "50% off", "under_score", "back\\slash"]


@pytest.fixture
def orders(app, user):
    for name in NAMES:
        create_order(user, name, [ItemInput("Tea", 1, Decimal("1.00"))])
    return user


def _found(owner, search: str) -> list[str]:
    return sorted(o.customer for o in list_orders(owner, search=search, per_page=100).items)


@pytest.mark.parametrize("search", ["CAFÉ", "cafe", "Cafe", "café", "CAFE LUMIERE",
                                    "  café \t lumière ", "LUMIÈRE", "e lum"])
def test_case_and_accents_do_not_matter(orders, search):
    assert _found(orders, search) == ["Café Lumière"]


@pytest.mark.parametrize("search", ["istanbul", "ISTANBUL", "İstanbul", "İSTANBUL LTD"])
def test_dotted_capital_i_is_an_i_with_an_accent(orders, search):
    # casefold("İ") is "i" + U+0307 (combining dot above); the dot goes as an accent
    assert _found(orders, search) == ["İstanbul Ltd"]


def test_dotless_i_stays_a_letter_of_its_own(orders):
    # casefold is language-neutral: "I" folds to "i", never to Turkish "ı"
    assert _found(orders, "ıstanbul") == []


@pytest.mark.parametrize("search", ["ürün", "ÜRÜN", "urun", "urun a.s"])
def test_umlauts_find_the_plain_letters_and_back(orders, search):
    assert _found(orders, search) == ["URUN A.S."]


@pytest.mark.parametrize("search", ["strasse", "STRASSE", "straße", "sohne", "SÖHNE"])
def test_sharp_s_is_ss_and_o_umlaut_is_o(orders, search):
    assert _found(orders, search) == ["Straße & Söhne"]


@pytest.mark.parametrize("search", ["soren", "SØREN", "Sören's"])
def test_letters_with_a_stroke_find_the_plain_letters(orders, search):
    assert _found(orders, search) == ["Søren's Bikes"]


@pytest.mark.parametrize("search,expected", [
    ("%", ["50% off"]), ("_", ["under_score"]), ("\\", ["back\\slash"]),
    ("％", ["50% off"]),  # fullwidth percent: NFKD makes it "%", still literal
    ("a%e", []), ("u_der", []), ("' OR 1=1 --", []),
])
def test_like_wildcards_in_the_search_are_literal(orders, search, expected):
    assert _found(orders, search) == expected


def test_only_the_owners_orders_are_searched(orders, app):
    from tests.conftest import make_user

    other = make_user("bob@example.com")
    create_order(other, "Café Bob", [ItemInput("Tea", 1, Decimal("1.00"))])
    assert _found(orders, "cafe") == ["Café Lumière"]
    assert _found(other, "cafe") == ["Café Bob"]


def test_renaming_the_customer_renames_its_key(orders):
    order = list_orders(orders, search="acme").items[0]
    update_order(orders, order.id, customer="Crème Brûlée SA")
    assert _found(orders, "creme brulee") == ["Crème Brûlée SA"]
    assert _found(orders, "acme") == []
    assert db.session.get(Order, order.id).customer_key == "creme brulee sa"


def test_rows_inserted_without_the_key_get_it_from_the_customer(app, user):
    """Bulk loads with SQLAlchemy Core (bench data, fault-suite seeds) give rows
    without customer_key to order_rows, which keys them from their customer; a
    Core insert that still leaves the key out gets it from the column default."""
    now = dt.datetime.now(dt.UTC)
    with db.engine.begin() as conn:
        rows = order_rows(conn, [
            {"workspace_id": user.id, "customer": name, "status": OrderStatus.COMPLETED.value,
             "created_at": now, "updated_at": now, "item_count": 0, "total": Decimal("0")}
            for name in ("Ürün Bulk", "Café Bulk", "Straße Bulk")])
        assert [row["customer_key"] for row in rows] == ["urun bulk", "cafe bulk", "strasse bulk"]
        conn.execute(sa.insert(Order.__table__), rows[:2])
        conn.execute(sa.insert(Order.__table__),
                     {k: v for k, v in rows[2].items() if k != "customer_key"})
    assert _found(user, "URUN") == ["Ürün Bulk"]
    assert _found(user, "cafe b") == ["Café Bulk"]
    assert _found(user, "strasse") == ["Straße Bulk"]
    keys = dict(db.session.execute(sa.select(Order.customer, Order.customer_key)).all())
    assert keys == {name: search_key(name) for name in ("Ürün Bulk", "Café Bulk", "Straße Bulk")}


def test_the_key_is_what_the_docstring_says():
    assert search_key("Café Lumière") == "cafe lumiere"
    assert search_key("İstanbul") == "istanbul"
    assert search_key("ＡＣＭＥ　ﬁne") == "acme fine"  # fullwidth, ideographic space, ligature
    assert search_key("日本茶 が") == "日本茶 が"  # kana voicing marks are kept
    assert search_key(" a \n b ") == "a b"
    assert search_key("Søren Łódź Đorđe") == "soren lodz dorde"  # strokes are accents too
    assert search_key("") == search_key(None) == ""


def test_the_search_box_keeps_what_was_typed(client, orders):
    for typed, found in [("Café", True), ("CAFÉ LUMIÈRE", True), ("nothing like it", False),
                         ("50%", True), ('"quoted" <b>', False)]:
        html = client.get("/orders/", query_string={"q": typed}).get_data(as_text=True)
        box = re.search(r'<input id="q" name="q" type="search" value="([^"]*)"', html)
        assert box and box.group(1) == str(escape(typed)), typed
        assert ("No orders for a customer matching" in html) is not found, typed


def test_the_migration_fills_the_key_of_existing_orders_in_batches(app, user):
    """0005 adds customer_key to a database that has orders (more than one
    batch of them), fills it in Python, then makes it NOT NULL and indexed."""
    migrations = str(ROOT / "migrations")
    workspace_id = user.id
    db.session.remove()
    downgrade(directory=migrations, revision="0004")
    try:
        now = dt.datetime(2026, 1, 1)
        names = ["Café Lumière", "İstanbul Ltd", "URUN A.S."]
        with db.engine.begin() as conn:
            conn.execute(sa.text(
                "INSERT INTO orders (owner_id, customer, status, created_at, updated_at, "
                "item_count, total) VALUES (:owner, :customer, 'open', :now, :now, 0, 0)"),
                [{"owner": workspace_id, "customer": names[n % 3] + f" {n}", "now": now}
                 for n in range(2500)])
    finally:
        upgrade(directory=migrations)
    with db.engine.connect() as conn:
        keys = conn.execute(sa.text("SELECT customer, customer_key FROM orders")).all()
    assert len(keys) == 2500
    assert all(key == search_key(customer) for customer, key in keys)
    user = db.session.get(User, workspace_id)
    assert len(list_orders(user, search="cafe", per_page=5).items) == 5
    assert list_orders(user, search="ISTANBUL LTD 2497", per_page=5).total == 1
    with pytest.raises(sa.exc.IntegrityError), db.engine.begin() as conn:
        conn.execute(sa.text("UPDATE orders SET customer_key = NULL"))
    index = sa.inspect(db.engine).get_indexes("orders")
    assert any(i["name"] == "ix_orders_customer_key" for i in index)
