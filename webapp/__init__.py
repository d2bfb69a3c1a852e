"""The Flask application factory."""
from __future__ import annotations

import logging
import os
from pathlib import Path

from flask import Flask, redirect, url_for
from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url
from werkzeug.routing import IntegerConverter

from tasks import celery_init_app

from . import filters, storage
from .api.views import bp as api_bp
from .auth.views import bp as auth_bp
from .cli import register_cli
from .config import Config, broker_for
from .customers.views import bp as customers_bp
from .dashboard.views import bp as dashboard_bp
from .delivery import services as delivery
from .delivery.views import bp as recipients_bp
from .extensions import csrf, db, migrate
from .health import bp as health_bp
from .http_errors import register_error_handlers
from .notices.views import bp as notices_bp
from .orders import rollup  # noqa: F401 - keeps product_months in step with every flush
from .orders.views import bp as orders_bp
from .reports.views import bp as reports_bp
from .schedules.views import bp as schedules_bp
from .security import init_security
from .workspaces.audit_views import bp as audit_bp
from .workspaces.views import bp as workspaces_bp
from .workspaces.views import links as invitations_bp

log = logging.getLogger(__name__)


def create_app(config: dict | None = None) -> Flask:
    app = Flask(
        __name__,
        instance_relative_config=True,
        template_folder="../templates",
        static_folder="../static",
    )
    app.config.from_object(Config)
    app.config.from_pyfile("config.py", silent=True)
    app.config.from_prefixed_env()
    if config:
        app.config.update(config)

    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    _private_sqlite_file(app)
    try:
        Path(app.config["REPORTS_DIR"]).mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        # Start anyway: each job then fails with this reason instead of waiting
        # forever for a worker that refuses to start.
        log.error("reports folder %s is not usable: %s", app.config["REPORTS_DIR"], exc)

    storage.init_app(app)
    # <int:id> in routes: ASCII digits only (werkzeug's also matches "١", "²")
    app.url_map.converters["int"] = AsciiIntegerConverter
    db.init_app(app)
    migrate.init_app(app, db, directory=str(Path(app.root_path).parent / "migrations"))
    csrf.init_app(app)

    broker, broker_why = broker_for(app.config)  # chosen once, here
    celery_init_app(app, broker)
    if not app.config.get("RATELIMIT_STORAGE_URI"):
        # counts shared by every web process when there is a Redis; else per process
        app.config["RATELIMIT_STORAGE_URI"] = (
            broker if broker.startswith(("redis://", "rediss://")) else "memory://")

    init_security(app)

    app.register_blueprint(auth_bp)
    app.register_blueprint(orders_bp)
    app.register_blueprint(customers_bp)
    app.register_blueprint(reports_bp)
    app.register_blueprint(dashboard_bp)
    app.register_blueprint(schedules_bp)
    app.register_blueprint(notices_bp)
    app.register_blueprint(api_bp)
    app.register_blueprint(health_bp)
    app.register_blueprint(recipients_bp)
    app.register_blueprint(workspaces_bp)
    app.register_blueprint(invitations_bp)
    app.register_blueprint(audit_bp)
    # a recipient's links: the signed token in the URL is the authority, and
    # RFC 8058 one-click unsubscribes arrive as a bare POST from mail clients
    csrf.exempt(recipients_bp)
    csrf.exempt(api_bp)  # scripts send JSON, not forms; authentication comes with accounts
    filters.register(app)
    register_error_handlers(app)
    # a job that ends gets its in-app notices (the lifecycle announces it)
    delivery.subscribe()

    register_cli(app)

    @app.get("/")
    def index():
        return redirect(url_for("orders.index"))

    _log_setup(app, broker, broker_why)
    return app


SQLITE_FILE_MODE = 0o600


def _private_sqlite_file(app: Flask) -> None:
    """The SQLite database holds password hashes and everyone's orders: a new
    one is created here, empty and 0600, before SQLAlchemy connects (SQLite
    would create it 0644, and gives its -wal and -shm files the database
    file's mode). An existing one readable by others is made private."""
    url = make_url(app.config["SQLALCHEMY_DATABASE_URI"])
    if (url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:")
            or url.query.get("uri") or url.query.get("mode") == "memory"):
        return
    # Flask-SQLAlchemy reads a relative SQLite path from the instance folder
    path = Path(app.instance_path, url.database)
    if not path.parent.is_dir():
        return  # SQLite's own error will say so, as before
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, SQLITE_FILE_MODE))
        return
    except FileExistsError:
        pass
    for file in (path, *(path.with_name(path.name + s) for s in ("-wal", "-shm", "-journal"))):
        try:
            if file.stat().st_mode & 0o077:
                file.chmod(SQLITE_FILE_MODE)
                log.warning("%s was readable by others; made it private (0600)", file)
        except FileNotFoundError:
            continue
        except OSError as exc:  # not its owner: say so, start anyway
            log.warning("%s is readable by others and could not be made private: %s",
                        file, exc)


class AsciiIntegerConverter(IntegerConverter):
    regex = r"[0-9]+"


def _log_setup(app: Flask, broker: str, broker_why: str) -> None:
    if app.testing:
        return
    db_url = make_url(app.config["SQLALCHEMY_DATABASE_URI"]).render_as_string(hide_password=True)
    with app.app_context():
        where = storage.storage().describe()
    log.warning("database=%s broker=%s (%s) reports=%s", db_url, broker.split("@")[-1],
                broker_why, where)


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, connection_record):
    # Web and worker write the same SQLite file: WAL lets readers run beside a
    # writer, busy_timeout waits for a lock instead of failing, and foreign
    # keys are off in SQLite unless asked for.
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        cur = dbapi_connection.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA busy_timeout=10000")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()
