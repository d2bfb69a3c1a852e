"""Domain errors raised by services. Pages turn them into a message, the API
into an RFC 9457 problem with the matching status code (webapp/http_errors.py
does both). Part of the core: imports nothing of the app."""
from __future__ import annotations

# The reason a report of a deleted order ends with (cancelled or failed).
ORDER_DELETED = "The order was deleted."


class DomainError(Exception):
    status_code = 400
    retry_after: int | None = None  # seconds, sent as Retry-After when set
    headers: dict[str, str] | None = None  # more headers of the answer (a 409's Location)

    def __init__(self, message: str, errors: dict[str, list[str]] | None = None):
        super().__init__(message)
        self.message = message
        self.errors = errors


class InvalidInput(DomainError):
    status_code = 400


class Forbidden(DomainError):
    """A member whose role (or an API token whose scope) may not do this:
    403 with the reason ("Viewers cannot create orders.")."""

    status_code = 403


class NotFound(DomainError):
    status_code = 404


class OrderNotFound(NotFound):
    def __init__(self, order_id):
        super().__init__(f"Order {order_id} does not exist.")


class CustomerNotFound(NotFound):
    def __init__(self, customer_id):
        super().__init__(f"Customer {customer_id} does not exist.")


class JobNotFound(NotFound):
    def __init__(self, job_id):
        super().__init__(f"Report {job_id} does not exist.")


class Conflict(DomainError):
    status_code = 409


class ReportNotReady(Conflict):
    def __init__(self, job):
        super().__init__(f"Report {job.id} is {job.status.value}, not ready for download.")
        self.job = job


class ReportGone(DomainError):
    status_code = 410


class QuotaExceeded(DomainError):
    """A quota of the account is used up (open reports, schedules, e-mails an
    hour, one open run per schedule): 429 with Retry-After and a sentence."""

    status_code = 429

    def __init__(self, message: str, retry_after: int = 10,
                 errors: dict[str, list[str]] | None = None):
        super().__init__(message, errors)
        self.retry_after = max(1, int(retry_after))




class TooManyJobs(QuotaExceeded):
    """The owner's open-jobs budget (REPORT_MAX_OPEN_JOBS), shared by one-off
    requests, Run now and scheduled runs."""
