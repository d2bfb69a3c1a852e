"""Configuration: safe defaults for a bare laptop, overridden by instance/config.py
and then by environment variables (``DATABASE_URL``, ``CELERY_BROKER_URL``/``REDIS_URL``,
``REPORTS_DIR``, ``CURRENCY``, ``SECRET_KEY``, or any ``FLASK_<NAME>``)."""
from __future__ import annotations

import os
import socket
from collections.abc import Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
INSTANCE_DIR = ROOT / "instance"


def _normalise_db_url(url: str) -> str:
    # Heroku-style URLs and bare postgresql:// would pick psycopg2; we ship psycopg 3.
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def redis_answers(host: str = "127.0.0.1", port: int = 6379, timeout: float = 0.3) -> bool:
    """True when something speaks Redis on host:port (a PING gets +PONG)."""
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.settimeout(timeout)
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def choose_broker(env: Mapping[str, str] = os.environ) -> tuple[str, str]:
    """Return (broker_url, human description) following the documented order:
    CELERY_BROKER_URL, REDIS_URL, a local Redis that answers, else the embedded broker."""
    for name in ("CELERY_BROKER_URL", "REDIS_URL"):
        if env.get(name):
            return env[name], f"{name}"
    if redis_answers():
        return "redis://127.0.0.1:6379/0", "Redis found on localhost:6379"
    return "filesystem://", "embedded filesystem broker (one machine only)"


def broker_for(config: Mapping) -> tuple[str, str]:
    """(broker_url, why) for an app with this config, chosen once by create_app and
    handed to the Celery setup: a broker set in the app's config (``CELERY``'s
    ``broker_url``, else ``CELERY_BROKER_URL``) wins, else choose_broker()."""
    configured = (config.get("CELERY") or {}).get("broker_url") or config.get("CELERY_BROKER_URL")
    if configured:
        return configured, "configured"
    return choose_broker(os.environ)


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "")
    return int(value) if value.strip().isdigit() else default


