"""Worker entry point: `celery -A tasks.worker worker`."""
import logging

from webapp import create_app

flask_app = create_app()
celery_app = flask_app.extensions["celery"]

# fpdf2's font subsetting logs every table at INFO; keep the worker log about jobs.
logging.getLogger("fontTools").setLevel(logging.WARNING)
