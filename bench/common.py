"""Paths, service addresses and small helpers shared by the benchmark modules."""
from __future__ import annotations

import datetime as dt
import math
import os
import re
import warnings
from pathlib import Path

from tests.harness import app_env

ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = ROOT / "bench"
DATA_DIR = Path(os.environ.get("BENCH_DATA_DIR") or BENCH_DIR / ".data")
RESULTS_DIR = BENCH_DIR / "results"

# Services (loopback only). Overridable for another machine, never needed here.
PG_ADMIN_URL = os.environ.get("BENCH_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
PG_DB = os.environ.get("BENCH_PG_DB", "reportgen_bench")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
SQLITE_PATH = DATA_DIR / "bench.sqlite3"

# The data: every order "completed", dated inside this range (UTC), 100 items each.
DATE_FROM = dt.date(2025, 1, 1)
DATE_TO = dt.date(2025, 12, 31)
ITEMS_PER_ORDER = 100
PASSWORD = "bench-password-not-a-secret"  # bench users live only in the bench databases
SECRET_KEY = "bench-only-secret-key-not-for-production-use"

DATABASES = ("sqlite", "postgresql")

warnings.filterwarnings("ignore", message=r"Dialect sqlite\+pysqlite does \*not\* support Decimal")


def pg_url() -> str:
    base = PG_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
    return f"{base}/{PG_DB}"


def db_url(db: str) -> str:
    if db == "sqlite":
        return f"sqlite:///{SQLITE_PATH}"
    if db == "postgresql":
        return pg_url()
    raise ValueError(f"unknown database {db!r}")


def ensure_pg_database() -> None:
    import psycopg

    with psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=3) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (PG_DB,)).fetchone():
            conn.execute(f'CREATE DATABASE "{PG_DB}"')


def parse_size(text: str) -> int:
    """'10k' -> 10_000, '1M' -> 1_000_000, '2500' -> 2500."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kKmM]?)\s*", text)
    if not m:
        raise ValueError(f"not a size: {text!r} (use e.g. 10k, 100k, 1M)")
    factor = {"": 1, "k": 1_000, "m": 1_000_000}[m.group(2).lower()]
    return int(float(m.group(1)) * factor)


def size_label(n: int) -> str:
    if n >= 1_000_000 and n % 1_000_000 == 0:
        return f"{n // 1_000_000}M"
    if n >= 1_000 and n % 1_000 == 0:
        return f"{n // 1_000}k"
    return str(n)


def app_config(db: str, queue: str, reports_dir: Path) -> dict:
    """Settings for an in-process app on the bench database (the bench process
    requests jobs through the app's own services with it)."""
    return {
        "SQLALCHEMY_DATABASE_URI": db_url(db),
        "REPORTS_DIR": str(reports_dir),
        "REPORTS_QUEUE": queue,
        "CELERY_BROKER_URL": REDIS_URL,
        "RATELIMIT_STORAGE_URI": "memory://",
        "SECRET_KEY": SECRET_KEY,
    }


def process_env(db: str, queue: str, reports_dir: Path, **extra: str) -> dict[str, str]:
    """Environment for a worker or gunicorn on the bench database and queue."""
    base = {k: v for k, v in os.environ.items()
            if k not in ("REDIS_URL", "RATELIMIT_STORAGE_URI")}
    return app_env(db_url(db), REDIS_URL, queue, reports_dir, base=base,
                   SECRET_KEY=SECRET_KEY, **extra)


def percentile(values: list[float], p: float) -> float | None:
    """Nearest-rank percentile (p in 0..100); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = math.ceil(p / 100 * len(ordered))
    return ordered[max(0, min(len(ordered), rank) - 1)]
