"""Accounts: sign-up, password check, API tokens."""
from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets

import sqlalchemy as sa
from flask import current_app
from itsdangerous import BadSignature
from werkzeug.security import check_password_hash, generate_password_hash

from .. import audit
from ..delivery import messages, outbox
from ..delivery.addresses import AddressError, parse_address
from ..errors import Conflict, DomainError, InvalidInput, NotFound
from ..extensions import db
from ..links import public_url, serializer
from ..models import ApiToken, SignupRequest, User, utcnow
from ..timezones import is_zone
from ..workspaces.roles import SCOPES, WRITE
from ..workspaces.services import add_personal_workspace
from .current import Actor, as_actor

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


def new_address(email: str) -> str:
    """A new account's address: exactly one address, which mail can reach."""
    try:
        return parse_address(email)
    except AddressError as exc:
        message = f"Enter a valid e-mail address: this one {exc}."
        raise InvalidInput(message, {"email": [message]}) from None


def create_user(email: str, password: str, *, site_admin: bool = False,
                timezone: str = "UTC", verified: bool = False) -> User:
    """A new person with a workspace of their own, which they own."""
    email = new_address(email)
    check_password_rules(password, email=email)
    if db.session.scalar(sa.select(User.id).where(User.email == email)):
        raise Conflict("An account with this e-mail already exists.",
                       {"email": ["An account with this e-mail already exists."]})
    user = User(email=email, password_hash=_hash(password), site_admin=site_admin,
                timezone=_zone(timezone), email_verified_at=utcnow() if verified else None)
    db.session.add(user)
    db.session.flush()
    add_personal_workspace(user)
    db.session.commit()
    return user


# --- sign-up by e-mail link ------------------------------------------------------
# With a mail server, sign-up answers the same whether or not the address has
# an account: a new address gets a link, a known one a warning to its owner.
# Nothing is an account until the link is opened AND the password typed at
# sign-up is given again, so nobody can sign up with an address that is not
# theirs and wait for its owner to click (pre-account takeover).

class BadSignupLink(DomainError):
    status_code = 404


def request_signup(email: str, password: str, timezone: str,
                   now: dt.datetime | None = None) -> str:
    """Record a sign-up and e-mail its link (or warn the address's owner).
    Returns the address, for the "check your inbox" page."""
    now = now or utcnow()
    email = new_address(email)
    check_password_rules(password, email=email)
    zone = _zone(timezone)
    password_hash = _hash(password)  # for known addresses too: the same time either way
    config = current_app.config
    if db.session.scalar(sa.select(User.id).where(User.email == email)):
        outbox.queue(email, messages.signup_attempt(email))
        return email
    secret = secrets.token_urlsafe(32)
    hours = config["SIGNUP_LINK_HOURS"]
    db.session.add(SignupRequest(email=email, password_hash=password_hash, timezone=zone,
                                 token_hash=_digest(secret), created_at=now,
                                 expires_at=now + dt.timedelta(hours=hours)))
    db.session.commit()
    outbox.queue(email, messages.signup_link(public_url(f"/signup/finish/{secret}"), hours))
    return email


def signup_request(secret: str, now: dt.datetime | None = None) -> SignupRequest:
    now = now or utcnow()
    found = db.session.scalar(sa.select(SignupRequest).where(
        SignupRequest.token_hash == _digest(secret or "")))
    if found is None or found.expires_at < now:
        raise BadSignupLink("This sign-up link is not valid any more (it was used, it "
                            "expired, or it was cut short in the e-mail). Sign up again.")
    return found


def finish_signup(secret: str, password: str, now: dt.datetime | None = None) -> User:
    """The account, made from the sign-up this link stands for: the password
    typed at sign-up must be given again. Its address is verified."""
    now = now or utcnow()
    found = signup_request(secret, now)
    if not check_password_hash(found.password_hash, password or ""):
        raise InvalidInput("That is not the password you chose when signing up.",
                           {"password": ["That is not the password you chose when "
                                         "signing up."]})
    email = found.email
    db.session.execute(sa.delete(SignupRequest).where(SignupRequest.email == email))
    if db.session.scalar(sa.select(User.id).where(User.email == email)):
        db.session.commit()
        raise Conflict("This account exists already: log in.")
    user = User(email=email, password_hash=found.password_hash, timezone=found.timezone,
                email_verified_at=now)
    db.session.add(user)
    db.session.flush()
    add_personal_workspace(user)
    db.session.commit()
    return user


# --- verifying an existing account's address ---------------------------------------

VERIFY_SALT = "verify-email"
VERIFY_DAYS = 3


def _verifier():
    return serializer(VERIFY_SALT)


def send_verification(user: User) -> None:
    """E-mail the account's address a link that verifies it: the one e-mail
    an unverified address can get."""
    config = current_app.config
    if not config["SMTP_URL"]:
        raise InvalidInput("E-mail is not set up on this server (SMTP_URL is not set), so no "
                           "link can be sent.")
    token = _verifier().dumps([user.id, user.email])
    outbox.queue(user.email, messages.verify_address(
        user.email, public_url(f"/account/verify/{token}"), VERIFY_DAYS))


def verify_email(user: User, token: str) -> None:
    try:
        user_id, email = _verifier().loads(token, max_age=VERIFY_DAYS * 86400)
    except (BadSignature, ValueError, TypeError):
        raise BadSignupLink("This verification link is not valid any more; send yourself "
                            "a new one from your account page.") from None
    if user_id != user.id or email != user.email:
        raise BadSignupLink("This verification link is for another account or address; "
                            "log in with that one, or send a new link.")
    if user.email_verified_at is None:
        user.email_verified_at = utcnow()
        db.session.commit()


def _zone(name: str | None) -> str:
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


def create_token(actor: Actor, name: str, scope: str = WRITE) -> tuple[ApiToken, str]:
    """A token for the actor in their current workspace. Returns the stored
    token and the secret, which is shown once and never stored. A viewer's
    tokens can only read."""
    actor = as_actor(actor)
    if scope not in SCOPES:
        message = "The scope is read or write."
        raise InvalidInput(message, {"scope": [message]})
    if scope == WRITE:
        actor.require("token.write")
    name = " ".join((name or "").split())[:100] or "API token"
    secret = "rg_" + secrets.token_urlsafe(32)
    token = ApiToken(user_id=actor.user_id, workspace_id=actor.workspace_id, scope=scope,
                     name=name, token_hash=_digest(secret), prefix=secret[:10])
    db.session.add(token)
    db.session.flush()
    audit.record(actor, "token.created", f"token {token.prefix}…", f"{name} ({scope})")
    db.session.commit()
    return token, secret


def revoke_token(actor: Actor, token_id: int) -> None:
    """A person revokes their own tokens, from whichever workspace they are in."""
    actor = as_actor(actor)
    token = db.session.get(ApiToken, token_id)
    if token is None or token.user_id != actor.user_id or token.revoked_at is not None:
        raise NotFound("No such token.")
    token.revoked_at = utcnow()
    owner = actor.at(token.workspace_id)
    if owner is not None:
        audit.record(owner, "token.revoked", f"token {token.prefix}…", token.name)
    db.session.commit()


def token_for_secret(secret: str) -> ApiToken | None:
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
    return token


def end_every_session(user: User) -> None:
    """Every cookie issued to `user` so far stops working (log-out, password
    change, "log out everywhere"). Commits."""
    users = User.__table__
    db.session.execute(sa.update(users).where(users.c.id == user.id)
                       .values(session_generation=users.c.session_generation + 1))
    db.session.commit()
    db.session.refresh(user)
