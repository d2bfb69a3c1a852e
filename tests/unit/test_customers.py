"""Customer pages and the customer picker's endpoints, on SQLite and
PostgreSQL: the list and its accent-blind search, the form (errors beside
their fields, what was typed kept), a rename that shows on the orders at
once, deletes refused while orders point at the customer, viewers who only
read, and the picker's suggestions and in-place creation."""
from __future__ import annotations

import re
from decimal import Decimal

import pytest
from flask import render_template_string
from markupsafe import escape
from werkzeug.datastructures import MultiDict

from tests.conftest import logged_in_client, make_user
from webapp.auth.current import as_actor
from webapp.customers.forms import picked
from webapp.customers.services import CustomerInput, create_customer, get_customer
from webapp.enums import Role
from webapp.extensions import db
from webapp.models import Customer, Membership, Order, OrderStatus
from webapp.orders.services import ItemInput, create_order, update_order
from webapp.security import WORKSPACE as SESSION_WORKSPACE


def _customer(owner, name: str, **fields) -> Customer:
    return create_customer(owner, CustomerInput(name=name, **fields))


def _order(owner, customer, price: str = "10.00", quantity: int = 1) -> Order:
    return create_order(owner, customer, [ItemInput("Tea", quantity, Decimal(price))])


def _html(resp) -> str:
    return resp.get_data(as_text=True)


def _names_listed(html: str) -> list[str]:
    return re.findall(r'<a href="/customers/\d+">([^<]+)</a>', html)


def _field_error(html: str, field: str) -> str | None:
    found = re.search(rf'<span class="field-error" id="{field}-error">([^<]*)</span>', html)
    return found and found.group(1)


@pytest.fixture
def viewer(app, user):
    """A viewer of alice's workspace, logged in and working there."""
    person = make_user("viewer@example.com")
    workspace_id = as_actor(user).workspace_id
    db.session.add(Membership(workspace_id=workspace_id, user_id=person.id, role=Role.VIEWER))
    db.session.commit()
    client = logged_in_client(app, person)
    with client.session_transaction() as session:
        session[SESSION_WORKSPACE] = workspace_id
    return client


# --- the list ---------------------------------------------------------------------

def test_search_ignores_accents_and_case_and_keeps_the_typed_text(client, user):
    for name in ("Müller GmbH", "Schmidt AG", "Mullins Ltd"):
        _customer(user, name)
    html = _html(client.get("/customers/?q=muller"))
    assert _names_listed(html) == ["Müller GmbH"]
    assert 'value="muller"' in html
    assert _names_listed(_html(client.get("/customers/?q=MÜLL"))) == ["Müller GmbH",
                                                                      "Mullins Ltd"]
    assert _names_listed(_html(client.get("/customers/"))) == ["Müller GmbH", "Mullins Ltd",
                                                               "Schmidt AG"]


def test_htmx_search_answers_only_the_results_and_the_count_for_screen_readers(client, user):
    _customer(user, "Café Lumière")
    _customer(user, "Cafeteria Nord")
    resp = client.get("/customers/?q=cafe", headers={"HX-Request": "true"})
    html = _html(resp)
    assert resp.status_code == 200 and "<html" not in html
    assert html.lstrip().startswith('<div id="customer-results">')
    assert _names_listed(html) == ["Café Lumière", "Cafeteria Nord"]
    assert re.search(r'<p id="customer-count" hx-swap-oob="innerHTML">\s*2 customers match '
                     r'“cafe”\.', html)


def test_the_list_page_searches_with_htmx_and_without_javascript(client, user):
    html = _html(client.get("/customers/"))
    form = re.search(r'<form class="search" method="get" action="/customers/"[^>]*>', html)
    assert form and 'hx-get="/customers/"' in form.group(0)
    assert re.search(r'<input id="q" name="q" type="search"[^>]*hx-trigger="input changed '
                     r'delay:300ms, search"', html)
    assert 'aria-current="page">Customers</a>' in html


def test_empty_states_say_how_customers_are_made_and_what_did_not_match(client, user):
    html = _html(client.get("/customers/"))
    assert "No customers yet. They are made when you create an order or " \
           '<a href="/customers/new">here</a>.' in html
    _customer(user, "ACME")
    html = _html(client.get("/customers/?q=zebra"))
    assert "No customer matches “zebra”." in html and _names_listed(html) == []
    assert "No customers yet" not in html


