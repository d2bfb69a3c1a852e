"""Two-factor log-in (TOTP, RFC 6238), optional per person.

Enrolment stores a new random secret (encrypted at rest: models.User) that
counts only once a code from it was entered; then ten recovery codes are
made, shown once, and only their SHA-256 kept. A log-in then takes, after
the password, a code of the authenticator app or an unused recovery code
(which is used up). A TOTP code is accepted once: its time step is marked
used in the rate-limit storage (throttle.first_use), so a code read over a
shoulder or from a phished page cannot be replayed within its 90 seconds."""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
import time

import pyotp
import segno
import sqlalchemy as sa
from markupsafe import Markup
from werkzeug.security import check_password_hash

from ..errors import Conflict, InvalidInput
from ..extensions import db
from ..models import Membership, User, Workspace, utcnow
from . import throttle

ISSUER = "Order reports"
RECOVERY_COUNT = 10
# no 0/o, 1/l/i: read off paper and typed by hand
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
VALID_WINDOW = 1  # a code of the step before or after is accepted (clock drift)
# A used code's step stays marked longer than any step is accepted
# ((2 * VALID_WINDOW + 1) * 30 s).
_USED_FOR = 180
PENDING_SECONDS = 300  # between the password and the code of a log-in


def required_for(user: User) -> bool:
    """Whether a workspace of `user` asks every member for two-factor log-in."""
    return bool(db.session.scalar(
        sa.select(Workspace.id).join(Membership)
        .where(Membership.user_id == user.id, Workspace.require_two_factor.is_(True))
        .limit(1)))


def _wrong(field: str = "code") -> InvalidInput:
    message = "That code is not right. Enter the 6 digits your app shows now, or a recovery code."
    return InvalidInput(message, {field: [message]})


# --- enrolment ---------------------------------------------------------------------

def begin(user: User) -> str:
    """A new secret for `user`, not yet in force: the old pending one (if
    any) stops being offered."""
    if user.two_factor:
        raise Conflict("Two-factor log-in is on already.")
    user.totp_secret = pyotp.random_base32()
    db.session.commit()
    return user.totp_secret


def pending_secret(user: User) -> str:
    """The secret being set up, made if there is none."""
    if user.two_factor:
        raise Conflict("Two-factor log-in is on already.")
    return user.totp_secret or begin(user)


def provisioning_uri(user: User, secret: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=ISSUER)


def qr_svg(uri: str) -> Markup:
    """The URI as an inline SVG QR code: no style attribute (the CSP allows
    no inline styles), dark modules on a white square so that it scans on a
    dark page too."""
    return Markup(segno.make(uri, error="m").svg_inline(
        scale=4, dark="#000", light="#fff", title="QR code for your authenticator app",
        svgclass="qr-code", lineclass=None))


def confirm(user: User, password: str, code: str, now: dt.datetime | None = None) -> list[str]:
    """Turn two-factor log-in on with a code of the pending secret; returns
    the recovery codes, to be shown once. The password is asked too: a
    borrowed session must not lock the owner out of their account."""
    now = now or utcnow()
    if user.two_factor:
        raise Conflict("Two-factor log-in is on already.")
    if not user.totp_secret:
        raise InvalidInput("Start the set-up again from your account page.")
    _check_password(user, password)
    step = _totp_step(user.totp_secret, _typed(code), now)
    if step is None:
        raise _wrong()
    throttle.first_use(_step_key(user, step), _USED_FOR)  # it cannot log in as well
    user.totp_enabled_at = now
    codes = _new_recovery_codes(user)
    db.session.commit()
    return codes


# --- codes -------------------------------------------------------------------------

def _typed(code: str | None) -> str:
    # as typed, read aloud or pasted: spaces, dashes and case do not matter
    return "".join((code or "").split()).replace("-", "").lower()


def _totp_step(secret: str, typed: str, now: dt.datetime) -> int | None:
    """The time step whose code `typed` is, if it is accepted now."""
    if not (len(typed) == 6 and typed.isdigit()):
        return None
    totp = pyotp.TOTP(secret)
    if not totp.verify(typed, for_time=now, valid_window=VALID_WINDOW):
        return None
    current = totp.timecode(now)
    for step in range(current - VALID_WINDOW, current + VALID_WINDOW + 1):
        if hmac.compare_digest(totp.generate_otp(step), typed):
            return step
    return None


