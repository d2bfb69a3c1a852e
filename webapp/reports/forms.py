from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import DateField, RadioField, SelectChoice, StringField
from wtforms.validators import InputRequired, Length, Optional, ValidationError

from ..models import ReportFormat

FORMAT_CHOICES = [SelectChoice(f.value, f.value.upper()) for f in ReportFormat]


class SummaryReportForm(FlaskForm):
    date_from = DateField("From", validators=[InputRequired("Pick a start date.")])
    date_to = DateField("To", validators=[InputRequired("Pick an end date.")])
    customer = StringField("Customer (optional)", validators=[Optional(), Length(max=200)])
    format = RadioField("Format", choices=FORMAT_CHOICES, default="csv",
                        validators=[InputRequired("Pick a format.")])

    def validate_date_to(self, field):
        if self.date_from.data and field.data and field.data < self.date_from.data:
            raise ValidationError("Must be on or after the start date.")


class OrderReportForm(FlaskForm):
    format = RadioField("Format", choices=FORMAT_CHOICES,
                        validators=[InputRequired("Pick a format.")])
