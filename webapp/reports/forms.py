from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from flask_wtf import FlaskForm
from werkzeug.datastructures import MultiDict
from wtforms import BooleanField, DateField, RadioField, SelectChoice, StringField
from wtforms.validators import InputRequired, Length, Optional, ValidationError

from ..models import ReportFormat
from ..orders.validation import parse_name
from .params import summary_span_error
from .presets import known, preset_range, user_today

FORMAT_CHOICES = [SelectChoice(f.value, f.value.upper()) for f in ReportFormat]

# The summary form's fields, also the query string of /reports/ that fills it in
SUMMARY_FIELDS = ("date_from", "date_to", "customer", "format")


def _first_of_month() -> dt.date:
    return preset_range("this_month", user_today())[0]


class SummaryReportForm(FlaskForm):
    # defaults: this month so far, the most common question
    date_from = DateField("From", default=_first_of_month,
                          validators=[InputRequired("Pick a start date.")])
    date_to = DateField("To", default=user_today, validators=[InputRequired("Pick an end date.")])
    customer = StringField("Customer (optional)", validators=[Optional(), Length(max=200)])
    format = RadioField("Format", choices=FORMAT_CHOICES, default="csv",
                        validators=[InputRequired("Pick a format.")])
    notify_email = BooleanField("E-mail me when it's ready")

    def validate_customer(self, field):
        if field.data and field.data.strip():
            try:
                field.data = parse_name(field.data, "Customer")
            except ValueError as exc:
                raise ValidationError(str(exc)) from None

    def validate_date_from(self, field):
        # the summary's own rule (ReportParams.summary), shown on the field it names
        if field.data and self.date_to.data:
            too_long = summary_span_error(field.data, self.date_to.data)
            if too_long:
                raise ValidationError(too_long)

    def validate_date_to(self, field):
        if self.date_from.data and field.data and field.data < self.date_from.data:
            raise ValidationError("Must be on or after the start date.")

    def query(self) -> dict[str, str]:
        """What the form holds, as the query string that fills it in again
        (the page a request redirects to keeps the user's choices)."""
        values = {"date_from": self.date_from.data.isoformat() if self.date_from.data else None,
                  "date_to": self.date_to.data.isoformat() if self.date_to.data else None,
                  "customer": (self.customer.data or "").strip() or None,
                  "format": self.format.data}
        return {k: v for k, v in values.items() if v}


def summary_form_from_query(args: Mapping[str, str],
                            today: dt.date | None = None) -> SummaryReportForm:
    """The summary form filled in from a GET query string: its own fields, and a
    `preset` (e.g. last_month) that sets both dates (it wins over dates sent
    with it). A field that is absent keeps its default (this month, CSV)."""
    data = MultiDict((name, args[name]) for name in SUMMARY_FIELDS if args.get(name) is not None)
    preset = known(args.get("preset"))
    if preset:
        start, end = preset_range(preset, today or user_today())
        data["date_from"], data["date_to"] = start.isoformat(), end.isoformat()
    return SummaryReportForm(formdata=data or None)


class OrderReportForm(FlaskForm):
    format = RadioField("Format", choices=FORMAT_CHOICES,
                        validators=[InputRequired("Pick a format.")])
    notify_email = BooleanField("E-mail me when it's ready")