def test_the_list_is_paged_by_name(client, user):
    for n in range(23):
        _customer(user, f"Customer {n:02d}")
    first = _names_listed(_html(client.get("/customers/")))
    second = _names_listed(_html(client.get("/customers/?page=2")))
    assert len(first) == 20 and second == ["Customer 20", "Customer 21", "Customer 22"]
    assert "Page 2 of 2 (23)" in _html(client.get("/customers/?page=2"))
    assert "Go to the last page" in _html(client.get("/customers/?page=9"))


def test_another_workspaces_customers_are_not_listed_or_shown(app, client, user):
    stranger = make_user("stranger@example.com")
    theirs = _customer(stranger, "Their customer")
    assert "Their customer" not in _html(client.get("/customers/"))
    assert client.get(f"/customers/{theirs.id}").status_code == 404
    assert client.get(f"/customers/{theirs.id}/edit").status_code == 404
    assert client.post(f"/customers/{theirs.id}/delete").status_code == 404
    assert db.session.get(Customer, theirs.id) is not None


# --- create and edit ----------------------------------------------------------------

FULL = {"name": "  Müller   GmbH ", "email": "billing@mueller.example",
        "address": "Hauptstraße 5\r\nHinterhaus", "postcode": "10115", "city": "Berlin",
        "country": "de", "tax_id": "DE123456789", "notes": "Calls before noon."}


def test_a_valid_form_creates_the_customer_and_shows_it(client, user):
    resp = client.post("/customers/new", data=FULL)
    assert resp.status_code == 303
    customer = db.session.scalars(db.select(Customer)).one()
    assert resp.headers["Location"] == f"/customers/{customer.id}"
    assert (customer.name, customer.country, customer.address) == (
        "Müller GmbH", "DE", "Hauptstraße 5\nHinterhaus")
    html = _html(client.get(resp.headers["Location"]))
    assert "Müller GmbH" in html
    assert "Hauptstraße 5<br>Hinterhaus<br>10115 Berlin<br>Germany" in html
    assert 'href="mailto:billing@mueller.example"' in html and "DE123456789" in html


def test_the_form_offers_every_country_and_an_empty_choice(client):
    html = _html(client.get("/customers/new"))
    select = re.search(r'<select id="country" name="country"[^>]*>(.*?)</select>', html, re.S)
    options = re.findall(r'<option value="([A-Z]*)"', select.group(1))
    assert options[0] == "" and {"DE", "FR", "US", "JP"} <= set(options)
    assert len(options) > 240
    assert '<label for="name">Name <span class="muted">(required)</span></label>' in html


def test_errors_show_beside_their_fields_and_everything_typed_stays(client, user):
    typed = {**FULL, "name": "", "email": "not an address", "country": "ZZ",
             "city": "Ber<lin"}
    resp = client.post("/customers/new", data=typed)
    html = _html(resp)
    assert resp.status_code == 422
    assert _field_error(html, "name") == "Name is required."
    assert _field_error(html, "email").startswith("Give an e-mail address")
    assert _field_error(html, "country").startswith("Pick a country")
    assert _field_error(html, "city") is None
    # every field still holds what was typed (escaped), the address with its lines
    for name in ("email", "postcode", "tax_id"):
        assert f'value="{escape(typed[name])}"' in html
    assert 'value="Ber&lt;lin"' in html
    assert ">Hauptstraße 5\r\nHinterhaus</textarea>" in html or \
           ">Hauptstraße 5\nHinterhaus</textarea>" in html
    assert ">Calls before noon.</textarea>" in html
    # each error is tied to its field, and the first one takes the focus
    name_input = re.search(r'<input type="text" id="name"[^>]*>', html).group(0)
    assert 'aria-invalid="true"' in name_input and 'aria-describedby="name-error"' in name_input
    assert " autofocus" in name_input
    email_input = re.search(r'<input type="email" id="email"[^>]*>', html).group(0)
    assert 'aria-describedby="email-error"' in email_input and "autofocus" not in email_input
    assert re.search(r'<select id="country"[^>]*aria-describedby="country-error"', html)
    assert 'role="alert"' in html and "Nothing was saved yet" in html
    assert db.session.scalar(db.select(db.func.count()).select_from(Customer)) == 0


def test_the_first_field_with_an_error_takes_the_focus_even_when_it_is_not_the_name(client):
    html = _html(client.post("/customers/new", data={"name": "Fine", "country": "XX"}))
    assert re.search(r'<select id="country"[^>]*autofocus', html)
    assert "autofocus" not in re.search(r'<input type="text" id="name"[^>]*>', html).group(0)


