"""Every JSON body of the API, declared once.

Requests are validated by these models (parsing.py turns their errors into
today's messages), answers are built through them (views.py), and
/api/openapi.json is generated from them (openapi.py). The rules for names,
quantities and prices are the ones the HTML form uses: the functions of
webapp/orders/validation.py run as validators here.

Money is a string with two decimals ("12.50"); times are UTC, ISO 8601 with a
"Z"; dates are "2026-11-28"."""
from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    RootModel,
    StrictBool,
    StrictInt,
    WithJsonSchema,
)

from ..models import MAX_ID, JobStatus, OrderStatus, ReportFormat, ReportKind
from ..orders.validation import (
    MAX_ITEMS,
    MAX_NAME,
    MAX_PRICE,
    MAX_QUANTITY,
    parse_name,
    parse_notes,
    parse_price,
    parse_quantity,
    parse_rate,
    parse_reference,
    parse_shipping,
)
from ..pagination import MAX_PAGE, page_number
from ..schedules.ranges import NAMES as SCHEDULE_RANGES

MAX_PER_PAGE = 100
DATE_EXAMPLE = "2026-11-28"


def _absent_by_default(**kwargs):
    """An optional field that, when sent, must hold a valid value (null is not
    "absent"): default None, validated only when given, documented without a
    default."""
    return Field(None, json_schema_extra=lambda schema: schema.pop("default", None), **kwargs)


# --- values a client sends ----------------------------------------------------

def _name_of(what: str):
    def clean(value):
        return parse_name(value, what)
    return clean


def _name(what: str):
    return Annotated[str, BeforeValidator(_name_of(what)), Field(
        min_length=1, max_length=MAX_NAME,
        description=f"{what} name: text without control characters; runs of whitespace "
                    f"become one space; at most {MAX_NAME} characters.")]


CustomerName = _name("Customer")
ProductName = _name("Product")


# The text patterns below say exactly what the parsers accept within their
# limits (no leading zeros, though the parsers forgive them), as plain
# alternations without lookaheads: a generator (schemathesis, hypothesis)
# then makes only values the API takes.

def whole_numbers_up_to(limit: int) -> str:
    """A regular expression for the whole numbers 1 to `limit` (no leading zeros)."""
    digits = str(limit)
    shorter = ([] if len(digits) == 1 else ["[1-9]"] if len(digits) == 2
               else [f"[1-9][0-9]{{0,{len(digits) - 2}}}"])
    same_length = []
    for at, digit in enumerate(map(int, digits)):
        lowest = 1 if at == 0 else 0
        if digit > lowest:  # this digit smaller, any digits after it
            rest = len(digits) - at - 1
            same_length.append(digits[:at] + (f"[{lowest}-{digit - 1}]" if digit - 1 > lowest
                                              else str(lowest))
                               + ("[0-9]" * min(rest, 1) + (f"{{{rest}}}" if rest > 1 else "")))
    return "|".join([*shorter, *same_length, digits])


def _amounts_up_to(limit: Decimal) -> str:
    """A positive amount with at most 2 decimals up to a whole `limit`."""
    whole = int(limit)
    return (f"({whole_numbers_up_to(whole - 1)})(\\.[0-9]{{1,2}})?|{whole}(\\.0{{1,2}})?"
            r"|0?\.([1-9][0-9]?|0[1-9])")


def whole_json_number(value):
    """A JSON number with nothing after the point (2.0, 1E+3) as the int it is:
    JSON Schema counts it as an integer, so the API takes it as one. (Bodies
    are read with Decimal for floats; huge exponents stay Decimal and fail.)"""
    if (isinstance(value, Decimal) and value.is_finite() and value.adjusted() < 18
            and value == value.to_integral_value()):
        return int(value)
    return value


QUANTITY_PATTERN = rf"^\s*({whole_numbers_up_to(MAX_QUANTITY)})\s*$"
PRICE_PATTERN = rf"^\s*({_amounts_up_to(MAX_PRICE)})\s*$"
SHIPPING_PATTERN = rf"^\s*(0(\.0{{1,2}})?|{_amounts_up_to(MAX_PRICE)})\s*$"
RATE_PATTERN = r"^\s*(100([.,]0{1,3})?|[0-9]{1,2}([.,][0-9]{1,3})?)\s*%?\s*$"

