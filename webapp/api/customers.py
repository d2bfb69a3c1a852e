"""The API's customers: list, create, get, change, delete, on the api
blueprint of views.py (which imports this module at its end)."""
from __future__ import annotations

from dataclasses import fields

from flask import request, url_for
from pydantic import ValidationError

from ..auth.current import actor
from ..customers import services as customers
from ..customers.services import CustomerInput
from ..errors import InvalidInput
from ..models import Customer
from ..orders.validation import has_control_characters
from ..security import limit_order_writes
from .openapi import Reply, describe, links_by_id
from .parsing import PAGE_DETAIL, invalid_input, json_body, validated
from .schemas import CustomerIn, CustomerOut, CustomerPage, CustomerPatch, CustomerQuery
from .views import _json, _page, bp

CUSTOMER_INVALID = "The customer is not valid."
NOT_FOUND = "No such customer, or it is not of this token's workspace."
WRITES = "Too many writes in a short time (ORDER_WRITE_RATE_LIMIT)."
LOCATION = {"Location": ("Where the customer lives in the API.", True)}
FIELDS = tuple(f.name for f in fields(CustomerInput))


def customer_out(customer: Customer) -> CustomerOut:
    return CustomerOut(
        id=customer.id, name=customer.name, email=customer.email, address=customer.address,
        postcode=customer.postcode, city=customer.city, country=customer.country,
        tax_id=customer.tax_id, notes=customer.notes, created_at=customer.created_at,
        updated_at=customer.updated_at, url=url_for("api.get_customer", customer_id=customer.id))


def _query() -> CustomerQuery:
    try:
        query = CustomerQuery.model_validate(request.args.to_dict())
    except ValidationError as exc:
        errors = invalid_input(exc, CustomerQuery, {}).errors
        detail = ("search is at most 200 characters." if set(errors) == {"search"}
                  else PAGE_DETAIL)
        raise InvalidInput(detail, errors) from None
    if query.search and has_control_characters(query.search):
        message = "The search text contains control characters; send plain text."
        raise InvalidInput(message, {"search": [message]})
    return query


@bp.get("/customers")
@describe("List customers, by name", query=CustomerQuery,
          description="`search` finds names containing it, any case or accent "
                      "(\"muller\" finds \"Müller\").",
          replies={200: Reply("One page of customers.", CustomerPage)},
          errors={400: "page or per_page is not a whole number in range, or search is "
                       "too long or not plain text."})
def list_customers():
    query = _query()
    found = customers.list_customers(actor(), search=query.search or "", page=query.page,
                                     per_page=query.per_page)
    return _json(_page(CustomerPage, found, customer_out))


@bp.post("/customers")
@describe("Create a customer", body=CustomerIn,
          replies={201: Reply("The new customer.", CustomerOut, headers=LOCATION,
                              links=links_by_id("customer_id", "get_customer",
                                                "update_customer", "delete_customer"))},
          errors={400: None, 413: None, 429: WRITES})
@limit_order_writes
def create_customer():
    body = validated(CustomerIn, json_body(), CUSTOMER_INVALID)
    customer = customers.create_customer(actor(), CustomerInput(
        **{name: getattr(body, name) for name in FIELDS}))
    return _json(customer_out(customer), 201,
                 {"Location": url_for(".get_customer", customer_id=customer.id)})


@bp.get("/customers/<int:customer_id>")
@describe("Get a customer", replies={200: Reply("The customer.", CustomerOut)},
          errors={404: NOT_FOUND})
def get_customer(customer_id: int):
    return _json(customer_out(customers.get_customer(actor(), customer_id)))


@bp.patch("/customers/<int:customer_id>")
@describe("Change a customer", body=CustomerPatch,
          description="Only the fields sent change; null clears one (not the name). "
                      "Nothing changes if any field is invalid. A new name shows on every "
                      "order of the customer at once. A missing customer is 404 whatever "
                      "the body says.",
          replies={200: Reply("The customer as it is now.", CustomerOut)},
          errors={400: None, 404: NOT_FOUND, 413: None, 429: WRITES})
@limit_order_writes
def update_customer(customer_id: int):
    customer = customers.get_customer(actor(), customer_id)  # 404 before 400
    body = validated(CustomerPatch, json_body(), CUSTOMER_INVALID)
    sent = body.model_fields_set
    given = CustomerInput(**{name: getattr(body if name in sent else customer, name)
                             for name in FIELDS})
    return _json(customer_out(customers.update_customer(actor(), customer_id, given)))


@bp.delete("/customers/<int:customer_id>")
@describe("Delete a customer",
          description="Only a customer without orders can be deleted: delete or move "
                      "their orders first.",
          replies={204: Reply("Deleted.")},
          errors={404: NOT_FOUND, 409: "The customer has orders; `detail` says how many.",
                  429: WRITES})
@limit_order_writes
def delete_customer(customer_id: int):
    customers.delete_customer(actor(), customer_id)
    return "", 204
