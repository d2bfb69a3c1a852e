"""Which column of an uploaded file holds which field of an order: proposed
from the header (Shopify's orders export, WooCommerce's, this app's own CSV,
and the plain words people use), then changed by the person as they like.

Column names are compared folded (case, accents, spaces, "_" and "-" alike),
so "Lineitem quantity", "lineitem_quantity" and "LINEITEM QUANTITY" are one.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

# (field, label, required): what an imported order line can carry, in the
# order the mapping form shows them
FIELDS: tuple[tuple[str, str, bool], ...] = (
    ("order_ref", "Order reference", True),
    ("order_date", "Order date", False),
    ("status", "Status", False),
    ("currency", "Currency", False),
    ("customer_name", "Customer name", True),
    ("customer_email", "Customer e-mail", False),
    ("customer_company", "Company", False),
    ("address_line1", "Address", False),
    ("address_line2", "Address (2nd line)", False),
    ("postcode", "Postcode", False),
    ("city", "City", False),
    ("country", "Country", False),
    ("tax_id", "Customer tax id", False),
    ("product", "Product", True),
    ("quantity", "Quantity", True),
    ("unit_price", "Unit price", True),
    ("tax_rate", "Tax rate (%)", False),
    ("taxes", "Taxes (order total)", False),
    ("discount_rate", "Discount (%)", False),
    ("discount_amount", "Discount (order amount)", False),
    ("shipping", "Shipping", False),
    ("notes", "Notes", False),
)
LABELS = {name: label for name, label, _ in FIELDS}
REQUIRED = tuple(name for name, _, required in FIELDS if required)

# Known column names per field, first match wins. Shopify: Admin → Orders →
# Export ("Plain CSV file"), one row per line item, order-level columns filled
# on an order's first row. WooCommerce: WooCommerce → Orders export (the
# "one row per item" layout of the core exporter and the common export
# plug-ins' default names). Ours: the orders CSV this app writes.
KNOWN: dict[str, tuple[str, ...]] = {
    "order_ref": ("Order Number", "order_number", "Order ID", "order_id", "Order #",
                  "Order", "Order reference", "Reference", "external_ref"),
    "order_date": ("Created at", "Order Date", "order_date", "Date", "Date created",
                   "Paid at"),
    "status": ("Financial Status", "Order Status", "status", "Status"),
    "currency": ("Currency", "Order Currency", "order_currency"),
    "customer_name": ("Billing Name", "Customer", "Customer name", "billing_full_name",
                      "Billing Full Name", "Shipping Name", "Name"),
    "customer_email": ("Email", "Billing Email", "billing_email", "Customer e-mail",
                       "Customer email", "E-mail"),
    "customer_company": ("Billing Company", "billing_company", "Company"),
    "address_line1": ("Billing Address1", "Billing Street", "billing_address_1",
                      "Billing Address 1", "Address", "Address line 1"),
    "address_line2": ("Billing Address2", "billing_address_2", "Billing Address 2",
                      "Address line 2"),
    "postcode": ("Billing Zip", "billing_postcode", "Billing Postcode", "Postcode", "Zip",
                 "Postal code"),
    "city": ("Billing City", "billing_city", "City"),
    "country": ("Billing Country", "billing_country", "Country"),
    "tax_id": ("Tax id", "VAT number", "billing_vat", "VAT ID"),
    "product": ("Lineitem name", "Item Name", "item_name", "Product", "Product name",
                "Product(s)"),
    "quantity": ("Lineitem quantity", "Quantity", "item_quantity", "Qty", "Item Quantity"),
    "unit_price": ("Lineitem price", "Item Cost", "item_price", "Unit price", "Price",
                   "Item Price"),
    "tax_rate": ("Tax rate", "Tax %", "tax_rate", "Tax rate (%)"),
    "taxes": ("Taxes", "Order Tax Amount", "tax_total", "Order Total Tax Amount"),
    "discount_rate": ("Discount %", "Discount rate", "discount_rate"),
    "discount_amount": ("Discount Amount", "Cart Discount Amount", "discount_total",
                        "Order Discount Amount"),
    "shipping": ("Shipping", "Order Shipping Amount", "shipping_total", "Shipping total"),
    "notes": ("Notes", "Customer Note", "customer_note", "Note"),
}

_SEPARATORS = re.compile(r"[\s_\-]+")


def fold(name: str) -> str:
    """A column name as compared: no accents, case, or separator differences."""
    text = unicodedata.normalize("NFKD", name.strip()).casefold()
    text = "".join(c for c in text if not unicodedata.combining(c))
    return _SEPARATORS.sub(" ", text).strip()


@dataclass(frozen=True)
class Proposal:
    """A column (its index in the header) for each field, or None; and which
    export the header looks like ("Shopify", "WooCommerce", None)."""

    columns: dict[str, int | None]
    source: str | None

    def missing(self) -> list[str]:
        """The required fields no column was found for, as labels."""
        return [LABELS[f] for f in REQUIRED if self.columns.get(f) is None]


_SIGNATURES = {
    "Shopify": {"name", "lineitem name", "lineitem quantity", "lineitem price",
                "financial status"},
    "WooCommerce": {"billing first name", "billing email", "order number"},
}


# In Shopify's export "Name" is the order's name ("#1001"); elsewhere a "Name"
# column is more likely the customer's
SHOPIFY_FIRST = {"order_ref": ("Name",)}


def propose(header: list[str]) -> Proposal:
    """Each field's column from the header's names: the first known name for
    it that the header holds; no column serves two fields."""
    where = {fold(name): n for n, name in reversed(list(enumerate(header)))}
    folded = set(where)
    source = next((s for s, needed in _SIGNATURES.items() if needed <= folded), None)
    taken: set[int] = set()
    columns: dict[str, int | None] = {}
    for field_name, known in KNOWN.items():
        names = (SHOPIFY_FIRST.get(field_name, ()) if source == "Shopify" else ()) + known
        columns[field_name] = None
        for name in names:
            n = where.get(fold(name))
            if n is not None and n not in taken:
                columns[field_name] = n
                taken.add(n)
                break
    return Proposal(columns, source)


def checked(header: list[str], chosen: dict[str, str | int | None]) -> dict[str, int | None]:
    """The person's mapping (field → column index or name, "" for none) as
    column indexes; raises ValueError naming the field whose column is not in
    the header, a column chosen for two fields, or a required field left out."""
    columns: dict[str, int | None] = {}
    used: dict[int, str] = {}
    by_name = {fold(name): n for n, name in enumerate(header)}
    for field_name, label, required in FIELDS:
        value = chosen.get(field_name)
        if value in (None, ""):
            if required:
                raise ValueError(f"{label}: choose the column that holds it.")
            columns[field_name] = None
            continue
        if isinstance(value, int) or (isinstance(value, str) and value.isdigit()):
            n = int(value)
            if not 0 <= n < len(header):
                raise ValueError(f"{label}: there is no column {n + 1}.")
        else:
            n = by_name.get(fold(value))
            if n is None:
                raise ValueError(f"{label}: the file has no column “{value}”.")
        if n in used:
            raise ValueError(f"{label}: the column “{header[n]}” is already used for "
                             f"{LABELS[used[n]]}.")
        used[n] = field_name
        columns[field_name] = n
    return columns
