"""Log in, sign up, log out, and the account page with API tokens."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user

from ..errors import DomainError
from . import services
from .forms import LoginForm, SignupForm, TokenForm

bp = Blueprint("auth", __name__)


def _next_url() -> str:
    target = request.args.get("next") or request.form.get("next") or ""
    parts = urlsplit(target)
    if target.startswith("/") and not target.startswith("//") and not parts.netloc:
        return target
    return url_for("orders.index")


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(_next_url())
    form = LoginForm()
    if form.validate_on_submit():
        user = services.authenticate(form.email.data, form.password.data)
        if user is not None:
            session.clear()  # a fresh session (and CSRF token) for the new login
            login_user(user)
            return redirect(_next_url(), 303)
        form.password.errors.append("Wrong e-mail or password.")
    return render_template("auth/login.html", form=form, next=_next_url()), \
        422 if form.errors else 200


@bp.route("/signup", methods=["GET", "POST"])
def signup():
    form = SignupForm()
    if form.validate_on_submit():
        try:
            user = services.create_user(form.email.data, form.password.data)
        except DomainError as exc:
            for field, messages in (exc.errors or {"email": [exc.message]}).items():
                getattr(form, field).errors.extend(messages)
        else:
            session.clear()
            login_user(user)
            flash("Welcome! Create your first order.", "success")
            return redirect(url_for("orders.new"), 303)
    return render_template("auth/signup.html", form=form), 422 if form.errors else 200


@bp.post("/logout")
def logout():
    logout_user()
    session.clear()
    flash("You are logged out.", "success")
    return redirect(url_for(".login"), 303)


@bp.get("/account")
@login_required
def account():
    return render_template("auth/account.html", form=TokenForm(), new_secret=None)


@bp.post("/account/tokens")
@login_required
def create_token():
    form = TokenForm()
    if not form.validate_on_submit():
        return render_template("auth/account.html", form=form, new_secret=None), 422
    token, secret = services.create_token(current_user, form.name.data)
    # shown once, on this response only
    return render_template("auth/account.html", form=TokenForm(formdata=None),
                           new_secret=secret, new_token=token)


@bp.post("/account/tokens/<int:token_id>/revoke")
@login_required
def revoke_token(token_id: int):
    services.revoke_token(current_user, token_id)
    flash("Token revoked.", "success")
    return redirect(url_for(".account"), 303)
