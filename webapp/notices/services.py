"""A user's in-app notices: added by deliveries (in the worker's transaction),
counted for the bell on every page and in the page's status poll, listed
and marked read by their owner."""
from __future__ import annotations

import sqlalchemy as sa

from ..extensions import db
from ..models import Notice, User, utcnow

# kind → the heading the list shows
KINDS = {
    "ready": "Report ready",
    "failed": "Report failed",
    "delivery": "Delivery failed",
    "paused": "Schedule paused",
}
LIST_LIMIT = 50


def add(conn, user_id: int, kind: str, text: str, *, job_id: int | None = None,
        schedule_id: int | None = None) -> None:
    """In the caller's transaction (Core): the notice appears with the change
    it tells of, or not at all."""
    conn.execute(sa.insert(Notice.__table__).values(
        user_id=user_id, kind=kind, text=text, job_id=job_id, schedule_id=schedule_id,
        created_at=utcnow()))


_UNREAD = (sa.select(sa.func.count()).select_from(Notice)
           .where(Notice.user_id == sa.bindparam("user_id"), Notice.read_at.is_(None)))


def unread_count(user: User) -> int:
    """One indexed count (ix_notices_user_id_read_at): cheap enough for every page."""
    return db.session.scalar(_UNREAD, {"user_id": user.id}) or 0


def recent(user: User) -> list[Notice]:
    return list(db.session.scalars(
        sa.select(Notice).where(Notice.user_id == user.id)
        .order_by(Notice.id.desc()).limit(LIST_LIMIT)))


def mark_all_read(user: User) -> int:
    result = db.session.execute(
        sa.update(Notice).where(Notice.user_id == user.id, Notice.read_at.is_(None))
        .values(read_at=utcnow()))
    db.session.commit()
    return result.rowcount
