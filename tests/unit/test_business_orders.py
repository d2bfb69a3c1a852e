"""Orders as a business keeps them: numbers from a sequence, external
references, order dates, tax, discounts and shipping, and customers as
records; through the services, the API and the reports."""
from __future__ import annotations

import datetime as dt
import subprocess
from decimal import Decimal

import pytest
import sqlalchemy as sa

from tasks.reports import run_job
from tests.conftest import logged_in_client
from webapp.auth.current import as_actor
from webapp.customers.services import CustomerInput, create_customer, update_customer
from webapp.errors import InvalidInput
from webapp.extensions import db
from webapp.models import Order, OrderStatus, ProductMonth, Workspace
from webapp.orders.services import DuplicateReference, ItemInput, create_order, update_order
from webapp.reports.overview import NET, compute
from webapp.reports.params import ReportParams
from webapp.timezones import today

D = Decimal


def _item(product="Tea", quantity=1, price="10.00", tax="0", discount="0"):
    return ItemInput(product, quantity, D(price), D(tax), D(discount))


def test_numbers_come_from_the_workspaces_sequence_and_are_never_reused(app, user):
    first = create_order(user, "ACME", [_item()])
    second = create_order(user, "ACME", [_item()])
    assert (first.number, second.number) == ("SO-000001", "SO-000002")
    with pytest.raises(InvalidInput):  # refused before a number is taken
        create_order(user, "ACME", [_item()], order_date=today("UTC") + dt.timedelta(days=5))
    db.session.delete(second)
    db.session.commit()
    as_actor(user).workspace.order_prefix = "2026/"
    db.session.commit()
    third = create_order(user, "ACME", [_item()])
    assert third.number == "2026/000003"  # the deleted order's number stays used
    assert db.session.get(Workspace, third.workspace_id).next_order_number == 4


def test_an_external_reference_is_unique_in_the_workspace(app, user):
    order = create_order(user, "ACME", [_item()], external_ref="shop-1001")
    with pytest.raises(DuplicateReference) as refused:
        create_order(user, "ACME", [_item()], external_ref="shop-1001")
    assert refused.value.order_id == order.id
    other = create_order(user, "ACME", [_item()], external_ref="shop-1002")
    with pytest.raises(DuplicateReference):
        update_order(user, other.id, external_ref="shop-1001")


def test_the_order_date_defaults_to_today_in_the_makers_zone_and_may_be_backdated(app, user):
    user.timezone = "Pacific/Kiritimati"  # UTC+14: often a day ahead of UTC
    db.session.commit()
    order = create_order(user, "ACME", [_item()])
    assert order.order_date == today("Pacific/Kiritimati")
    old = create_order(user, "ACME", [_item()], order_date=dt.date(2019, 2, 28))
    assert old.order_date == dt.date(2019, 2, 28)
    tomorrow = today("Pacific/Kiritimati") + dt.timedelta(days=1)
    assert create_order(user, "ACME", [_item()], order_date=tomorrow).order_date == tomorrow
    with pytest.raises(InvalidInput, match="at most 1 day after today"):
        create_order(user, "ACME", [_item()], order_date=tomorrow + dt.timedelta(days=1))


def test_one_order_with_three_rates_a_full_discount_and_shipping(app, user):
    """Amounts written out by hand: 19 % and 7 % lines, a 0 % line, a line
    given away (100 % discount) and shipping at 19 %."""
    order = create_order(user, "ACME", [
        _item("Beer", 3, "1.99", tax="19"),           # 5.97, tax 1.1343 -> 1.13, gross 7.10
        _item("Bread", 2, "2.49", tax="7", discount="10"),  # 4.98 - 0.498->0.50 = 4.48,
                                                             # tax 0.3136 -> 0.31, gross 4.79
        _item("Stamps", 1, "0.85"),                   # 0.85, no tax
        _item("Sample", 4, "3.00", tax="19", discount="100"),  # 12.00 - 12.00 = 0
    ], shipping=D("4.90"), shipping_tax_rate=D("19"))  # tax 0.931 -> 0.93, gross 5.83
    nets = [(i.net, i.tax, i.gross, i.discount) for i in order.items]
    assert nets == [(D("5.97"), D("1.13"), D("7.10"), D("0.00")),
                    (D("4.48"), D("0.31"), D("4.79"), D("0.50")),
                    (D("0.85"), D("0.00"), D("0.85"), D("0.00")),
                    (D("0.00"), D("0.00"), D("0.00"), D("12.00"))]
    assert (order.shipping_net, order.shipping_tax) == (D("4.90"), D("0.93"))
    assert order.net_total == D("16.20")  # 5.97 + 4.48 + 0.85 + 0 + 4.90
    assert order.tax_total == D("2.37")  # 1.13 + 0.31 + 0.93
    assert order.total == D("18.57")
    assert order.discount_total == D("12.50")
    assert order.net_total + order.tax_total == order.total


