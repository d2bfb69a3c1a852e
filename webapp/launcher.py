"""`make run`: migrate, then run the web server, a Celery worker and Celery
beat in the foreground until Ctrl-C, on whatever broker this machine offers.

The broker is chosen once here and handed to every child process, so the web
app and the worker cannot disagree about where jobs go."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from .config import choose_broker

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def main() -> int:
    env = dict(os.environ)
    env.setdefault("FLASK_APP", "wsgi.py")
    broker, description = choose_broker(env)
    env["CELERY_BROKER_URL"] = broker
    port = env.get("PORT", "8000")
    print(f"* broker: {description}", flush=True)
    if broker.startswith("filesystem://"):
        print("  (the embedded broker is for one machine; set CELERY_BROKER_URL or REDIS_URL "
              "to share jobs between machines)", flush=True)

    subprocess.run([str(BIN / "flask"), "db", "upgrade"], cwd=ROOT, env=env, check=True)
    # a newcomer needs an account: say how to log in (sign-up works too)
    subprocess.run([str(BIN / "flask"), "demo-user"], cwd=ROOT, env=env, check=True)

    children = {
        "web": [str(BIN / "gunicorn"), "wsgi:app", "--bind", f"127.0.0.1:{port}",
                "--workers", "2", "--threads", "4", "--access-logfile", "-"],
        "worker": [str(BIN / "celery"), "-A", "tasks.worker", "worker", "--loglevel=INFO",
                   "--concurrency=2"],
        # the sweeper's clock: re-sends lost jobs, fails dead ones, expires old files
        "beat": [str(BIN / "celery"), "-A", "tasks.worker", "beat", "--loglevel=WARNING"],
    }
    procs = {name: subprocess.Popen(cmd, cwd=ROOT, env=env) for name, cmd in children.items()}
    print(f"* open http://127.0.0.1:{port}  (log in as above, or sign up; Ctrl-C stops "
          "everything)", flush=True)

    stopping = False

    def stop(*_):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    code = 0
    while not stopping:
        for name, proc in procs.items():
            if proc.poll() is not None:
                print(f"* {name} exited with {proc.returncode}; stopping the rest", flush=True)
                code, stopping = proc.returncode or 1, True
        time.sleep(0.3)
    for proc in procs.values():
        if proc.poll() is None:
            proc.terminate()
    deadline = time.monotonic() + 15
    for proc in procs.values():
        try:
            proc.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.kill()
    return code


if __name__ == "__main__":
    sys.exit(main())
