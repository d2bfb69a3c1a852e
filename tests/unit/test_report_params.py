"""ReportParams: the one place that says what a report covers (stored form,
words, file name, and the rows it selects, ownership included)."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import sqlalchemy as sa

from tests.conftest import make_user
from webapp.errors import InvalidInput
from webapp.extensions import db
from webapp.models import Order, OrderStatus, ReportKind
from webapp.orders.services import ItemInput, create_order, update_order
from webapp.reports.params import ReportParams

JAN = dt.date(2026, 1, 1), dt.date(2026, 1, 31)


def test_stored_form_round_trips_and_keeps_todays_keys():
    summary = ReportParams.summary(*JAN, "  ACME ")
    assert summary.to_json() == {"date_from": "2026-01-01", "date_to": "2026-01-31",
                                 "customer": "ACME"}
    assert ReportParams.from_json("summary", summary.to_json()) == summary
    # an admin's "every user" job from before workspaces covers its own workspace
    assert ReportParams.from_json("summary", {**summary.to_json(), "all_owners": True}) == summary
    order = ReportParams.order(42)
    assert order.to_json() == {"order_id": 42}
    assert ReportParams.from_json(ReportKind.ORDER, {"order_id": 42}) == order
    assert ReportParams.summary(*JAN).to_json() == {
        "date_from": "2026-01-01", "date_to": "2026-01-31", "customer": None}


def test_a_start_after_the_end_is_refused_with_the_field_named():
    with pytest.raises(InvalidInput) as err:
        ReportParams.summary(dt.date(2026, 2, 1), dt.date(2026, 1, 1))
    assert err.value.errors == {"date_to": ["Must be on or after the start date."]}


def test_words_and_file_names():
    at = dt.datetime(2026, 11, 29, 8, 5, tzinfo=dt.UTC)
    order = ReportParams.order(7)
    assert (order.title(), order.short()) == ("Order #7", "Order #7")
    assert order.download_name("pdf", at) == "order-7-20261129-0805.pdf"
    summary = ReportParams.summary(*JAN, "Café Lumière")
    assert summary.title() == "Completed orders"
    assert summary.describe() == ["Completed orders from 2026-01-01 to 2026-01-31 (UTC dates)",
                                  "Customer: Café Lumière"]
    assert summary.short() == "Completed orders 2026-01-01 → 2026-01-31, Café Lumière"
    assert summary.download_name("csv", at) == \
        "completed-orders-cafe-lumiere-2026-01-01-to-2026-01-31.csv"
    assert ReportParams.summary(*JAN).describe()[1] == "All customers"


def _ids(params: ReportParams, workspace_id: int) -> set[int]:
    return set(db.session.scalars(sa.select(Order.id).where(*params.where(workspace_id))))


def test_the_row_filter_is_scoped_to_the_workspace(app, sent):
    alice, bob = make_user("alice@example.com"), make_user("bob@example.com", site_admin=True)
    items = [ItemInput("Tea", 1, Decimal("1.00"))]
    mine = create_order(alice, "A", items)
    theirs = create_order(bob, "B", items)
    for owner, order in ((alice, mine), (bob, theirs)):
        update_order(owner, order.id, status=OrderStatus.COMPLETED)
    today = dt.date.today()
    wide = ReportParams.summary(today, today)

    assert _ids(ReportParams.order(theirs.id), mine.workspace_id) == set()  # not alice's
    assert _ids(ReportParams.order(mine.id), mine.workspace_id) == {mine.id}
    assert _ids(ReportParams.order(mine.id), theirs.workspace_id) == set()  # site admin or not
    assert _ids(wide, mine.workspace_id) == {mine.id}
    assert _ids(wide, theirs.workspace_id) == {theirs.id}
    assert _ids(ReportParams.summary(today, today, "b"), bob.id) == {theirs.id}  # any case
    # a range open at the calendar's end (stored as such: summary() refuses
    # more than ten years) filters the same
    to_the_end = ReportParams(kind=ReportKind.SUMMARY, date_from=today, date_to=dt.date.max)
    assert _ids(to_the_end, bob.id) == {theirs.id}


def test_the_orders_list_export_keeps_its_search_and_names_its_file():
    at = dt.datetime(2026, 11, 29, 8, 5, tzinfo=dt.UTC)
    listing = ReportParams.listing("  Café ")
    assert listing.to_json() == {"search": "Café"}
    assert ReportParams.from_json("orders", listing.to_json()) == listing
    assert listing.short() == "Orders matching “Café”"
    assert listing.describe() == ["Orders of any status and date", "Customer contains: Café"]
    assert listing.download_name("csv", at) == "orders-cafe-20261129-0805.csv"
    assert ReportParams.listing().short() == "All orders"
    assert ReportParams.listing().download_name("pdf", at) == "orders-20261129-0805.pdf"


def test_the_export_filter_matches_like_the_orders_list(app, sent):
    alice = make_user("alice@example.com")
    items = [ItemInput("Tea", 1, Decimal("1.00"))]
    ids = {name: create_order(alice, name, items).id
           for name in ("Café Lumière", "CAFE 50%", "Globex")}
    assert _ids(ReportParams.listing("cafe"), alice.id) == {ids["Café Lumière"], ids["CAFE 50%"]}
    assert _ids(ReportParams.listing("50%"), alice.id) == {ids["CAFE 50%"]}  # % is literal
    assert _ids(ReportParams.listing(), alice.id) == set(ids.values())
    assert _ids(ReportParams.listing(), make_user("bob@example.com").id) == set()