def test_edit_shows_the_record_and_a_rename_shows_on_its_orders_at_once(client, user):
    customer = _customer(user, "Old Name", city="Hamburg")
    first, second = _order(user, customer), _order(user, customer, "5.00")
    other = _order(user, "Someone else")
    form = _html(client.get(f"/customers/{customer.id}/edit"))
    assert 'value="Old Name"' in form and 'value="Hamburg"' in form
    resp = client.post(f"/customers/{customer.id}/edit", data={"name": "New Name",
                                                               "city": "Hamburg"})
    assert resp.status_code == 303 and resp.headers["Location"] == f"/customers/{customer.id}"
    db.session.expire_all()
    assert [db.session.get(Order, o.id).customer for o in (first, second, other)] == [
        "New Name", "New Name", "Someone else"]
    assert "New Name" in _html(client.get(f"/orders/{first.id}"))
    assert "Old Name" not in _html(client.get("/orders/"))
    assert "New Name" in _html(client.get("/orders/?q=new name"))  # the search finds it


def test_an_invalid_edit_changes_nothing_and_keeps_the_typed_values(client, user):
    customer = _customer(user, "Keep Me", email="a@example.com")
    resp = client.post(f"/customers/{customer.id}/edit",
                       data={"name": "Changed", "email": "broken"})
    html = _html(resp)
    assert resp.status_code == 422 and 'value="Changed"' in html and 'value="broken"' in html
    assert _field_error(html, "email")
    db.session.expire_all()
    assert (get_customer(user, customer.id).name, get_customer(user, customer.id).email) == (
        "Keep Me", "a@example.com")


# --- the details page -----------------------------------------------------------------

def test_the_details_page_lists_the_orders_and_sums_the_completed_ones(client, user):
    customer = _customer(user, "Buyer")
    done = _order(user, customer, "10.00", 2)
    _order(user, customer, "99.99")
    update_order(user, done.id, status=OrderStatus.COMPLETED)
    _order(user, "Not this one", "1000.00")
    html = _html(client.get(f"/customers/{customer.id}"))
    assert re.search(r'id="customer-orders-count">2<', html)
    assert re.search(r'id="customer-completed-count">1<', html)
    assert re.search(r'id="customer-revenue-net">20\.00 \w+<', html)
    assert re.search(r'id="customer-revenue-gross">20\.00 \w+<', html)
    numbers = re.findall(r'<a href="/orders/(\d+)">([^<]+)</a>', html)
    assert [int(n) for n, _ in numbers] == sorted([done.id, done.id + 1], reverse=True)
    assert {label for _, label in numbers} == {done.number, db.session.get(
        Order, done.id + 1).number}
    assert "Completed" in html and "Open" in html and "99.99" in html
    assert done.order_date.isoformat() in html


def test_a_customer_without_orders_says_so(client, user):
    customer = _customer(user, "Newcomer")
    html = _html(client.get(f"/customers/{customer.id}"))
    assert "No orders yet." in html and re.search(r'id="customer-orders-count">0<', html)


# --- delete -------------------------------------------------------------------------

def test_delete_asks_first_then_deletes_a_customer_without_orders(client, user):
    customer = _customer(user, "Gone Soon")
    page = _html(client.get(f"/customers/{customer.id}/delete"))
    assert "Delete Gone Soon?" in page and "Yes, delete the customer" in page
    assert db.session.get(Customer, customer.id) is not None
    resp = client.post(f"/customers/{customer.id}/delete")
    assert resp.status_code == 303 and resp.headers["Location"] == "/customers/"
    assert "Customer Gone Soon deleted." in _html(client.get("/customers/"))
    db.session.expire_all()
    assert db.session.get(Customer, customer.id) is None


def test_delete_is_refused_while_orders_refer_to_the_customer_and_says_why(client, user):
    customer = _customer(user, "Has Orders")
    order = _order(user, customer)
    resp = client.post(f"/customers/{customer.id}/delete")
    html = _html(resp)
    assert resp.status_code == 409
    assert re.search(r'role="alert"[^>]*>Has Orders has 1 order; a customer with orders '
                     r'cannot be deleted\.', html)
    assert "Yes, delete the customer" not in html
    assert f'href="/customers/{customer.id}"' in html
    db.session.expire_all()
    assert db.session.get(Customer, customer.id) is not None
    assert db.session.get(Order, order.id).customer_id == customer.id


