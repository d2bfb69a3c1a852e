"""What a report covers, as one type: `ReportParams`.

A job stores its parameters as JSON (`ReportJob.params`, the same words the
API shows); everything that reads them goes through this type: the request
services (validation, dedupe key), the worker (the row filter, the file's title
and scope), the download name and the pages. Adding a filter means adding a
field here and saying what it means in `where()` and `describe()`."""
from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from ..errors import InvalidInput
from ..models import AuditEntry, Order, OrderStatus, ReportFormat, ReportKind

# The longest summary: ten years, leap days included. A summary's overview,
# PDF and XLSX cost grows with its range, and a range of centuries kept a
# worker busy for minutes; every way in (the report form, the API, the
# dashboard, schedules, and the worker for jobs stored before this rule) asks
# summary_span_error.
SUMMARY_MAX_YEARS = 10
SUMMARY_MAX_DAYS = 3653


def summary_span_error(date_from: dt.date, date_to: dt.date) -> str | None:
    """Why the range [date_from, date_to] is too long for a summary, or None."""
    if (date_to - date_from).days + 1 <= SUMMARY_MAX_DAYS:
        return None
    return (f"A summary covers at most {SUMMARY_MAX_YEARS} years; this range is "
            f"{_span_words(date_from, date_to)}. Pick a later start date or an earlier "
            "end date.")


def _span_words(date_from: dt.date, date_to: dt.date) -> str:
    """"1,100 years", "16 years and 60 days": whole years from date_from, then days."""
    # the day after date_to as (year, month, day): year 10000 is past datetime's range
    after = (dt.MAXYEAR + 1, 1, 1) if date_to == dt.date.max else (
        (date_to + dt.timedelta(days=1)).timetuple()[:3])
    years = after[0] - date_from.year - (after[1:] < (date_from.month, date_from.day))
    days = 0 if date_from.year + years > dt.MAXYEAR else (
        (date_to - _years_after(date_from, years)).days + 1)
    words = f"{years:,} year{'s' if years != 1 else ''}"
    return f"{words} and {days:,} day{'s' if days != 1 else ''}" if days else words


