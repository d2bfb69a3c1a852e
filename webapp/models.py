"""Orders, their line items, and report jobs with their event log."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import sqlalchemy as sa
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from .crypto import TOTP_SECRETS, EncryptedText
from .enums import (  # noqa: F401 - re-exported: models and their words together
    ACTIVE_STATUSES,
    RETRYABLE_STATUSES,
    JobStatus,
    OrderStatus,
    ReportFormat,
    ReportKind,
    Role,
)
from .extensions import db
from .orders.money import minor_unit, order_amounts
from .orders.validation import search_key

# ids are 32-bit in PostgreSQL: a larger one in a URL or a body cannot exist
MAX_ID = 2**31 - 1


def money_currency(currency: str) -> str:
    """The currency amounts are rounded for: money columns hold 2 decimals,
    so a currency of 3 (KWD, BHD …) is rounded to cents like USD."""
    return currency if minor_unit(currency) <= 2 else "USD"


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class UTCDateTime(sa.TypeDecorator):
    """Always UTC and always timezone-aware in Python, whatever the backend.

    PostgreSQL stores timestamptz; SQLite has no time zones, so the value is
    stored as naive UTC text and made aware again on the way out."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


# Numeric(12, 2) for prices; order totals get more room (500 items × 10,000 × price).
# On SQLite the driver hands back floats; SQLAlchemy rounds them to 2 places into
# Decimal, which is exact for values of this size (< 15 significant digits).
Money = sa.Numeric(12, 2, asdecimal=True)
MoneyTotal = sa.Numeric(16, 2, asdecimal=True)


def _enum(cls):
    # Stored as plain strings (values), so SQL written by hand and other
    # languages read the same words the API shows.
    return sa.Enum(cls, native_enum=False, length=20, validate_strings=True,
                   values_callable=lambda e: [m.value for m in e])


