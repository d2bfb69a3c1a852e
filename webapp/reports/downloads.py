"""The download response, shared by the report pages and the API (so neither
views module imports the other)."""
from __future__ import annotations

from flask import send_file

from ..auth.current import actor
from . import services


def send_download(job_id: int):
    """The job's file as an attachment with its download name, if the actor may
    have it and it is ready (else the service's 404/409/410)."""
    dl = services.get_download(actor(), job_id)
    response = send_file(dl.path, mimetype=dl.mimetype, as_attachment=True,
                         download_name=dl.name, max_age=0)
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
