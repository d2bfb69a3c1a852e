from __future__ import annotations

import datetime as dt

from flask_wtf import FlaskForm
from wtforms import DateField, RadioField, SelectChoice, StringField
from wtforms.validators import InputRequired, Length, Optional, ValidationError

from ..models import ReportFormat
from ..orders.validation import parse_name

FORMAT_CHOICES = [SelectChoice(f.value, f.value.upper()) for f in ReportFormat]


def _first_of_month() -> dt.date:
    return dt.datetime.now(dt.UTC).date().replace(day=1)


def _today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


class SummaryReportForm(FlaskForm):
    # defaults: this month so far, the most common question
    date_from = DateField("From", default=_first_of_month,
                          validators=[InputRequired("Pick a start date.")])
    date_to = DateField("To", default=_today, validators=[InputRequired("Pick an end date.")])
    customer = StringField("Customer (optional)", validators=[Optional(), Length(max=200)])

    def validate_customer(self, field):
        if field.data and field.data.strip():
            try:
                field.data = parse_name(field.data, "Customer")
            except ValueError as exc:
                raise ValidationError(str(exc)) from None
    format = RadioField("Format", choices=FORMAT_CHOICES, default="csv",
                        validators=[InputRequired("Pick a format.")])

    def validate_date_to(self, field):
        if self.date_from.data and field.data and field.data < self.date_from.data:
            raise ValidationError("Must be on or after the start date.")


class OrderReportForm(FlaskForm):
    format = RadioField("Format", choices=FORMAT_CHOICES,
                        validators=[InputRequired("Pick a format.")])