class User(UserMixin, db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(sa.String(300))
    # Set only by `flask create-user --site-admin`: may run the operator's
    # pages (health details). It opens no workspace: data is members' only.
    site_admin: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Part of every session cookie; bumping it (log-out, password change, "log
    # out everywhere") makes every earlier cookie of this user worthless.
    session_generation: Mapped[int] = mapped_column(default=0, server_default="0")
    # An IANA zone: pages, files and the dashboard show times in it, and the
    # user's date ranges are its days. Stored times stay UTC.
    timezone: Mapped[str] = mapped_column(sa.String(64), default="UTC", server_default="UTC")
    # "CSV for Excel": a UTF-8 BOM; with the decimal comma also ";" separators
    csv_excel: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    csv_decimal_comma: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    # Set when a link sent to `email` was opened: until then the app sends
    # nothing to that address but the link itself.
    email_verified_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # Two-factor log-in (TOTP, RFC 6238): the shared secret, stored encrypted;
    # it counts only once enabled (a code was entered at enrolment).
    totp_secret: Mapped[str | None] = mapped_column(EncryptedText(TOTP_SECRETS), nullable=True)
    totp_enabled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # SHA-256 of each unused recovery code: one goes when it is used
    recovery_codes: Mapped[list | None] = mapped_column(sa.JSON, nullable=True)

    @property
    def two_factor(self) -> bool:
        return self.totp_enabled_at is not None

    @property
    def email_verified(self) -> bool:
        return self.email_verified_at is not None

    __table_args__ = ({"sqlite_autoincrement": True},)

    tokens: Mapped[list[ApiToken]] = relationship(
        back_populates="user", cascade="all, delete-orphan", order_by="ApiToken.id",
        passive_deletes=True)
    memberships: Mapped[list[Membership]] = relationship(
        back_populates="user", cascade="all, delete-orphan", passive_deletes=True)


class Workspace(db.Model):
    """A company's shared place: its orders, reports, schedules, deliveries,
    notices and API tokens belong here, and its people are members with a
    role (Membership). Its settings are what documents carry."""

    __tablename__ = "workspaces"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    currency: Mapped[str] = mapped_column(sa.String(3), default="USD", server_default="USD")
    # the zone a new member starts with (each person then keeps their own)
    default_timezone: Mapped[str] = mapped_column(sa.String(64), default="UTC",
                                                  server_default="UTC")
    # the seller on documents
    legal_name: Mapped[str | None] = mapped_column(sa.String(200), nullable=True)
    address: Mapped[str | None] = mapped_column(sa.Text, nullable=True)
    tax_id: Mapped[str | None] = mapped_column(sa.String(50), nullable=True)
    # PNG or JPEG, at most 1 MB, checked by decoding it (webapp/workspaces/settings.py)
    logo: Mapped[bytes | None] = mapped_column(sa.LargeBinary, nullable=True, deferred=True)
    logo_type: Mapped[str | None] = mapped_column(sa.String(20), nullable=True)
    require_two_factor: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    # order numbers: prefix + the next number of the sequence, zero-padded
    # ("SO-000123"); taken under the workspace row's lock in the order's own
    # transaction, so a number is used once and a rolled-back order gives it back
    order_prefix: Mapped[str] = mapped_column(sa.String(20), default="SO-", server_default="SO-")
    next_order_number: Mapped[int] = mapped_column(default=1, server_default="1")
    # prices typed in gross (tax included) rather than net; an order keeps the
    # choice it was made with (Order.prices_include_tax)
    prices_include_tax: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    # what the one-order PDF is called (DOCUMENT_TITLES)
    document_title: Mapped[str] = mapped_column(sa.String(40), default="Order confirmation",
                                                server_default="Order confirmation")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    memberships: Mapped[list[Membership]] = relationship(
        back_populates="workspace", cascade="all, delete-orphan", passive_deletes=True)

    __table_args__ = ({"sqlite_autoincrement": True},)


class Membership(db.Model):
    """A person in a workspace, with a role."""

    __tablename__ = "memberships"

    workspace_id: Mapped[int] = mapped_column(
        sa.ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True)
    role: Mapped[Role] = mapped_column(_enum(Role))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    workspace: Mapped[Workspace] = relationship(back_populates="memberships")
    user: Mapped[User] = relationship(back_populates="memberships")


class Invitation(db.Model):
    """An e-mailed, signed, single-use invitation to a workspace with a role.
    The link carries the id and `nonce`; re-sending draws a new nonce, so
    only the newest link works."""

    __tablename__ = "invitations"

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(
        sa.ForeignKey("workspaces.id", ondelete="CASCADE"), index=True)
    email: Mapped[str] = mapped_column(sa.String(254))
    role: Mapped[Role] = mapped_column(_enum(Role))
    nonce: Mapped[str] = mapped_column(sa.String(32))
    invited_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    accepted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    accepted_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)

    invited_by: Mapped[User | None] = relationship(foreign_keys=[invited_by_id])
    workspace: Mapped[Workspace] = relationship()

    __table_args__ = ({"sqlite_autoincrement": True},)

    def state(self, now: dt.datetime) -> str:
        if self.accepted_at is not None:
            return "accepted"
        if self.revoked_at is not None:
            return "revoked"
        return "expired" if self.expires_at <= now else "open"


class AuditEntry(db.Model):
    """Who did what in a workspace, and when. Append-only: the code has no
    path that changes or removes an entry (webapp/audit.py only inserts)."""

    __tablename__ = "audit_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(
        sa.ForeignKey("workspaces.id", ondelete="CASCADE"))
    # who: kept as text too, so the entry still names a person who left
    user_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    actor: Mapped[str] = mapped_column(sa.String(254))
    action: Mapped[str] = mapped_column(sa.String(40))  # "order.created"
    target: Mapped[str | None] = mapped_column(sa.String(60), nullable=True)  # "order 12"
    detail: Mapped[str | None] = mapped_column(sa.Text, nullable=True)
    via: Mapped[str] = mapped_column(sa.String(10), default="web")  # web | api | system
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        sa.Index("ix_audit_entries_workspace_id_at", "workspace_id", "at"),
        {"sqlite_autoincrement": True},
    )


