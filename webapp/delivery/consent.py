"""Who may be e-mailed a schedule's reports: consent, asked once, kept per
schedule, withdrawn in one click.

    schedule saved ─► a row per address (pending) ─► one confirmation e-mail
      ─► "Confirm" ─► confirmed: reports go out     "Never from this sender" ─► blocked
    every report e-mail carries List-Unsubscribe (RFC 8058) ─► unsubscribed at once

Needing no confirmation: the owner's own address once the owner verified it,
and addresses on the operator's MAIL_ALLOWED_DOMAINS. Everything else gets
nothing but the one confirmation e-mail until it says yes; links in it are
signed (itsdangerous, a salt per purpose) and only a POST changes anything,
so a mail scanner that opens every link confirms nothing."""
from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

import sqlalchemy as sa
from flask import current_app
from itsdangerous import BadSignature, SignatureExpired

from ..errors import DomainError
from ..extensions import db
from ..links import public_url, serializer
from ..models import Schedule, ScheduleRecipient, SenderBlock, User, utcnow
from . import messages, outbox
from .addresses import domain_of

log = logging.getLogger(__name__)

CONFIRM, UNSUBSCRIBE = "recipient-confirm", "recipient-unsubscribe"
ASK_TASK = "recipients.ask"


class BadLink(DomainError):
    status_code = 404


@dataclass(frozen=True)
class Standing:
    """Where an address stands for a schedule: may it get reports, and why."""

    status: str  # verified | allowed | confirmed | pending | unverified | unsubscribed | declined
    may_send: bool
    words: str


def allowed_domains() -> set[str]:
    text = current_app.config.get("MAIL_ALLOWED_DOMAINS") or ""
    return {part.strip().lower().lstrip("@") for part in text.split(",") if part.strip()}


def standing(address: str, status: str, *, owner_email: str, owner_verified: bool,
             blocked: bool) -> Standing:
    if blocked:
        return Standing("declined", False, "declined: asked never to hear from you")
    if status == "unsubscribed":
        return Standing("unsubscribed", False, "unsubscribed: gets nothing from this schedule")
    if address == owner_email:
        if owner_verified:
            return Standing("verified", True, "your address")
        return Standing("unverified", False, "your address, not verified yet: verify it on "
                                             "your account page")
    if status == "confirmed":
        return Standing("confirmed", True, "confirmed")
    if domain_of(address) in allowed_domains():
        return Standing("allowed", True, "on this server's allowed domains")
    return Standing("pending", False, "waiting for confirmation: gets nothing until it "
                                      "opens the link we sent")


def needs_asking(address: str, owner_email: str) -> bool:
    return address != owner_email and domain_of(address) not in allowed_domains()


# --- a schedule's recipients --------------------------------------------------------

def person_of(schedule: Schedule) -> User | None:
    """Who answers for a schedule: its maker, or the member it was handed to.
    Their verified address needs no confirmation; others are asked in their name."""
    return db.session.get(User, schedule.created_by_id) if schedule.created_by_id else None


def sync(schedule: Schedule, owner: User, addresses: list[str],
         now: dt.datetime) -> list[int]:
    """Make a row for each new address (in the caller's transaction). Rows of
    addresses taken off the schedule are kept, so removing and adding an
    address does not ask it again. Returns the ids to ask, after the commit."""
    existing = {r.address: r for r in db.session.scalars(
        sa.select(ScheduleRecipient).where(ScheduleRecipient.schedule_id == schedule.id))}
    blocked = _blocked(schedule.workspace_id, addresses)
    new = []
    for address in addresses:
        row = existing.get(address)
        if row is None:
            row = ScheduleRecipient(schedule_id=schedule.id, address=address,
                                    status="pending", created_at=now)
            db.session.add(row)
            new.append(row)
    db.session.flush()
    return [row.id for row in new
            if needs_asking(row.address, owner.email) and row.address not in blocked]