def _years_after(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February in a year without one
        return day.replace(year=day.year + years, day=28)


@dataclass(frozen=True)
class ReportParams:
    kind: ReportKind
    order_id: int | None = None
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    customer: str | None = None  # SUMMARY: the customer's name when it was asked for
    customer_id: int | None = None  # SUMMARY: the customer record it covers
    # ORDERS: the orders list's search (customer contains, any case or accent)
    search: str | None = None
    # SUMMARY: whose days date_from and date_to are (an IANA zone, checked by
    # the caller): the range runs from local midnight to local midnight
    timezone: str = "UTC"
    # AUDIT: one action ("order.created") and/or one person's e-mail address;
    # date_from/date_to (either may be None) are days in `timezone`
    action: str | None = None
    person: str | None = None

    # --- building ---------------------------------------------------------

    @classmethod
    def order(cls, order_id: int) -> ReportParams:
        return cls(kind=ReportKind.ORDER, order_id=order_id)

    @classmethod
    def summary(cls, date_from: dt.date, date_to: dt.date, customer: str | None = None,
                *, timezone: str = "UTC", customer_id: int | None = None) -> ReportParams:
        """Completed orders dated [date_from, date_to] in `timezone`'s days."""
        if date_from > date_to:
            raise InvalidInput("The start date is after the end date.",
                               {"date_to": ["Must be on or after the start date."]})
        too_long = summary_span_error(date_from, date_to)
        if too_long:
            raise InvalidInput(too_long, {"date_from": [too_long]})
        return cls(kind=ReportKind.SUMMARY, date_from=date_from, date_to=date_to,
                   customer=(customer or "").strip() or None, timezone=timezone,
                   customer_id=customer_id)

    @classmethod
    def listing(cls, search: str | None = None) -> ReportParams:
        """The orders list as it stands: every status and date, optionally
        the customers matching its search."""
        return cls(kind=ReportKind.ORDERS, search=(search or "").strip() or None)

    @classmethod
    def audit(cls, *, action: str | None = None, person: str | None = None,
              date_from: dt.date | None = None, date_to: dt.date | None = None,
              timezone: str = "UTC") -> ReportParams:
        """The audit trail's entries matching the audit page's filters."""
        if date_from and date_to and date_from > date_to:
            raise InvalidInput("The start date is after the end date.",
                               {"date_to": ["Must be on or after the start date."]})
        return cls(kind=ReportKind.AUDIT, action=action or None,
                   person=(person or "").strip().lower() or None,
                   date_from=date_from, date_to=date_to, timezone=timezone)

    def formats(self) -> tuple[ReportFormat, ...]:
        """The formats this kind of report is made in: the audit trail is
        data for another tool (CSV), not a document."""
        if self.kind is ReportKind.AUDIT:
            return (ReportFormat.CSV,)
        return tuple(ReportFormat)

    # --- stored form (ReportJob.params) -------------------------------------

    @classmethod
    def from_json(cls, kind: ReportKind | str, data: dict) -> ReportParams:
        kind = ReportKind(kind)
        if kind is ReportKind.ORDER:
            return cls.order(int(data["order_id"]))
        if kind is ReportKind.ORDERS:
            # (an "all_owners" of jobs from before workspaces is ignored: a
            # report covers its own workspace only)
            return cls(kind=kind, search=data.get("search") or None)
        if kind is ReportKind.AUDIT:
            day = dt.date.fromisoformat
            return cls(kind=kind, action=data.get("action"), person=data.get("person"),
                       date_from=day(data["date_from"]) if data.get("date_from") else None,
                       date_to=day(data["date_to"]) if data.get("date_to") else None,
                       timezone=data.get("timezone") or "UTC")
        return cls(kind=kind, date_from=dt.date.fromisoformat(data["date_from"]),
                   date_to=dt.date.fromisoformat(data["date_to"]),
                   customer=data.get("customer") or None,
                   customer_id=data.get("customer_id"),
                   timezone=data.get("timezone") or "UTC")

    def to_json(self) -> dict:
        """The stored and API form; its keys are also part of the dedupe key."""
        if self.kind is ReportKind.ORDER:
            return {"order_id": self.order_id}
        if self.kind is ReportKind.ORDERS:
            return {"search": self.search}
        if self.kind is ReportKind.AUDIT:
            return {"action": self.action, "person": self.person,
                    "date_from": self.date_from.isoformat() if self.date_from else None,
                    "date_to": self.date_to.isoformat() if self.date_to else None,
                    "timezone": self.timezone}
        data = {"date_from": self.date_from.isoformat(), "date_to": self.date_to.isoformat(),
                "customer": self.customer}
        if self.customer_id is not None:
            data["customer_id"] = self.customer_id
        if self.timezone != "UTC":  # jobs from before time zones read the same
            data["timezone"] = self.timezone
        return data

    # --- what it selects ----------------------------------------------------

    def where(self, workspace_id: int) -> list:
        """SQL conditions on Order for the rows of a report of `workspace_id`.
        The workspace is part of the filter itself, evaluated when the query
        runs, whatever the request path checked before."""
        if self.kind is ReportKind.ORDER:
            return [Order.id == self.order_id, Order.workspace_id == workspace_id]
        if self.kind is ReportKind.ORDERS:
            clauses = [Order.workspace_id == workspace_id]
            matching = Order.customer_like(self.search)
            return clauses if matching is None else [*clauses, matching]
        if self.kind is ReportKind.AUDIT:
            return audit_where(workspace_id, action=self.action, person=self.person,
                               date_from=self.date_from, date_to=self.date_to,
                               zone=self.timezone)
        clauses = [Order.status == OrderStatus.COMPLETED, Order.workspace_id == workspace_id,
                   Order.order_date >= self.date_from, Order.order_date <= self.date_to]
        if self.customer_id is not None:
            clauses.append(Order.customer_id == self.customer_id)
        elif self.customer:  # jobs from before customers were records: the name as it was
            clauses.append(sa.func.lower(Order.customer) == self.customer.lower())
        return clauses

    def bounds(self) -> tuple[dt.datetime | None, dt.datetime | None]:
        """The summary's range as UTC instants [start, end): local midnight of
        date_from to local midnight after date_to in the range's zone (a 23- or
        25-hour day on a DST change). None where the calendar ends (years 1
        and 9999 in a zone ahead of or behind UTC)."""
        return (local_midnight(self.date_from, self.timezone),
                local_midnight(self.date_to + dt.timedelta(days=1), self.timezone)
                if self.date_to < dt.date.max else None)

    # --- in words -------------------------------------------------------------

    def title(self) -> str:
        if self.kind is ReportKind.ORDER:
            return f"Order #{self.order_id}"
        if self.kind is ReportKind.AUDIT:
            return "Audit log"
        return "Orders" if self.kind is ReportKind.ORDERS else "Completed orders"

    def describe(self) -> list[str]:
        """The scope in words, for the file's header. An order report's scope
        names the order's customer, status and date, which the caller adds."""
        if self.kind is ReportKind.ORDER:
            return []
        if self.kind is ReportKind.AUDIT:
            return [self._audit_scope()]
        if self.kind is ReportKind.ORDERS:
            return ["Orders of any status and date",
                    f"Customer contains: {self.search}" if self.search else "All customers"]
        return [f"Completed orders from {self.date_from} to {self.date_to} "
                f"({self.timezone} dates)",
                f"Customer: {self.customer}" if self.customer else "All customers"]

    def short(self) -> str:
        """One line for lists: "Order #42", "Completed orders 2026-11-01 → 2026-11-28, ACME"."""
        if self.kind is ReportKind.ORDER:
            return self.title()
        if self.kind is ReportKind.ORDERS:
            return f"Orders matching “{self.search}”" if self.search else "All orders"
        if self.kind is ReportKind.AUDIT:
            return f"Audit log: {self._audit_scope()}"
        text = f"Completed orders {self.date_from} → {self.date_to}"
        return f"{text}, {self.customer}" if self.customer else text

    def download_name(self, fmt: str, created_at: dt.datetime) -> str:
        if self.kind is ReportKind.ORDER:
            return f"order-{self.order_id}-{created_at:%Y%m%d-%H%M}.{fmt}"
        if self.kind is ReportKind.ORDERS:
            search = _slug(self.search or "")
            return f"orders{'-' + search if search else ''}-{created_at:%Y%m%d-%H%M}.{fmt}"
        if self.kind is ReportKind.AUDIT:
            return f"audit-log-{created_at:%Y%m%d-%H%M}.{fmt}"
        customer = _slug(self.customer or "")
        who = f"-{customer}" if customer else ""
        return f"completed-orders{who}-{self.date_from}-to-{self.date_to}.{fmt}"


    def _audit_scope(self) -> str:
        parts = [f"“{self.action}”" if self.action else "every action",
                 f"by {self.person}" if self.person else "by everyone"]
        if self.date_from or self.date_to:
            parts.append(f"{self.date_from or 'the start'} to {self.date_to or 'today'} "
                         f"({self.timezone} dates)")
        return ", ".join(parts)


def audit_where(workspace_id: int, *, action: str | None = None, person: str | None = None,
                date_from: dt.date | None = None, date_to: dt.date | None = None,
                zone: str = "UTC") -> list:
    """The audit page's filters as SQL conditions on AuditEntry: the page and
    its CSV export select the same entries. Dates are days in `zone`."""
    clauses = [AuditEntry.workspace_id == workspace_id]
    if action:
        clauses.append(AuditEntry.action == action)
    if person:
        clauses.append(AuditEntry.actor == person.strip().lower())
    if date_from and (start := local_midnight(date_from, zone)) is not None:
        clauses.append(AuditEntry.at >= start)
    if date_to and date_to < dt.date.max and (
            end := local_midnight(date_to + dt.timedelta(days=1), zone)) is not None:
        clauses.append(AuditEntry.at < end)
    return clauses


def local_midnight(day: dt.date, zone: str) -> dt.datetime | None:
    """The UTC instant at which `day` starts in `zone`; None if it is out of
    datetime's range."""
    try:
        return dt.datetime.combine(day, dt.time(), tzinfo=ZoneInfo(zone)).astimezone(dt.UTC)
    except OverflowError:
        return None


def _slug(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:40]


def params_of(job) -> ReportParams:
    """What a report job covers, as a type (its `params` column is JSON)."""
    return ReportParams.from_json(job.kind, job.params)


def download_name(job) -> str:
    """The file name a download and an e-mail attachment offer."""
    return params_of(job).download_name(job.format.value, job.created_at)
