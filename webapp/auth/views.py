"""Log in, sign up, log out, and the account page: password, sessions, API tokens."""
from __future__ import annotations

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_limiter.util import get_remote_address
from flask_login import current_user, login_required, logout_user

from ..errors import DomainError
from ..security import local_path, start_session
from ..words import seconds_in_words
from . import services, throttle
from .forms import (
    ChangePasswordForm,
    FinishSignupForm,
    LoginForm,
    PreferencesForm,
    SignupForm,
    TokenForm,
)

bp = Blueprint("auth", __name__)


def _next_url() -> str:
    return local_path(request.args.get("next") or request.form.get("next"),
                      url_for("dashboard.index"))


def _form_errors(form, exc: DomainError, default_field: str) -> None:
    for field, messages in (exc.errors or {default_field: [exc.message]}).items():
        getattr(form, field).errors.extend(messages)


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(_next_url())
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        who = {"email": form.email.data, "address": get_remote_address()}
        # counted before the password is hashed: a throttled guess costs nothing
        wait = throttle.attempt("login", **who)
        if wait:
            form.password.errors.append(
                f"Too many failed log-ins for this account or from your network. "
                f"Try again in {seconds_in_words(wait)}.")
            status = 429
        else:
            user = services.authenticate(form.email.data, form.password.data)
            if user is not None:
                throttle.refund("login", **who)  # only failed log-ins count
                start_session(user)
                return redirect(_next_url(), 303)
            form.password.errors.append("Wrong e-mail or password.")
    return render_template("auth/login.html", form=form, next=_next_url()), \
        status if status != 200 else (422 if form.errors else 200)


@bp.route("/signup", methods=["GET", "POST"])
def signup():
    form = SignupForm()
    status = 200
    if form.validate_on_submit():
        wait = throttle.attempt("signup", email=form.email.data, address=get_remote_address())
        if wait:
            form.email.errors.append("Too many sign-ups from your network or for this address. "
                                     f"Try again in {seconds_in_words(wait)}.")
            status = 429
        else:
            try:
                if current_app.config["SMTP_URL"]:
                    # the same answer for a known address as for a new one
                    email = services.request_signup(form.email.data, form.password.data,
                                                    form.timezone.data)
                    return render_template("auth/check_inbox.html", email=email)
                user = services.create_user(form.email.data, form.password.data,
                                            timezone=form.timezone.data)
            except DomainError as exc:
                _form_errors(form, exc, "email")
            else:
                start_session(user)
                flash("Welcome! Create your first order.", "success")
                return redirect(url_for("orders.new"), 303)
    return render_template("auth/signup.html", form=form), \
        status if status != 200 else (422 if form.errors else 200)


def _ended(message: str):
    """Log this browser out and clear what it kept of the site."""
    logout_user()
    session.clear()
    flash(message, "success")
    response = redirect(url_for(".login"), 303)
    response.headers["Clear-Site-Data"] = '"cache", "storage"'
    return response


@bp.post("/logout")
def logout():
    # Every cookie of this account stops working, including copies of this one.
    services.end_every_session(current_user._get_current_object())
    return _ended("You are logged out.")


@bp.post("/account/sessions/end")
@login_required
def end_sessions():
    services.end_every_session(current_user._get_current_object())
    return _ended("Every session of your account has ended, on every device. "
                  "Log in again to go on.")


def _account(status: int = 200, **forms):
    forms.setdefault("form", TokenForm(formdata=None))
    forms.setdefault("password_form", ChangePasswordForm(formdata=None))
    forms.setdefault("preferences_form", PreferencesForm(formdata=None, obj=current_user))
    forms.setdefault("new_secret", None)
    return render_template("auth/account.html", **forms), status


@bp.get("/account")
@login_required
def account():
    return _account()


@bp.post("/account/password")
@login_required
def change_password():
    form = ChangePasswordForm()
    if not form.validate_on_submit():
        return _account(422, password_form=form)
    who = {"email": current_user.email, "address": get_remote_address()}
    wait = throttle.attempt("login", **who)
    if wait:
        form.current_password.errors.append(
            f"Too many wrong passwords. Try again in {seconds_in_words(wait)}.")
        return _account(429, password_form=form)
    try:
        services.change_password(current_user, form.current_password.data,
                                 form.new_password.data)
    except DomainError as exc:
        if "current_password" not in (exc.errors or {}):
            throttle.refund("login", **who)  # only a wrong current password counts
        _form_errors(form, exc, "new_password")
        return _account(422, password_form=form)
    throttle.refund("login", **who)
    # this browser stays logged in, on the new generation
    start_session(current_user._get_current_object())
    flash("Password changed. Every other session of your account has ended.", "success")
    return redirect(url_for(".account"), 303)


@bp.post("/account/preferences")
@login_required
def preferences():
    form = PreferencesForm()
    if not form.validate_on_submit():
        return _account(422, preferences_form=form)
    try:
        services.update_preferences(current_user, timezone=form.timezone.data,
                                    csv_excel=form.csv_excel.data,
                                    csv_decimal_comma=form.csv_decimal_comma.data)
    except DomainError as exc:
        _form_errors(form, exc, "timezone")
        return _account(422, preferences_form=form)
    flash(f"Saved. Times are shown in {form.timezone.data}.", "success")
    return redirect(url_for(".account"), 303)


@bp.post("/account/tokens")
@login_required
def create_token():
    form = TokenForm()
    if not form.validate_on_submit():
        return _account(422, form=form)
    token, secret = services.create_token(current_user, form.name.data)
    # shown once, on this response only
    return _account(new_secret=secret, new_token=token)


@bp.post("/account/tokens/<int:token_id>/revoke")
@login_required
def revoke_token(token_id: int):
    services.revoke_token(current_user, token_id)
    flash("Token revoked.", "success")
    return redirect(url_for(".account"), 303)


@bp.route("/signup/finish/<secret>", methods=["GET", "POST"])
def finish_signup(secret: str):
    """The link of a sign-up e-mail: the password chosen at sign-up, again."""
    found = services.signup_request(secret)  # 404 page for a used or expired link
    form = FinishSignupForm()
    if form.validate_on_submit():
        who = {"email": found.email, "address": get_remote_address()}
        wait = throttle.attempt("login", **who)
        if wait:
            form.password.errors.append(
                f"Too many wrong passwords. Try again in {seconds_in_words(wait)}.")
            return render_template("auth/finish_signup.html", form=form,
                                   email=found.email), 429
        try:
            user = services.finish_signup(secret, form.password.data)
        except DomainError as exc:
            _form_errors(form, exc, "password")
        else:
            throttle.refund("login", **who)
            start_session(user)
            flash("Welcome! Your account is ready. Create your first order.", "success")
            return redirect(url_for("orders.new"), 303)
    return render_template("auth/finish_signup.html", form=form, email=found.email), \
        422 if form.errors else 200


@bp.post("/account/verify")
@login_required
def send_verification():
    services.send_verification(current_user)
    flash(f"We sent a link to {current_user.email}: open it to verify your address.",
          "success")
    return redirect(url_for(".account"), 303)


@bp.get("/account/verify/<token>")
@login_required
def verify_email(token: str):
    services.verify_email(current_user, token)
    flash(f"{current_user.email} is verified: reports can be e-mailed to it.", "success")
    return redirect(url_for(".account"), 303)
