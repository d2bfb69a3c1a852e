"""Real processes for the benchmark: a Celery worker (like tests/conftest.py's
Worker) and gunicorn, plus memory readings from /proc."""
from __future__ import annotations

import http.client
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from .common import BIN, ROOT


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


def children(pid: int) -> list[int]:
    """Direct children of a process (all its threads' children)."""
    kids: list[int] = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            try:
                text = Path(f"/proc/{pid}/task/{task}/children").read_text()
            except OSError:
                continue
            kids.extend(int(x) for x in text.split())
    except OSError:
        return []
    return sorted(set(kids))


class Proc:
    """A child process in its own session, with its output in a log file."""

    def __init__(self, argv: list[str], env: dict[str, str], log: Path):
        self.argv, self.env, self.log_path = argv, env, log
        self.proc: subprocess.Popen | None = None
        self._log = None

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def start(self) -> Proc:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(self.argv, cwd=ROOT, env=self.env, stdout=self._log,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        return self

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout: float = 20) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        if self._log is not None:
            self._log.close()
            self._log = None


class Worker(Proc):
    """`celery -A tasks.worker worker --concurrency=1 -Q <queue>` (prefork, one pool child)."""

    def __init__(self, env: dict[str, str], queue: str, log: Path, *extra: str):
        argv = [sys.executable, "-m", "celery", "-A", "tasks.worker", "worker", "-Q", queue,
                "--concurrency=1", "--loglevel=INFO", "--without-gossip", "--without-mingle",
                "-n", f"{queue}@%h", *extra]
        super().__init__(argv, env, log)

    def start(self, timeout: float = 60) -> Worker:
        super().start()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.alive():
                raise RuntimeError(f"worker exited early:\n{self.output()[-3000:]}")
            text = self.output()
            # ready, and the start-up sweep (sent at ready) has run in the pool child
            if " ready." in text and "reports.sweep" in text.split(" ready.", 1)[1] \
                    and "succeeded" in text.split(" ready.", 1)[1]:
                return self
            time.sleep(0.05)
        raise RuntimeError(f"worker not ready in {timeout}s:\n{self.output()[-3000:]}")

    def pool_children(self) -> list[int]:
        return children(self.pid)


class HwmSampler(threading.Thread):
    """Samples VmHWM of the worker's pool children every `interval` s, keeping the
    largest value seen per pid (a child replaced after a task still counts)."""

    def __init__(self, worker: Worker, interval: float = 0.02):
        super().__init__(daemon=True, name="hwm-sampler")
        self.worker, self.interval = worker, interval
        self.peak_kb: dict[int, int] = {}
        self.stopped = threading.Event()

    def sample(self) -> None:
        for pid in self.worker.pool_children():
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


class Gunicorn(Proc):
    def __init__(self, env: dict[str, str], port: int, log: Path, workers: int = 2,
                 threads: int = 4):
        self.port, self.workers = port, workers
        argv = [str(BIN / "gunicorn"), "wsgi:app", "--bind", f"127.0.0.1:{port}",
                "--workers", str(workers), "--threads", str(threads)]
        super().__init__(argv, env, log)

    def start(self, timeout: float = 60) -> Gunicorn:
        super().start()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.alive():
                raise RuntimeError(f"gunicorn exited early:\n{self.output()[-3000:]}")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                conn.request("GET", "/login")
                if conn.getresponse().status == 200:
                    conn.close()
                    # every worker process has booted and answers
                    if self.output().count("Booting worker") >= self.workers:
                        return self
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"gunicorn not ready in {timeout}s:\n{self.output()[-3000:]}")
