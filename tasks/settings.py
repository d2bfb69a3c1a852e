"""Celery settings chosen for report jobs (the job row is the truth, not a
result backend), for the broker the caller chose."""
from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path


def celery_settings(app_config: Mapping, url: str) -> dict:
    """Settings for the app with this (read-only) config, on broker `url`."""
    soft, hard = app_config["REPORT_SOFT_TIME_LIMIT"], app_config["REPORT_HARD_TIME_LIMIT"]
    settings = {
        "broker_url": url,
        "task_ignore_result": True,
        # A message is acknowledged only after the task ran, and handed back
        # if the process running it dies; the job row decides what happens then.
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 1,
        # 0 turns the soft limit off (then only the hard limit, a SIGKILL, applies)
        "task_soft_time_limit": soft or None,
        "task_time_limit": max(hard, soft + 1),
        "worker_max_memory_per_child": app_config["WORKER_MAX_MEMORY_MB"] * 1024,
        "broker_connection_retry_on_startup": True,
        "broker_connection_max_retries": None,
        "task_default_queue": app_config.get("REPORTS_QUEUE", "reports"),
        # A request must never hang on a dead broker: give up publishing quickly;
        # the job stays PENDING and the sweeper sends it again later.
        "task_publish_retry_policy": {
            "max_retries": 2, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.3,
        },
        "broker_connection_timeout": 1,
        "beat_schedule": {
            "sweep-report-jobs": {"task": "reports.sweep",
                                  "schedule": float(app_config["SWEEP_INTERVAL"])},
            # due schedules become runs; deliveries whose report is final go out
            "schedule-tick": {"task": "schedules.tick",
                              "schedule": float(app_config["SCHEDULE_TICK_SECONDS"])},
        },
        "beat_schedule_filename": str(
            Path(app_config["BROKER_DIR"]).parent / "celerybeat-schedule"),
    }
    if url.startswith("filesystem://"):
        folder = Path(app_config["BROKER_DIR"])
        # messages carry report and e-mail details and kombu writes them 0644:
        # the folder itself is private
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        folder.chmod(0o700)
        for sub in ("queue", "processed", "control"):
            (folder / sub).mkdir(mode=0o700, exist_ok=True)
        settings["broker_transport_options"] = {
            "data_folder_in": str(folder / "queue"),
            "data_folder_out": str(folder / "queue"),
            "processed_folder": str(folder / "processed"),
            "control_folder": str(folder / "control"),
            "store_processed": False,
        }
    elif url.startswith(("redis://", "rediss://")):
        settings["broker_transport_options"] = {
            # Above the hard time limit, so a running task is not handed out twice;
            # lost work comes back sooner through the sweeper (job leases).
            "visibility_timeout": max(hard, soft) + 5 * 60,
            "socket_connect_timeout": 1,
            "socket_timeout": 5,
        }
    return settings
