from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, SelectField, StringField
from wtforms.fields.choices import Choice
from wtforms.validators import EqualTo, InputRequired, Length, ValidationError

from .. import timezones
from .services import MAX_PASSWORD, MIN_PASSWORD


class ZoneField(SelectField):
    """An IANA zone from a list of the canonical names; any zone this machine
    knows is accepted (an alias such as "US/Eastern" sent by a script too)."""

    def __init__(self, label="Time zone", **kwargs):
        super().__init__(label, choices=[], default=timezones.UTC, validate_choice=False,
                         **kwargs)

    def iter_choices(self):
        # the list is built once per process; a kept alias is offered as well
        names = timezones.choices()
        if self.data and self.data not in names:
            names = [self.data, *names]
        for name in names:
            yield Choice(name, name.replace("_", " "), name == self.data, {})

    def pre_validate(self, form):
        if not timezones.is_zone(self.data):
            raise ValidationError("Pick a time zone from the list.")


class LoginForm(FlaskForm):
    email = StringField("E-mail", validators=[InputRequired("Enter your e-mail."),
                                              Length(max=254)])
    password = PasswordField("Password", validators=[InputRequired("Enter your password."),
                                                     Length(max=MAX_PASSWORD)])


class SignupForm(FlaskForm):
    email = StringField("E-mail", validators=[InputRequired("Enter your e-mail."),
                                              Length(max=254)])
    password = PasswordField("Password", validators=[
        InputRequired("Choose a password."),
        Length(min=MIN_PASSWORD, message=f"Use at least {MIN_PASSWORD} characters."),
        Length(max=MAX_PASSWORD, message=f"Use at most {MAX_PASSWORD} characters.")])
    confirm = PasswordField("Repeat password", validators=[
        EqualTo("password", message="The passwords differ.")])
    # preselected with the browser's own zone by static/js/timezone.js
    timezone = ZoneField()


class FinishSignupForm(FlaskForm):
    password = PasswordField("Password", validators=[
        InputRequired("Enter the password you chose when signing up."),
        Length(max=MAX_PASSWORD)])


class PreferencesForm(FlaskForm):
    timezone = ZoneField()
    csv_excel = BooleanField("CSV for Excel")
    csv_decimal_comma = BooleanField("My Excel uses a decimal comma")


class TokenForm(FlaskForm):
    name = StringField("Token name", validators=[Length(max=100)])
    scope = SelectField("Scope", choices=[("read", "read: look and download"),
                                          ("write", "write: what your role may")],
                        default="read")


class ChangePasswordForm(FlaskForm):
    current_password = PasswordField("Current password", validators=[
        InputRequired("Enter your current password."), Length(max=MAX_PASSWORD)])
    new_password = PasswordField("New password", validators=[
        InputRequired("Choose a new password."),
        Length(min=MIN_PASSWORD, message=f"Use at least {MIN_PASSWORD} characters."),
        Length(max=MAX_PASSWORD, message=f"Use at most {MAX_PASSWORD} characters.")])
    confirm = PasswordField("Repeat new password", validators=[
        EqualTo("new_password", message="The passwords differ.")])


class ForgotPasswordForm(FlaskForm):
    email = StringField("E-mail", validators=[InputRequired("Enter your e-mail."),
                                              Length(max=254)])


class ResetPasswordForm(FlaskForm):
    password = PasswordField("New password", validators=[
        InputRequired("Choose a new password."),
        Length(min=MIN_PASSWORD, message=f"Use at least {MIN_PASSWORD} characters."),
        Length(max=MAX_PASSWORD, message=f"Use at most {MAX_PASSWORD} characters.")])
    confirm = PasswordField("Repeat new password", validators=[
        EqualTo("password", message="The passwords differ.")])


# a 6-digit code or a recovery code ("abcd-efgh-jk"), with room for spaces
_CODE = [InputRequired("Enter the code."), Length(max=32, message="That is not a code.")]


class TwoFactorForm(FlaskForm):
    """The log-in's second step, and "New recovery codes" (prefix "recovery")."""

    code = StringField("Code", validators=_CODE)


class EnableTwoFactorForm(FlaskForm):
    password = PasswordField("Your password", validators=[
        InputRequired("Enter your password."), Length(max=MAX_PASSWORD)])
    code = StringField("Code from the app", validators=_CODE)


class DisableTwoFactorForm(FlaskForm):
    password = PasswordField("Your password", validators=[
        InputRequired("Enter your password."), Length(max=MAX_PASSWORD)])
    code = StringField("Code or recovery code", validators=_CODE)