def _blocked(workspace_id: int, addresses: list[str]) -> set[str]:
    if not addresses:
        return set()
    return set(db.session.scalars(sa.select(SenderBlock.address).where(
        SenderBlock.workspace_id == workspace_id, SenderBlock.address.in_(addresses))))


def recipients_of(schedule: Schedule, owner: User) -> list[tuple[str, Standing]]:
    """The schedule's addresses, each with where it stands (pages, the API)."""
    addresses = list(schedule.emails or [])
    rows = {r.address: r.status for r in db.session.scalars(
        sa.select(ScheduleRecipient).where(ScheduleRecipient.schedule_id == schedule.id))}
    blocked = _blocked(schedule.workspace_id, addresses)
    return [(address, standing(address, rows.get(address, "pending"), owner_email=owner.email,
                               owner_verified=owner.email_verified,
                               blocked=address in blocked)) for address in addresses]


def publish_asks(recipient_ids: list[int]) -> None:
    for recipient_id in recipient_ids:
        try:
            current_app.extensions["celery"].send_task(ASK_TASK, args=[recipient_id])
        except Exception as exc:  # the broker is down: the next run asks instead
            log.warning("could not publish the confirmation request %s (%s)",
                        recipient_id, exc)


# --- at send time -------------------------------------------------------------------

@dataclass(frozen=True)
class SendCheck:
    standing: Standing
    recipient_id: int | None
    ask: bool  # pending and never asked: ask now (a schedule from before consent)


def check_send(schedule: Schedule, owner: User, address: str) -> SendCheck:
    """`owner`: the schedule's person (its maker, or who took it over)."""
    schedule_id = schedule.id
    row = db.session.scalar(sa.select(ScheduleRecipient).where(
        ScheduleRecipient.schedule_id == schedule_id, ScheduleRecipient.address == address))
    if row is None:  # a schedule changed under a run: treat as new, unasked
        row = ScheduleRecipient(schedule_id=schedule_id, address=address, status="pending",
                                created_at=utcnow())
        db.session.add(row)
        db.session.commit()
    blocked = bool(_blocked(schedule.workspace_id, [address]))
    found = standing(address, row.status, owner_email=owner.email,
                     owner_verified=owner.email_verified, blocked=blocked)
    ask = (found.status == "pending" and row.asked_at is None
           and needs_asking(address, owner.email))
    return SendCheck(found, row.id, ask)


