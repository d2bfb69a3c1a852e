"""`make run`: migrate, then run the web server, a Celery worker and Celery
beat in the foreground until Ctrl-C, on whatever broker this machine offers.

The broker is chosen once here and handed to every child process, so the web
app and the worker cannot disagree about where jobs go.

The launcher supervises its children: one that stops (any exit code, or
killed) is started again after 1, 2, 4 … s (at most 30 s; back to 1 s once it
had stayed up for a minute), and the others go on: the site keeps serving
while a worker restarts. Each child runs in its own session, so whatever it
leaves behind (a killed worker's pool processes, a killed gunicorn's workers)
is killed with its process group before the restart. Ctrl-C, SIGTERM or SIGHUP
stop everything (SIGTERM, then SIGKILL after 15 s; a second Ctrl-C kills at
once).

Two launchers on one machine (different PORT) keep apart what would clash:
each gunicorn has its own control socket and each beat its own schedule file
(``<run dir>/gunicorn-<port>.ctl``, ``<run dir>/celerybeat-schedule-<port>``;
the run dir is instance/ unless LAUNCHER_RUN_DIR says otherwise), and each
worker its own node name (``worker-<port>@host``: its heartbeat row is its
own, so stopping one launcher does not make the other's pages say that no
worker runs). On the Redis it finds on this machine (none configured), the
queue is named after the database, so two checkouts do not take each other's
jobs."""
from __future__ import annotations

import contextlib
import hashlib
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from .config import INSTANCE_DIR, choose_broker

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
BACKOFF_FIRST, BACKOFF_MAX = 1.0, 30.0  # seconds before a restart, doubling in between
STABLE_AFTER = 60.0  # a child up this long starts again from BACKOFF_FIRST when it stops
STOP_GRACE = 15.0  # SIGTERM, then SIGKILL after this long
TICK = 0.2
# The worker runs at a lower CPU priority than the web server: on a small
# machine a big PDF must not make the page polls and new requests wait (the
# worker still gets every cycle the web does not use, so its throughput on an
# idle web is the same). deploy/systemd and the Procfile do the same.
WORKER_NICE = 10


