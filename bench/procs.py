"""The benchmark's real processes, started through tests/harness.py (the same
harness the integration and fault suites use): a Celery worker whose start-up
sweep has run, gunicorn answering, and memory readings from /proc."""
from __future__ import annotations

import http.client
import threading
from collections.abc import Mapping
from pathlib import Path

from tests.harness import GUNICORN_BOOTED, WORKER_READY, Proc, celery_worker, gunicorn


def proc_status(pid: int) -> dict[str, int]:
    """VmHWM / VmRSS of a process in kB ({} if it is gone)."""
    out = {}
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith(("VmHWM:", "VmRSS:")):
                    key, value = line.split(":", 1)
                    out[key] = int(value.split()[0])
    except (FileNotFoundError, ProcessLookupError):
        return {}
    return out


def _swept(output: str) -> bool:
    """Ready, and the start-up sweep (sent at ready) has run in the pool child."""
    _, ready, after = output.partition(WORKER_READY)
    return bool(ready) and "reports.sweep" in after and "succeeded" in after


def start_worker(env: Mapping[str, str], queue: str, log: Path, timeout: float = 60) -> Proc:
    """`celery -A tasks.worker worker --concurrency=1 -Q <queue>` (prefork, one pool
    child), returned once idle: ready and its start-up sweep done."""
    worker = celery_worker(queue, env, log).start()
    try:
        return worker.wait_until(_swept, timeout=timeout, what="ready with its start-up sweep done")
    except Exception:
        worker.stop()
        raise


def _login_page_answers(port: int) -> bool:
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        try:
            conn.request("GET", "/login")
            return conn.getresponse().status == 200
        finally:
            conn.close()
    except OSError:
        return False


def start_gunicorn(env: Mapping[str, str], port: int, log: Path, workers: int = 2,
                   threads: int = 4, timeout: float = 60, extra: tuple[str, ...] = ()) -> Proc:
    """gunicorn `wsgi:app` (with `extra` arguments), returned once every worker
    process has booted and the log-in page answers 200."""
    web = gunicorn(port, env, log, workers=workers, threads=threads, extra=extra).start()
    try:
        return web.wait_until(
            lambda out: out.count(GUNICORN_BOOTED) >= workers and _login_page_answers(port),
            timeout=timeout, interval=0.2, what=f"answering on {port} with {workers} workers")
    except Exception:
        web.stop()
        raise


class HwmSampler(threading.Thread):
    """Samples VmHWM of the worker's pool children every `interval` s, keeping the
    largest value seen per pid (a child replaced after a task still counts)."""

    def __init__(self, worker: Proc, interval: float = 0.02):
        super().__init__(daemon=True, name="hwm-sampler")
        self.worker, self.interval = worker, interval
        self.peak_kb: dict[int, int] = {}
        self.stopped = threading.Event()

    def sample(self) -> None:
        for pid in self.worker.children():
            hwm = proc_status(pid).get("VmHWM")
            if hwm:
                self.peak_kb[pid] = max(self.peak_kb.get(pid, 0), hwm)

    def run(self) -> None:
        while not self.stopped.is_set():
            self.sample()
            self.stopped.wait(self.interval)

    def stop(self) -> None:
        self.stopped.set()
        self.join()