Quantity = Annotated[int, BeforeValidator(parse_quantity), BeforeValidator(whole_json_number),
                     WithJsonSchema({
    "description": f"A whole number from 1 to {MAX_QUANTITY:,}, as a number or as text.",
    "anyOf": [{"type": "integer", "minimum": 1, "maximum": MAX_QUANTITY},
              {"type": "string", "pattern": QUANTITY_PATTERN}],
    "examples": [2],
}, mode="validation")]

UnitPrice = Annotated[Decimal, BeforeValidator(parse_price), WithJsonSchema({
    "description": "A positive amount with at most 2 decimals, at most "
                   f"{MAX_PRICE:,}: preferably text (\"12.50\"); a plain JSON number "
                   "(no exponent) is read exactly too.",
    "anyOf": [{"type": "string", "pattern": PRICE_PATTERN},
              {"type": "number", "exclusiveMinimum": 0, "maximum": int(MAX_PRICE),
               "multipleOf": 0.01}],
    "examples": ["12.50"],
}, mode="validation")]


def _rate_of(what: str):
    def clean(value):
        return parse_rate(value, what)
    return clean


def _rate(what: str):
    return Annotated[Decimal, BeforeValidator(_rate_of(what)), WithJsonSchema({
        "description": f"{what}: a percentage from 0 to 100 with at most 3 decimals, as "
                       "text (\"19\", \"5.5\") or a number; default 0.",
        "anyOf": [{"type": "string", "pattern": RATE_PATTERN},
                  {"type": "number", "minimum": 0, "maximum": 100, "multipleOf": 0.001}],
        "examples": ["19"],
    }, mode="validation")]


TaxRate = _rate("Tax rate")
DiscountRate = _rate("Discount")

Shipping = Annotated[Decimal, BeforeValidator(parse_shipping), WithJsonSchema({
    "description": "Shipping charged on the order, entered like the prices (net, or "
                   "gross if the workspace enters prices with tax); 0 or a positive amount "
                   "with at most 2 decimals; default 0.",
    "anyOf": [{"type": "string", "pattern": SHIPPING_PATTERN},
              {"type": "number", "minimum": 0, "maximum": int(MAX_PRICE),
               "multipleOf": 0.01}],
    "examples": ["4.90"],
}, mode="validation")]

ExternalRef = Annotated[str | None, BeforeValidator(parse_reference), Field(
    description="The order's reference in the system it comes from (a shop's order "
                "number), unique in the workspace; at most 100 characters; blank or "
                "null: none.")]

Notes = Annotated[str | None, BeforeValidator(parse_notes), Field(
    description="Printed on the order document; at most 2,000 characters.")]


_ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _iso_date(value):
    # exactly YYYY-MM-DD: fromisoformat alone also takes "20261128", "2026-W48-6"
    if isinstance(value, str) and _ISO_DAY.fullmatch(value):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            pass
    raise ValueError(f"Must be a date like {DATE_EXAMPLE}.")


IsoDate = Annotated[dt.date, BeforeValidator(_iso_date), Field(examples=[DATE_EXAMPLE])]


def _summary_customer(value):
    if value is None or (isinstance(value, str) and not value.strip()):
        return None  # no filter
    return parse_name(value, "Customer")


def _summary_customer_or_id(value):
    if isinstance(value, int) and not isinstance(value, bool):
        if not 0 < value <= MAX_ID:
            raise ValueError("Must be a customer's id (GET /api/customers).")
        return value
    return _summary_customer(value)


# (parse_name enforces the length; a constraint here would also see the None
# that a blank value becomes)
SummaryCustomer = Annotated[str | None, BeforeValidator(_summary_customer), Field(
    json_schema_extra={"maxLength": MAX_NAME},
    description="Only orders of customers containing this (any case or accent); null or "
                "blank: all.")]