def test_prices_entered_gross_are_taken_apart_per_line(app, user):
    as_actor(user).workspace.prices_include_tax = True
    db.session.commit()
    order = create_order(user, "ACME", [_item("Coat", 1, "119.00", tax="19"),
                                        _item("Book", 1, "10.00", tax="7")],
                         shipping=D("5.95"), shipping_tax_rate=D("19"))
    assert order.prices_include_tax
    assert [(i.net, i.tax, i.gross) for i in order.items] == [
        (D("100.00"), D("19.00"), D("119.00")), (D("9.35"), D("0.65"), D("10.00"))]
    assert (order.shipping_net, order.shipping_tax) == (D("5.00"), D("0.95"))
    assert order.total == D("134.95") and order.net_total == D("114.35")
    # the setting changes later; the order keeps how it was entered
    as_actor(user).workspace.prices_include_tax = False
    db.session.commit()
    again = update_order(user, order.id, items=[_item("Coat", 1, "119.00", tax="19")])
    assert (again.items[0].net, again.items[0].gross) == (D("100.00"), D("119.00"))


def test_the_api_takes_the_new_fields_and_answers_every_amount(app, user):
    client = logged_in_client(app, user)
    made = client.post("/api/orders", json={
        "customer": "Müller & Söhne", "order_date": "2026-03-31", "external_ref": "wc-77",
        "notes": "Leave at the door", "shipping": "4.90", "shipping_tax_rate": "19",
        "items": [{"product": "Tea", "quantity": 2, "unit_price": "3.35", "tax_rate": "7",
                   "discount": "5"}]})
    assert made.status_code == 201, made.json
    body = made.json
    assert body["number"] == "SO-000001" and body["order_date"] == "2026-03-31"
    assert body["external_ref"] == "wc-77" and body["notes"] == "Leave at the door"
    line = body["items"][0]
    # 6.70, 5 % off: 0.335 -> 0.34; net 6.36, tax 0.4452 -> 0.45, gross 6.81
    assert (line["discount"], line["net"], line["tax"], line["gross"], line["tax_rate"]) == (
        "0.34", "6.36", "0.45", "6.81", "7")
    assert (body["net_total"], body["tax_total"], body["total"]) == ("11.26", "1.38", "12.64")
    # the same name, spelled otherwise, is the same customer
    again = client.post("/api/orders", json={"customer": "muller & sohne", "items": [
        {"product": "Tea", "quantity": 1, "unit_price": "1.00"}]})
    assert again.json["customer_id"] == body["customer_id"]
    assert again.json["customer"] == "Müller & Söhne"
    # an external_ref the workspace has: 409 pointing at the order
    clash = client.post("/api/orders", json={"customer_id": body["customer_id"],
                                             "external_ref": "wc-77", "items": [
        {"product": "Tea", "quantity": 1, "unit_price": "1.00"}]})
    assert clash.status_code == 409
    assert clash.headers["Location"].endswith(f"/api/orders/{body['id']}")
    assert "wc-77" in clash.json["detail"]
    # PUT by reference replaces that order, keeping its number; a new reference makes one
    put = client.put("/api/orders/by-ref/wc-77", json={
        "customer_id": body["customer_id"], "items": [
            {"product": "Coffee", "quantity": 1, "unit_price": "8.00", "tax_rate": "19"}]})
    assert put.status_code == 200, put.json
    assert (put.json["id"], put.json["number"], put.json["total"]) == (
        body["id"], "SO-000001", "9.52")
    new = client.put("/api/orders/by-ref/wc-78", json={"customer": "Someone", "items": [
        {"product": "Coffee", "quantity": 1, "unit_price": "8.00"}]})
    assert new.status_code == 201 and new.json["external_ref"] == "wc-78"
    # a customer of another workspace or none: 400 on the field
    missing = client.post("/api/orders", json={"customer_id": 999999, "items": [
        {"product": "Tea", "quantity": 1, "unit_price": "1.00"}]})
    assert missing.status_code == 400 and "customer_id" in missing.json["errors"]
    too_late = client.post("/api/orders", json={"customer": "X", "order_date": "2999-01-01",
                                                "items": [{"product": "Tea", "quantity": 1,
                                                           "unit_price": "1.00"}]})
    assert too_late.status_code == 400 and "order_date" in too_late.json["errors"]


