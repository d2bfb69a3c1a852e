"""Accounts: sign-up, password check, API tokens."""
from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets

import sqlalchemy as sa
from flask import current_app
from werkzeug.security import check_password_hash, generate_password_hash

from ..errors import Conflict, InvalidInput, NotFound
from ..extensions import db
from ..models import ApiToken, User, utcnow

MIN_PASSWORD = 10
MAX_PASSWORD = 256
MIN_STRENGTH = 3  # zxcvbn score 0-4; 3: "safely unguessable" (~10^10 guesses)
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+", re.ASCII)
# Compared against when the e-mail is unknown, so a login takes the same time
# whether or not the account exists.
_DUMMY_HASH = generate_password_hash("not-a-real-password")


def _hash(password: str) -> str:
    # scrypt (werkzeug's default): salted and memory-hard. Tests may choose a
    # cheaper method through PASSWORD_HASH_METHOD; production never sets it.
    method = current_app.config.get("PASSWORD_HASH_METHOD") or "scrypt"
    return generate_password_hash(password, method=method)


def normalise_email(email: str) -> str:
    email = (email or "").strip().lower()
    if not _EMAIL.fullmatch(email) or len(email) > 254:
        raise InvalidInput("Enter a valid e-mail address.",
                           {"email": ["Enter a valid e-mail address."]})
    return email


def _weak(message: str, field: str) -> InvalidInput:
    return InvalidInput(message, {field: [message]})


def check_password_rules(password: str, *, email: str = "", field: str = "password") -> None:
    """At least MIN_PASSWORD characters, at most MAX_PASSWORD, not only spaces,
    and not guessable: zxcvbn's estimate (common passwords, words, names,
    keyboard patterns, dates, the e-mail itself) must reach "safely unguessable"."""
    password = password or ""
    if len(password) < MIN_PASSWORD:
        raise _weak(f"Use at least {MIN_PASSWORD} characters.", field)
    if len(password) > MAX_PASSWORD:
        raise _weak(f"Use at most {MAX_PASSWORD} characters.", field)
    if not password.strip():
        raise _weak("A password cannot be only spaces.", field)
    hints = [email, *re.split(r"[@.+_-]", email)] if email else []
    # zxcvbn judges up to 72 characters; a longer passphrase is judged by its start
    from zxcvbn import zxcvbn  # here: its word lists are ~14 MB no worker needs

    result = zxcvbn(password[:72], user_inputs=[h for h in hints if h])
    if result["score"] < MIN_STRENGTH:
        feedback = result["feedback"]
        why = feedback.get("warning") or "This password is easy to guess."
        hint = (feedback.get("suggestions") or ["Add another word or two. Uncommon words "
                                                "are better."])[0]
        raise _weak(f"{why.rstrip('.')}. {hint}", field)


def create_user(email: str, password: str, *, is_admin: bool = False,
                timezone: str = "UTC") -> User:
    email = normalise_email(email)
    check_password_rules(password, email=email)
    if db.session.scalar(sa.select(User.id).where(User.email == email)):
        raise Conflict("An account with this e-mail already exists.",
                       {"email": ["An account with this e-mail already exists."]})
    user = User(email=email, password_hash=_hash(password), is_admin=is_admin,
                timezone=_zone(timezone))
    db.session.add(user)
    db.session.commit()
    return user


def _zone(name: str | None) -> str:
    from ..timezones import is_zone

    if not is_zone(name):
        raise InvalidInput("Pick a time zone from the list.",
                           {"timezone": ["Pick a time zone from the list."]})
    return name


def update_preferences(user: User, *, timezone: str, csv_excel: bool,
                       csv_decimal_comma: bool) -> None:
    """The user's zone (pages, files, date ranges) and CSV style. Reports
    asked for before keep the zone they were asked in."""
    user.timezone = _zone(timezone)
    user.csv_excel = csv_excel
    user.csv_decimal_comma = csv_decimal_comma
    db.session.commit()


def set_password(user: User, password: str, *, field: str = "password") -> None:
    """New password; every existing session of the user ends (commits)."""
    from ..security import end_every_session

    check_password_rules(password, email=user.email, field=field)
    user.password_hash = _hash(password)
    db.session.commit()
    end_every_session(user)


def change_password(user: User, current: str, new: str) -> None:
    """The account page's change: the current password first."""
    if not check_password_hash(user.password_hash, current or ""):
        raise InvalidInput("The current password is wrong.",
                           {"current_password": ["The current password is wrong."]})
    if current == new:
        raise InvalidInput("Choose a password different from the current one.",
                           {"new_password": ["Choose a different password."]})
    set_password(user, new, field="new_password")


def authenticate(email: str, password: str) -> User | None:
    try:
        email = normalise_email(email)
    except InvalidInput:
        return None
    user = db.session.scalar(sa.select(User).where(User.email == email))
    if user is None:
        check_password_hash(_DUMMY_HASH, password or "")
        return None
    return user if check_password_hash(user.password_hash, password or "") else None


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(user: User, name: str) -> tuple[ApiToken, str]:
    """Returns the stored token and the secret, which is shown once and never stored."""
    name = " ".join((name or "").split())[:100] or "API token"
    secret = "rg_" + secrets.token_urlsafe(32)
    token = ApiToken(user_id=user.id, name=name, token_hash=_digest(secret), prefix=secret[:10])
    db.session.add(token)
    db.session.commit()
    return token, secret


def revoke_token(user: User, token_id: int) -> None:
    token = db.session.get(ApiToken, token_id)
    if token is None or token.user_id != user.id or token.revoked_at is not None:
        raise NotFound("No such token.")
    token.revoked_at = utcnow()
    db.session.commit()


def user_for_token(secret: str) -> User | None:
    if not secret.startswith("rg_") or len(secret) > 100:
        return None
    token = db.session.scalar(sa.select(ApiToken).where(ApiToken.token_hash == _digest(secret),
                                                        ApiToken.revoked_at.is_(None)))
    if token is None:
        return None
    now = utcnow()
    # "last used" to the nearest few minutes is enough, and saves a write per call
    if token.last_used_at is None or now - token.last_used_at > dt.timedelta(minutes=5):
        token.last_used_at = now
        db.session.commit()
    return token.user
