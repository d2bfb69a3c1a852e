"""The audit trail: who did what in a workspace, and when. Entries are only
ever inserted, in the same transaction as what they record, so a change
that rolls back leaves no entry and a change that lands always has one.
Nothing in the app updates or deletes an entry (a test greps for it); a
deleted workspace takes its trail with it."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from .auth.current import as_actor
from .extensions import db
from .models import AuditEntry, utcnow
from .pagination import Page
from .reports.params import audit_where

# Every action the trail knows, in words (the audit page's filter)
ACTIONS = {
    "signed_in": "Signed in",
    "order.created": "Order created", "order.changed": "Order changed",
    "order.deleted": "Order deleted",
    "customer.created": "Customer created", "customer.changed": "Customer changed",
    "customer.deleted": "Customer deleted",
    "report.requested": "Report requested", "report.downloaded": "Report downloaded",
    "report.cancelled": "Report cancelled", "report.deleted": "Report deleted",
    "schedule.created": "Schedule created", "schedule.changed": "Schedule changed",
    "schedule.deleted": "Schedule deleted", "schedule.run": "Schedule run",
    "member.invited": "Member invited", "member.joined": "Member joined",
    "member.role_changed": "Role changed", "member.removed": "Member removed",
    "member.left": "Member left", "invitation.revoked": "Invitation revoked",
    "invitation.resent": "Invitation re-sent", "ownership.transferred": "Ownership transferred",
    "token.created": "Token created", "token.revoked": "Token revoked",
    "settings.changed": "Settings changed",
}


def record(actor, action: str, target: str | None = None, detail: str | None = None,
           *, conn=None, at: dt.datetime | None = None) -> None:
    """Add an entry for `actor` (an Actor) to the current transaction: the
    ORM session's, or `conn`'s for Core code."""
    assert action in ACTIONS, action
    values = {"workspace_id": actor.workspace_id, "user_id": actor.user.id,
              "actor": actor.user.email, "action": action, "target": target,
              "detail": detail[:2000] if detail else None, "via": actor.via,
              "at": at or utcnow()}
    if conn is not None:
        conn.execute(sa.insert(AuditEntry.__table__), values)
    else:
        db.session.add(AuditEntry(**values))


def entries(actor, *, action: str | None = None, person: str | None = None,
            date_from: dt.date | None = None, date_to: dt.date | None = None,
            zone: str = "UTC", page: int = 1, per_page: int = 50):
    """A page of the workspace's trail, newest first, for owners and admins.
    Dates are the reader's days in `zone`."""
    actor = as_actor(actor)
    actor.require("audit.read")
    query = sa.select(AuditEntry).where(*audit_where(
        actor.workspace_id, action=action, person=person, date_from=date_from,
        date_to=date_to, zone=zone))
    total = db.session.scalar(sa.select(sa.func.count()).select_from(query.subquery()))
    rows = db.session.scalars(query.order_by(AuditEntry.id.desc())
                              .limit(per_page).offset((page - 1) * per_page)).all()
    return Page(items=list(rows), page=page, per_page=per_page, total=total or 0)


def people(actor) -> list[str]:
    """Everyone who appears in the trail (the page's filter)."""
    return list(db.session.scalars(
        sa.select(AuditEntry.actor).where(AuditEntry.workspace_id == actor.workspace_id)
        .distinct().order_by(AuditEntry.actor)))
