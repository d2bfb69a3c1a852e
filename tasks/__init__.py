"""The Celery app, bound to the Flask app so tasks run inside an app context."""
from __future__ import annotations

from celery import Celery, Task
from flask import Flask

from tasks.settings import celery_settings


def celery_init_app(app: Flask, broker_url: str) -> Celery:
    """The Celery app for `app`, on `broker_url` (chosen once by the caller: see
    webapp.config.broker_for); the app's ``CELERY`` dict overrides any setting."""
    class FlaskTask(Task):
        def __call__(self, *args, **kwargs):
            with app.app_context():
                return self.run(*args, **kwargs)

    settings = {**celery_settings(app.config, broker_url), **app.config.get("CELERY", {})}
    celery_app = Celery(app.name, task_cls=FlaskTask)
    celery_app.config_from_object(settings)
    celery_app.conf.include = ["tasks.reports", "tasks.sweeper", "tasks.schedules", "tasks.mail"]
    celery_app.set_default()
    app.extensions["celery"] = celery_app
    return celery_app
