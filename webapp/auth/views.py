"""Log in (with its two-factor step), sign up, log out, password reset, and
the account page: password, two-factor log-in, sessions, API tokens."""
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
from ..models import User
from ..security import local_path, start_session
from ..words import seconds_in_words
from . import reset, services, throttle, twofactor
from .current import actor
from .forms import (
    ChangePasswordForm,
    DisableTwoFactorForm,
    EnableTwoFactorForm,
    FinishSignupForm,
    ForgotPasswordForm,
    LoginForm,
    PreferencesForm,
    ResetPasswordForm,
    SignupForm,
    TokenForm,
    TwoFactorForm,
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
                return _password_passed(user, _next_url())
            form.password.errors.append("Wrong e-mail or password.")
    return render_template("auth/login.html", form=form, next=_next_url()), \
        status if status != 200 else (422 if form.errors else 200)


# --- the second step of a log-in ------------------------------------------------------

PENDING = "two_factor"  # session key: a log-in waiting for its code (not logged in yet)


def _password_passed(user: User, next_url: str, message: str | None = None):
    """The password (or a reset link) was right: ask for the code when
    two-factor log-in is on, else log in on this browser."""
    if user.two_factor:
        session.clear()  # nothing of an earlier session carries over
        session[PENDING] = twofactor.pending_state(user, next_url)
        if message:
            flash(message, "success")
        return redirect(url_for(".two_factor"), 303)
    start_session(user)
    if twofactor.required_for(user):
        flash("This workspace requires two-factor log-in: set it up now.", "info")
        return redirect(url_for(".two_factor_setup"), 303)
    if message:
        flash(message, "success")
    return redirect(next_url, 303)


@bp.route("/login/two-factor", methods=["GET", "POST"])
def two_factor():
    state = session.get(PENDING)
    user = twofactor.pending_user(state)
    if user is None:
        if session.pop(PENDING, None) is not None:
            flash(f"The log-in waited more than {twofactor.PENDING_SECONDS // 60} minutes "
                  "for its code, or was ended elsewhere. Log in again.", "info")
        return redirect(url_for(".login"), 303)
    form = TwoFactorForm()
    status = 200
    if form.validate_on_submit():
        who = {"email": user.email, "address": get_remote_address()}
        wait = throttle.attempt("login", **who)
        if wait:
            form.code.errors.append(f"Too many wrong codes or passwords for this account or "
                                    f"from your network. Try again in {seconds_in_words(wait)}.")
            status = 429
        else:
            try:
                used = twofactor.check_code(user, form.code.data)
            except DomainError as exc:
                _form_errors(form, exc, "code")
            else:
                throttle.refund("login", **who)
                start_session(user)
                if used == "recovery":
                    left = twofactor.recovery_codes_left(user)
                    flash(f"You logged in with a recovery code, which is now used up; {left} "
                          "left. Make new ones on your account page.", "info")
                return redirect(local_path(state.get("next"), url_for("dashboard.index")), 303)
    return render_template("auth/two_factor.html", form=form), \
        status if status != 200 else (422 if form.errors else 200)


# --- password reset ----------------------------------------------------------------

@bp.route("/password/forgot", methods=["GET", "POST"])
def forgot_password():
    if not reset.mail_enabled():
        return render_template("auth/forgot_password.html", form=None)
    form = ForgotPasswordForm()
    status = 200
    if form.validate_on_submit():
        wait = throttle.attempt("reset", email=form.email.data, address=get_remote_address())
        if wait:
            form.email.errors.append("Too many reset requests for this address or from your "
                                     f"network. Try again in {seconds_in_words(wait)}.")
            status = 429
        else:
            try:
                # the same answer for an unknown address as for an account's
                email = reset.request_reset(form.email.data)
            except DomainError as exc:
                _form_errors(form, exc, "email")
            else:
                return render_template("auth/reset_sent.html", email=email)
    return render_template("auth/forgot_password.html", form=form), \
        status if status != 200 else (422 if form.errors else 200)


def _bad_reset_link(exc: reset.BadResetLink):
    return render_template("auth/reset_link_bad.html", message=exc.message), exc.status_code


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
def reset_password(token: str):
    try:
        user = reset.user_for_link(token)
    except reset.BadResetLink as exc:
        return _bad_reset_link(exc)
    form = ResetPasswordForm()
    if form.validate_on_submit():
        try:
            user = reset.reset_password(token, form.password.data)
        except reset.BadResetLink as exc:
            return _bad_reset_link(exc)
        except DomainError as exc:
            _form_errors(form, exc, "password")
        else:
            return _password_passed(
                user, url_for("orders.index"),
                "Your password is changed and every other session of your account has ended."
                + (" Enter a code from your authenticator app to log in."
                   if user.two_factor else ""))
    return render_template("auth/reset_password.html", form=form, email=user.email), \
        422 if form.errors else 200


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
    forms.setdefault("recovery_form", TwoFactorForm(formdata=None, prefix="recovery"))
    forms.setdefault("off_form", DisableTwoFactorForm(formdata=None, prefix="off"))
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
    try:
        token, secret = services.create_token(actor(), form.name.data, form.scope.data)
    except DomainError as exc:
        if exc.status_code != 403:
            raise
        form.scope.errors.append(exc.message)
        return _account(403, form=form)
    # shown once, on this response only
    return _account(new_secret=secret, new_token=token)


@bp.post("/account/tokens/<int:token_id>/revoke")
@login_required
def revoke_token(token_id: int):
    services.revoke_token(actor(), token_id)
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


# --- two-factor log-in on the account page ------------------------------------------

def _throttled(form, field: str) -> tuple[dict, bool]:
    """Count a password or code check of the logged-in account as a log-in
    attempt; (who, refused) with the wait written on `field` when refused."""
    who = {"email": current_user.email, "address": get_remote_address()}
    wait = throttle.attempt("login", **who)
    if wait:
        getattr(form, field).errors.append(
            f"Too many wrong codes or passwords. Try again in {seconds_in_words(wait)}.")
    return who, bool(wait)


def _enrolment(form, status: int = 200):
    user = current_user._get_current_object()
    secret = twofactor.pending_secret(user)
    uri = twofactor.provisioning_uri(user, secret)
    return render_template("auth/two_factor_setup.html", form=form, secret=secret,
                           qr=twofactor.qr_svg(uri)), status


@bp.post("/account/two-factor/setup")
@login_required
def two_factor_begin():
    if not current_user.two_factor:
        twofactor.begin(current_user._get_current_object())  # a fresh secret each time
    return redirect(url_for(".two_factor_setup"), 303)


@bp.route("/account/two-factor", methods=["GET", "POST"])
@login_required
def two_factor_setup():
    if current_user.two_factor:
        flash("Two-factor log-in is on already.", "info")
        return redirect(url_for(".account"), 303)
    form = EnableTwoFactorForm()
    if not form.validate_on_submit():
        return _enrolment(form, 422 if form.errors else 200)
    who, refused = _throttled(form, "code")
    if refused:
        return _enrolment(form, 429)
    try:
        codes = twofactor.confirm(current_user._get_current_object(), form.password.data,
                                  form.code.data)
    except DomainError as exc:
        _form_errors(form, exc, "code")
        return _enrolment(form, 422)
    throttle.refund("login", **who)
    return render_template("auth/recovery_codes.html", codes=codes, enabled=True)


@bp.post("/account/two-factor/recovery-codes")
@login_required
def recovery_codes():
    form = TwoFactorForm(prefix="recovery")
    if not form.validate_on_submit():
        return _account(422, recovery_form=form)
    who, refused = _throttled(form, "code")
    if refused:
        return _account(429, recovery_form=form)
    try:
        codes = twofactor.regenerate(current_user._get_current_object(), form.code.data)
    except DomainError as exc:
        _form_errors(form, exc, "code")
        return _account(exc.status_code if exc.status_code != 400 else 422,
                        recovery_form=form)
    throttle.refund("login", **who)
    return render_template("auth/recovery_codes.html", codes=codes, enabled=False)


@bp.post("/account/two-factor/off")
@login_required
def two_factor_off():
    form = DisableTwoFactorForm(prefix="off")
    if not form.validate_on_submit():
        return _account(422, off_form=form)
    who, refused = _throttled(form, "password")
    if refused:
        return _account(429, off_form=form)
    try:
        twofactor.disable(current_user._get_current_object(), form.password.data,
                          form.code.data)
    except DomainError as exc:
        _form_errors(form, exc, "code")
        return _account(exc.status_code if exc.status_code != 400 else 422, off_form=form)
    throttle.refund("login", **who)
    flash("Two-factor log-in is off: your password alone logs you in.", "success")
    return redirect(url_for(".account"), 303)
