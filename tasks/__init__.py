"""The Celery app, bound to the Flask app so tasks run inside an app context."""
from __future__ import annotations

from celery import Celery, Task
from flask import Flask


def celery_init_app(app: Flask) -> Celery:
    from tasks.settings import celery_settings

    class FlaskTask(Task):
        def __call__(self, *args, **kwargs):
            with app.app_context():
                return self.run(*args, **kwargs)

    app.config["CELERY"] = {**celery_settings(app.config), **app.config.get("CELERY", {})}
    celery_app = Celery(app.name, task_cls=FlaskTask)
    celery_app.config_from_object(app.config["CELERY"])
    celery_app.conf.include = ["tasks.reports", "tasks.sweeper"]
    celery_app.set_default()
    app.extensions["celery"] = celery_app
    return celery_app