class ApiToken(db.Model):
    """A personal API token. Only its SHA-256 is stored: the token itself is
    shown once, when it is created."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"),
                                         index=True)
    # a token opens one workspace, with `scope` read or write (never more
    # than its person's role allows at the time of each request)
    workspace_id: Mapped[int] = mapped_column(
        sa.ForeignKey("workspaces.id", ondelete="CASCADE"), index=True)
    scope: Mapped[str] = mapped_column(sa.String(5), default="write", server_default="write")
    name: Mapped[str] = mapped_column(sa.String(100))
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    prefix: Mapped[str] = mapped_column(sa.String(12))  # shown so users can tell tokens apart
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)

    user: Mapped[User] = relationship(back_populates="tokens")
    workspace: Mapped[Workspace] = relationship()

    __table_args__ = ({"sqlite_autoincrement": True},)


DOCUMENT_TITLES = ("Order confirmation", "Pro-forma invoice", "Delivery note")
# a percentage (tax or discount rate): 0 to 100 with up to 3 decimals (8.125 %)
Rate = sa.Numeric(6, 3, asdecimal=True)


class Customer(db.Model):
    """Who orders: one record per customer of a workspace, which its orders
    point at. Orders keep a copy of the name (Order.customer), rewritten with
    every rename in the same transaction, so lists, searches and report rows
    need no join."""

    __tablename__ = "customers"

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(
        sa.ForeignKey("workspaces.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    # search_key(name), kept by the model like Order.customer_key
    name_key: Mapped[str] = mapped_column(
        sa.Text, default=lambda ctx: search_key(ctx.get_current_parameters().get("name")))
    email: Mapped[str | None] = mapped_column(sa.String(254), nullable=True)
    address: Mapped[str | None] = mapped_column(sa.Text, nullable=True)  # street lines
    postcode: Mapped[str | None] = mapped_column(sa.String(20), nullable=True)
    city: Mapped[str | None] = mapped_column(sa.String(100), nullable=True)
    country: Mapped[str | None] = mapped_column(sa.String(2), nullable=True)  # ISO 3166-1 alpha-2
    tax_id: Mapped[str | None] = mapped_column(sa.String(50), nullable=True)
    notes: Mapped[str | None] = mapped_column(sa.Text, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    __table_args__ = (
        sa.Index("ix_customers_workspace_name_key", "workspace_id", "name_key"),
        {"sqlite_autoincrement": True},
    )

    @validates("name")
    def _keep_name_key(self, _name: str, name: str) -> str:
        self.name_key = search_key(name)
        return name

    @classmethod
    def name_like(cls, search: str | None):
        """The customer search ("contains", any case or accent), or None."""
        key = search_key(search or "")
        if not key:
            return None
        escaped = key.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        return cls.name_key.like(f"%{escaped}%", escape="\\")

    @property
    def address_lines(self) -> list[str]:
        """The billing address as a document prints it."""
        lines = [line.strip() for line in (self.address or "").splitlines() if line.strip()]
        place = " ".join(part for part in (self.postcode, self.city) if part)
        return [*lines, *([place] if place else []), *([self.country] if self.country else [])]


class Order(db.Model):
    __tablename__ = "orders"

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(
        sa.ForeignKey("workspaces.id", ondelete="CASCADE"), index=True)
    # the person who made it (kept, as NULL, when they leave)
    created_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    customer_id: Mapped[int] = mapped_column(
        sa.ForeignKey("customers.id", ondelete="RESTRICT"), index=True)
    # the customer's name, a copy kept in step with the record (see Customer)
    customer: Mapped[str] = mapped_column(sa.String(200))
    # search_key(customer): what the customer search compares, the same on every
    # database. Kept by the model itself: set with `customer` on every ORM write
    # (see _keep_customer_key) and, for Core inserts that leave it out (bulk
    # loads), computed from the row's customer by the column default. Text: NFKD
    # can make a 200-character name longer ("ﷺ" is 18 letters).
    customer_key: Mapped[str] = mapped_column(
        sa.Text, default=lambda ctx: search_key(ctx.get_current_parameters().get("customer")))
    status: Mapped[OrderStatus] = mapped_column(_enum(OrderStatus), default=OrderStatus.OPEN)
    # "SO-000123": the workspace's prefix and sequence when it was made
    number: Mapped[str] = mapped_column(sa.String(40))
    # the shop's or ERP's own reference (the API and imports), unique in a workspace
    external_ref: Mapped[str | None] = mapped_column(sa.String(100), nullable=True)
    # the order's day in its workspace's calendar: what every report, range
    # and chart counts by (created_at is only when it was typed in)
    order_date: Mapped[dt.date] = mapped_column(sa.Date)
    notes: Mapped[str | None] = mapped_column(sa.Text, nullable=True)
    # whether unit_price and shipping were entered gross (the workspace's
    # setting when the order was made; it never reinterprets old orders)
    prices_include_tax: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    shipping: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"),
                                              server_default="0")  # as entered
    shipping_tax_rate: Mapped[Decimal] = mapped_column(Rate, default=Decimal(0),
                                                       server_default="0")
    shipping_net: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"),
                                                  server_default="0")
    shipping_tax: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"),
                                                  server_default="0")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    # Denormalised from the items by the service that writes them, so lists
    # and filters never sum items on the fly (webapp/orders/money.py: the
    # totals are sums of the rounded lines, shipping included).
    item_count: Mapped[int] = mapped_column(default=0)
    units: Mapped[int] = mapped_column(default=0, server_default="0")  # sum of quantities
    total: Mapped[Decimal] = mapped_column(MoneyTotal, default=Decimal("0.00"))  # gross
    net_total: Mapped[Decimal] = mapped_column(MoneyTotal, default=Decimal("0.00"),
                                               server_default="0")
    tax_total: Mapped[Decimal] = mapped_column(MoneyTotal, default=Decimal("0.00"),
                                               server_default="0")
    discount_total: Mapped[Decimal] = mapped_column(MoneyTotal, default=Decimal("0.00"),
                                                    server_default="0")

    customer_record: Mapped[Customer] = relationship()

    items: Mapped[list[OrderItem]] = relationship(
        back_populates="order", cascade="all, delete-orphan", order_by="OrderItem.id",
        passive_deletes=True,
    )

    __table_args__ = (
        sa.Index("ix_orders_status_created_at", "status", "created_at"),
        sa.Index("ix_orders_created_at", "created_at"),
        # a user's completed orders in a range: every summary and the dashboard
        sa.Index("ix_orders_workspace_status_created_at", "workspace_id", "status", "created_at"),
        # every summary, range and chart: a workspace's completed orders by date
        sa.Index("ix_orders_workspace_status_order_date", "workspace_id", "status", "order_date"),
        sa.UniqueConstraint("workspace_id", "number", name="uq_orders_workspace_number"),
        sa.UniqueConstraint("workspace_id", "external_ref",
                            name="uq_orders_workspace_external_ref"),
        # The search is "contains" (LIKE '%key%'): on PostgreSQL a trigram GIN
        # index serves it (and has no B-tree row size limit for long keys); on
        # SQLite this is a plain index, which no index type could help there.
        sa.Index("ix_orders_customer_key", "customer_key", postgresql_using="gin",
                 postgresql_ops={"customer_key": "gin_trgm_ops"}),
        # ids are never handed out twice (SQLite would reuse a deleted newest
        # row's id): an old report job or link must not come to mean another order
        {"sqlite_autoincrement": True},
    )

    @validates("customer")
    def _keep_customer_key(self, _name: str, customer: str) -> str:
        self.customer_key = search_key(customer)
        return customer

    @classmethod
    def customer_like(cls, search: str | None):
        """The customer search as SQL, or None for no search: "contains",
        ignoring case and accents the same way on every database (both sides
        are search keys), with LIKE wildcards taken literally. Shared by the
        orders list and its export (ReportParams.listing)."""
        key = search_key(search or "")
        if not key:
            return None
        escaped = key.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        return cls.customer_key.like(f"%{escaped}%", escape="\\")

    def recompute_totals(self, currency: str = "USD") -> None:
        """Every line's amounts and the order's totals from what was entered,
        by the one rounding rule (webapp/orders/money.py)."""
        amounts = order_amounts(
            ((i.quantity, i.unit_price, i.tax_rate or Decimal(0), i.discount_rate or Decimal(0))
             for i in self.items),
            shipping=self.shipping or Decimal(0),
            shipping_tax_rate=self.shipping_tax_rate or Decimal(0),
            currency=money_currency(currency), prices_include_tax=self.prices_include_tax)
        for item, line in zip(self.items, amounts.lines, strict=True):
            item.discount, item.net, item.tax, item.gross = (
                line.discount, line.net, line.tax, line.gross)
        self.shipping_net, self.shipping_tax = amounts.shipping.net, amounts.shipping.tax
        self.item_count = len(self.items)
        self.units = sum(i.quantity for i in self.items)
        self.total, self.net_total, self.tax_total, self.discount_total = (
            amounts.gross, amounts.net, amounts.tax, amounts.discount)

    @property
    def shipping_gross(self) -> Decimal:
        return (self.shipping_net or Decimal(0)) + (self.shipping_tax or Decimal(0))


def _plain_amount(context) -> Decimal:
    given = context.get_current_parameters()
    return Decimal(given["quantity"]) * Decimal(str(given["unit_price"]))


class OrderItem(db.Model):
    __tablename__ = "order_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(
        sa.ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    product: Mapped[str] = mapped_column(sa.String(200))
    quantity: Mapped[int] = mapped_column()
    unit_price: Mapped[Decimal] = mapped_column(Money)  # as entered: net, or gross (see Order)
    tax_rate: Mapped[Decimal] = mapped_column(Rate, default=Decimal(0), server_default="0")
    discount_rate: Mapped[Decimal] = mapped_column(Rate, default=Decimal(0), server_default="0")
    # computed by Order.recompute_totals (webapp/orders/money.py); stored so
    # reports and sums read them as they are
    # (a Core insert that leaves them out, a bulk load, gets quantity × unit price)
    # (MoneyTotal: a line reaches 10,000 × 1,000,000.00, past what Money holds)
    discount: Mapped[Decimal] = mapped_column(MoneyTotal, default=Decimal("0.00"),
                                              server_default="0")
    net: Mapped[Decimal] = mapped_column(MoneyTotal, default=_plain_amount, server_default="0")
    tax: Mapped[Decimal] = mapped_column(MoneyTotal, default=Decimal("0.00"), server_default="0")
    gross: Mapped[Decimal] = mapped_column(MoneyTotal, default=_plain_amount,
                                           server_default="0")

    order: Mapped[Order] = relationship(back_populates="items")

    __table_args__ = (
        sa.CheckConstraint("quantity >= 1 AND quantity <= 10000", name="quantity_range"),
        sa.CheckConstraint("unit_price > 0", name="unit_price_positive"),
        {"sqlite_autoincrement": True},
    )

    @property
    def amount(self) -> Decimal:
        """Quantity × unit price, before the discount."""
        return self.quantity * self.unit_price

    @property
    def line_total(self) -> Decimal:
        """The line's net amount (after its discount, before tax)."""
        return self.net


