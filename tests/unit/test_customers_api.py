"""The customers of the JSON API on SQLite and PostgreSQL: create, list with
an accent-blind search, get, change (only what is sent; a rename shows on the
orders), delete (refused with 409 while orders point at the customer), and
every error as an RFC 9457 problem."""
from __future__ import annotations

from decimal import Decimal

import pytest

from tests.conftest import make_user
from webapp.customers.services import CustomerInput, create_customer
from webapp.extensions import db
from webapp.models import Customer
from webapp.orders.services import ItemInput, create_order

PROBLEM = "application/problem+json"
MULLER = {"name": "Müller GmbH", "email": "billing@mueller.example",
          "address": "Hauptstraße 5\nHinterhaus", "postcode": "10115", "city": "Berlin",
          "country": "de", "tax_id": "DE123456789", "notes": "Calls before noon."}


@pytest.fixture
def muller(client):
    resp = client.post("/api/customers", json=MULLER)
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()


def _problem(resp, status: int) -> dict:
    assert resp.status_code == status, resp.get_data(as_text=True)
    assert resp.mimetype == PROBLEM
    body = resp.get_json()
    assert body["status"] == status and body["detail"]
    return body


def _count() -> int:
    return db.session.scalar(db.select(db.func.count()).select_from(Customer))


def test_create_answers_201_with_the_customer_and_where_it_lives(client, muller):
    assert muller["name"] == "Müller GmbH" and muller["country"] == "DE"
    assert muller["address"] == "Hauptstraße 5\nHinterhaus"
    assert muller["url"] == f"/api/customers/{muller['id']}"
    assert muller["created_at"].endswith("Z") and muller["updated_at"].endswith("Z")
    assert set(muller) == {"id", "name", "email", "address", "postcode", "city", "country",
                           "tax_id", "notes", "created_at", "updated_at", "url"}
    again = client.get(muller["url"])
    assert again.status_code == 200 and again.get_json() == muller


def test_only_the_name_is_needed_and_blank_fields_are_empty(client):
    resp = client.post("/api/customers", json={"name": "  Just   a name ", "email": " ",
                                                "city": None})
    assert resp.status_code == 201
    body = resp.get_json()
    assert body["name"] == "Just a name" and body["email"] is None and body["city"] is None
    assert resp.headers["Location"] == body["url"]


def test_the_list_is_by_name_paged_and_searched_without_regard_to_accents(client, muller):
    for name in ("Schmidt AG", "Mullins Ltd", "Zeta"):
        client.post("/api/customers", json={"name": name})
    everything = client.get("/api/customers").get_json()
    assert [c["name"] for c in everything["items"]] == ["Müller GmbH", "Mullins Ltd",
                                                        "Schmidt AG", "Zeta"]
    assert (everything["total"], everything["pages"], everything["page"]) == (4, 1, 1)
    found = client.get("/api/customers?search=muller").get_json()
    assert [c["name"] for c in found["items"]] == ["Müller GmbH"] and found["total"] == 1
    second = client.get("/api/customers?per_page=3&page=2").get_json()
    assert [c["name"] for c in second["items"]] == ["Zeta"] and second["pages"] == 2


def test_patch_changes_only_what_is_sent_and_null_clears(client, muller):
    resp = client.patch(muller["url"], json={"city": "Hamburg", "email": None})
    assert resp.status_code == 200
    body = resp.get_json()
    assert body["city"] == "Hamburg" and body["email"] is None
    assert {k: body[k] for k in ("name", "address", "postcode", "country", "tax_id", "notes")} \
        == {k: MULLER[k] if k != "country" else "DE"
            for k in ("name", "address", "postcode", "country", "tax_id", "notes")}


def test_a_rename_shows_on_the_customers_orders_at_once(client, user, muller):
    order = client.post("/api/orders", json={"customer_id": muller["id"], "items": [
        {"product": "Tea", "quantity": 1, "unit_price": "2.50"}]}).get_json()
    assert order["customer"] == "Müller GmbH"
    assert client.patch(muller["url"], json={"name": "Müller & Söhne"}).status_code == 200
    again = client.get(f"/api/orders/{order['id']}").get_json()
    assert (again["customer_id"], again["customer"]) == (muller["id"], "Müller & Söhne")


def test_delete_answers_204_and_the_customer_is_gone(client, muller):
    assert client.delete(muller["url"]).status_code == 204
    _problem(client.get(muller["url"]), 404)
    assert _count() == 0