SummaryCustomerRef = Annotated[int | str | None, BeforeValidator(_summary_customer_or_id),
                               WithJsonSchema({
    "description": "Only this customer's orders: a customer's id (GET /api/customers), or "
                   "a name (kept for older scripts: the customer of that name, any case or "
                   "accent, or the only one containing it; 400 listing close matches when "
                   "none or several do); null or blank: all customers.",
    "anyOf": [{"type": "integer", "minimum": 1, "maximum": MAX_ID},
              {"type": "string", "maxLength": MAX_NAME}, {"type": "null"}]},
    mode="validation")]

OrderId = Annotated[StrictInt, BeforeValidator(whole_json_number), Field(gt=0, le=MAX_ID)]


# --- request bodies -----------------------------------------------------------

class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class OrderItemIn(_Strict):
    product: ProductName
    quantity: Quantity
    unit_price: UnitPrice
    tax_rate: TaxRate = Decimal(0)
    discount: DiscountRate = Field(Decimal(0), description="Percent off quantity × "
                                                           "unit price, 0 to 100.")


Items = Annotated[list[OrderItemIn], Field(min_length=1, max_length=MAX_ITEMS)]
CustomerId = Annotated[StrictInt, BeforeValidator(whole_json_number), Field(
    gt=0, le=MAX_ID, description="A customer of the workspace (GET /api/customers).")]
OrderDate = Annotated[dt.date, BeforeValidator(lambda v: _iso_date(v)), Field(
    description="The order's date, a day in the workspace's calendar: any day up to "
                "tomorrow. Default: today in the token owner's time zone.",
    examples=[DATE_EXAMPLE])]


def _one_customer(schema: dict) -> None:
    """OrderIn's schema: customer_id or customer (not null, no default)."""
    for name in ("customer_id", "customer"):
        schema["properties"][name].pop("default", None)
    schema["anyOf"] = [{"required": ["customer_id"]}, {"required": ["customer"]}]


class OrderIn(_Strict):
    """A new order. Name the customer by `customer_id`, or by `customer` (a
    name: the customer of that name, any case or accent, or a new one made
    from it; kept for scripts written before customers were records). One
    of the two is required."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=_one_customer)

    # not nullable: a null for both would say nothing (the anyOf above wants one)
    customer_id: CustomerId = Field(None, validate_default=False)
    customer: CustomerName = Field(None, validate_default=False, examples=["ACME GmbH"])
    items: Items
    order_date: OrderDate | None = None
    external_ref: ExternalRef = None
    notes: Notes = None
    shipping: Shipping = Decimal(0)
    shipping_tax_rate: TaxRate = Decimal(0)
    status: OrderStatus = OrderStatus.OPEN


class OrderPatch(_Strict):
    """Changes to an order: only the fields sent change; `items` replaces all items."""

    customer_id: CustomerId = _absent_by_default()
    customer: CustomerName = _absent_by_default()
    items: Items = _absent_by_default()
    status: OrderStatus = _absent_by_default()
    order_date: OrderDate = _absent_by_default()
    external_ref: ExternalRef = _absent_by_default()
    notes: Notes = _absent_by_default()
    shipping: Shipping = _absent_by_default()
    shipping_tax_rate: TaxRate = _absent_by_default()


class OrderReportIn(_Strict):
    """A report of one order."""

    kind: Literal["order"]
    format: ReportFormat
    order_id: OrderId
    notify_email: StrictBool = Field(
        False, description="E-mail the owner when the report is ready (or failed); needs "
                           "the server's SMTP_URL.")


class SummaryReportIn(_Strict):
    """Completed orders whose order date is from date_from to date_to,
    inclusive; at most 10 years (3,653 days)."""

    kind: Literal["summary"]
    format: ReportFormat
    date_from: IsoDate
    date_to: IsoDate
    customer: SummaryCustomerRef = None
    notify_email: StrictBool = Field(
        False, description="E-mail the owner when the report is ready (or failed); needs "
                           "the server's SMTP_URL.")


class OrdersReportIn(_Strict):
    """Every order of any status and date (the orders list), optionally only
    customers containing `search` (any case, any accents)."""

    kind: Literal["orders"]
    format: ReportFormat
    search: SummaryCustomer = None
    notify_email: StrictBool = Field(
        False, description="E-mail the owner when the report is ready (or failed); needs "
                           "the server's SMTP_URL.")


class AuditReportIn(_Strict):
    """The workspace's audit trail as CSV (owners and admins), with the same
    filters as GET /api/audit; dates are the token owner's days."""

    kind: Literal["audit"]
    format: Literal["csv"]
    action: str | None = Field(None, max_length=40, description="e.g. order.created")
    person: str | None = Field(None, max_length=254, description="An e-mail address.")
    date_from: IsoDate | None = Field(None, description="First day, included.")
    date_to: IsoDate | None = Field(None, description="Last day, included.")
    notify_email: StrictBool = Field(
        False, description="E-mail the owner when the report is ready (or failed); needs "
                           "the server's SMTP_URL.")