class ProductMonth(db.Model):
    """What each product sold in a month of order dates, per workspace, over completed orders:
    the overview's top products read whole months here instead of a year of
    line items. Kept in step with every ORM write of orders and items by
    webapp/orders/rollup.py; bulk loads that bypass the ORM call rebuild()."""

    __tablename__ = "product_months"

    workspace_id: Mapped[int] = mapped_column(
        sa.ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True)
    month: Mapped[dt.date] = mapped_column(sa.Date, primary_key=True)  # its first day
    product: Mapped[str] = mapped_column(sa.String(200), primary_key=True)
    # whole cents: exact on every database (SQLite keeps NUMERIC as REAL)
    revenue_cents: Mapped[int] = mapped_column(sa.BigInteger)  # gross (tax included)
    net_cents: Mapped[int] = mapped_column(sa.BigInteger, default=0, server_default="0")
    units: Mapped[int] = mapped_column(sa.BigInteger)
    orders: Mapped[int] = mapped_column()  # completed orders with this product


class ReportJob(db.Model):
    __tablename__ = "report_jobs"

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(
        sa.ForeignKey("workspaces.id", ondelete="CASCADE"), index=True)
    # the person who made it (kept, as NULL, when they leave)
    created_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    kind: Mapped[ReportKind] = mapped_column(_enum(ReportKind))
    format: Mapped[ReportFormat] = mapped_column(_enum(ReportFormat))
    params: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    # Kept when the order is deleted: the report is a record of what it was.
    order_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("orders.id", ondelete="SET NULL"), index=True, nullable=True)
    # Same kind + parameters + format → same key; at most one active job per key
    # (partial unique index below), which is how concurrent requests dedupe.
    dedupe_key: Mapped[str] = mapped_column(sa.String(300))
    status: Mapped[JobStatus] = mapped_column(_enum(JobStatus), default=JobStatus.PENDING)
    # Runs started (a claim increments it); a job whose worker dies this many
    # times ends FAILED instead of looping.
    attempts: Mapped[int] = mapped_column(default=0)
    max_attempts: Mapped[int] = mapped_column(default=3)
    # "host:pid" of the process running it, so a redelivery can tell a dead run
    # from a live one; heartbeat_at is renewed while it runs (the lease).
    claimed_by: Mapped[str | None] = mapped_column(sa.String(200), nullable=True)
    heartbeat_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    enqueued_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    retry_of_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("report_jobs.id", ondelete="SET NULL"), nullable=True)
    deleted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    rows_total: Mapped[int | None] = mapped_column(nullable=True)
    rows_done: Mapped[int] = mapped_column(default=0)
    error: Mapped[str | None] = mapped_column(sa.Text, nullable=True)
    file_name: Mapped[str | None] = mapped_column(sa.String(200), nullable=True)
    size: Mapped[int | None] = mapped_column(sa.BigInteger, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    started_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)

    events: Mapped[list[ReportEvent]] = relationship(
        back_populates="job", cascade="all, delete-orphan", order_by="ReportEvent.id",
        passive_deletes=True,
    )

    __table_args__ = (
        sa.Index("ix_report_jobs_status_heartbeat_at", "status", "heartbeat_at"),
        sa.Index(
            "uq_report_jobs_active_dedupe_key", "dedupe_key", unique=True,
            sqlite_where=sa.text("status IN ('PENDING', 'PROCESSING')"),
            postgresql_where=sa.text("status IN ('PENDING', 'PROCESSING')"),
        ),
        {"sqlite_autoincrement": True},
    )

    @property
    def is_final(self) -> bool:
        return self.status.is_final

    @property
    def progress(self) -> int:
        """Percent of rows written, 0-100."""
        if self.status is JobStatus.COMPLETED:
            return 100
        if not self.rows_total:
            return 0
        return min(99, int(self.rows_done * 100 / self.rows_total))

    @property
    def duration(self) -> dt.timedelta | None:
        if self.started_at and self.finished_at:
            return self.finished_at - self.started_at
        return None


