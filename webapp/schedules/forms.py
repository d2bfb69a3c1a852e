"""The schedule form: what to report, when in plain choices (or a cron for
those who know it), and where it goes. Field names map to the service's
error keys in FIELD_OF."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    IntegerField,
    RadioField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import Length, Optional

from ..auth.forms import ZoneField
from ..models import ReportFormat, ReportKind
from .cron import simple_choice
from .ranges import RANGES

FORMAT_CHOICES = [SelectChoice(f.value, f.value.upper()) for f in ReportFormat]
WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
FREQUENCIES = [("daily", "Every day"), ("weekdays", "Every weekday (Mon–Fri)"),
               ("weekly", "Every week"), ("monthly", "Every month"),
               ("custom", "Custom (cron)")]
DAYS = [(str(d), str(d)) for d in range(1, 29)] + [("last", "Last day")]

# the service's error keys → this form's fields
FIELD_OF = {"name": "name", "report.kind": "kind", "report.range": "range",
            "report.customer": "customer", "report.order_id": "order_id", "cron": "cron",
            "timezone": "timezone", "email": "emails", "webhook_url": "webhook_url"}


class ScheduleForm(FlaskForm):
    name = StringField("Name", validators=[Length(max=200)])
    kind = RadioField("Report", choices=[
        SelectChoice(ReportKind.SUMMARY.value, "Summary of completed orders"),
        SelectChoice(ReportKind.ORDER.value, "One order")],
                      default=ReportKind.SUMMARY.value)
    range = SelectField("Dates", choices=[SelectChoice(*r) for r in RANGES],
                        default="last_7_days")
    customer = StringField("Customer (optional)", validators=[Optional(), Length(max=200)])
    order_id = IntegerField("Order number", validators=[Optional()])
    format = RadioField("Format", choices=FORMAT_CHOICES, default="pdf")
    frequency = SelectField("Repeat", choices=[SelectChoice(*f) for f in FREQUENCIES],
                            default="weekly")
    time = StringField("At", default="07:00")
    weekday = SelectField("On", choices=[SelectChoice(n, d) for n, d in enumerate(WEEKDAYS)],
                          coerce=int, default=0)
    day = SelectField("On day", choices=[SelectChoice(*d) for d in DAYS], default="1")
    cron = StringField("Cron", validators=[Length(max=100)])
    timezone = ZoneField()
    emails = TextAreaField("E-mail to (optional)",
                           description="One address per line, or separated by commas.")
    webhook_url = StringField("Webhook URL (optional)", validators=[Length(max=2000)])

    def fill_timing(self, cron: str) -> None:
        """Pre-fill the plain choices from a stored cron (else "custom")."""
        choice = simple_choice(cron)
        self.cron.data = cron
        if choice is None:
            self.frequency.data = "custom"
            return
        self.frequency.data = choice["frequency"]
        self.time.data = choice["time"]
        if choice.get("weekday") is not None:
            self.weekday.data = choice["weekday"]
        if choice.get("day") is not None:
            self.day.data = choice["day"]

    def addresses(self) -> list[str]:
        text = (self.emails.data or "").replace(";", ",").replace("\n", ",")
        return [part.strip() for part in text.split(",") if part.strip()]