def unsubscribe_headers(recipient_id: int, address: str) -> dict[str, str]:
    """RFC 8058 one-click unsubscribe: mail clients POST to the link."""
    token = serializer(UNSUBSCRIBE).dumps([recipient_id, address])
    return {"List-Unsubscribe": f"<{public_url(f'/unsubscribe/{token}')}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}


# --- asking -------------------------------------------------------------------------

def ask(recipient_id: int, now: dt.datetime | None = None) -> tuple[str, int]:
    """Send the one confirmation e-mail of a recipient. Returns (what
    happened, seconds to wait before trying again or 0)."""
    now = now or utcnow()
    table = ScheduleRecipient.__table__
    with db.engine.begin() as conn:
        claimed = conn.execute(sa.update(table).where(
            table.c.id == recipient_id, table.c.status == "pending",
            table.c.asked_at.is_(None)).values(asked_at=now)).rowcount
    if not claimed:
        return "not-needed", 0
    row = db.session.get(ScheduleRecipient, recipient_id)
    schedule = db.session.get(Schedule, row.schedule_id) if row else None
    if schedule is None:  # removed since it was claimed
        db.session.rollback()
        return "not-needed", 0
    owner = person_of(schedule)
    if owner is None:  # nobody answers for it any more: it is paused, nothing to ask
        db.session.rollback()
        return "not-needed", 0
    workspace_id, owner_email, address = schedule.workspace_id, owner.email, row.address
    if _blocked(workspace_id, [address]) or not needs_asking(address, owner_email):
        db.session.rollback()
        return "not-needed", 0
    token = serializer(CONFIRM).dumps([recipient_id, address])
    confirm_url = public_url(f"/recipients/{token}")
    never_url = public_url(f"/recipients/{token}?never=1")
    days = current_app.config["CONFIRM_LINK_DAYS"]
    request = messages.recipient_request(owner_email, schedule.name, confirm_url, never_url,
                                         days)
    # no read transaction left open while the quota takes its lock on another
    # connection (a waiting ALTER or TRUNCATE between the two would hang both)
    db.session.rollback()
    result = outbox.send(address, request, workspace_id=workspace_id, now=now,
                         headers=_never_headers(token))
    if result.wait:  # the owner's hourly quota, or a passing failure: ask later
        with db.engine.begin() as conn:
            conn.execute(sa.update(table).where(table.c.id == recipient_id)
                         .values(asked_at=None))
        return result.status, result.wait
    return result.status, 0


def _never_headers(token: str) -> dict[str, str]:
    return {"List-Unsubscribe": f"<{public_url(f'/recipients/{token}/never')}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}


# --- the answers ------------------------------------------------------------------------

@dataclass(frozen=True)
class Asked:
    recipient_id: int
    address: str
    schedule_name: str
    owner_email: str
    workspace_id: int
    status: str


def read_link(token: str, salt: str, *, expires: bool = True) -> Asked:
    """What a confirmation or unsubscribe link is about, or BadLink."""
    max_age = current_app.config["CONFIRM_LINK_DAYS"] * 86400 if expires else None
    try:
        recipient_id, address = serializer(salt).loads(token, max_age=max_age)
    except SignatureExpired:
        raise BadLink("This link has expired. Ask the sender to add you again if you want "
                      "their reports.") from None
    except (BadSignature, ValueError, TypeError):
        raise BadLink("This link is not valid (it may have been cut short in the e-mail).") \
            from None
    row = db.session.get(ScheduleRecipient, recipient_id) \
        if isinstance(recipient_id, int) else None
    if row is None or row.address != address:
        raise BadLink("This schedule no longer exists, so it sends you nothing.")
    schedule = db.session.get(Schedule, row.schedule_id)
    owner = person_of(schedule)
    return Asked(row.id, row.address, schedule.name, owner.email if owner else "",
                 schedule.workspace_id, row.status)


def confirm(token: str, now: dt.datetime | None = None) -> Asked:
    asked = read_link(token, CONFIRM)
    if asked.status == "unsubscribed":
        return asked  # an old link does not undo a later unsubscribe
    _set(asked.recipient_id, "confirmed", now)
    return asked


def decline(token: str, now: dt.datetime | None = None) -> Asked:
    """"Never from this sender": every schedule of that account, now and later."""
    asked = read_link(token, CONFIRM, expires=False)
    now = now or utcnow()
    table = SenderBlock.__table__
    with db.engine.begin() as conn:
        exists = conn.execute(sa.select(table.c.workspace_id).where(
            table.c.workspace_id == asked.workspace_id, table.c.address == asked.address)).first()
        if not exists:
            conn.execute(sa.insert(table).values(workspace_id=asked.workspace_id,
                                                 address=asked.address, created_at=now))
    _set(asked.recipient_id, "unsubscribed", now)
    return asked


def unsubscribe(token: str, now: dt.datetime | None = None) -> Asked:
    asked = read_link(token, UNSUBSCRIBE, expires=False)
    _set(asked.recipient_id, "unsubscribed", now)
    return asked


def _set(recipient_id: int, status: str, now: dt.datetime | None) -> None:
    table = ScheduleRecipient.__table__
    with db.engine.begin() as conn:
        conn.execute(sa.update(table).where(table.c.id == recipient_id)
                     .values(status=status, answered_at=now or utcnow()))