class ReportEvent(db.Model):
    """Append-only history of a job: requested, started, completed, failed, …"""

    __tablename__ = "report_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[int] = mapped_column(
        sa.ForeignKey("report_jobs.id", ondelete="CASCADE"), index=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    event: Mapped[str] = mapped_column(sa.String(30))
    detail: Mapped[str | None] = mapped_column(sa.Text, nullable=True)
    # host:pid of the process that took this step; for admins' eyes only
    worker: Mapped[str | None] = mapped_column(sa.String(200), nullable=True)

    job: Mapped[ReportJob] = relationship(back_populates="events")

    __table_args__ = ({"sqlite_autoincrement": True},)


class WorkerBeat(db.Model):
    """Last sign of life of each worker process, so pages can say when no
    worker is running instead of showing PENDING forever."""

    __tablename__ = "worker_beats"

    name: Mapped[str] = mapped_column(sa.String(200), primary_key=True)
    seen_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class Schedule(db.Model):
    """A saved report definition that runs by itself: what (kind, format, a
    relative date range evaluated when it runs), when (5-field cron in an
    IANA zone) and to whom (e-mail, a signed webhook, and always an in-app
    notice to its owner). webapp/schedules/ turns due slots into runs."""

    __tablename__ = "schedules"

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(
        sa.ForeignKey("workspaces.id", ondelete="CASCADE"), index=True)
    # the person who made it (kept, as NULL, when they leave)
    created_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    kind: Mapped[ReportKind] = mapped_column(_enum(ReportKind))
    format: Mapped[ReportFormat] = mapped_column(_enum(ReportFormat))
    # SUMMARY: a name of webapp/schedules/ranges.py ("last_7_days"), and an
    # optional customer; ORDER: the order (NULL once it is deleted: the
    # schedule then pauses at its next run, saying why)
    range: Mapped[str | None] = mapped_column(sa.String(20), nullable=True)
    customer: Mapped[str | None] = mapped_column(sa.String(200), nullable=True)
    order_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("orders.id", ondelete="SET NULL"), nullable=True)
    cron: Mapped[str] = mapped_column(sa.String(100))
    timezone: Mapped[str] = mapped_column(sa.String(64))
    emails: Mapped[list] = mapped_column(sa.JSON, default=list)
    webhook_url: Mapped[str | None] = mapped_column(sa.Text, nullable=True)
    # every delivery is signed with it (Standard Webhooks), so the app must
    # read it back: stored encrypted, read as clear text (webapp/crypto.py)
    webhook_secret: Mapped[str | None] = mapped_column(EncryptedText(), nullable=True)
    paused_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    pause_reason: Mapped[str | None] = mapped_column(sa.Text, nullable=True)
    # failed runs in a row; FAILURES_BEFORE_PAUSE of them pause the schedule
    failed_runs: Mapped[int] = mapped_column(default=0)
    # the next slot to run; the beat tick picks schedules whose slot has come
    next_run_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    __table_args__ = (
        sa.Index("ix_schedules_next_run_at", "next_run_at"),
        {"sqlite_autoincrement": True},
    )

    @property
    def paused(self) -> bool:
        return self.paused_at is not None