class ReportRequest(RootModel[Annotated[
        OrderReportIn | SummaryReportIn | OrdersReportIn | AuditReportIn,
        Field(discriminator="kind")]]):
    """A report to generate: one order's, a summary over a date range, the
    orders list with its search, or the audit trail."""


def _page_of(maximum: int):
    def parse(value):
        number = page_number(value, maximum=maximum)
        if number is None:
            raise ValueError(f"Must be a whole number from 1 to {maximum:,}.")
        return number
    return parse


class PageQuery(BaseModel):
    """?page=&per_page= of a list (other query parameters are ignored)."""

    page: Annotated[int, BeforeValidator(_page_of(MAX_PAGE)), Field(
        ge=1, le=MAX_PAGE, description="Page number, from 1.")] = 1
    per_page: Annotated[int, BeforeValidator(_page_of(MAX_PER_PAGE)), Field(
        ge=1, le=MAX_PER_PAGE, description="Items per page.")] = 20


# --- values the API answers with ----------------------------------------------

def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


Money = Annotated[Decimal, PlainSerializer(lambda d: f"{d:.2f}", return_type=str), WithJsonSchema(
    {"type": "string", "pattern": r"^[0-9]+\.[0-9]{2}$", "examples": ["12.50"]},
    mode="serialization")]
UtcTime = Annotated[dt.datetime, PlainSerializer(_iso, return_type=str), WithJsonSchema(
    {"type": "string", "format": "date-time", "examples": ["2026-11-28T09:30:00.123456Z"]},
    mode="serialization")]

# The stored parameters of a job, as they were asked for (a plain object, so
# keys added later still pass through).
ReportParamsJson = Annotated[dict[str, Any], WithJsonSchema({
    "type": "object",
    "description": "What the report covers: order_id for an order report; date_from, "
                   "date_to and customer for a summary; search for an orders export; "
                   "action, person, date_from and date_to (each may be null) for the audit "
                   "trail; timezone: whose days the dates are (all_owners: jobs from "
                   "before workspaces, ignored).",
    "properties": {
        "order_id": {"type": "integer"},
        "date_from": {"type": ["string", "null"], "format": "date"},
        "date_to": {"type": ["string", "null"], "format": "date"},
        "customer": {"type": ["string", "null"]},
        "search": {"type": ["string", "null"]},
        "action": {"type": ["string", "null"]},
        "person": {"type": ["string", "null"]},
        "timezone": {"type": "string"},
        "all_owners": {"type": "boolean"},
    },
}, mode="serialization")]


Rate = Annotated[Decimal, PlainSerializer(lambda d: format(d.normalize(), "f"),
                                          return_type=str), WithJsonSchema(
    {"type": "string", "pattern": r"^[0-9]+(\.[0-9]+)?$", "examples": ["19", "5.5"]},
    mode="serialization")]


class OrderItemOut(BaseModel):
    """A line: amounts rounded half-up to the cent, net + tax = gross."""

    id: int
    product: str
    quantity: int
    unit_price: Money = Field(description="As entered: net, or gross if the order's "
                                          "prices include tax.")
    tax_rate: Rate
    discount_rate: Rate
    discount: Money = Field(description="Taken off quantity × unit price.")
    net: Money
    tax: Money
    gross: Money
    line_total: Money = Field(description="The same as net (kept for older scripts).")


