"""Password reset by an e-mailed link.

The link carries a signed token (itsdangerous, a salt of its own, valid for
RESET_SECONDS) holding the user's id and a fingerprint of the password hash
at the time it was sent. Any password change (this link used, another reset,
the account page, `flask create-user --reset`) changes the hash, so a link
works once and no older link survives a change, without a table of used
tokens. Asking for a link answers the same whether or not the address has an
account: only an existing account's address gets an e-mail."""
from __future__ import annotations

import hashlib
import hmac

import sqlalchemy as sa
from flask import current_app
from itsdangerous import BadSignature, SignatureExpired

from ..delivery import outbox
from ..delivery.messages import Mail, render_mail
from ..errors import DomainError, InvalidInput
from ..extensions import db
from ..links import public_url, serializer
from ..models import User, utcnow
from .services import normalise_email, set_password

RESET_SALT = "password-reset"
RESET_SECONDS = 3600


class MailOff(InvalidInput):
    """No SMTP_URL: no link can be sent; the operator resets passwords."""


class BadResetLink(DomainError):
    """Expired (410), used or overtaken by a password change (410), or not a
    link this server made (400)."""

    def __init__(self, message: str, status_code: int = 410):
        super().__init__(message)
        self.status_code = status_code


def mail_enabled() -> bool:
    return bool(current_app.config["SMTP_URL"])


def _serializer():
    return serializer(RESET_SALT)


def _fingerprint(user: User) -> str:
    # The stored hash carries its own random salt, so this reveals nothing a
    # guesser could test passwords against; it changes with every new password.
    return hashlib.sha256(f"{user.id}:{user.email}:{user.password_hash}".encode()).hexdigest()[:32]


def token_for(user: User) -> str:
    return _serializer().dumps([user.id, _fingerprint(user)])


def reset_mail(email: str, link: str) -> Mail:
    return render_mail("password_reset", "Reset your password", email=email, link=link,
                       minutes=RESET_SECONDS // 60, site=current_app.config["PUBLIC_URL"])


def request_reset(email: str) -> str:
    """E-mail a reset link to `email` if it is an account's address; nothing
    otherwise. Returns the normalised address, for the answer page."""
    if not mail_enabled():
        raise MailOff("Password reset by e-mail is not available on this server.")
    email = normalise_email(email)
    user = db.session.scalar(sa.select(User).where(User.email == email))
    if user is not None:
        link = public_url(f"/password/reset/{token_for(user)}")
        outbox.queue(user.email, reset_mail(user.email, link))
    return email


def user_for_link(token: str) -> User:
    """The account a reset link is for, while the link is good."""
    try:
        payload = _serializer().loads(token or "", max_age=RESET_SECONDS)
    except SignatureExpired:
        raise BadResetLink(f"This password reset link has expired: links work for "
                           f"{RESET_SECONDS // 60} minutes.") from None
    except BadSignature:
        raise BadResetLink("This password reset link is not valid (it may have been cut "
                           "short in the e-mail).", 400) from None
    try:
        user_id, fingerprint = payload
    except (TypeError, ValueError):
        raise BadResetLink("This password reset link is not valid.", 400) from None
    user = db.session.get(User, user_id) if isinstance(user_id, int) else None
    if (user is None or not isinstance(fingerprint, str)
            or not hmac.compare_digest(fingerprint, _fingerprint(user))):
        raise BadResetLink("This password reset link was used already, or the password "
                           "was changed since it was sent.")
    return user


def reset_password(token: str, new_password: str) -> User:
    """Set the new password (the sign-up rules), end every session of the
    account, and mark its address verified: whoever opened the link reads
    that mailbox. The link stops working (the fingerprint changes)."""
    user = user_for_link(token)
    set_password(user, new_password)  # the sign-up rules first; commits; ends every session
    if user.email_verified_at is None:
        user.email_verified_at = utcnow()
        db.session.commit()
    return user
