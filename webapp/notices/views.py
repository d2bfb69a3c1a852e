"""The notices page; the bell itself is templates/notices/_bell.html, on every page."""
from __future__ import annotations

from flask import Blueprint, g, render_template
from flask_login import login_required

from ..auth.current import actor
from . import services

bp = Blueprint("notices", __name__, url_prefix="/notices")


@bp.app_template_global()
def unread_notices() -> int:
    # public pages (log-in, links) have no actor
    return services.unread_count(g.actor) if g.get("actor") is not None else 0


@bp.get("/")
@login_required
def index():
    # unread ones stand out on this visit, then count as read
    notices = services.recent(actor())
    unread = {n.id for n in notices if n.read_at is None}
    services.mark_all_read(actor())
    return render_template("notices/index.html", notices=notices, unread=unread,
                           kinds=services.KINDS)