def test_delete_with_orders_is_409_with_the_reason_and_deletes_nothing(client, user, muller):
    create_order(user, muller["id"], [ItemInput("Tea", 1, Decimal("1.00"))])
    create_order(user, muller["id"], [ItemInput("Cake", 1, Decimal("2.00"))])
    body = _problem(client.delete(muller["url"]), 409)
    assert body["detail"].startswith("Müller GmbH has 2 orders; a customer with orders "
                                     "cannot be deleted.")
    assert client.get(muller["url"]).status_code == 200


@pytest.mark.parametrize("payload,field", [
    ({}, "name"),
    ({"name": ""}, "name"),
    ({"name": "   "}, "name"),
    ({"name": None}, "name"),
    ({"name": 5}, "name"),
    ({"name": "x" * 201}, "name"),
    ({"name": "Tab\x01Co"}, "name"),
    ({"name": "A", "email": "not an address"}, "email"),
    ({"name": "A", "country": "Germany"}, "country"),
    ({"name": "A", "country": "ZZ"}, "country"),
    ({"name": "A", "postcode": "1" * 21}, "postcode"),
    ({"name": "A", "notes": "n" * 2001}, "notes"),
    ({"name": "A", "city": 12}, "city"),
    ({"name": "A", "phone": "123"}, "phone"),
])
def test_invalid_input_is_400_with_the_field_named_and_saves_nothing(client, payload, field):
    body = _problem(client.post("/api/customers", json=payload), 400)
    assert field in body["errors"], body
    assert _count() == 0


def test_malformed_json_is_400_not_500(client):
    _problem(client.post("/api/customers", data="{nope", content_type="application/json"), 400)
    _problem(client.post("/api/customers", data="[1]", content_type="application/json"), 400)


def test_an_invalid_patch_changes_nothing(client, muller):
    for payload, field in (({"name": None}, "name"), ({"country": "XX"}, "country"),
                           ({"email": "@"}, "email"), ({"nickname": "M"}, "nickname")):
        body = _problem(client.patch(muller["url"], json={"city": "Köln", **payload}), 400)
        assert field in body["errors"]
    assert client.get(muller["url"]).get_json() == muller


@pytest.mark.parametrize("query,field", [
    ("page=0", "page"), ("per_page=101", "per_page"), ("page=x", "page"),
    ("search=" + "s" * 201, "search"), ("search=a%00b", "search")])
def test_a_bad_list_query_is_400(client, query, field):
    body = _problem(client.get(f"/api/customers?{query}"), 400)
    assert field in body["errors"]


def test_missing_and_other_workspaces_customers_are_404_for_every_method(client, muller):
    theirs = create_customer(make_user("other@example.com"), CustomerInput(name="Theirs"))
    for customer_id in (999_999, theirs.id, 2**31):
        url = f"/api/customers/{customer_id}"
        _problem(client.get(url), 404)
        _problem(client.patch(url, json={"name": "Mine now"}), 404)
        _problem(client.patch(url, json={"name": None}), 404)  # 404 before 400
        _problem(client.delete(url), 404)
    db.session.expire_all()
    assert db.session.get(Customer, theirs.id).name == "Theirs"


def test_a_read_only_token_may_list_but_not_write(app, user, muller):
    from webapp.auth.services import create_token

    reader = app.test_client()
    reader.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {create_token(user, 'r', 'read')[1]}"
    assert reader.get("/api/customers").status_code == 200
    assert "read-only" in _problem(reader.post("/api/customers", json={"name": "N"}),
                                   403)["detail"]
    _problem(reader.patch(muller["url"], json={"city": "X"}), 403)
    _problem(reader.delete(muller["url"]), 403)


def test_the_customers_are_in_the_openapi_document(client):
    document = client.get("/api/openapi.json").get_json()
    paths = document["paths"]
    assert set(paths["/api/customers"]) == {"get", "post"}
    assert set(paths["/api/customers/{customer_id}"]) == {"get", "patch", "delete"}
    assert "409" in paths["/api/customers/{customer_id}"]["delete"]["responses"]
    assert {p["name"] for p in paths["/api/customers"]["get"]["parameters"]} == {
        "search", "page", "per_page"}
    schemas = document["components"]["schemas"]
    assert {"CustomerIn", "CustomerPatch", "CustomerOut", "CustomerPage"} <= set(schemas)
    assert schemas["CustomerIn"]["required"] == ["name"]
    assert schemas["CustomerIn"]["additionalProperties"] is False