@dataclass
class Child:
    name: str
    argv: list[str]
    env: dict[str, str]
    proc: subprocess.Popen | None = None
    nice: int = 0  # added to the child's niceness, before it execs
    started: float = 0.0
    failures: int = 0  # deaths in a row, each less than STABLE_AFTER after its start
    restart_at: float | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            self.argv, cwd=ROOT, env=self.env, stdin=subprocess.DEVNULL,
            # its own session: a signal to its group reaches its own children
            # (and nothing else); Ctrl-C reaches only the launcher, which stops it
            start_new_session=True, preexec_fn=self._before_exec)
        self.started = time.monotonic()
        self.restart_at = None

    def _before_exec(self) -> None:
        # in the child, between fork and exec
        if _die_with_parent is not None:
            _die_with_parent()
        if self.nice:
            os.nice(self.nice)

    def exited(self) -> int | None:
        """The exit code (negative: killed by that signal) once the process has
        ended, its leftovers killed and itself reaped; None while it runs."""
        assert self.proc is not None
        try:
            # WNOWAIT: leave it a zombie for now, so its pid (= its process
            # group's id) cannot be reused before the group is killed below
            ended = os.waitid(os.P_PID, self.proc.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
        except ChildProcessError:
            ended = True  # already reaped
        if not ended:
            return None
        _kill_group(self.proc.pid)
        code = self.proc.wait()
        self.proc = None
        return code


def _kill_group(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


if sys.platform.startswith("linux"):
    import ctypes

    _libc = ctypes.CDLL(None, use_errno=True)
    _PR_SET_PDEATHSIG = 1

    def _die_with_parent() -> None:
        # In the child, before exec: if the launcher is killed outright (no
        # chance to stop anything), the child gets SIGTERM instead of running on.
        _libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
else:  # pragma: no cover - macOS and others: the launcher's own clean-up only
    _die_with_parent = None


def _port_taken(port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as gunicorn binds
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


def _how(code: int) -> str:
    if code < 0:
        try:
            return f"{code} (killed by {signal.Signals(-code).name})"
        except ValueError:
            return str(code)
    return str(code)


def _say(line: str) -> None:
    print(f"* {line}", flush=True)


def _queue_for(env: dict[str, str]) -> str:
    """The Redis queue of this database: launchers of the same database share
    their jobs, those of different databases (two checkouts on one machine,
    both finding the local Redis) never take each other's."""
    db_url = (env.get("FLASK_SQLALCHEMY_DATABASE_URI") or env.get("DATABASE_URL")
              or f"sqlite:///{INSTANCE_DIR / 'orders.sqlite3'}")
    return "reports-" + hashlib.sha256(db_url.encode()).hexdigest()[:8]


def main() -> int:
    env = dict(os.environ)
    env.setdefault("FLASK_APP", "wsgi.py")
    broker, description = choose_broker(env)
    found_redis = broker.startswith("redis://") and not (
        env.get("CELERY_BROKER_URL") or env.get("REDIS_URL"))  # not set: the local one
    env["CELERY_BROKER_URL"] = broker
    port = env.get("PORT", "8000")
    # links in e-mails and webhooks point here unless set
    env.setdefault("PUBLIC_URL", f"http://127.0.0.1:{port}")
    run_dir = Path(env.get("LAUNCHER_RUN_DIR") or INSTANCE_DIR)
    run_dir.mkdir(parents=True, exist_ok=True)
    _say(f"broker: {description}")
    if broker.startswith("filesystem://"):
        # The queue is the folder BROKER_DIR (instance/broker/ of this checkout):
        # two launchers in one checkout share it, and their database, on purpose
        # (either worker may run either's jobs: they are the same jobs).
        print("  (the embedded broker is for one machine; set CELERY_BROKER_URL or REDIS_URL "
              "to share jobs between machines)", flush=True)
    elif found_redis and not (env.get("REPORTS_QUEUE") or env.get("FLASK_REPORTS_QUEUE")):
        # Every checkout on this machine finds the same Redis: name the queue
        # after the database, or one checkout's worker would take (and drop)
        # another's jobs. A broker set on purpose keeps the queue `reports`.
        env["REPORTS_QUEUE"] = _queue_for(env)
        print(f"  (queue {env['REPORTS_QUEUE']}, this database's; more workers: "
              f"REPORTS_QUEUE={env['REPORTS_QUEUE']} .venv/bin/celery -A tasks.worker worker)",
              flush=True)
    if not port.isdigit() or _port_taken(int(port)):
        _say(f"port {port} is not free (another `make run`?): try PORT=9000 make run")
        return 1

    try:
        subprocess.run([str(BIN / "flask"), "db", "upgrade"], cwd=ROOT, env=env, check=True)
        # a newcomer needs an account: say how to log in (sign-up works too)
        subprocess.run([str(BIN / "flask"), "demo-user"], cwd=ROOT, env=env, check=True)
    except KeyboardInterrupt:
        return 130

    children = [
        Child("web", [str(BIN / "gunicorn"), "wsgi:app", "--bind", f"127.0.0.1:{port}",
                      "--workers", "2", "--threads", "4", "--access-logfile", "-",
                      # gunicorn's longest (its default is 4094): the app answers
                      # URLs over http_errors.MAX_URL_LENGTH with a 414 of its own
                      "--limit-request-line", "8190",
                      # not the shared ~/.gunicorn/gunicorn.ctl, which another
                      # gunicorn would take over (and remove when it stops)
                      "--control-socket", str(run_dir / f"gunicorn-{port}.ctl")], env),
        Child("worker", [str(BIN / "celery"), "-A", "tasks.worker", "worker", "--loglevel=INFO",
                         "--concurrency=2", "-n", f"worker-{port}@%h"], env, nice=WORKER_NICE),
        # the sweeper's clock: re-sends lost jobs, fails dead ones, expires old files.
        # Two launchers of one database run two beats: harmless, as a sweep only
        # makes conditional updates (the second finds nothing left to do).
        Child("beat", [str(BIN / "celery"), "-A", "tasks.worker", "beat", "--loglevel=WARNING",
                       "--schedule", str(run_dir / f"celerybeat-schedule-{port}")], env),
    ]
    signals = []

    def stop(signum, _frame):
        signals.append(signum)

    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, stop)
    try:
        for child in children:
            child.start()
        _say(f"open http://127.0.0.1:{port}  (log in as above, or sign up; Ctrl-C stops "
             "everything)")
        _supervise(children, signals)
    finally:
        _stop(children, signals)
    return 0


def _supervise(children: list[Child], signals: list[int]) -> None:
    """Restart children that stop, until a signal asks the launcher to stop."""
    while not signals:
        now = time.monotonic()
        for child in children:
            if child.proc is not None:
                code = child.exited()
                if code is None or signals:
                    continue
                if now - child.started >= STABLE_AFTER:
                    child.failures = 0
                delay = min(BACKOFF_MAX, BACKOFF_FIRST * 2 ** child.failures)
                child.failures += 1
                child.restart_at = now + delay
                _say(f"{child.name} exited with {_how(code)}; restarting in {delay:g} s")
            elif child.restart_at is not None and now >= child.restart_at:
                child.start()
                _say(f"{child.name} restarted (pid {child.proc.pid})")
        time.sleep(TICK)


def _stop(children: list[Child], signals: list[int]) -> None:
    """SIGTERM to every running child, SIGKILL to the groups of those still
    running after STOP_GRACE s (or at once on a second Ctrl-C / SIGTERM)."""
    running = [c for c in children if c.proc is not None]
    for child in children:
        child.restart_at = None  # one waiting to restart stays stopped
    if not running:
        return
    _say(f"stopping {', '.join(c.name for c in running)} (Ctrl-C again: kill them now)")
    asked = len(signals)
    for child in running:
        with contextlib.suppress(ProcessLookupError):
            child.proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + STOP_GRACE
    while running and time.monotonic() < deadline and len(signals) <= max(asked, 1):
        running = [c for c in running if c.exited() is None]
        time.sleep(0.05)
    for child in running:
        if child.exited() is None:
            _say(f"{child.name} still running; killing it")
            _kill_group(child.proc.pid)
            child.proc.wait()
            child.proc = None
    _say("stopped")


if __name__ == "__main__":
    sys.exit(main())
