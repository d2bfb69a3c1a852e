"""Workspaces and their people: the current workspace of a session, creating
and switching, members and roles, invitations, leaving and removing,
ownership, settings. Every rule of who may do what is asked of the Actor
(webapp/auth/current.py, webapp/workspaces/roles.py) here, below the pages
and the API alike."""
from __future__ import annotations

import datetime as dt
import io
import re
import secrets
from dataclasses import dataclass

import sqlalchemy as sa
from flask import current_app
from itsdangerous import BadSignature

from .. import audit
from ..auth.current import Actor, as_actor
from ..delivery import messages, outbox
from ..delivery.addresses import AddressError, parse_address
from ..enums import Role
from ..errors import Conflict, Forbidden, InvalidInput, NotFound
from ..extensions import db
from ..links import public_url, serializer
from ..models import (
    DOCUMENT_TITLES,
    ApiToken,
    Invitation,
    Membership,
    ReportJob,
    Schedule,
    User,
    Workspace,
    utcnow,
)
from ..storage import storage
from ..timezones import is_zone

INVITATION_SALT = "invitation"
INVITATION_DAYS = 7
MAX_NAME = 100


class BadInvitation(InvalidInput):
    status_code = 410


def default_name(email: str) -> str:
    return f"{email.split('@')[0][:80]}’s workspace"


def add_personal_workspace(user: User, name: str | None = None) -> Workspace:
    """A new workspace owned by `user`, in the session (the caller commits)."""
    workspace = Workspace(name=name or default_name(user.email), currency=_currency(),
                          default_timezone=user.timezone or "UTC")
    db.session.add(workspace)
    db.session.flush()
    db.session.add(Membership(workspace_id=workspace.id, user_id=user.id, role=Role.OWNER))
    return workspace


def _currency() -> str:
    return current_app.config.get("CURRENCY", "USD")


def memberships(user: User) -> list[Membership]:
    """Every workspace `user` is in, by name (the header's switcher)."""
    return list(db.session.scalars(
        sa.select(Membership).join(Workspace).where(Membership.user_id == user.id)
        .order_by(sa.func.lower(Workspace.name), Workspace.id)))


def session_actor(user: User, wanted: int | None) -> Actor:
    """The workspace a session works in: the one it chose while `user` is a
    member there, else their oldest membership (a removed member falls back
    at their next request), else a new workspace of their own."""
    membership = None
    if isinstance(wanted, int):
        membership = db.session.get(Membership, (wanted, user.id))
    if membership is None:
        membership = db.session.scalar(
            sa.select(Membership).where(Membership.user_id == user.id)
            .order_by(Membership.created_at, Membership.workspace_id).limit(1))
    if membership is None:
        workspace = add_personal_workspace(user)
        db.session.commit()
        membership = db.session.get(Membership, (workspace.id, user.id))
    return Actor(user, membership.workspace, membership.role)


def token_actor(token: ApiToken) -> Actor | None:
    """An API token acts for its person in its workspace, while they are a
    member there; the scope caps what the role allows."""
    membership = db.session.get(Membership, (token.workspace_id, token.user_id))
    if membership is None:
        return None
    return Actor(token.user, membership.workspace, membership.role, scope=token.scope,
                 via="api")


def switch(user: User, workspace_id: int) -> Actor:
    membership = db.session.get(Membership, (workspace_id, user.id))
    if membership is None:
        raise NotFound(f"Workspace {workspace_id} does not exist.")
    return Actor(user, membership.workspace, membership.role)


def _clean_name(name: str | None) -> str:
    name = " ".join((name or "").split())
    if not name:
        raise InvalidInput("Give the workspace a name.", {"name": ["Give it a name."]})
    if len(name) > MAX_NAME:
        message = f"At most {MAX_NAME} characters."
        raise InvalidInput(message, {"name": [message]})
    return name


def create_workspace(user: User, name: str) -> Workspace:
    workspace = add_personal_workspace(user, _clean_name(name))
    db.session.commit()
    return workspace


# --- members ----------------------------------------------------------------------------

def members(actor: Actor) -> list[Membership]:
    actor = as_actor(actor)
    return list(db.session.scalars(
        sa.select(Membership).join(User).where(Membership.workspace_id == actor.workspace_id)
        .order_by(User.email)))


