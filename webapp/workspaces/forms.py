from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField, SelectField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length

from ..auth.forms import ZoneField
from ..enums import Role
from ..models import DOCUMENT_TITLES

ROLE_CHOICES = [(r.value, r.label) for r in Role]


class InviteForm(FlaskForm):
    email = StringField("E-mail", validators=[InputRequired("Enter an e-mail address."),
                                              Length(max=254)])
    role = SelectField("Role", choices=ROLE_CHOICES[1:], default=Role.MEMBER.value)


class RoleForm(FlaskForm):
    role = SelectField("Role", choices=ROLE_CHOICES)


class NewWorkspaceForm(FlaskForm):
    name = StringField("Name", validators=[InputRequired("Give it a name."), Length(max=100)])


class SettingsForm(FlaskForm):
    name = StringField("Name", validators=[InputRequired("Give it a name."), Length(max=100)])
    currency = StringField("Currency", validators=[InputRequired("Give a currency code."),
                                                   Length(max=3)])
    default_timezone = ZoneField("Time zone for new members")
    legal_name = StringField("Legal name", validators=[Length(max=200)])
    address = TextAreaField("Address", validators=[Length(max=1000)])
    tax_id = StringField("Tax id", validators=[Length(max=50)])
    require_two_factor = BooleanField("Require two-factor log-in for every member")
    order_prefix = StringField("Order number prefix", validators=[Length(max=20)])
    prices_include_tax = BooleanField("Prices are entered with tax included (gross)")
    document_title = SelectField("Title of the one-order PDF",
                                 choices=[(t, t) for t in DOCUMENT_TITLES])


class LogoForm(FlaskForm):
    logo = FileField("Logo (PNG or JPEG, at most 1 MB)")


class DeleteForm(FlaskForm):
    confirm_name = StringField("Type the workspace's name to confirm",
                               validators=[InputRequired("Type the name to confirm.")])
