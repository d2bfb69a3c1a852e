"""E-mails that are not reports (webapp/delivery/outbox.py) and the one
confirmation request of a schedule's recipient (webapp/delivery/consent.py),
sent by the worker. A quota that is full or a mail server that is down for
a while makes the task try again later; it never loses the mail silently."""
from __future__ import annotations

from celery import shared_task

from webapp.delivery import consent, outbox
from webapp.delivery.messages import Mail

MAX_RETRIES = 24  # a quota frees within the hour; a failing server gets ~a day


@shared_task(name=outbox.TASK_NAME, bind=True, ignore_result=True, max_retries=MAX_RETRIES)
def send_mail_task(self, to: str, subject: str, text: str, html: str | None = None,
                   workspace_id: int | None = None, owner_id: int | None = None) -> str:
    # owner_id: a message queued before workspaces (the same number, migration 0012)
    sent = outbox.send(to, Mail(subject, text, html), workspace_id=workspace_id or owner_id)
    if sent.wait:
        raise self.retry(countdown=sent.wait)
    return sent.status


@shared_task(name=consent.ASK_TASK, bind=True, ignore_result=True, max_retries=MAX_RETRIES)
def ask_task(self, recipient_id: int) -> str:
    status, wait = consent.ask(recipient_id)
    if wait:
        raise self.retry(countdown=wait)
    return status