# --- viewers read only ------------------------------------------------------------------

def test_a_viewer_reads_but_every_write_is_refused(app, client, user, viewer):
    customer = _customer(user, "Shared")
    assert viewer.get("/customers/").status_code == 200
    html = _html(viewer.get(f"/customers/{customer.id}"))
    assert "Shared" in html and "Edit</a>" not in html and "Delete…" not in html
    assert "New customer</a>" not in _html(viewer.get("/customers/"))
    assert viewer.post("/customers/new", data={"name": "Nope"}).status_code == 403
    assert viewer.post(f"/customers/{customer.id}/edit",
                       data={"name": "Renamed"}).status_code == 403
    assert viewer.post(f"/customers/{customer.id}/delete").status_code == 403
    quick = viewer.post("/customers/quick", data={"name": "Nope"})
    assert quick.status_code == 403 and quick.get_json()["error"] == \
        "Viewers cannot create customers."
    db.session.expire_all()
    assert [c.name for c in db.session.scalars(db.select(Customer))] == ["Shared"]


# --- the picker's endpoints -----------------------------------------------------------------

def _options(resp) -> list[tuple[str, str | None, str]]:
    """(id, data-id, data-name) of each option, in order; data-id None for "create"."""
    html = _html(resp)
    found = []
    for li in re.findall(r'<li role="option"[^>]*>', html):
        found.append((re.search(r'id="([^"]+)"', li).group(1),
                      (re.search(r'data-id="(\d+)"', li) or [None, None])[1],
                      re.search(r'data-name="([^"]*)"', li).group(1)))
    return found


def test_suggestions_list_names_starting_with_the_text_first(client, user):
    for name in ("Anna Berg", "Weinberg", "Bergmann", "Berg & Co", "Unrelated"):
        _customer(user, name)
    resp = client.get("/customers/suggest?q=berg&list=pick-listbox")
    assert resp.status_code == 200
    names = [name for _, _, name in _options(resp)]
    assert names == ["Berg &amp; Co", "Bergmann", "Anna Berg", "Weinberg"]
    ids = [(option_id, data_id) for option_id, data_id, _ in _options(resp)]
    assert all(option_id == f"pick-listbox-{data_id}" for option_id, data_id in ids)
    html = _html(resp)
    assert re.match(r'<ul role="listbox" id="pick-listbox"[^>]*data-announce="4 customers '
                    r'found\."', html.strip())


def test_suggestions_ignore_accents_and_offer_to_create_only_a_new_name(client, user):
    muller = _customer(user, "Müller")
    resp = client.get("/customers/suggest?q=mull&create=1")
    assert _options(resp) == [(f"customer-listbox-{muller.id}", str(muller.id), "Müller"),
                              ("customer-listbox-create", None, "mull")]
    assert "Create customer “mull”" in _html(resp)
    # the very name, any case or accent: that customer, nothing to create
    assert _options(client.get("/customers/suggest?q=MULLER&create=1")) == [
        (f"customer-listbox-{muller.id}", str(muller.id), "Müller")]
    # no create without create=1 (a filter), nor for a name that cannot be one
    assert _options(client.get("/customers/suggest?q=mull")) == [
        (f"customer-listbox-{muller.id}", str(muller.id), "Müller")]
    nothing = client.get("/customers/suggest?q=zz%01&create=1")
    assert _options(nothing) == [] and " hidden" in _html(nothing)


def test_no_match_offers_create_and_says_so_for_screen_readers(client, user):
    resp = client.get("/customers/suggest?q=+Brand++New+&create=1")
    assert _options(resp) == [("customer-listbox-create", None, "Brand New")]
    assert 'data-announce="No customer found, or create “Brand New”."' in _html(resp)
    empty = client.get("/customers/suggest?q=&create=1")
    assert _options(empty) == [] and 'data-announce=""' in _html(empty)


def test_suggestions_read_the_pickers_own_field_without_q_and_refuse_odd_list_ids(client,
                                                                                  user):
    acme = _customer(user, "ACME")
    resp = client.get('/customers/suggest?field=buyer&buyer=acm&list="><script>')
    assert _options(resp) == [(f"customer-listbox-{acme.id}", str(acme.id), "ACME")]
    assert "<script>" not in _html(resp)


def test_a_viewer_is_never_offered_to_create(viewer, user):
    assert _options(viewer.get("/customers/suggest?q=new+one&create=1")) == []