def _membership(actor: Actor, user_id: int) -> Membership:
    found = db.session.get(Membership, (actor.workspace_id, user_id))
    if found is None:
        raise NotFound(f"Member {user_id} does not exist.")
    return found


def _owners(workspace_id: int) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(Membership).where(
        Membership.workspace_id == workspace_id, Membership.role == Role.OWNER)) or 0


def _check_grant(actor: Actor, role: Role) -> None:
    if role is Role.OWNER and actor.role is not Role.OWNER:
        raise Forbidden("Only owners can make someone an owner.")


def change_role(actor: Actor, user_id: int, role: Role) -> Membership:
    actor = as_actor(actor)
    actor.require("member.change")
    target = _membership(actor, user_id)
    if target.role is role:
        return target
    _check_grant(actor, role)
    if target.role is Role.OWNER:
        if actor.role is not Role.OWNER:
            raise Forbidden("Only owners can change an owner's role.")
        if _owners(actor.workspace_id) <= 1:
            raise Conflict("The last owner cannot be demoted: make someone else an owner "
                           "first.")
    before = target.role
    target.role = role
    audit.record(actor, "member.role_changed", target.user.email,
                 f"{before.value} → {role.value}")
    db.session.commit()
    return target


@dataclass(frozen=True)
class Removal:
    email: str
    schedules: int
    tokens: int
    handed_to: str | None  # who their schedules now answer to; None: paused

    def words(self) -> str:
        parts = [f"{self.email} is no longer a member."]
        if self.schedules:
            many = f"{self.schedules} schedule{'s' if self.schedules != 1 else ''}"
            parts.append(f"Their {many} now answer{'s' if self.schedules == 1 else ''} to "
                         f"{self.handed_to}." if self.handed_to else
                         f"Their {many} {'was' if self.schedules == 1 else 'were'} paused.")
        if self.tokens:
            parts.append(f"{self.tokens} API token{'s' if self.tokens != 1 else ''} of theirs "
                         f"for this workspace {'was' if self.tokens == 1 else 'were'} revoked.")
        return " ".join(parts)


def _take_out(workspace_id: int, user: User, heir: User | None, now: dt.datetime) -> Removal:
    """End `user`'s access to the workspace at once: the membership goes, so
    their next request (session or token) no longer finds it; their tokens
    here are revoked; their schedules answer to `heir`, or pause."""
    tokens = db.session.execute(sa.update(ApiToken).where(
        ApiToken.user_id == user.id, ApiToken.workspace_id == workspace_id,
        ApiToken.revoked_at.is_(None)).values(revoked_at=now)).rowcount
    theirs = (Schedule.workspace_id == workspace_id, Schedule.created_by_id == user.id)
    if heir is not None:
        moved = db.session.execute(sa.update(Schedule).where(*theirs)
                                   .values(created_by_id=heir.id)).rowcount
    else:
        moved = db.session.execute(sa.update(Schedule).where(*theirs).values(
            created_by_id=None, paused_at=sa.func.coalesce(Schedule.paused_at, now),
            pause_reason=f"Paused: {user.email} left the workspace.")).rowcount
    db.session.execute(sa.delete(Membership).where(Membership.workspace_id == workspace_id,
                                                   Membership.user_id == user.id))
    return Removal(user.email, moved, tokens, heir.email if heir else None)


def remove_member(actor: Actor, user_id: int) -> Removal:
    actor = as_actor(actor)
    if user_id == actor.user_id:
        return leave(actor)
    actor.require("member.remove")
    target = _membership(actor, user_id)
    if target.role is Role.OWNER and actor.role is not Role.OWNER:
        raise Forbidden("Only owners can remove an owner.")
    removal = _take_out(actor.workspace_id, target.user, actor.user, utcnow())
    audit.record(actor, "member.removed", removal.email, removal.words())
    db.session.commit()
    return removal


def leave(actor: Actor) -> Removal:
    actor = as_actor(actor)
    if actor.role is Role.OWNER and _owners(actor.workspace_id) <= 1:
        raise Conflict("You are the last owner: make someone else an owner (or delete the "
                       "workspace) before you leave.")
    audit.record(actor, "member.left", actor.user.email)
    removal = _take_out(actor.workspace_id, actor.user, None, utcnow())
    db.session.commit()
    return removal


