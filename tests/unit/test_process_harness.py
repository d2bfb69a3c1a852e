"""tests/harness.py, the one way the tests, the fault suite and the benchmark
start real processes: readiness by a log line or a port, a signal reaches the
whole process group, stop ends the process and what it started."""
from __future__ import annotations

import os
import signal
import sys
import time

import pytest

from tests.harness import NotReady, Proc, free_port

# A parent that starts a sleeping child, then says it is ready.
PARENT = """
import subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
print("parent ready.", flush=True)
time.sleep(120)
"""


def _gone(pid: int, timeout: float = 10) -> bool:
    """True once the process has ended (a zombie waiting for init counts as ended)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with open(f"/proc/{pid}/stat") as fh:
                if fh.read().rsplit(")", 1)[1].split()[0] == "Z":
                    return True
        except FileNotFoundError:
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)


def test_ready_at_its_log_line_and_stop_ends_the_process_and_its_children(tmp_path):
    proc = Proc([sys.executable, "-c", PARENT], os.environ, tmp_path / "p.log").start()
    try:
        proc.wait_ready("parent ready.", timeout=20)
        [child] = proc.children()
        assert "parent ready." in proc.output()
    finally:
        proc.stop(timeout=5)
    assert not proc.alive() and proc.proc.returncode == -signal.SIGTERM
    assert _gone(child)


def test_signal_group_reaches_the_children(tmp_path):
    proc = Proc([sys.executable, "-c", PARENT], os.environ, tmp_path / "p.log").start()
    try:
        [child] = proc.wait_ready("parent ready.", timeout=20).children()
        proc.signal_group(signal.SIGKILL)
        assert proc.proc.wait(10) == -signal.SIGKILL
    finally:
        proc.stop()
    assert _gone(child)


def test_ready_when_its_port_answers(tmp_path):
    port = free_port()
    proc = Proc([sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"],
                os.environ, tmp_path / "http.log").start()
    try:
        proc.wait_ready(port=port, timeout=20)
    finally:
        proc.stop()


def test_a_process_that_exits_before_ready_fails_with_its_log(tmp_path):
    log = tmp_path / "early.log"
    log.write_text("an earlier run's line: ready.\n")  # only output since start counts
    proc = Proc([sys.executable, "-c", "print('cannot start: no broker'); raise SystemExit(3)"],
                os.environ, log).start()
    with pytest.raises(NotReady, match=r"(?s)exited with 3.*cannot start: no broker"):
        proc.wait_ready("ready.", timeout=20)
    proc.stop()