class ScheduleRun(db.Model):
    """One slot of a schedule that ran: its report job and its deliveries.
    (schedule_id, due_at) is unique, so two beats or a retried tick can
    never run a slot twice."""

    __tablename__ = "schedule_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    schedule_id: Mapped[int] = mapped_column(
        sa.ForeignKey("schedules.id", ondelete="CASCADE"), index=True)
    due_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    trigger: Mapped[str] = mapped_column(sa.String(20))  # schedule | catch_up | manual
    note: Mapped[str | None] = mapped_column(sa.Text, nullable=True)
    job_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("report_jobs.id", ondelete="SET NULL"), nullable=True, index=True)
    # None while the report or a delivery is under way; then ok | failed | cancelled
    outcome: Mapped[str | None] = mapped_column(sa.String(20), nullable=True)
    detail: Mapped[str | None] = mapped_column(sa.Text, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # a scheduled run that met its owner's open-jobs budget: it has no job
    # yet and starts, in order, when one of the owner's reports ends
    waiting: Mapped[bool] = mapped_column(default=False, server_default=sa.false(), index=True)

    job: Mapped[ReportJob | None] = relationship()
    deliveries: Mapped[list[Delivery]] = relationship(
        back_populates="run", order_by="Delivery.id", passive_deletes=True)

    __table_args__ = (
        sa.UniqueConstraint("schedule_id", "due_at", name="uq_schedule_runs_schedule_id_due_at"),
        {"sqlite_autoincrement": True},
    )


class Delivery(db.Model):
    """One report going to one place: an e-mail (to its recipients), a
    webhook, or an in-app notice. Waits until its job is final, then is sent,
    retried while the failure may pass, and ends delivered, failed or
    skipped (the report was cancelled). Every attempt is kept."""

    __tablename__ = "deliveries"

    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[int] = mapped_column(
        sa.ForeignKey("report_jobs.id", ondelete="CASCADE"), index=True)
    run_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("schedule_runs.id", ondelete="CASCADE"), nullable=True, index=True)
    channel: Mapped[str] = mapped_column(sa.String(10))  # email | webhook | notice
    target: Mapped[str] = mapped_column(sa.Text)  # addresses (", "), URL, or the owner
    status: Mapped[str] = mapped_column(sa.String(12), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    claimed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # a webhook's id and body are fixed at its first attempt: every retry
    # sends the same message (receivers dedupe on webhook-id)
    message_id: Mapped[str | None] = mapped_column(sa.String(60), nullable=True)
    payload: Mapped[str | None] = mapped_column(sa.Text, nullable=True)
    detail: Mapped[str | None] = mapped_column(sa.Text, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)

    run: Mapped[ScheduleRun | None] = relationship(back_populates="deliveries")
    attempt_log: Mapped[list[DeliveryAttempt]] = relationship(
        order_by="DeliveryAttempt.id", passive_deletes=True)

    __table_args__ = (
        sa.Index("ix_deliveries_status_next_attempt_at", "status", "next_attempt_at"),
        {"sqlite_autoincrement": True},
    )


class DeliveryAttempt(db.Model):
    __tablename__ = "delivery_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    delivery_id: Mapped[int] = mapped_column(
        sa.ForeignKey("deliveries.id", ondelete="CASCADE"), index=True)
    attempt: Mapped[int] = mapped_column()
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    ok: Mapped[bool] = mapped_column()
    code: Mapped[int | None] = mapped_column(nullable=True)  # HTTP status or SMTP reply code
    detail: Mapped[str | None] = mapped_column(sa.Text, nullable=True)

    __table_args__ = ({"sqlite_autoincrement": True},)


