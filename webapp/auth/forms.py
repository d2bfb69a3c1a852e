from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import EqualTo, InputRequired, Length

from .services import MAX_PASSWORD, MIN_PASSWORD


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


class TokenForm(FlaskForm):
    name = StringField("Token name", validators=[Length(max=100)])


class ChangePasswordForm(FlaskForm):
    current_password = PasswordField("Current password", validators=[
        InputRequired("Enter your current password."), Length(max=MAX_PASSWORD)])
    new_password = PasswordField("New password", validators=[
        InputRequired("Choose a new password."),
        Length(min=MIN_PASSWORD, message=f"Use at least {MIN_PASSWORD} characters."),
        Length(max=MAX_PASSWORD, message=f"Use at most {MAX_PASSWORD} characters.")])
    confirm = PasswordField("Repeat new password", validators=[
        EqualTo("new_password", message="The passwords differ.")])
