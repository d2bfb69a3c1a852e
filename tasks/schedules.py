"""Scheduled reports in the worker: the beat's tick (due schedules become
runs; deliveries nobody sent are published) and sending one delivery.
The rules live in webapp/schedules/runs.py and webapp/delivery/services.py."""
from __future__ import annotations

import logging

from celery import shared_task

from webapp import quotas
from webapp.delivery import services as delivery
from webapp.extensions import db
from webapp.models import utcnow
from webapp.schedules import runs

log = logging.getLogger(__name__)


@shared_task(name="schedules.tick", ignore_result=True)
def tick_task() -> dict[str, int]:
    counts = runs.tick()
    counts["deliveries"] = delivery.publish_due()
    with db.engine.begin() as conn:  # e-mails older than the quota's hour count for nothing
        quotas.forget_old_sends(conn, utcnow())
    if counts["runs"] or counts["deliveries"]:
        log.info("schedule tick: %s", counts)
    return counts


@shared_task(name=delivery.TASK_NAME, ignore_result=True)
def send_task(delivery_id: int) -> str:
    return delivery.send(delivery_id)
