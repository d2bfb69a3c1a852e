"""The words for states and kinds, one enum each, shared by models, services,
the worker, the generators, templates and the API (plain Python: the file
generators import them without the database layer)."""
from __future__ import annotations

import enum


class Role(enum.StrEnum):
    """A person's part in a workspace, most powerful first (webapp/workspaces/roles.py
    says what each may do)."""

    OWNER = "owner"
    ADMIN = "admin"
    MEMBER = "member"
    VIEWER = "viewer"

    @property
    def label(self) -> str:
        return self.value.capitalize()

    @property
    def rank(self) -> int:
        return list(Role).index(self)


class OrderStatus(enum.StrEnum):
    OPEN = "open"
    COMPLETED = "completed"
    CANCELLED = "cancelled"

    @property
    def label(self) -> str:
        return self.value.capitalize()


class JobStatus(enum.StrEnum):
    PENDING = "PENDING"
    PROCESSING = "PROCESSING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"
    EXPIRED = "EXPIRED"  # was COMPLETED; its file has been cleaned up

    @property
    def is_final(self) -> bool:
        return self not in ACTIVE_STATUSES


ACTIVE_STATUSES = (JobStatus.PENDING, JobStatus.PROCESSING)
RETRYABLE_STATUSES = (JobStatus.FAILED, JobStatus.CANCELLED)


class ReportKind(enum.StrEnum):
    ORDER = "order"  # one order
    SUMMARY = "summary"  # completed orders over a date range
    ORDERS = "orders"  # the orders list as the user sees it: any status, any date, a search
    AUDIT = "audit"  # the workspace's audit trail (CSV only; owners and admins)


class ReportFormat(enum.StrEnum):
    CSV = "csv"
    PDF = "pdf"
    XLSX = "xlsx"

    @property
    def mimetype(self) -> str:
        return _MIMETYPES[self.value]


_MIMETYPES = {
    "csv": "text/csv",
    "pdf": "application/pdf",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
