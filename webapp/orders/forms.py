"""The order form. Fields are text so whatever the user typed comes back
verbatim with the error; the parsing rules live in validation.py."""
from __future__ import annotations

import datetime as dt
import re

from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import FieldList, Form, FormField, StringField, TextAreaField
from wtforms.validators import StopValidation

from .services import ItemInput
from .validation import (
    MAX_ITEMS,
    parse_name,
    parse_notes,
    parse_quantity,
    parse_rate,
    parse_reference,
    parse_shipping,
    parse_typed_price,
    styled,
)


def _rule(parser):
    def validate(form, field):
        try:
            field.clean = parser(field.data)
        except ValueError as exc:
            raise StopValidation(str(exc)) from None
    return validate


def users_decimal_comma() -> bool:
    """Whether the signed-in user writes amounts with a decimal comma: the mark
    their CSV files use (Account page: "CSV for Excel" with "My Excel uses a
    decimal comma", as tasks/reports.py reads it). It decides the one ambiguous
    amount ("1,234") and the style of the examples and of prefilled amounts;
    an unambiguous "189,99" or "189.99" is taken from anyone."""
    user = current_user
    return bool(user and user.is_authenticated and user.csv_excel and user.csv_decimal_comma)


def _amount_rule(parser):
    # the user is known when the form is validated (in the request), not when it is defined
    return _rule(lambda value: parser(value, decimal_comma=users_decimal_comma()))


_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _date(value) -> dt.date:
    text = (value or "").strip()
    try:
        # fromisoformat alone also takes week dates ("2026-W48-6") of this length
        if _DAY.fullmatch(text):
            return dt.date.fromisoformat(text)
    except ValueError:
        pass
    raise ValueError("Give the order date as a date like 2026-11-28." if text
                     else "The order date is required.")


def _customer_id(value) -> int | None:
    text = (value or "").strip()
    if not text:
        return None
    if not (text.isascii() and text.isdigit()) or not 0 < int(text) < 2**31:
        raise ValueError("Pick the customer again from the list.")
    return int(text)


class ItemForm(Form):
    product = StringField("Product", validators=[_rule(lambda v: parse_name(v, "Product"))])
    quantity = StringField("Quantity", validators=[_rule(parse_quantity)])
    unit_price = StringField("Unit price", validators=[_amount_rule(parse_typed_price)])
    tax_rate = StringField("Tax %", validators=[
        _amount_rule(lambda v, **style: parse_rate(v, "Tax rate", **style))])
    discount = StringField("Discount %", validators=[
        _amount_rule(lambda v, **style: parse_rate(v, "Discount", **style))])

    FIELDS = ("product", "quantity", "unit_price", "tax_rate", "discount")


class ItemList(FieldList):
    """Row indices are ASCII numbers: WTForms would crash on "items-²-product".
    At most MAX_ITEMS + 1 rows are read, so a huge form costs little and still
    fails as too long (WTForms drops rows past max_entries silently)."""

    submitted = 0  # rows the client sent, counted before the cut at max_entries

    def _extract_indices(self, prefix, formdata):
        offset = len(prefix) + 1
        seen = set()
        for key in formdata:
            if key.startswith(prefix):
                index = key[offset:].split("-", 1)[0]
                if index.isascii() and index.isdigit():
                    seen.add(int(index))
        self.submitted = len(seen)
        yield from seen


ADD_BUTTON_ID = "add-item"  # the "+ Add item" button's id in templates/orders/_items.html


