"""Sessions, API tokens, rate limits and security headers."""
from __future__ import annotations

from flask import Flask, g, jsonify, redirect, request, url_for
from flask.sessions import SecureCookieSessionInterface
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager, current_user

from .extensions import db
from .models import User

login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.login_message = "Please log in to continue."
login_manager.login_message_category = "info"

PUBLIC_ENDPOINTS = {"auth.login", "auth.signup", "health.healthz", "static"}

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; form-action 'self'; base-uri 'self'; object-src 'none'; "
       "frame-ancestors 'none'")


def _rate_key() -> str:
    from .auth.current import actor

    user = actor() if (g.get("api_user") or current_user.is_authenticated) else None
    return f"user:{user.id}" if user else f"ip:{get_remote_address()}"


limiter = Limiter(key_func=_rate_key, default_limits=[], headers_enabled=True)


class SessionInterface(SecureCookieSessionInterface):
    """The session cookie is Secure whenever the request came over HTTPS
    (or SESSION_COOKIE_SECURE says so), HttpOnly and SameSite=Lax always."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return bool(app.config["SESSION_COOKIE_SECURE"] or request.is_secure)


@login_manager.user_loader
def _load_user(user_id: str) -> User | None:
    return db.session.get(User, int(user_id)) if user_id.isdigit() else None


def _bearer_user() -> User | None:
    from .auth.services import user_for_token

    header = request.headers.get("Authorization", "")
    scheme, _, secret = header.partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        return None
    return user_for_token(secret.strip())


def init_security(app: Flask) -> None:
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
            user = _bearer_user()
            if user is None:
                return jsonify({"error": "Send a valid API token: Authorization: Bearer <token>. "
                                         "Create one on your account page."}), 401, {
                    "WWW-Authenticate": 'Bearer realm="api"'}
            g.api_user = user
            return None
        if not current_user.is_authenticated:
            login = url_for("auth.login", next=request.full_path.rstrip("?"))
            if request.headers.get("HX-Request") == "true":
                return "", 401, {"HX-Redirect": login}
            return redirect(login)
        return None

    @app.after_request
    def security_headers(response):
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        if request.is_secure:
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        return response
