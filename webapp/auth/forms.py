from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import EqualTo, InputRequired, Length


class LoginForm(FlaskForm):
    email = StringField("E-mail", validators=[InputRequired("Enter your e-mail."),
                                              Length(max=254)])
    password = PasswordField("Password", validators=[InputRequired("Enter your password.")])


class SignupForm(FlaskForm):
    email = StringField("E-mail", validators=[InputRequired("Enter your e-mail."),
                                              Length(max=254)])
    password = PasswordField("Password", validators=[
        InputRequired("Choose a password."), Length(min=10, message="Use at least 10 characters.")])
    confirm = PasswordField("Repeat password", validators=[
        EqualTo("password", message="The passwords differ.")])


class TokenForm(FlaskForm):
    name = StringField("Token name", validators=[Length(max=100)])