class OrderOut(BaseModel):
    """An order with its items. Totals are sums of the lines' rounded
    amounts plus shipping: net_total + tax_total = total (gross)."""

    id: int
    number: str = Field(examples=["SO-000123"])
    external_ref: str | None
    order_date: dt.date
    customer_id: int
    customer: str = Field(description="The customer's name now.")
    status: OrderStatus
    notes: str | None
    prices_include_tax: bool
    created_at: UtcTime
    updated_at: UtcTime
    items: list[OrderItemOut]
    item_count: int
    shipping: Money
    shipping_tax_rate: Rate
    shipping_net: Money
    shipping_tax: Money
    discount_total: Money
    net_total: Money
    tax_total: Money
    total: Money = Field(description="Gross: what the customer pays, tax and shipping "
                                     "included.")
    url: str = Field(description="This order in the API.")


class OrderPage(BaseModel):
    """Orders, newest first."""

    items: list[OrderOut]
    page: int
    per_page: int
    total: int
    pages: int


class JobEventOut(BaseModel):
    at: UtcTime
    event: str = Field(examples=["requested", "started", "completed", "downloaded"])
    detail: str | None
    worker: str | None = Field(None, description="host:pid of the process (admins only; "
                                                 "absent for everyone else).")


class JobOut(BaseModel):
    """A report job. Poll status_url until status is final (COMPLETED, FAILED,
    CANCELLED, EXPIRED); download_url is set once it is COMPLETED."""

    id: int
    kind: ReportKind
    format: ReportFormat
    params: ReportParamsJson
    status: JobStatus
    progress: int = Field(ge=0, le=100, description="Percent of rows written.")
    rows_done: int
    rows_total: int | None
    error: str | None = Field(description="Why it failed or was cancelled, in words.")
    created_at: UtcTime
    started_at: UtcTime | None
    finished_at: UtcTime | None
    size: int | None = Field(description="File size in bytes, once written.")
    attempts: int
    max_attempts: int
    expires_at: UtcTime | None = Field(description="When the file will be removed.")
    retry_of: int | None = Field(description="The job this one retries.")
    events: list[JobEventOut]
    file_name: str | None = Field(description="The download's file name, once COMPLETED.")
    status_url: str
    download_url: str | None


class JobPage(BaseModel):
    """Report jobs, newest first."""

    items: list[JobOut]
    page: int
    per_page: int
    total: int
    pages: int


# --- schedules ------------------------------------------------------------------

RANGE_NAMES = SCHEDULE_RANGES  # webapp/schedules/ranges.py, in the form's order
ScheduleName = _name("Schedule")
CronText = Annotated[str, Field(max_length=100, examples=["0 7 * * 1"], description=(
    "When it runs: 5-field cron (minute hour day-of-month month day-of-week) in `timezone`; "
    "names (MON, JAN), ranges, steps and L (last day of the month) are understood."))]
ZoneName = Annotated[str, Field(max_length=64, examples=["Europe/Berlin"],
                                description="An IANA time zone.")]
Recipients = Annotated[list[Annotated[str, Field(max_length=254)]], Field(
    max_length=20, description="E-mail recipients (needs the server's SMTP_URL).")]
WebhookUrl = Annotated[str, Field(max_length=2000, description=(
    "POSTed a signed JSON message (Standard Webhooks) when each run's report is ready or "
    "failed; http(s) to a public address."))]


class ScheduleReportIn(_Strict):
    """What each run reports: a summary over a relative range read on the run's day
    in the schedule's zone, or one order."""

    kind: Literal["summary", "order"]
    format: ReportFormat
    range: Literal[RANGE_NAMES] | None = Field(None, description=(
        "summary: the days it covers, read on the run's day in the schedule's zone, as the "
        "dashboard reads them: last_7_days and last_30_days include the run's day, "
        "last_7_full_days and last_30_full_days end the day before, this_* run to the "
        "run's day, last_month/quarter/year are whole periods."))
    customer: SummaryCustomer = None
    order_id: OrderId | None = None


