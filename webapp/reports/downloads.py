"""The download response, shared by the report pages and the API (so neither
views module imports the other)."""
from __future__ import annotations

from ..auth.current import actor
from ..storage import storage
from . import services


def send_download(job_id: int):
    """The job's file as an attachment with its download name, if the actor may
    have it and it is ready (else the service's 404/409/410)."""
    dl = services.get_download(actor(), job_id)
    response = storage().response(dl.key, download_name=dl.name, mimetype=dl.mimetype)
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
