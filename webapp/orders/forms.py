"""The order form. Fields are text so whatever the user typed comes back
verbatim with the error; the parsing rules live in validation.py."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import FieldList, Form, FormField, StringField
from wtforms.validators import StopValidation

from .services import ItemInput
from .validation import MAX_ITEMS, parse_name, parse_quantity, parse_typed_price


def _rule(parser):
    def validate(form, field):
        try:
            field.clean = parser(field.data)
        except ValueError as exc:
            raise StopValidation(str(exc)) from None
    return validate


class ItemForm(Form):
    product = StringField("Product", validators=[_rule(lambda v: parse_name(v, "Product"))])
    quantity = StringField("Quantity", validators=[_rule(parse_quantity)])
    unit_price = StringField("Unit price", validators=[_rule(parse_typed_price)])


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
    customer = StringField("Customer", validators=[_rule(lambda v: parse_name(v, "Customer"))])
    items = ItemList(FormField(ItemForm), min_entries=1, max_entries=MAX_ITEMS + 1)

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
        if self.customer.errors:
            return self.customer.id
        for entry in self.items.entries:
            for field in (entry.form.product, entry.form.quantity, entry.form.unit_price):
                if field.errors:
                    return field.id
        if self.items.errors and self.items.entries:  # about the rows as a whole
            return self.items.entries[0].form.product.id
        return self.customer.id

    def validate_items(self, field):
        if not field.entries:
            raise StopValidation("Add at least one item.")
        if len(field.entries) > MAX_ITEMS:
            raise StopValidation(f"An order can have at most {MAX_ITEMS} items "
                                 f"(this one has {max(field.submitted, len(field.entries))}).")

    def item_inputs(self) -> list[ItemInput]:
        return [ItemInput(product=e.form.product.clean, quantity=e.form.quantity.clean,
                          unit_price=e.form.unit_price.clean) for e in self.items.entries]

    def raw_items(self) -> list[dict]:
        return [{"product": e.form.product.data or "", "quantity": e.form.quantity.data or "",
                 "unit_price": e.form.unit_price.data or ""} for e in self.items.entries]

    @classmethod
    def for_order(cls, order) -> OrderForm:
        return cls(data={
            "customer": order.customer,
            "items": [{"product": i.product, "quantity": str(i.quantity),
                       "unit_price": f"{i.unit_price:.2f}"} for i in order.items],
        })

    @classmethod
    def with_rows(cls, customer: str, items: list[dict]) -> OrderForm:
        """A form holding exactly these rows (after adding or removing one), unvalidated."""
        return cls(formdata=None, data={"customer": customer, "items": items or [{}]})


def edit_rows(form: OrderForm, add: bool, remove: str | None) -> OrderForm:
    """Add an empty row or remove row `remove` (its index), keeping what was typed.

    The new form says where the focus goes: to the added row's product field;
    after a removal, to the product field of the row that took the removed
    one's place, or to the "Add item" button when the last row went."""
    items = form.raw_items()
    focus, announcement = None, ""
    if add:
        if len(items) < MAX_ITEMS:
            items.append({"product": "", "quantity": "", "unit_price": ""})
            focus = len(items) - 1
        else:
            focus, announcement = ADD_BUTTON_ID, f"An order can have at most {MAX_ITEMS} items."
    if remove is not None and remove.isascii() and remove.isdigit() and int(remove) < len(items):
        index = int(remove)
        del items[index]
        focus, announcement = index, f"Item {index + 1} removed."
    edited = OrderForm.with_rows(form.customer.data or "", items)
    rows = edited.items.entries  # never empty: removing the only row leaves an empty one
    if isinstance(focus, int):
        focus = rows[focus].form.product.id if focus < len(rows) else ADD_BUTTON_ID
    edited.focus_after_edit, edited.announcement = focus, announcement
    return edited
