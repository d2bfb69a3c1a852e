"""The customer form, and what the customer picker (templates/customers/_picker.html)
submits. Fields are plain text with no rules of their own: the service's
clean_input checks them all at once and its InvalidInput.errors are shown
beside each field, with what was typed kept."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import StringField, TextAreaField

from ..models import MAX_ID
from ..pagination import page_number
from .countries import COUNTRIES
from .services import CustomerInput

COUNTRY_CHOICES = [("", "—"), *COUNTRIES.items()]


class CustomerForm(FlaskForm):
    name = StringField("Name")
    email = StringField("E-mail")
    address = TextAreaField("Address")
    postcode = StringField("Postcode")
    city = StringField("City")
    # a <select> of COUNTRY_CHOICES on the page; an unknown code is the
    # service's to refuse, with its words
    country = StringField("Country")
    tax_id = StringField("Tax id")
    notes = TextAreaField("Notes")

    COUNTRY_CHOICES = COUNTRY_CHOICES
    FIELDS = ("name", "email", "address", "postcode", "city", "country", "tax_id", "notes")

    def customer_input(self) -> CustomerInput:
        return CustomerInput(**{name: self[name].data or "" for name in self.FIELDS})

    def show_errors(self, errors: dict[str, list[str]] | None) -> None:
        """Put the service's messages on their fields (WTForms keeps them as a
        tuple before validation: replace, do not append)."""
        for name, messages in (errors or {}).items():
            if name in self.FIELDS:
                self[name].errors = list(messages)

    def focus_id(self) -> str:
        """The first field with an error, else the first field."""
        return next((self[name].id for name in self.FIELDS if self[name].errors), self.name.id)

    @classmethod
    def for_customer(cls, customer) -> CustomerForm:
        return cls(data={name: getattr(customer, name) or "" for name in cls.FIELDS})


def picked(formdata, id_name: str = "customer_id", text_name: str = "customer") -> int | str:
    """What a customer picker submitted: the chosen customer's id (an int) if
    one was picked and not typed over since, else the typed text as it came
    (possibly empty). The order service takes either (an id, or a name it
    matches or creates); the id's workspace is the service's to check."""
    number = page_number((formdata.get(id_name) or "").strip(), maximum=MAX_ID)
    return number if number is not None else formdata.get(text_name, "")
