"""Worker liveness, recorded in the database so any web process can tell
whether jobs will be picked up."""
from __future__ import annotations

import datetime as dt
import time

import sqlalchemy as sa
from flask import current_app

from .extensions import db
from .models import WorkerBeat, utcnow

_cache: dict[str, tuple[float, bool]] = {}  # db url -> (when asked, answer)


def beat(name: str) -> None:
    _cache.clear()
    table = WorkerBeat.__table__
    with db.engine.begin() as conn:
        updated = conn.execute(sa.update(table).where(table.c.name == name)
                               .values(seen_at=utcnow())).rowcount
        if not updated:
            conn.execute(sa.insert(table).values(name=name, seen_at=utcnow()))


def forget(name: str) -> None:
    _cache.clear()
    with db.engine.begin() as conn:
        conn.execute(sa.delete(WorkerBeat.__table__).where(WorkerBeat.__table__.c.name == name))


def last_seen() -> dt.datetime | None:
    return db.session.scalar(sa.select(sa.func.max(WorkerBeat.seen_at)))


def worker_alive(max_age: float = 2.0) -> bool:
    """Whether a worker beat recently. Every status poll asks, so the answer is
    kept for `max_age` seconds per process and database."""
    key = str(db.engine.url)
    cached = _cache.get(key)
    now = time.monotonic()
    if cached and now - cached[0] < max_age:
        return cached[1]
    seen = last_seen()
    window = dt.timedelta(seconds=3 * current_app.config["WORKER_BEAT_SECONDS"])
    alive = seen is not None and seen > utcnow() - window
    _cache[key] = (now, alive)
    return alive