def test_suggestions_are_the_workspaces_own(client, user):
    _customer(make_user("other@example.com"), "Secret Customer")
    assert [n for _, _, n in _options(client.get("/customers/suggest?q=secret"))] == []


def test_quick_create_makes_the_customer_and_answers_its_id_and_name(client, user):
    resp = client.post("/customers/quick", data={"name": "  Fresh   Start  "})
    assert resp.status_code == 201
    body = resp.get_json()
    customer = db.session.get(Customer, body["id"])
    assert body == {"id": customer.id, "name": "Fresh Start",
                    "url": f"/customers/{customer.id}"}
    assert customer.workspace_id == as_actor(user).workspace_id


def test_quick_create_refuses_an_empty_name_in_json(client):
    resp = client.post("/customers/quick", data={"name": "   "})
    assert resp.status_code == 400
    assert resp.get_json() == {"error": "Name is required.",
                               "errors": {"name": ["Name is required."]}}
    assert db.session.scalar(db.select(db.func.count()).select_from(Customer)) == 0


# --- the picker macro -------------------------------------------------------------------------

PICKER = '{% from "customers/_picker.html" import customer_picker %}{{ customer_picker(**args) }}'


def _picker(app, **args) -> str:
    with app.test_request_context("/orders/new"):
        return render_template_string(PICKER, args=args)


def test_the_picker_is_a_combobox_that_asks_for_suggestions(app, user):
    html = _picker(app)
    box = re.search(r'<input type="text" id="customer"[^>]*>', html, re.S).group(0)
    for attribute in ('name="customer"', 'role="combobox"', 'aria-autocomplete="list"',
                      'aria-expanded="false"', 'aria-controls="customer-listbox"',
                      'hx-trigger="input changed delay:200ms"',
                      'hx-target="#customer-listbox"', 'autocomplete="off"', 'value=""'):
        assert attribute in box, attribute
    url = re.search(r'hx-get="([^"]+)"', box).group(1).replace("&amp;", "&")
    assert url.startswith("/customers/suggest?") and "create=1" in url
    assert "list=customer-listbox" in url and "field=customer" in url
    assert '<label for="customer">Customer</label>' in html
    assert re.search(r'<ul role="listbox" id="customer-listbox"[^>]*hidden></ul>', html)
    assert re.search(r'<span id="customer-status" class="visually-hidden" role="status"', html)
    assert 'data-quick-url="/customers/quick"' in html
    hidden = re.search(r'<input type="hidden" name="customer_id"[^>]*>', html).group(0)
    assert 'value=""' in hidden and "disabled" in hidden  # without JavaScript: the text only


def test_the_picker_shows_the_chosen_customer_errors_and_its_own_names(app, user):
    chosen = _customer(user, "Chosen & Co")
    html = _picker(app, id_name="buyer_id", text_name="buyer", selected=chosen,
                   allow_create=False, label="Bill to", errors=["Pick one."], autofocus=True,
                   placeholder="")
    box = re.search(r'<input type="text" id="buyer"[^>]*>', html, re.S).group(0)
    assert 'value="Chosen &amp; Co"' in box and 'name="buyer"' in box
    assert 'aria-invalid="true"' in box and 'aria-describedby="buyer-error"' in box
    assert 'autofocus="True"' in box and "placeholder" not in box
    assert "create=1" not in box and 'aria-controls="buyer-listbox"' in box
    assert re.search(rf'<input type="hidden" name="buyer_id" value="{chosen.id}"', html)
    assert '<span class="field-error" id="buyer-error">Pick one.</span>' in html
    assert '<label for="buyer">Bill to</label>' in html
    assert 'data-picked-name="Chosen &amp; Co"' in html
    typed = _picker(app, selected=chosen, typed="Something else")
    assert re.search(r'id="customer" name="customer" value="Something else"', typed)


def test_picked_reads_the_chosen_id_else_the_text():
    assert picked(MultiDict({"customer_id": "12", "customer": "ACME"})) == 12
    assert picked(MultiDict({"customer_id": "", "customer": "ACME"})) == "ACME"
    assert picked(MultiDict({"customer": "ACME"})) == "ACME"
    assert picked(MultiDict({"customer_id": "²", "customer": "X"})) == "X"
    assert picked(MultiDict({"customer_id": "99999999999", "customer": "X"})) == "X"
    assert picked(MultiDict({"buyer_id": "7", "buyer": "B"}), "buyer_id", "buyer") == 7
    assert picked(MultiDict()) == ""
