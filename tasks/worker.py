"""Worker entry point: `celery -A tasks.worker worker` (and `… beat`)."""
import logging
import socket
import threading

from celery import signals

from webapp import create_app
from webapp.extensions import db
from webapp.storage import storage
from webapp.worker_beats import beat, forget

flask_app = create_app()
celery_app = flask_app.extensions["celery"]

# fpdf2's font subsetting logs every table at INFO; keep the worker log about jobs.
logging.getLogger("fontTools").setLevel(logging.WARNING)
log = logging.getLogger(__name__)
_beating = threading.Event()


@signals.worker_process_init.connect
def _fresh_connections(**_):
    # A forked pool child must not reuse the parent's pooled connections.
    with flask_app.app_context():
        db.engine.dispose(close=False)
        store = storage()
        if store.kind == "s3":
            # the client (~0.35 s to build) now, not inside the child's first report
            try:
                store.client  # noqa: B018 - built on first access
            except Exception:  # the store may be down; the first upload says so
                log.warning("could not set up the S3 client", exc_info=True)


@signals.worker_ready.connect
def _on_ready(sender=None, **_):
    name = getattr(sender, "hostname", None) or socket.gethostname()
    interval = flask_app.config["WORKER_BEAT_SECONDS"]

    def loop():
        with flask_app.app_context():
            while not _beating.is_set():
                try:
                    beat(name)
                except Exception:  # the database may be down; keep trying
                    log.warning("could not record worker heartbeat", exc_info=True)
                _beating.wait(interval)

    threading.Thread(target=loop, daemon=True, name="worker-beat").start()
    try:
        celery_app.send_task("reports.sweep")  # pick up what was lost while no worker ran
    except Exception:
        log.warning("could not queue the start-up sweep", exc_info=True)


@signals.worker_shutdown.connect
def _on_shutdown(sender=None, **_):
    _beating.set()
    try:
        with flask_app.app_context():
            forget(getattr(sender, "hostname", None) or socket.gethostname())
    except Exception:
        log.warning("could not remove worker heartbeat", exc_info=True)