def _step_key(user: User, step: int) -> str:
    return f"totp-used:{user.id}:{step}"


def _recovery_digest(typed: str) -> str:
    return hashlib.sha256(typed.encode()).hexdigest()


def _new_recovery_codes(user: User) -> list[str]:
    """Replace the user's recovery codes (not committed); returns the codes."""
    codes = []
    for _ in range(RECOVERY_COUNT):
        raw = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(10))
        codes.append(f"{raw[:4]}-{raw[4:8]}-{raw[8:]}")
    user.recovery_codes = [_recovery_digest(_typed(c)) for c in codes]
    return codes


def recovery_codes_left(user: User) -> int:
    return len(user.recovery_codes or [])


def _lock_user(user_id: int) -> None:
    users = User.__table__
    conn = db.session.connection()
    if conn.dialect.name == "postgresql":
        conn.execute(sa.select(users.c.id).where(users.c.id == user_id).with_for_update())
    else:  # a write takes SQLite's database lock
        conn.execute(sa.update(users).where(users.c.id == user_id).values(id=users.c.id))


def _use_recovery_code(user: User, typed: str) -> bool:
    digest = _recovery_digest(typed)
    if digest not in (user.recovery_codes or []):
        return False
    # Used up under a lock on the user's row, which must be the transaction's
    # first statement: two log-ins with one code at once, one of them wins.
    db.session.commit()
    _lock_user(user.id)
    db.session.refresh(user)
    left = list(user.recovery_codes or [])
    if digest not in left:
        db.session.rollback()
        return False
    left.remove(digest)
    user.recovery_codes = left
    db.session.commit()
    return True


def check_code(user: User, code: str, now: dt.datetime | None = None) -> str:
    """"totp" or "recovery" (that recovery code is now used up) when `code`
    is good for `user`; raises InvalidInput (field "code") otherwise."""
    now = now or utcnow()
    if not user.two_factor:
        raise _wrong()
    typed = _typed(code)
    # no secret: it opens with no key (SECRET_KEY lost); recovery codes still work
    step = _totp_step(user.totp_secret, typed, now) if user.totp_secret else None
    if step is not None:
        if not throttle.first_use(_step_key(user, step), _USED_FOR):
            message = "That code was used already: wait for your app to show the next one."
            raise InvalidInput(message, {"code": [message]})
        return "totp"
    if len(typed) == 10 and _use_recovery_code(user, typed):
        return "recovery"
    raise _wrong()


def _check_password(user: User, password: str) -> None:
    if not check_password_hash(user.password_hash, password or ""):
        raise InvalidInput("The password is wrong.", {"password": ["The password is wrong."]})


# --- once it is on -----------------------------------------------------------------

def regenerate(user: User, code: str, now: dt.datetime | None = None) -> list[str]:
    """New recovery codes (the old ones stop working), for a good code."""
    check_code(user, code, now)
    codes = _new_recovery_codes(user)
    db.session.commit()
    return codes


def disable(user: User, password: str, code: str, now: dt.datetime | None = None) -> None:
    """Two-factor log-in off: the password and a code (or recovery code)."""
    if not user.two_factor:
        raise Conflict("Two-factor log-in is off already.")
    _check_password(user, password)
    check_code(user, code, now)
    user.totp_secret = None
    user.totp_enabled_at = None
    user.recovery_codes = None
    db.session.commit()


# --- the log-in waiting for its code -------------------------------------------------
# Kept in the session cookie (signed), apart from flask-login's fields: the
# account is not logged in until the code is given.

def pending_state(user: User, next_url: str, now: float | None = None) -> dict:
    return {"user": user.id, "gen": user.session_generation,
            "at": int(now if now is not None else time.time()), "next": next_url}


def pending_user(state, now: float | None = None) -> User | None:
    """The account a pending log-in is for, while it may still finish: not
    older than PENDING_SECONDS, no session ended since (log-out everywhere,
    password change), two-factor still on."""
    if not isinstance(state, dict):
        return None
    user_id, generation, at = state.get("user"), state.get("gen"), state.get("at")
    if not (isinstance(user_id, int) and isinstance(at, int)):
        return None
    now = now if now is not None else time.time()
    if now - at > PENDING_SECONDS:
        return None
    user = db.session.get(User, user_id)
    if user is None or user.session_generation != generation or not user.two_factor:
        return None
    return user
