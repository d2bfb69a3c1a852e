"""What a report request did, in words a user can trust, shared by every page
that asks for reports (the reports page, an order's page, the dashboard)."""
from __future__ import annotations

from ..models import JobStatus
from ..worker_beats import worker_alive


def requested_message(job, created: bool) -> tuple[str, str]:
    """(message, flash category). "Being generated" only while a worker is
    there to generate it."""
    alive = worker_alive()
    # the format in the words: the same page can ask for CSV, PDF and XLSX
    named = f"Report #{job.id} ({job.format.value.upper()})"
    if created and alive:
        return f"{named} requested; it is being generated.", "success"
    if created:
        return (f"{named} queued; no worker is running right now, it will start "
                "when one does.", "info")
    if job.status is JobStatus.PENDING and not alive:
        return (f"The same report is already queued (report #{job.id}); no worker is running "
                "right now, it will start when one does.", "info")
    return f"The same report is already in progress (report #{job.id}).", "info"