def test_backdated_orders_land_in_their_own_day_week_and_month(app, user):
    user.timezone = "America/Los_Angeles"
    db.session.commit()
    for day, price in ((dt.date(2026, 1, 31), "10.00"), (dt.date(2026, 2, 1), "20.00"),
                       (dt.date(2026, 2, 2), "40.00"), (dt.date(2026, 3, 1), "80.00")):
        create_order(user, "ACME", [_item(price=price, tax="10")], order_date=day,
                     status=OrderStatus.COMPLETED)
    ws = as_actor(user).workspace_id
    feb = compute(ws, ReportParams.summary(dt.date(2026, 2, 1), dt.date(2026, 2, 28),
                                           timezone="America/Los_Angeles"), "USD")
    assert feb.kpis.orders == 2 and feb.kpis.revenue == D("66.00")  # gross
    assert feb.kpis.net == D("60.00") and feb.kpis.tax == D("6.00")
    assert [(p.start, p.revenue) for p in feb.periods if p.revenue] == [
        (dt.date(2026, 2, 1), D("22.00")), (dt.date(2026, 2, 2), D("44.00"))]
    assert [(t.rate, t.net, t.tax, t.gross) for t in feb.tax_rows] == [
        (D("10"), D("60.00"), D("6.00"), D("66.00"))]
    assert feb.previous.orders == 1  # Jan 31, the day before the range's month
    quarter = compute(ws, ReportParams.summary(dt.date(2026, 1, 1), dt.date(2026, 6, 30)),
                      "USD", basis=NET)
    weeks = {p.start: p.revenue for p in quarter.periods if p.revenue}
    # Jan 31 is a Saturday (week of Jan 26), Feb 1 a Sunday (same week), Feb 2 a Monday
    assert weeks == {dt.date(2026, 1, 26): D("30.00"), dt.date(2026, 2, 2): D("40.00"),
                     dt.date(2026, 2, 23): D("80.00")}
    months = db.session.execute(sa.select(ProductMonth.month, ProductMonth.revenue_cents,
                                          ProductMonth.net_cents)
                                .order_by(ProductMonth.month)).all()
    assert [tuple(m) for m in months] == [(dt.date(2026, 1, 1), 1100, 1000),
                                         (dt.date(2026, 2, 1), 6600, 6000),
                                         (dt.date(2026, 3, 1), 8800, 8000)]