def transfer_ownership(actor: Actor, user_id: int) -> Membership:
    """`user_id` becomes an owner and the actor an admin."""
    actor = as_actor(actor)
    actor.require("workspace.transfer")
    target = _membership(actor, user_id)
    if target.user_id == actor.user_id:
        raise Conflict("You are an owner already.")
    target.role = Role.OWNER
    mine = _membership(actor, actor.user_id)
    mine.role = Role.ADMIN
    audit.record(actor, "ownership.transferred", target.user.email)
    db.session.commit()
    return target


def delete_workspace(actor: Actor, confirm_name: str) -> None:
    """Everything of the workspace goes: orders, reports and their files,
    schedules, tokens, the trail. Its name must be typed to confirm."""
    actor = as_actor(actor)
    actor.require("workspace.delete")
    workspace = actor.workspace
    if " ".join((confirm_name or "").split()) != workspace.name:
        message = f"Type the workspace's name, “{workspace.name}”, to delete it."
        raise InvalidInput(message, {"confirm_name": [message]})
    files = list(db.session.scalars(sa.select(ReportJob.file_name).where(
        ReportJob.workspace_id == workspace.id, ReportJob.file_name.is_not(None))))
    db.session.delete(workspace)
    db.session.commit()
    store = storage()
    for name in files:  # after the commit: a failed unlink leaves a file, never a dangling job
        store.delete(name)


# --- invitations --------------------------------------------------------------------------

def _link(invitation: Invitation) -> str:
    token = serializer(INVITATION_SALT).dumps([invitation.id, invitation.nonce])
    return public_url(f"/invitations/{token}")


def invitations(actor: Actor) -> list[Invitation]:
    actor = as_actor(actor)
    return list(db.session.scalars(
        sa.select(Invitation).where(Invitation.workspace_id == actor.workspace_id,
                                    Invitation.accepted_at.is_(None),
                                    Invitation.revoked_at.is_(None))
        .order_by(Invitation.created_at.desc())))


@dataclass(frozen=True)
class Sent:
    invitation: Invitation
    link: str
    mailed: bool  # False without SMTP: the admin hands the link over


def _send(actor: Actor, invitation: Invitation) -> Sent:
    link = _link(invitation)
    mailed = False
    if current_app.config["SMTP_URL"]:
        body = messages.invitation(actor.user.email, actor.workspace.name,
                                   invitation.role.value, link, INVITATION_DAYS)
        mailed = outbox.queue(invitation.email, body, workspace_id=actor.workspace_id)
    return Sent(invitation, link, mailed)


def invite(actor: Actor, email: str, role: Role, now: dt.datetime | None = None) -> Sent:
    actor = as_actor(actor)
    actor.require("member.invite")
    _check_grant(actor, role)
    try:
        email = parse_address(email)
    except AddressError as exc:
        message = f"Enter a valid e-mail address: this one {exc}."
        raise InvalidInput(message, {"email": [message]}) from None
    now = now or utcnow()
    member = db.session.scalar(sa.select(User.id).join(Membership).where(
        User.email == email, Membership.workspace_id == actor.workspace_id))
    if member:
        raise Conflict(f"{email} is a member already.", {"email": ["A member already."]})
    pending = db.session.scalar(sa.select(Invitation).where(
        Invitation.workspace_id == actor.workspace_id, Invitation.email == email,
        Invitation.accepted_at.is_(None), Invitation.revoked_at.is_(None),
        Invitation.expires_at > now))
    if pending is not None:
        raise Conflict(f"{email} has an open invitation: re-send or revoke it below.",
                       {"email": ["Invited already: re-send or revoke that invitation."]})
    invitation = Invitation(workspace_id=actor.workspace_id, email=email, role=role,
                            nonce=secrets.token_urlsafe(16), invited_by_id=actor.user_id,
                            created_at=now, sent_at=now,
                            expires_at=now + dt.timedelta(days=INVITATION_DAYS))
    db.session.add(invitation)
    db.session.flush()
    audit.record(actor, "member.invited", email, f"as {role.value}")
    db.session.commit()
    return _send(actor, invitation)


