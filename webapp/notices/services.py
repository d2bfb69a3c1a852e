"""A user's in-app notices: added by deliveries (in the worker's transaction),
counted for the bell on every page and in the page's status poll, listed
and marked read by their owner."""
from __future__ import annotations

import sqlalchemy as sa

from ..auth.current import Actor, as_actor
from ..extensions import db
from ..models import Notice, utcnow

# kind → the heading the list shows
KINDS = {
    "ready": "Report ready",
    "failed": "Report failed",
    "delivery": "Delivery failed",
    "paused": "Schedule paused",
}
LIST_LIMIT = 50


def add(conn, workspace_id: int, user_id: int | None, kind: str, text: str, *,
        job_id: int | None = None, schedule_id: int | None = None) -> None:
    """In the caller's transaction (Core): the notice appears with the change
    it tells of, or not at all. For the person who asked (or who answers for
    the schedule); nobody, if they have left."""
    if user_id is None:
        return
    conn.execute(sa.insert(Notice.__table__).values(
        workspace_id=workspace_id, user_id=user_id, kind=kind, text=text, job_id=job_id,
        schedule_id=schedule_id, created_at=utcnow()))


_UNREAD = (sa.select(sa.func.count()).select_from(Notice)
           .where(Notice.user_id == sa.bindparam("user_id"), Notice.read_at.is_(None),
                  Notice.workspace_id == sa.bindparam("workspace_id")))


def _mine(actor: Actor):
    return (Notice.user_id == actor.user_id, Notice.workspace_id == actor.workspace_id)


def unread_count(actor: Actor) -> int:
    """One indexed count (ix_notices_user_id_read_at): cheap enough for every page.
    The bell shows the current workspace's notices."""
    actor = as_actor(actor)
    return db.session.scalar(_UNREAD, {"user_id": actor.user_id,
                                       "workspace_id": actor.workspace_id}) or 0


def recent(actor: Actor) -> list[Notice]:
    actor = as_actor(actor)
    return list(db.session.scalars(
        sa.select(Notice).where(*_mine(actor)).order_by(Notice.id.desc()).limit(LIST_LIMIT)))


def mark_all_read(actor: Actor) -> int:
    actor = as_actor(actor)
    result = db.session.execute(
        sa.update(Notice).where(*_mine(actor), Notice.read_at.is_(None))
        .values(read_at=utcnow()))
    db.session.commit()
    return result.rowcount
