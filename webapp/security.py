"""Sessions, API tokens, the secret key, proxies, rate limits and security headers."""
from __future__ import annotations

import logging
import os
import secrets
import time
from pathlib import Path
from urllib.parse import urlsplit

from flask import Flask, current_app, flash, g, redirect, request, session, url_for
from flask.sessions import SecureCookieSessionInterface
from flask_limiter.util import get_remote_address
from flask_login import current_user, login_user
from werkzeug.middleware.proxy_fix import ProxyFix

from . import audit
from .auth.services import token_for_secret
from .extensions import db, limiter, login_manager
from .htmx import is_htmx
from .http_errors import problem
from .models import User
from .workspaces import services as workspaces

log = logging.getLogger(__name__)

# api.openapi: the API's description (GET /api/openapi.json) holds no data
PUBLIC_ENDPOINTS = {"auth.login", "auth.signup", "auth.finish_signup", "auth.two_factor",
                    "auth.forgot_password", "auth.reset_password", "health.healthz",
                    "static", "api.openapi", "recipients.ask", "recipients.confirm",
                    "recipients.never", "recipients.unsubscribe_page",
                    "recipients.unsubscribe", "invitations.invitation"}
# Requests a page makes by itself (the status badge's polling): they do not
# count as activity, so an open tab still ends its session when left alone.
PASSIVE_ENDPOINTS = {"reports.status", "reports.live"}

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; form-action 'self'; base-uri 'self'; object-src 'none'; "
       "frame-ancestors 'none'")

# Keys that have been public (in this project's history or in every tutorial):
# a cookie signed with one of them can be forged by anyone.
KNOWN_KEYS = frozenset({"dev-only-change-me", "dev", "secret", "secret-key", "changeme",
                        "change-me", "development", "default", "test", "testing",
                        "change-me-to-64-random-characters"})  # deploy/env.example's
# Shorter keys can be guessed offline from one signed cookie (and keys derived
# from them encrypt the webhook secrets: webapp/crypto.py).
MIN_KEY_LENGTH = 32

# Session cookie fields (besides flask-login's _user_id)
GENERATION, SINCE, SEEN = "gen", "since", "seen"
WORKSPACE = "ws"  # the workspace this session works in


def _order_write_rate_limit() -> str:
    return current_app.config["ORDER_WRITE_RATE_LIMIT"]


def _report_rate_limit() -> str:
    return current_app.config["REPORT_RATE_LIMIT"]


def _marked(limit, methods: tuple[str, ...] = ()):
    """`limit` as a view decorator that also marks the view: `rate_limited` is
    the methods it counts (empty: all), so the API's description documents 429
    on every limited operation without each view having to remember it."""
    def decorate(view):
        limited = limit(view)
        limited.rate_limited = frozenset(methods)
        return limited
    return decorate


# Creating, editing, changing the status of and deleting orders, per user,
# pages and API together (a GET of a form page is not a write; PUT is the
# API's create-or-replace by external reference).
_WRITES = ("POST", "PUT", "PATCH", "DELETE")
limit_order_writes = _marked(limiter.shared_limit(
    _order_write_rate_limit, scope="order-writes", methods=list(_WRITES)), _WRITES)

# Asking for a report (new, or a retry), per user, pages and API together.
limit_requests = _marked(limiter.shared_limit(_report_rate_limit, scope="report-requests"))