def test_a_summary_of_a_customer_record_counts_its_orders_whatever_their_old_spelling(
        app, user, sent):
    customer = create_customer(user, CustomerInput(name="Müller & Söhne"))
    for _ in range(2):
        create_order(user, customer.id, [_item()], status=OrderStatus.COMPLETED)
    create_order(user, "Other", [_item()], status=OrderStatus.COMPLETED)
    # the record is renamed: its orders follow at once
    update_customer(user, customer.id, CustomerInput(name="Müller & Söhne GmbH"))
    names = set(db.session.scalars(sa.select(Order.customer).where(
        Order.customer_id == customer.id)))
    assert names == {"Müller & Söhne GmbH"}
    client = logged_in_client(app, user)
    day = today("UTC").isoformat()
    for customer_ref in (customer.id, "muller & sohne gmbh", "sohne", "Mueller"):
        asked = client.post("/api/reports", json={"kind": "summary", "format": "csv",
                                                  "date_from": day, "date_to": day,
                                                  "customer": customer_ref})
        assert asked.status_code in (200, 202), asked.json
        assert asked.json["params"]["customer_id"] == customer.id
    ws = as_actor(user).workspace_id
    params = ReportParams.summary(today("UTC"), today("UTC"), customer_id=customer.id)
    assert compute(ws, params, "USD").kpis.orders == 2
    nothing = client.post("/api/reports", json={"kind": "summary", "format": "csv",
                                                "date_from": day, "date_to": day,
                                                "customer": "Muler"})  # a typo
    assert nothing.status_code == 400
    assert "Müller & Söhne GmbH" in nothing.json["detail"]


def test_the_order_pdf_is_a_document_with_seller_buyer_lines_taxes_and_the_apis_totals(
        app, user, sent, tmp_path):
    workspace = as_actor(user).workspace
    workspace.legal_name, workspace.tax_id = "Kaffeerösterei Nord GmbH", "DE123456789"
    workspace.address = "Hafenstraße 1\n20457 Hamburg"
    workspace.document_title = "Pro-forma invoice"
    db.session.commit()
    buyer = create_customer(user, CustomerInput(
        name="Müller & Söhne", email="einkauf@mueller.example", address="Marktplatz 5",
        postcode="80331", city="München", country="DE", tax_id="DE987654321"))
    order = create_order(user, buyer.id, [
        _item("Espresso beans 1 kg", 3, "18.90", tax="7"),
        _item("Grinder", 1, "249.00", tax="19", discount="10"),
        _item("Cleaning tablets", 2, "4.99", tax="19")],
        order_date=dt.date(2026, 11, 27), external_ref="shop-4711",
        notes="Deliver to the back door.", shipping=D("5.90"), shipping_tax_rate=D("19"))
    client = logged_in_client(app, user)
    api = client.get(f"/api/orders/{order.id}").json
    asked = client.post("/api/reports", json={"kind": "order", "format": "pdf",
                                              "order_id": order.id})
    assert run_job(asked.json["id"]) == "completed"
    download = client.get(f"/api/reports/{asked.json['id']}/download")
    assert download.status_code == 200
    pdf = tmp_path / "order.pdf"
    pdf.write_bytes(download.data)
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True,
                          text=True, check=True).stdout
    for expected in ("Kaffeerösterei Nord GmbH", "Hafenstraße 1", "DE123456789",
                     "Müller & Söhne", "Marktplatz 5", "80331 München", "Germany",
                     "DE987654321", "Pro-forma invoice", order.number, "2026-11-27",
                     "shop-4711", "Deliver to the back door.", "Espresso beans 1 kg",
                     "Grinder", "Cleaning tablets", "Page 1 of 1"):
        assert expected in text, expected
    # each line's net, the per-rate table and the totals, as the API says them
    for line in api["items"]:
        assert _money(line["net"]) in text
    # by hand: 56.70 (7 %: 3.969 -> 3.97), 249.00 - 24.90 = 224.10 (19 %: 42.579 -> 42.58),
    # 9.98 (19 %: 1.8962 -> 1.90), shipping 5.90 (19 %: 1.121 -> 1.12)
    assert (api["net_total"], api["tax_total"], api["total"]) == ("296.68", "49.57", "346.25")
    for total in (api["net_total"], api["tax_total"], api["total"]):
        assert _money(total) in text
    # the tax breakdown per rate, summed by hand (shipping under 19 %)
    rows = [line.split() for line in text.splitlines() if line.strip().startswith(("7%", "19%"))]
    assert rows == [["7%", "56.70", "3.97", "60.67"], ["19%", "239.98", "45.60", "285.58"]]


def _money(text: str) -> str:
    return f"{D(text):,.2f}"