class ScheduleIn(_Strict):
    """A new schedule."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "name": "Weekly sales", "cron": "0 7 * * 1", "timezone": "Europe/Berlin",
        "report": {"kind": "summary", "format": "pdf", "range": "last_7_days"}}]})

    name: ScheduleName
    report: ScheduleReportIn
    cron: CronText
    timezone: ZoneName | None = Field(None, description="Default: your account's zone.")
    email: Recipients = Field(default_factory=list)
    webhook_url: WebhookUrl | None = None


class SchedulePatch(_Strict):
    """Changes to a schedule: only the fields sent change. `paused` pauses or
    resumes it; `rotate_secret` makes a new webhook secret (answered once)."""

    name: ScheduleName = _absent_by_default()
    report: ScheduleReportIn = _absent_by_default()
    cron: CronText = _absent_by_default()
    timezone: ZoneName = _absent_by_default()
    email: Recipients = _absent_by_default()
    webhook_url: WebhookUrl | None = Field(None, description="null removes the webhook.")
    paused: StrictBool = _absent_by_default()
    rotate_secret: StrictBool = _absent_by_default()


class ScheduleReportOut(BaseModel):
    kind: ReportKind
    format: ReportFormat
    range: str | None
    customer: str | None
    order_id: int | None


class RecipientOut(BaseModel):
    """An e-mail recipient of a schedule and its consent: only `may_send`
    ones get reports. Others got one e-mail asking them to confirm."""

    address: str
    status: Literal["verified", "allowed", "confirmed", "pending", "unverified",
                    "unsubscribed", "declined"] = Field(description=(
        "verified: your own verified address; allowed: on the server's MAIL_ALLOWED_DOMAINS; "
        "confirmed: it opened the confirmation link; pending: asked, no answer yet; "
        "unverified: your own address, not verified yet; unsubscribed: it clicked "
        "unsubscribe; declined: it asked never to hear from you."))
    may_send: bool
    detail: str


class ScheduleOut(BaseModel):
    """A schedule. `webhook_secret` is in the answer that made it only (creation,
    the first webhook URL, or rotate_secret): keep it, it is not shown again."""

    id: int
    name: str
    report: ScheduleReportOut
    cron: str
    timezone: str
    when: str = Field(examples=["Every Monday at 07:00 (Europe/Berlin)"])
    email: list[str]
    recipients: list[RecipientOut] = Field(description="Each address of `email` with its "
                                                       "consent.")
    webhook_url: str | None
    webhook_secret: str | None = Field(None, examples=["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"])
    paused: bool
    pause_reason: str | None
    failed_runs: int = Field(description="Failed runs in a row (the schedule pauses itself "
                                         "at 5).")
    next_run_at: UtcTime | None
    created_at: UtcTime
    updated_at: UtcTime
    url: str
    runs_url: str


class SchedulePage(BaseModel):
    """Schedules, by name."""

    items: list[ScheduleOut]
    page: int
    per_page: int
    total: int
    pages: int


class DeliveryAttemptOut(BaseModel):
    attempt: int
    at: UtcTime
    ok: bool
    code: int | None = Field(description="The HTTP status, or the SMTP reply code.")
    detail: str | None = Field(description="The response or SMTP reply, in short.")


class DeliveryOut(BaseModel):
    channel: Literal["email", "webhook", "notice"]
    target: str = Field(description="The address, the URL, or the owner (notice).")
    status: Literal["pending", "sending", "delivered", "failed", "skipped"]
    detail: str | None
    next_attempt_at: UtcTime | None
    attempts: list[DeliveryAttemptOut]


class RunOut(BaseModel):
    """One run of a schedule: the slot it stands for, its report, and every
    delivery attempt."""

    id: int
    due_at: UtcTime
    trigger: Literal["schedule", "catch_up", "manual"]
    note: str | None = Field(description="Says when a run was late or made up for missed ones.")
    outcome: Literal["ok", "failed", "cancelled"] | None = Field(
        description="null while the report or a delivery is under way.")
    waiting: bool = Field(description="true while the run waits for its turn: your reports "
                                      "in progress reached the server's limit "
                                      "(REPORT_MAX_OPEN_JOBS); it starts when one ends.")
    detail: str | None
    created_at: UtcTime
    finished_at: UtcTime | None
    report: JobOut | None
    deliveries: list[DeliveryOut]


class RunPage(BaseModel):
    """Runs, newest first."""

    items: list[RunOut]
    page: int
    per_page: int
    total: int
    pages: int


class WorkspaceOut(BaseModel):
    id: int
    name: str
    currency: str


class MeOut(BaseModel):
    """Who this token acts for, in which workspace, with which role and scope."""

    email: str
    role: Literal["owner", "admin", "member", "viewer"]
    scope: Literal["read", "write"]
    workspace: WorkspaceOut
    may: list[str] = Field(description="The actions this token may take (roles table in the "
                                       "README).")


class AuditEntryOut(BaseModel):
    id: int
    at: Annotated[dt.datetime, PlainSerializer(_iso, return_type=str)]
    actor: str
    action: str
    target: str | None
    detail: str | None
    via: str


class AuditPage(BaseModel):
    """The workspace's audit trail, newest first."""

    items: list[AuditEntryOut]
    page: int
    per_page: int
    total: int
    pages: int


