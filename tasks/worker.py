"""Worker entry point: `celery -A tasks.worker worker` (and `… beat`)."""
import gc
import logging
import socket
import threading
import time

from celery import signals

from tasks.reports import GENERATORS, generator_for
from webapp import create_app
from webapp.extensions import db
from webapp.storage import storage
from webapp.timezones import zones
from webapp.worker_beats import beat, forget

flask_app = create_app()
celery_app = flask_app.extensions["celery"]

# fpdf2's font subsetting logs every table at INFO; keep the worker log about jobs.
logging.getLogger("fontTools").setLevel(logging.WARNING)
log = logging.getLogger(__name__)
_beating = threading.Event()


@signals.worker_init.connect
def _preload(**_):
    """In the worker's main process, before the pool forks its children: load the
    report generators, fpdf2 and the parsed PDF fonts once (a child inherits them,
    and the pages stay shared copy-on-write: what the worker really costs is its
    PSS summed over parent and children, not each child's RSS), so that no job
    pays for importing or parsing them (the first PDF of a child took ~0.8 s)."""
    started = time.monotonic()
    try:
        for fmt in GENERATORS:
            generator_for(fmt)
        # fpdf2 (~40 MB): loaded by a worker only, never by beat or the web
        from tasks.generators.pdf import preload
        preload()
        zones()  # every job asks whether its person's zone exists: a walk of the tz files
    except Exception:  # a missing font file: the first PDF job will say so
        log.warning("could not preload the report generators", exc_info=True)
    # What is loaded now lives as long as the process: kept out of the collector's
    # sweeps, which would otherwise touch (and so copy) every shared page in
    # every child, and pause each job for a full collection over all of it.
    gc.collect()
    gc.freeze()
    log.info("report generators loaded in %.0f ms", (time.monotonic() - started) * 1000)


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