class Config:
    # None: create_app uses instance/secret_key, made once at random (see
    # security.ensure_secret_key). Older keys still open existing sessions.
    SECRET_KEY = os.environ.get("SECRET_KEY") or None
    SECRET_KEY_FALLBACKS = [k.strip() for k in os.environ.get("SECRET_KEY_FALLBACKS", "")
                            .split(",") if k.strip()]
    # Sessions end after this long without a request, and this long after log-in.
    SESSION_IDLE_MINUTES = _env_int("SESSION_IDLE_MINUTES", 120)
    SESSION_MAX_HOURS = _env_int("SESSION_MAX_HOURS", 24)
    # How many proxies in front of the app may set X-Forwarded-For/-Proto/-Host
    # (0: trust none; 1: one TLS-terminating proxy such as nginx)
    TRUSTED_PROXIES = _env_int("TRUSTED_PROXIES", 0)
    # Failed log-ins per account and per client address; sign-ups per network
    # (IPv4 /24, IPv6 /64) and per e-mail address; order writes per user
    # (create, edit, status, delete; pages and API)
    LOGIN_RATE_LIMIT_ACCOUNT = os.environ.get("LOGIN_RATE_LIMIT_ACCOUNT", "10 per 15 minutes")
    LOGIN_RATE_LIMIT_ADDRESS = os.environ.get("LOGIN_RATE_LIMIT_ADDRESS", "30 per 15 minutes")
    SIGNUP_RATE_LIMIT = os.environ.get("SIGNUP_RATE_LIMIT", "10 per hour")
    SIGNUP_RATE_LIMIT_EMAIL = os.environ.get("SIGNUP_RATE_LIMIT_EMAIL", "3 per hour")
    # Password-reset e-mails asked for, per e-mail address and per network
    # (every request counts: known and unknown addresses alike)
    RESET_RATE_LIMIT_EMAIL = os.environ.get("RESET_RATE_LIMIT_EMAIL", "3 per hour")
    RESET_RATE_LIMIT_ADDRESS = os.environ.get("RESET_RATE_LIMIT_ADDRESS", "10 per hour")
    ORDER_WRITE_RATE_LIMIT = os.environ.get("ORDER_WRITE_RATE_LIMIT", "120 per minute")
    SQLALCHEMY_DATABASE_URI = _normalise_db_url(
        os.environ.get("DATABASE_URL", f"sqlite:///{INSTANCE_DIR / 'orders.sqlite3'}")
    )
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
    REPORTS_DIR = os.environ.get("REPORTS_DIR", str(ROOT / "reports"))
    # where finished files live (webapp/storage.py): "" = REPORTS_DIR, or
    # s3://bucket/prefix (REPORTS_DIR is then each worker's scratch folder)
    REPORTS_STORAGE = os.environ.get("REPORTS_STORAGE", "")
    S3_ENDPOINT_URL = os.environ.get("S3_ENDPOINT_URL") or None
    REPORTS_S3_DOWNLOAD = os.environ.get("REPORTS_S3_DOWNLOAD", "redirect")  # or "proxy"
    REPORTS_S3_URL_SECONDS = _env_int("REPORTS_S3_URL_SECONDS", 60)
    BROKER_DIR = os.environ.get("BROKER_DIR", str(INSTANCE_DIR / "broker"))
    CURRENCY = os.environ.get("CURRENCY", "USD")
    REPORTS_QUEUE = os.environ.get("REPORTS_QUEUE", "reports")
    ORDERS_PER_PAGE = 20
    REPORTS_PER_PAGE = 20
    MAX_CONTENT_LENGTH = 2 * 1024 * 1024
    # How often the status badge polls while a job is not final.
    STATUS_POLL_SECONDS = 2
    # The page's one poller checks first after this many ms, then backs off
    # (doubling) up to STATUS_POLL_SECONDS; one request covers at most
    # STATUS_POLL_MAX_JOBS jobs (more ids in a request are ignored).
    STATUS_POLL_FIRST_MS = 500
    STATUS_POLL_MAX_JOBS = 50
    WTF_CSRF_TIME_LIMIT = None  # a page left open all day still submits
    # Job lifecycle (seconds unless named otherwise)
    REPORT_MAX_ATTEMPTS = _env_int("REPORT_MAX_ATTEMPTS", 3)
    REPORT_SOFT_TIME_LIMIT = _env_int("REPORT_SOFT_TIME_LIMIT", 30 * 60)
    REPORT_HARD_TIME_LIMIT = _env_int("REPORT_HARD_TIME_LIMIT", 35 * 60)
    # A running job renews its lease every LEASE/6 s; one not renewed for LEASE s
    # is taken to be dead and is re-queued (or failed) by the sweeper.
    REPORT_LEASE_SECONDS = _env_int("REPORT_LEASE_SECONDS", 60)
    REPORT_TTL_DAYS = _env_int("REPORT_TTL_DAYS", 7)
    # A PDF past this many line items is thousands of pages nobody reads and
    # minutes of work: such summaries are offered as CSV instead.
    REPORT_PDF_MAX_ROWS = _env_int("REPORT_PDF_MAX_ROWS", 250_000)
    # The sweeper re-sends PENDING jobs not picked up for this long.
    SWEEP_PENDING_AFTER = _env_int("SWEEP_PENDING_AFTER", 60)
    SWEEP_INTERVAL = _env_int("SWEEP_INTERVAL", 30)
    WORKER_BEAT_SECONDS = _env_int("WORKER_BEAT_SECONDS", 10)
    WORKER_MAX_MEMORY_MB = _env_int("WORKER_MAX_MEMORY_MB", 512)
    # Per user: report requests per window, and jobs PENDING/PROCESSING at once
    REPORT_RATE_LIMIT = os.environ.get("REPORT_RATE_LIMIT", "30 per minute")
    REPORT_MAX_OPEN_JOBS = _env_int("REPORT_MAX_OPEN_JOBS", 10)
    RATELIMIT_STORAGE_URI = os.environ.get("RATELIMIT_STORAGE_URI")  # default: the Redis broker
    # Redis down: keep counting in this process's memory (logged) rather than
    # failing requests; switch back once it answers again.
    RATELIMIT_IN_MEMORY_FALLBACK_ENABLED = True
    RATELIMIT_STORAGE_OPTIONS = {"socket_connect_timeout": 0.5, "socket_timeout": 0.5}
    SESSION_COOKIE_SECURE = os.environ.get("SESSION_COOKIE_SECURE", "") == "1"
    SESSION_COOKIE_SAMESITE = "Lax"
    # Scheduled reports and deliveries (webapp/schedules/, webapp/delivery/)
    # The address pages are reached at, for links in e-mails and webhooks
    # (make run sets it to its own address)
    PUBLIC_URL = os.environ.get("PUBLIC_URL", "http://127.0.0.1:8000")
    # smtp://user:pass@host:587?starttls=1 or smtps://user:pass@host; unset: no e-mail
    SMTP_URL = os.environ.get("SMTP_URL", "")
    MAIL_FROM = os.environ.get("MAIL_FROM", "Order reports <reports@localhost>")
    # files up to this size are attached; larger ones are linked (log-in required)
    MAIL_ATTACH_MAX_MB = _env_int("MAIL_ATTACH_MAX_MB", 10)
    # "1": webhooks may go to loopback and private addresses (local setups, tests)
    WEBHOOK_ALLOW_PRIVATE = os.environ.get("WEBHOOK_ALLOW_PRIVATE", "") == "1"
    WEBHOOK_TIMEOUT = _env_int("WEBHOOK_TIMEOUT", 10)
    # Seconds to wait before each retry of a failed delivery: 8 attempts over
    # about an hour (e-mails refused for a passing reason are retried alike)
    DELIVERY_RETRY_DELAYS = os.environ.get("DELIVERY_RETRY_DELAYS",
                                           "10,30,60,180,420,900,1800")
    # How often beat looks for schedules that are due (cron's grain is a minute)
    SCHEDULE_TICK_SECONDS = _env_int("SCHEDULE_TICK_SECONDS", 15)
    SCHEDULE_FAILURES_BEFORE_PAUSE = _env_int("SCHEDULE_FAILURES_BEFORE_PAUSE", 5)
    # Quotas per account (webapp/quotas.py): schedules it may have, e-mails
    # sent for it in any hour (deliveries and confirmation requests alike)
    SCHEDULES_MAX_PER_USER = _env_int("SCHEDULES_MAX_PER_USER", 50)
    MAIL_MAX_PER_HOUR = _env_int("MAIL_MAX_PER_HOUR", 200)
    # Recipients on these domains (comma-separated, e.g. "example.com,example.org")
    # get reports without confirming first: an operator's colleagues. Everyone
    # else confirms by a link, once per schedule (webapp/delivery/consent.py).
    MAIL_ALLOWED_DOMAINS = os.environ.get("MAIL_ALLOWED_DOMAINS", "")
    # How long a sign-up link and a recipient's confirmation link stay valid
    SIGNUP_LINK_HOURS = _env_int("SIGNUP_LINK_HOURS", 24)
    CONFIRM_LINK_DAYS = _env_int("CONFIRM_LINK_DAYS", 14)
    CELERY = {}  # overrides of Celery settings (tasks/settings.py); the broker: broker_for()
