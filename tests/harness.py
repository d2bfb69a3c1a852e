"""Real processes for the tests, the fault suite and the benchmark: one way to
start a Celery worker, Celery beat, gunicorn (or any command) with an
environment, wait until it is ready, signal its process group and stop it.

Each process runs in its own session (so a signal to its group reaches its
children, e.g. a worker's pool, and nothing else), in the project folder, with
its output appended to a log file that readiness checks and tests read.

Plain Python, no pytest: ``bench`` imports it too (``from tests.harness import …``)."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
WORKER_READY = " ready."  # celery's "celery@host ready." once it consumes
GUNICORN_BOOTED = "Booting worker"  # one line per gunicorn worker process


class NotReady(RuntimeError):
    """The process exited, or did not get ready in time (the message ends with its log)."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.2):
            return True
    except OSError:
        return False


def app_env(db_url: str, broker_url: str, queue: str, reports_dir: Path | str, *,
            base: Mapping[str, str] | None = None, **extra) -> dict[str, str]:
    """The environment of a web or worker process of this app: `base` (default
    os.environ) with the database, broker, queue and reports folder set, and
    `extra` settings (stringified) on top."""
    return {**(os.environ if base is None else base),
            "DATABASE_URL": db_url, "CELERY_BROKER_URL": broker_url, "REPORTS_QUEUE": queue,
            "REPORTS_DIR": str(reports_dir), "PYTHONUNBUFFERED": "1",
            **{k: str(v) for k, v in extra.items()}}


class Proc:
    """A child process in its own session, its output in a log file."""

    def __init__(self, argv: list[str], env: Mapping[str, str], log: Path):
        self.argv, self.env, self.log_path = list(argv), dict(env), Path(log)
        self.proc: subprocess.Popen | None = None
        self._log = None
        self._start_offset = 0

    @property
    def pid(self) -> int:
        assert self.proc is not None, "not started"
        return self.proc.pid

    def start(self) -> Proc:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = open(self.log_path, "ab")  # noqa: SIM115 - closed in stop()
        self._start_offset = self._log.tell()
        self.proc = subprocess.Popen(self.argv, cwd=ROOT, env=self.env, stdout=self._log,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        return self

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def output(self) -> str:
        """Everything in the log file (earlier runs appended to the same file included)."""
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def output_since_start(self) -> str:
        with open(self.log_path, "rb") as fh:
            fh.seek(self._start_offset)
            return fh.read().decode(errors="replace")

    # -- readiness --------------------------------------------------------------
    def wait_until(self, ready: Callable[[str], bool], *, timeout: float = 60,
                   interval: float = 0.05, what: str = "ready") -> Proc:
        """Poll until ready(output since start) is true; raise NotReady with the
        end of the log if the process exits first or `timeout` passes."""
        deadline = time.monotonic() + timeout
        while True:
            if not self.alive():
                raise NotReady(f"{self._name()} exited with {self.proc.returncode} before "
                               f"{what}:\n{self.output()[-3000:]}")
            if ready(self.output_since_start()):
                return self
            if time.monotonic() >= deadline:
                raise NotReady(f"{self._name()} not {what} in {timeout}s:\n"
                               f"{self.output()[-3000:]}")
            time.sleep(interval)

    def wait_ready(self, line: str | None = None, *, count: int = 1, port: int | None = None,
                   timeout: float = 60, interval: float = 0.05) -> Proc:
        """Wait until `line` is in the output since start (`count` times), and/or a
        connection to `port` on 127.0.0.1 is accepted."""
        def ready(out: str) -> bool:
            return ((line is None or out.count(line) >= count)
                    and (port is None or port_open(port)))

        what = " and ".join(filter(None, [line and f"showing {line.strip()!r}",
                                          port and f"listening on {port}"])) or "ready"
        return self.wait_until(ready, timeout=timeout, interval=interval, what=what)

    # -- signals and stopping ---------------------------------------------------
    def signal_group(self, sig: int) -> None:
        """Send `sig` to the process and everything it started (its process group)."""
        if self.alive():
            os.killpg(self.proc.pid, sig)

    def children(self) -> list[int]:
        """Direct children of the process (of all its threads), e.g. a worker's pool."""
        kids: set[int] = set()
        try:
            tasks = os.listdir(f"/proc/{self.pid}/task")
        except OSError:
            return []
        for task in tasks:
            try:
                kids.update(int(x) for x in
                            Path(f"/proc/{self.pid}/task/{task}/children").read_text().split())
            except OSError:
                continue
        return sorted(kids)

    def stop(self, timeout: float = 20) -> None:
        """SIGTERM to the group, SIGKILL after `timeout` s; then close the log."""
        self.terminate()
        self.wait_stopped(timeout)

    def terminate(self) -> None:
        if self.alive():
            self.signal_group(signal.SIGTERM)

    def wait_stopped(self, timeout: float = 20) -> None:
        """Wait for the exit that terminate() asked for, SIGKILL after `timeout` s;
        then close the log."""
        if self.alive():
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.signal_group(signal.SIGKILL)
                self.proc.wait()
        if self._log is not None:
            self._log.close()
            self._log = None

    def _name(self) -> str:
        return " ".join(Path(a).name if i == 0 else a for i, a in enumerate(self.argv[:6]))


def stop_all(procs: list[Proc], timeout: float = 20) -> None:
    """Stop several processes side by side: each one's warm shutdown (about a
    second for a Celery worker) runs while the others' do."""
    for proc in procs:
        proc.terminate()
    for proc in procs:
        proc.wait_stopped(timeout)


# -- the app's processes (not started: call .start(), then wait) ----------------------

def celery_worker(queue: str, env: Mapping[str, str], log: Path, *, node: str | None = None,
                  concurrency: int = 1, extra: tuple[str, ...] = ()) -> Proc:
    """`celery -A tasks.worker worker -Q <queue>` (prefork); ready at WORKER_READY."""
    return Proc([sys.executable, "-m", "celery", "-A", "tasks.worker", "worker", "-Q", queue,
                 f"--concurrency={concurrency}", "--loglevel=INFO", "--without-gossip",
                 "--without-mingle", "-n", node or f"{queue}@%h", *extra], env, log)


def celery_beat(env: Mapping[str, str], log: Path, schedule: Path) -> Proc:
    """`celery -A tasks.worker beat` with its schedule file at `schedule`."""
    return Proc([sys.executable, "-m", "celery", "-A", "tasks.worker", "beat",
                 "--loglevel=INFO", "--schedule", str(schedule)], env, log)


def gunicorn(port: int, env: Mapping[str, str], log: Path, *, workers: int = 2,
             threads: int = 4, extra: tuple[str, ...] = ()) -> Proc:
    """`gunicorn wsgi:app` on 127.0.0.1:<port>; ready when `port` answers and
    GUNICORN_BOOTED was logged once per worker."""
    return Proc([str(BIN / "gunicorn"), "wsgi:app", "--bind", f"127.0.0.1:{port}",
                 "--workers", str(workers), "--threads", str(threads), *extra], env, log)