def _invitation(actor: Actor, invitation_id: int) -> Invitation:
    found = db.session.get(Invitation, invitation_id)
    if found is None or found.workspace_id != actor.workspace_id:
        raise NotFound(f"Invitation {invitation_id} does not exist.")
    if found.accepted_at is not None or found.revoked_at is not None:
        raise Conflict(f"That invitation was {found.state(utcnow())} already.")
    return found


def resend(actor: Actor, invitation_id: int, now: dt.datetime | None = None) -> Sent:
    """A new link (the old one stops working) and seven more days."""
    actor = as_actor(actor)
    actor.require("member.invite")
    invitation = _invitation(actor, invitation_id)
    now = now or utcnow()
    invitation.nonce = secrets.token_urlsafe(16)
    invitation.sent_at = now
    invitation.expires_at = now + dt.timedelta(days=INVITATION_DAYS)
    audit.record(actor, "invitation.resent", invitation.email)
    db.session.commit()
    return _send(actor, invitation)


def revoke(actor: Actor, invitation_id: int) -> None:
    actor = as_actor(actor)
    actor.require("member.invite")
    invitation = _invitation(actor, invitation_id)
    invitation.revoked_at = utcnow()
    audit.record(actor, "invitation.revoked", invitation.email)
    db.session.commit()


def read_invitation(token: str, now: dt.datetime | None = None) -> Invitation:
    """The open invitation a link stands for, or BadInvitation saying why."""
    try:
        invitation_id, nonce = serializer(INVITATION_SALT).loads(token)
    except (BadSignature, ValueError, TypeError):
        raise BadInvitation("This invitation link is not valid (it may have been cut short "
                            "in the e-mail).") from None
    invitation = db.session.get(Invitation, invitation_id) \
        if isinstance(invitation_id, int) else None
    if invitation is None or not secrets.compare_digest(str(nonce), invitation.nonce):
        raise BadInvitation("This invitation link is no longer valid: a newer one was sent, "
                            "or the invitation was withdrawn.")
    state = invitation.state(now or utcnow())
    if state != "open":
        raise BadInvitation({
            "accepted": "This invitation has been accepted already: log in to use it.",
            "revoked": "This invitation was withdrawn. Ask for a new one if you need it.",
            "expired": "This invitation has expired. Ask whoever invited you to send it "
                       "again."}[state])
    return invitation


def accept(user: User, token: str, now: dt.datetime | None = None) -> Actor:
    """`user` joins with the invitation's role. The link was made for one
    address: another logged-in person is told so. Only a verified address
    may accept; opening a link the server e-mailed to it proves it."""
    now = now or utcnow()
    invitation = read_invitation(token, now)
    if user.email != invitation.email:
        raise Conflict(f"This invitation is for {invitation.email}, but you are logged in as "
                       f"{user.email}. Log out, then open the link again.")
    if not user.email_verified:
        if not current_app.config["SMTP_URL"]:
            raise Forbidden("Your address is not verified, and this server sends no e-mail "
                            "to verify it: ask the operator to run "
                            f"`flask create-user {user.email} --verified`.")
        user.email_verified_at = now
    if db.session.get(Membership, (invitation.workspace_id, user.id)) is None:
        db.session.add(Membership(workspace_id=invitation.workspace_id, user_id=user.id,
                                  role=invitation.role, created_at=now))
    invitation.accepted_at, invitation.accepted_by_id = now, user.id
    db.session.flush()
    joined = Actor(user, db.session.get(Workspace, invitation.workspace_id), invitation.role)
    audit.record(joined, "member.joined", user.email, f"as {invitation.role.value}")
    db.session.commit()
    return joined


# --- settings -------------------------------------------------------------------------------

LOGO_MAX_BYTES = 1024 * 1024
# ISO 4217 codes of the currencies businesses here use most
CURRENCY_CODES = frozenset((
    "AED", "ARS", "AUD", "BGN", "BRL", "CAD", "CHF", "CLP", "CNY", "COP", "CZK", "DKK", "EGP",
    "EUR", "GBP", "HKD", "HUF", "IDR", "ILS", "INR", "ISK", "JPY", "KES", "KRW", "MAD", "MXN",
    "MYR", "NGN", "NOK", "NZD", "PEN", "PHP", "PKR", "PLN", "QAR", "RON", "RSD", "SAR", "SEK",
    "SGD", "THB", "TRY", "TWD", "UAH", "USD", "VND", "ZAR",
))


