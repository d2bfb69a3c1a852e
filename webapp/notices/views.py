"""The notices page; the bell itself is templates/notices/_bell.html, on every page."""
from __future__ import annotations

from flask import Blueprint, render_template
from flask_login import current_user, login_required

from . import services

bp = Blueprint("notices", __name__, url_prefix="/notices")


@bp.app_template_global()
def unread_notices() -> int:
    return services.unread_count(current_user) if current_user.is_authenticated else 0


@bp.get("/")
@login_required
def index():
    # unread ones stand out on this visit, then count as read
    notices = services.recent(current_user)
    unread = {n.id for n in notices if n.read_at is None}
    services.mark_all_read(current_user)
    return render_template("notices/index.html", notices=notices, unread=unread,
                           kinds=services.KINDS)