class Notice(db.Model):
    """An in-app notice for a user (the bell): a report ready, a delivery
    that failed for good, a schedule that paused itself."""

    __tablename__ = "notices"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    # the bell shows a person the notices of the workspace they are in
    workspace_id: Mapped[int] = mapped_column(
        sa.ForeignKey("workspaces.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(sa.String(20))  # ready | failed | delivery | paused
    text: Mapped[str] = mapped_column(sa.Text)
    job_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("report_jobs.id", ondelete="SET NULL"), nullable=True)
    schedule_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("schedules.id", ondelete="SET NULL"), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    read_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)

    __table_args__ = (
        # the bell's count: a user's unread notices
        sa.Index("ix_notices_user_id_read_at", "user_id", "read_at"),
        {"sqlite_autoincrement": True},
    )


class SignupRequest(db.Model):
    """A sign-up waiting for the link sent to its address (when the server
    sends mail). Nothing is an account before the link is opened, so signing
    up with someone else's address creates nothing and tells nothing."""

    __tablename__ = "signup_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(254), index=True)
    password_hash: Mapped[str] = mapped_column(sa.String(300))
    timezone: Mapped[str] = mapped_column(sa.String(64))
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)  # SHA-256 of the link's
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)

    __table_args__ = ({"sqlite_autoincrement": True},)


