"""/healthz: can this deployment take and finish report jobs right now?"""
from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, current_app, jsonify
from flask_login import current_user

from .extensions import db
from .storage import storage
from .worker_beats import last_seen, worker_alive

bp = Blueprint("health", __name__)


def _database() -> dict:
    try:
        db.session.execute(sa.text("SELECT 1"))
        return {"ok": True, "backend": db.engine.dialect.name}
    except sa.exc.SQLAlchemyError as exc:
        db.session.rollback()
        return {"ok": False, "error": type(exc).__name__}


def _broker() -> dict:
    celery = current_app.extensions["celery"]
    try:
        with celery.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=0.5, interval_start=0)
        return {"ok": True, "transport": conn.transport_cls}
    except Exception as exc:  # any transport error means "not reachable"
        return {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:200]}


def _for_viewer(check: dict, admin: bool) -> dict:
    # /healthz is public (load balancers call it): error text (addresses,
    # driver messages) is for admins only; everyone gets the booleans.
    return check if admin else {k: v for k, v in check.items() if k != "error"}


@bp.get("/healthz")
def healthz():
    admin = bool(current_user.is_authenticated and current_user.site_admin)
    database = _database()
    seen = last_seen() if database["ok"] else None
    checks = {
        "database": _for_viewer(database, admin),
        "broker": _for_viewer(_broker(), admin),
        "storage": _for_viewer(storage().check(), admin),
        "worker": {"ok": bool(database["ok"] and worker_alive(max_age=0)),
                   "last_seen": seen.isoformat().replace("+00:00", "Z") if seen else None},
    }
    healthy = all(c["ok"] for c in checks.values())
    return jsonify({"status": "ok" if healthy else "unavailable", **checks}), \
        200 if healthy else 503
