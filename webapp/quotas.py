"""A workspace's quotas, counted in the database under a lock on the
workspace's row, so that thirty requests at the same instant count one after another:
open report jobs (REPORT_MAX_OPEN_JOBS, shared by one-off requests, Run now
and scheduled runs), schedules (SCHEDULES_MAX_PER_USER) and e-mails sent in
the last hour (MAIL_MAX_PER_HOUR)."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from flask import current_app

from .enums import ACTIVE_STATUSES
from .extensions import db
from .models import MailSend, ReportJob, Workspace

HOUR = dt.timedelta(hours=1)


def lock_owners(conn, workspace_ids) -> None:
    """Hold the workspaces' rows until the transaction ends. It must be the
    transaction's first statement: on SQLite a write takes the database's
    write lock (waiting via busy_timeout), on PostgreSQL a row lock, taken
    in id order so that two ticks cannot deadlock."""
    ids = sorted(set(workspace_ids))
    if not ids:
        return
    owners = Workspace.__table__
    if conn.dialect.name == "postgresql":
        conn.execute(sa.select(owners.c.id).where(owners.c.id.in_(ids))
                     .order_by(owners.c.id).with_for_update())
    else:
        conn.execute(sa.update(owners).where(owners.c.id.in_(ids)).values(id=owners.c.id))


def open_jobs(conn, workspace_ids) -> dict[int, int]:
    """Each owner's PENDING/PROCESSING jobs."""
    jobs = ReportJob.__table__
    rows = conn.execute(sa.select(jobs.c.workspace_id, sa.func.count()).where(
        jobs.c.workspace_id.in_(list(set(workspace_ids))),
        jobs.c.status.in_([s.value for s in ACTIVE_STATUSES])).group_by(jobs.c.workspace_id))
    return {workspace_id: count for workspace_id, count in rows}


def max_open_jobs() -> int:
    return current_app.config["REPORT_MAX_OPEN_JOBS"]


def mail_limit() -> int:
    return current_app.config["MAIL_MAX_PER_HOUR"]


def mail_wait(conn, workspace_id: int, now: dt.datetime) -> int:
    """0 when the owner may send another e-mail now, else the seconds until
    the oldest send of the last hour leaves the window."""
    sends = MailSend.__table__
    recent = sa.select(sends.c.at).where(sends.c.workspace_id == workspace_id,
                                         sends.c.at > now - HOUR)
    count = conn.scalar(sa.select(sa.func.count()).select_from(recent.subquery()))
    limit = mail_limit()
    if count < limit:
        return 0
    # the send whose leaving makes room for one more
    nth = conn.scalar(recent.order_by(sends.c.at.desc()).offset(limit - 1).limit(1))
    return max(1, int((nth + HOUR - now).total_seconds()) + 1)


def reserve_mail(workspace_id: int, now: dt.datetime) -> int:
    """Count one e-mail of the owner, in its own transaction, if the hourly
    quota allows: 0 when counted, else the seconds to wait."""
    with db.engine.begin() as conn:
        lock_owners(conn, [workspace_id])
        wait = mail_wait(conn, workspace_id, now)
        if wait:
            return wait
        conn.execute(sa.insert(MailSend.__table__).values(workspace_id=workspace_id, at=now))
    return 0


def forget_old_sends(conn, now: dt.datetime) -> int:
    """Sends older than the window count for nothing any more (the tick)."""
    sends = MailSend.__table__
    return conn.execute(sa.delete(sends).where(sends.c.at < now - 2 * HOUR)).rowcount