class ScheduleRecipient(db.Model):
    """One address a schedule e-mails, and its consent: pending (asked, or to
    be asked, once), confirmed (it opened the link) or unsubscribed. The
    owner's verified address and MAIL_ALLOWED_DOMAINS need no confirmation
    (webapp/delivery/consent.py decides)."""

    __tablename__ = "schedule_recipients"

    id: Mapped[int] = mapped_column(primary_key=True)
    schedule_id: Mapped[int] = mapped_column(
        sa.ForeignKey("schedules.id", ondelete="CASCADE"))
    address: Mapped[str] = mapped_column(sa.String(254))
    status: Mapped[str] = mapped_column(sa.String(12), default="pending")
    asked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    answered_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        sa.UniqueConstraint("schedule_id", "address",
                            name="uq_schedule_recipients_schedule_id_address"),
        {"sqlite_autoincrement": True},
    )


class SenderBlock(db.Model):
    """An address that answered "never from this sender" to an account."""

    __tablename__ = "sender_blocks"

    workspace_id: Mapped[int] = mapped_column(
        sa.ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True)
    address: Mapped[str] = mapped_column(sa.String(254), primary_key=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class MailSend(db.Model):
    """One e-mail sent for an account: the hourly quota counts these."""

    __tablename__ = "mail_sends"

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(
        sa.ForeignKey("workspaces.id", ondelete="CASCADE"))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        sa.Index("ix_mail_sends_workspace_id_at", "workspace_id", "at"),
        {"sqlite_autoincrement": True},
    )