@dataclass(frozen=True)
class Settings:
    name: str
    currency: str
    default_timezone: str
    legal_name: str | None = None
    address: str | None = None
    tax_id: str | None = None
    require_two_factor: bool = False
    # orders: None keeps what the workspace has
    order_prefix: str | None = None
    prices_include_tax: bool | None = None
    document_title: str | None = None


_PREFIX = re.compile(r"[A-Za-z0-9][A-Za-z0-9 ._/#-]{0,19}|", re.ASCII)


def _optional(text: str | None, limit: int) -> str | None:
    text = (text or "").strip()
    return text[:limit] or None


def update_settings(actor: Actor, new: Settings) -> Workspace:
    actor = as_actor(actor)
    actor.require("settings.change")
    workspace = actor.workspace
    errors: dict[str, list[str]] = {}
    try:
        name = _clean_name(new.name)
    except InvalidInput as exc:
        errors["name"], name = exc.errors["name"], new.name
    currency = (new.currency or "").strip().upper()
    if currency not in CURRENCY_CODES:
        errors["currency"] = ["Pick an ISO 4217 currency code such as EUR or USD."]
    if not is_zone(new.default_timezone):
        errors["default_timezone"] = ["Must be an IANA time zone such as Europe/Berlin."]
    prefix = workspace.order_prefix if new.order_prefix is None else new.order_prefix.strip()
    if not _PREFIX.fullmatch(prefix):
        errors["order_prefix"] = ["Up to 20 letters, digits or . _ / # - (e.g. SO- or 2026/); "
                                  "empty for plain numbers."]
    title = workspace.document_title if new.document_title is None else new.document_title
    if title not in DOCUMENT_TITLES:
        errors["document_title"] = ["Pick one of the titles."]
    if errors:
        raise InvalidInput("The settings are not valid.", errors)
    if new.require_two_factor != workspace.require_two_factor:
        actor.require("workspace.security")
    values = {"name": name, "currency": currency, "default_timezone": new.default_timezone,
              "legal_name": _optional(new.legal_name, 200),
              "address": _optional(new.address, 1000), "tax_id": _optional(new.tax_id, 50),
              "require_two_factor": bool(new.require_two_factor),
              "order_prefix": prefix, "document_title": title,
              "prices_include_tax": workspace.prices_include_tax
              if new.prices_include_tax is None else bool(new.prices_include_tax)}
    changed = [key for key, value in values.items() if getattr(workspace, key) != value]
    for key, value in values.items():
        setattr(workspace, key, value)
    if changed:
        audit.record(actor, "settings.changed", None, ", ".join(changed))
    db.session.commit()
    return workspace


def set_logo(actor: Actor, data: bytes | None) -> None:
    """A PNG or JPEG of at most 1 MB, checked by decoding it whole; None removes it."""
    actor = as_actor(actor)
    actor.require("settings.change")
    workspace = actor.workspace
    if data is None:
        workspace.logo, workspace.logo_type = None, None
        audit.record(actor, "settings.changed", None, "logo removed")
        db.session.commit()
        return
    if len(data) > LOGO_MAX_BYTES:
        message = f"The logo is {len(data) / 1024 / 1024:.1f} MB; at most 1 MB, please."
        raise InvalidInput(message, {"logo": [message]})
    kind = _image_kind(data)
    workspace.logo, workspace.logo_type = data, kind
    audit.record(actor, "settings.changed", None, "logo")
    db.session.commit()


def _image_kind(data: bytes) -> str:
    from PIL import Image, UnidentifiedImageError

    message = "The logo must be a PNG or JPEG image."
    try:
        with Image.open(io.BytesIO(data)) as image:
            kind = image.format
            if kind not in ("PNG", "JPEG"):
                raise InvalidInput(message, {"logo": [message]})
            width, height = image.size
            if width * height > 25_000_000:
                too_big = "The logo is too large in pixels (at most 25 megapixels)."
                raise InvalidInput(too_big, {"logo": [too_big]})
            image.load()  # decodes every pixel: a truncated or forged file fails here
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        broken = "The logo file could not be read as a PNG or JPEG image."
        raise InvalidInput(broken, {"logo": [broken]}) from None
    return f"image/{kind.lower()}"