class AuditQuery(PageQuery):
    """?action=&person=&date_from=&date_to= and the page."""

    action: str | None = Field(None, max_length=40, description="e.g. order.created")
    person: str | None = Field(None, max_length=254, description="An e-mail address.")
    date_from: dt.date | None = Field(None, description="First day (yours), included.")
    date_to: dt.date | None = Field(None, description="Last day (yours), included.")



# --- customers --------------------------------------------------------------------

class _CustomerDetails(_Strict):
    """A customer's fields besides the name. Each is text or null; blank or
    null means none; runs of spaces become one (address and notes keep their
    lines). The rules are the customer form's (webapp/customers/services.py)."""

    email: str | None = Field(None, json_schema_extra={"maxLength": 254},
                              examples=["billing@example.com"],
                              description="An e-mail address, or null.")
    address: str | None = Field(None, json_schema_extra={"maxLength": 1000},
                                examples=["Hauptstraße 5\nHinterhaus"],
                                description="Street lines, separated by newlines.")
    postcode: str | None = Field(None, json_schema_extra={"maxLength": 20}, examples=["10115"])
    city: str | None = Field(None, json_schema_extra={"maxLength": 100}, examples=["Berlin"])
    country: str | None = Field(None, json_schema_extra={"maxLength": 2}, examples=["DE"],
                                description="An ISO 3166-1 alpha-2 code (any case).")
    tax_id: str | None = Field(None, json_schema_extra={"maxLength": 50},
                               examples=["DE123456789"],
                               description="VAT or other tax number, printed on documents.")
    notes: str | None = Field(None, json_schema_extra={"maxLength": 2000})


class CustomerIn(_CustomerDetails):
    """A new customer of the workspace."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "name": "Müller GmbH", "email": "billing@mueller.example", "city": "Berlin",
        "country": "DE"}]})

    name: CustomerName


class CustomerPatch(_CustomerDetails):
    """Changes to a customer: only the fields sent change; null clears a field
    (not the name). A new name shows on all of the customer's orders at once."""

    name: CustomerName = _absent_by_default()


class CustomerQuery(PageQuery):
    """?search=&page=&per_page="""

    search: str | None = Field(None, max_length=200, description=(
        "Only customers whose name contains this, any case or accent."))


class CustomerOut(BaseModel):
    """A customer of the workspace."""

    id: int
    name: str
    email: str | None
    address: str | None
    postcode: str | None
    city: str | None
    country: str | None = Field(description="ISO 3166-1 alpha-2, upper case.")
    tax_id: str | None
    notes: str | None
    created_at: UtcTime
    updated_at: UtcTime
    url: str = Field(description="This customer in the API.")


class CustomerPage(BaseModel):
    """Customers, by name."""

    items: list[CustomerOut]
    page: int
    per_page: int
    total: int
    pages: int

REQUEST_MODELS = (OrderIn, OrderPatch, ReportRequest, ScheduleIn, SchedulePatch,
                  CustomerIn, CustomerPatch)
RESPONSE_MODELS = (OrderOut, OrderPage, JobOut, JobPage, ScheduleOut, SchedulePage, RunOut,
                   RunPage, MeOut, AuditPage, CustomerOut, CustomerPage)