class SessionInterface(SecureCookieSessionInterface):
    """The session cookie is Secure whenever the request came over HTTPS
    (or SESSION_COOKIE_SECURE says so), HttpOnly and SameSite=Lax always."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return bool(app.config["SESSION_COOKIE_SECURE"] or request.is_secure)


def local_path(target: str | None, default: str) -> str:
    """`target` if it is a path on this site, else `default`: never a redirect
    elsewhere. Browsers read "/\\evil.example" and "/\t/evil.example" as
    "//evil.example", so backslashes and control characters are refused too."""
    target = target or ""
    if (target.startswith("/") and not target.startswith("//") and "\\" not in target
            and not any(ord(c) < 32 or ord(c) == 127 for c in target)
            and not urlsplit(target).netloc):
        return target
    return default


# --- the secret key ---------------------------------------------------------

def ensure_secret_key(app: Flask) -> None:
    """Use SECRET_KEY if set; else a random key made once and kept in
    instance/secret_key (mode 0600). Refuse to start with a known or short
    key, in SECRET_KEY or in any SECRET_KEY_FALLBACKS entry: an old key still
    opens sessions and stored secrets, so it must be as strong as the new one."""
    key = app.config.get("SECRET_KEY")
    if not key:
        key = app.config["SECRET_KEY"] = _instance_key(Path(app.instance_path) / "secret_key")
    weak = _weakness(key)
    if weak:
        raise RuntimeError(
            f"SECRET_KEY is {weak}, so anyone could forge a session. "
            "Set it to a long random string (python -c 'import secrets; "
            "print(secrets.token_urlsafe(48))'), or unset it to use instance/secret_key.")
    fallbacks = app.config.get("SECRET_KEY_FALLBACKS") or []
    for n, old in enumerate(fallbacks, start=1):
        weak = _weakness(old)
        if weak:
            raise RuntimeError(
                f"SECRET_KEY_FALLBACKS entry {n} of {len(fallbacks)} is {weak}, so anyone "
                "could forge a session with it; remove it from SECRET_KEY_FALLBACKS.")


def _weakness(key) -> str | None:
    """Why `key` must not sign anything (the key itself is never named)."""
    text = key.decode(errors="replace") if isinstance(key, bytes) else str(key)
    if text.strip().lower() in KNOWN_KEYS:
        return "a well-known value"
    if len(text) < MIN_KEY_LENGTH:
        return f"shorter than {MIN_KEY_LENGTH} characters"
    return None


def _instance_key(path: Path) -> str:
    if not path.is_file():
        # Several processes start at once (gunicorn workers, celery): write a
        # private temp file and link it into place; whoever links first wins
        # and everyone reads the winner's key.
        tmp = path.with_name(f".secret_key.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, (secrets.token_urlsafe(48) + "\n").encode())
            os.fsync(fd)
        finally:
            os.close(fd)
        try:
            os.link(tmp, path)
            log.warning("made a new secret key in %s (set SECRET_KEY to share one key "
                        "between hosts)", path)
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    if path.stat().st_mode & 0o077:
        log.warning("%s was readable by others; made it private (0600)", path)
        path.chmod(0o600)
    key = path.read_text().strip()
    if not key:
        raise RuntimeError(f"{path} is empty; delete it to make a new key.")
    return key


# --- sessions -----------------------------------------------------------------

def start_session(user: User) -> None:
    """Log `user` in with a fresh session (new CSRF token, no old keys), in
    their oldest workspace; the sign-in goes into its audit trail."""
    session.clear()
    login_user(user)
    session.update(session_fields(user))
    actor = workspaces.session_actor(user, None)
    session[WORKSPACE] = actor.workspace_id
    audit.record(actor, "signed_in", None, get_remote_address())
    db.session.commit()


def switch_workspace(workspace_id: int) -> None:
    actor = workspaces.switch(current_user, workspace_id)
    session[WORKSPACE] = actor.workspace_id
    g.actor = actor


def session_fields(user: User, now: float | None = None) -> dict:
    now = int(now if now is not None else time.time())
    return {GENERATION: user.session_generation, SINCE: now, SEEN: now}


def _session_ended(user: User, app_config) -> str | None:
    """Why this cookie no longer logs `user` in, or None if it still does."""
    if session.get(GENERATION) != user.session_generation:
        return "revoked"
    now = time.time()
    seen, since = session.get(SEEN), session.get(SINCE)
    if not isinstance(seen, int) or not isinstance(since, int):
        return "revoked"
    if now - seen > app_config["SESSION_IDLE_MINUTES"] * 60:
        return "idle"
    if now - since > app_config["SESSION_MAX_HOURS"] * 3600:
        return "max"
    # at most one cookie rewrite a minute, and never for a page's own polling
    if now - seen >= 60 and request.endpoint not in PASSIVE_ENDPOINTS:
        session[SEEN] = int(now)
    return None


@login_manager.user_loader
def _load_user(user_id: str) -> User | None:
    user = db.session.get(User, int(user_id)) if user_id.isdigit() else None
    if user is None:
        return None
    ended = _session_ended(user, current_app.config)
    if ended:
        g.session_ended = ended
        return None
    return user


def _ended_message(reason: str | None, config) -> str:
    if reason == "idle":
        return (f"Your session ended after {config['SESSION_IDLE_MINUTES']} minutes without "
                "activity. Log in again.")
    if reason == "max":
        return (f"Sessions last {config['SESSION_MAX_HOURS']} hours; yours has ended. "
                "Log in again.")
    return ("You were logged out (on this or another device, or your password was changed). "
            "Log in again.")


def _bearer_actor():
    header = request.headers.get("Authorization", "")
    scheme, _, secret = header.partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        return None
    token = token_for_secret(secret.strip())
    return workspaces.token_actor(token) if token is not None else None


def init_security(app: Flask) -> None:
    ensure_secret_key(app)
    proxies = int(app.config.get("TRUSTED_PROXIES") or 0)
    if proxies > 0:
        # Behind N proxies, the last N X-Forwarded-* values are theirs and true:
        # the client's address (rate limits), https (Secure cookie, HSTS), host.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies,
                                x_host=proxies, x_port=proxies, x_prefix=proxies)
    app.session_interface = SessionInterface()
    app.config.setdefault("SESSION_COOKIE_SAMESITE", "Lax")
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    login_manager.init_app(app)
    limiter.init_app(app)

    @app.before_request
    def require_identity():
        endpoint = request.endpoint
        if endpoint is None or endpoint in PUBLIC_ENDPOINTS:
            return None
        if request.blueprint == "api":
            # The API takes tokens only: a session cookie would make it
            # forgeable cross-site, since the API has no CSRF token.
            actor = _bearer_actor()
            if actor is None:
                return problem(401, "Send a valid API token: Authorization: Bearer <token>. "
                                    "Create one on your account page.",
                               headers={"WWW-Authenticate": 'Bearer realm="api"'})
            g.api_user, g.actor = actor.user, actor
            return None
        if not current_user.is_authenticated:
            if "_user_id" in session:  # a session that ended: say why, drop the cookie
                session.clear()
                flash(_ended_message(g.get("session_ended"), app.config), "info")
            login = url_for("auth.login", next=request.full_path.rstrip("?"))
            if is_htmx():
                return "", 401, {"HX-Redirect": login}
            return redirect(login)
        # a member removed meanwhile falls back to another workspace here
        wanted = session.get(WORKSPACE)
        g.actor = workspaces.session_actor(current_user._get_current_object(), wanted)
        if g.actor.workspace_id != wanted:
            session[WORKSPACE] = g.actor.workspace_id
        return None

    @app.after_request
    def security_headers(response):
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        if request.endpoint != "static":
            # Order data, tokens and reports stay out of browser and proxy
            # caches (the back button after log-out must not show them).
            response.headers["Cache-Control"] = "no-store"
        if request.is_secure:
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        return response
