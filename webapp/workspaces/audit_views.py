"""The audit log page: filters by action, person and dates, paged with HTMX."""
from __future__ import annotations

import datetime as dt

from flask import Blueprint, render_template, request

from .. import audit
from ..auth.current import actor
from ..htmx import is_htmx
from ..pagination import page_arg
from ..timezones import zone_of

bp = Blueprint("audit", __name__, url_prefix="/team/audit")


def _day(name: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(request.args.get(name, ""))
    except ValueError:
        return None


@bp.get("/")
def index():
    here = actor()
    filters = {"action": request.args.get("action") or None,
               "person": request.args.get("person") or None,
               "date_from": _day("date_from"), "date_to": _day("date_to")}
    if filters["action"] not in audit.ACTIONS:
        filters["action"] = None
    page = audit.entries(here, **filters, zone=zone_of(here), page=page_arg())
    args = {k: (v.isoformat() if isinstance(v, dt.date) else v)
            for k, v in filters.items() if v}
    template = "workspaces/_audit_rows.html" if is_htmx() else "workspaces/audit.html"
    return render_template(template, page=page, filters=filters, args=args,
                           actions=audit.ACTIONS, people=audit.people(here))