class OrderForm(FlaskForm):
    # the picker's choice (a record's id); the typed name is used when there
    # is none (no JavaScript, or a new name): matched to a record or made one
    # rendered by the customer picker (a hidden input of its own), not by hidden_tag()
    customer_id = StringField(validators=[_rule(_customer_id)])
    customer = StringField("Customer", validators=[_rule(lambda v: parse_name(v, "Customer"))])
    order_date = StringField("Order date", validators=[_rule(_date)])
    external_ref = StringField("External reference", validators=[_rule(parse_reference)])
    items = ItemList(FormField(ItemForm), min_entries=1, max_entries=MAX_ITEMS + 1)
    shipping = StringField("Shipping", validators=[
        _amount_rule(lambda v, **style: parse_shipping(v, typed=True, **style))])
    shipping_tax_rate = StringField("Shipping tax %", validators=[
        _amount_rule(lambda v, **style: parse_rate(v, "Shipping tax rate", **style))])
    notes = TextAreaField("Notes", validators=[_rule(parse_notes)])

    # Set by edit_rows: where the keyboard focus goes after adding or removing a
    # row, and what the polite live region under the rows says about it.
    focus_after_edit: str | None = None
    announcement: str = ""

    def focus_id(self) -> str:
        """The id of the element that takes the keyboard focus when the form is
        shown: after a row edit, the place edit_rows chose; after a failed
        submit, the first field with an error; otherwise the first field."""
        if self.focus_after_edit:
            return self.focus_after_edit
        for field in (self.customer_id, self.customer, self.order_date, self.external_ref):
            if field.errors:
                return self.customer.id if field is self.customer_id else field.id
        for entry in self.items.entries:
            for name in ItemForm.FIELDS:
                if entry.form[name].errors:
                    return entry.form[name].id
        if self.items.errors and self.items.entries:  # about the rows as a whole
            return self.items.entries[0].form.product.id
        for field in (self.shipping, self.shipping_tax_rate, self.notes):
            if field.errors:
                return field.id
        return self.customer.id

    def validate_items(self, field):
        if not field.entries:
            raise StopValidation("Add at least one item.")
        if len(field.entries) > MAX_ITEMS:
            raise StopValidation(f"An order can have at most {MAX_ITEMS} items "
                                 f"(this one has {max(field.submitted, len(field.entries))}).")

    def item_inputs(self) -> list[ItemInput]:
        return [ItemInput(product=e.form.product.clean, quantity=e.form.quantity.clean,
                          unit_price=e.form.unit_price.clean, tax_rate=e.form.tax_rate.clean,
                          discount_rate=e.form.discount.clean) for e in self.items.entries]

    def customer_choice(self):
        """The picked record's id, else the typed name."""
        return self.customer_id.clean if self.customer_id.clean is not None \
            else self.customer.clean

    def details(self) -> dict:
        """The order's fields besides customer and items, as the services take them."""
        return {"order_date": self.order_date.clean, "external_ref": self.external_ref.clean,
                "notes": self.notes.clean, "shipping": self.shipping.clean,
                "shipping_tax_rate": self.shipping_tax_rate.clean}

    def raw_items(self) -> list[dict]:
        return [{name: e.form[name].data or "" for name in ItemForm.FIELDS}
                for e in self.items.entries]

    def raw_fields(self) -> dict:
        """What was typed outside the rows, to keep it across a row edit."""
        return {name: self[name].data or "" for name in
                ("customer_id", "customer", "order_date", "external_ref", "shipping",
                 "shipping_tax_rate", "notes")}

    @property
    def decimal_comma(self) -> bool:
        return users_decimal_comma()

    @classmethod
    def for_order(cls, order) -> OrderForm:
        comma = users_decimal_comma()

        def amount(value) -> str:  # as the user writes it, so the form reads as they type
            return styled(f"{value:.2f}", comma)

        def rate(value) -> str:
            return styled(_rate_text(value), comma)

        return cls(data={
            "customer_id": str(order.customer_id), "customer": order.customer,
            "order_date": order.order_date.isoformat(), "external_ref": order.external_ref or "",
            "shipping": amount(order.shipping) if order.shipping else "",
            "shipping_tax_rate": rate(order.shipping_tax_rate),
            "notes": order.notes or "",
            "items": [{"product": i.product, "quantity": str(i.quantity),
                       "unit_price": amount(i.unit_price), "tax_rate": rate(i.tax_rate),
                       "discount": rate(i.discount_rate)} for i in order.items],
        })

    @classmethod
    def blank(cls, today: dt.date) -> OrderForm:
        return cls(data={"order_date": today.isoformat(), "items": [{}]})

    @classmethod
    def with_rows(cls, fields: dict, items: list[dict]) -> OrderForm:
        """A form holding exactly these rows (after adding or removing one), unvalidated."""
        return cls(formdata=None, data={**fields, "items": items or [{}]})


def _rate_text(rate) -> str:
    if not rate:
        return ""
    return format(rate.normalize(), "f")


def edit_rows(form: OrderForm, add: bool, remove: str | None) -> OrderForm:
    """Add an empty row or remove row `remove` (its index), keeping what was typed.

    The new form says where the focus goes: to the added row's product field;
    after a removal, to the product field of the row that took the removed
    one's place, or to the "Add item" button when the last row went."""
    items = form.raw_items()
    focus, announcement = None, ""
    if add:
        if len(items) < MAX_ITEMS:
            # a new row starts with the rate of the row above (most lines share one)
            last = items[-1] if items else {}
            items.append({"product": "", "quantity": "", "unit_price": "",
                          "tax_rate": last.get("tax_rate", ""), "discount": ""})
            focus = len(items) - 1
        else:
            focus, announcement = ADD_BUTTON_ID, f"An order can have at most {MAX_ITEMS} items."
    if remove is not None and remove.isascii() and remove.isdigit() and int(remove) < len(items):
        index = int(remove)
        del items[index]
        focus, announcement = index, f"Item {index + 1} removed."
    edited = OrderForm.with_rows(form.raw_fields(), items)
    rows = edited.items.entries  # never empty: removing the only row leaves an empty one
    if isinstance(focus, int):
        focus = rows[focus].form.product.id if focus < len(rows) else ADD_BUTTON_ID
    edited.focus_after_edit, edited.announcement = focus, announcement
    return edited
