"""E-mails that are not reports: sign-up links, address verification, a
recipient's confirmation request, "someone tried to sign up with your
address". Sent by the worker (`queue` publishes, `send` runs there), so no
request ever waits for a mail server; one sent for an account counts
against its hourly quota."""
from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from flask import current_app

from .. import quotas
from ..models import utcnow
from . import mail
from .messages import Mail

log = logging.getLogger(__name__)

TASK_NAME = "mail.send"


@dataclass(frozen=True)
class Sent:
    status: str  # sent | failed | quota | retry | no-mail
    wait: int = 0  # seconds before another try makes sense (quota, passing failure)


def queue(to: str, body: Mail, *, workspace_id: int | None = None) -> bool:
    """Publish one e-mail for the worker to send; False when the broker is down."""
    try:
        current_app.extensions["celery"].send_task(
            TASK_NAME, kwargs={"to": to, "subject": body.subject, "text": body.text,
                               "html": body.html, "workspace_id": workspace_id})
        return True
    except Exception as exc:
        log.warning("could not publish an e-mail to the worker (%s)", exc)
        return False


def send(to: str, body: Mail, *, workspace_id: int | None = None,
         headers: dict[str, str] | None = None, now: dt.datetime | None = None) -> Sent:
    config = current_app.config
    if not config["SMTP_URL"]:
        return Sent("no-mail")
    now = now or utcnow()
    if workspace_id is not None:
        wait = quotas.reserve_mail(workspace_id, now)
        if wait:
            return Sent("quota", wait)
    try:
        settings = mail.parse_smtp_url(config["SMTP_URL"])
    except mail.MailConfigError as exc:
        log.error("SMTP_URL is not usable: %s", exc)
        return Sent("failed")
    message = mail.build_message(sender=config["MAIL_FROM"], to=[to], subject=body.subject,
                                 text=body.text, html=body.html)
    for name, value in (headers or {}).items():
        message[name] = value
    result = mail.send(settings, message)
    if result.ok:
        return Sent("sent")
    log.warning("e-mail %r could not be sent: %s", body.subject, result.log_detail)
    return Sent("retry", 60) if result.transient else Sent("failed")
