"""`make run`'s launcher (webapp/launcher.py) as a user runs it: the real
`python -m webapp.launcher`, with its web server, worker and beat.

Each launcher here has its own SQLite file, reports folder, embedded broker
folder, port and demo-password file (FLASK_DEMO_PASSWORD_FILE), and a
SECRET_KEY, so nothing is written to the checkout's instance/ (the per-port
files go to LAUNCHER_RUN_DIR; a developer's instance/config.py, if any, is still
read by the app). No Redis or PostgreSQL is involved."""
from __future__ import annotations

import os
import re
import secrets
import signal
import stat
import time
from pathlib import Path

import pytest
import requests

from tests.harness import BIN, Proc, free_port

pytestmark = pytest.mark.integration

# settings of the developer's shell that would steer the app elsewhere
STEERING = ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "BROKER_DIR", "REPORTS_DIR",
            "REPORTS_QUEUE", "SECRET_KEY", "SECRET_KEY_FALLBACKS", "PORT",
            "RATELIMIT_STORAGE_URI", "LAUNCHER_RUN_DIR")
LOGIN_LINE = re.compile(r"Log in as demo@example\.com with password (\S+)")
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
NEW_TOKEN = re.compile(r'id="new-token">([^<]+)<')


def wait_for(predicate, timeout: float, what: str, interval: float = 0.1):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not {what} within {timeout} s")
        time.sleep(interval)


def argv_of(pid: int) -> list[str]:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")[:-1]
    except OSError:
        return []


def running(pid: int) -> bool:
    """True while `pid` exists and is not a zombie."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def children_of(pid: int) -> set[int]:
    kids: set[int] = set()
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            kids.update(int(x) for x in (task / "children").read_text().split())
        except OSError:
            continue
    return kids


def descendants(pid: int) -> set[int]:
    found, todo = set(), [pid]
    while todo:
        for kid in children_of(todo.pop()):
            if kid not in found:
                found.add(kid)
                todo.append(kid)
    return found


class Launcher:
    """One `python -m webapp.launcher` in its own session, output in a log file."""

    def __init__(self, tmp: Path, run_dir: Path, name: str):
        self.port = free_port()
        self.tmp, self.run_dir, self.name = tmp, run_dir, name
        base = {k: v for k, v in os.environ.items()
                if k not in STEERING and not k.startswith("FLASK_")}
        self.env = {
            **base,
            "DATABASE_URL": f"sqlite:///{tmp / 'x.sqlite3'}",
            "REPORTS_DIR": str(tmp / "reports"),
            "CELERY_BROKER_URL": "filesystem://",
            "BROKER_DIR": str(tmp / "broker"),
            "PORT": str(self.port),
            "SWEEP_INTERVAL": "1",
            "WORKER_BEAT_SECONDS": "1",
            "SECRET_KEY": secrets.token_urlsafe(48),
            "FLASK_DEMO_PASSWORD_FILE": str(tmp / "demo-password.txt"),
            "LAUNCHER_RUN_DIR": str(run_dir),
            "PYTHONUNBUFFERED": "1",
        }
        self.proc = Proc([str(BIN / "python"), "-m", "webapp.launcher"], self.env,
                         tmp / "launcher.log")
        self.base = f"http://127.0.0.1:{self.port}"
        self._token: str | None = None

    # -- the process and its children -----------------------------------------
    def start(self) -> Launcher:
        self.proc.start()
        return self

    def output(self) -> str:
        return self.proc.output_since_start()

    def child(self, role: str) -> int:
        """The pid of the launcher's `web`, `worker` or `beat` process."""
        def role_of(argv: list[str]) -> str | None:
            if any(a.endswith("gunicorn") for a in argv[:2]):
                return "web"
            if "-A" in argv and len(argv) > argv.index("-A") + 2:
                return argv[argv.index("-A") + 2]  # celery -A tasks.worker worker|beat
            return None

        pids = [p for p in self.proc.children() if role_of(argv_of(p)) == role and running(p)]
        assert len(pids) == 1, f"{self.name}: {role} processes {pids}:\n{self.output()[-3000:]}"
        return pids[0]

    def wait_ready(self, timeout: float = 90) -> Launcher:
        self.proc.wait_until(lambda out: "* open http://" in out and " ready." in out,
                             timeout=timeout, what="started with a ready worker")
        wait_for(self.answers, timeout, f"{self.name} answering on {self.port}")
        return self

    def answers(self) -> bool:
        try:
            return requests.get(f"{self.base}/login", timeout=5).status_code == 200
        except requests.RequestException:
            return False

    def interrupt(self, timeout: float = 20) -> tuple[int, float]:
        """Ctrl-C: (exit code, seconds it took)."""
        started = time.monotonic()
        self.proc.proc.send_signal(signal.SIGINT)
        code = self.proc.proc.wait(timeout)
        return code, time.monotonic() - started

    def stop(self) -> None:
        kids = descendants(self.proc.pid) if self.proc.alive() else set()
        if self.proc.alive():
            self.proc.proc.send_signal(signal.SIGINT)
        self.proc.stop(timeout=25)
        for pid in kids:  # only if the launcher failed to: never leave a server behind
            if running(pid):
                os.kill(pid, signal.SIGKILL)

    # -- the app, as a user of its API -------------------------------------------
    def token(self) -> str:
        """An API token of the demo account, made through the account page."""
        if self._token is None:
            match = LOGIN_LINE.search(self.output())
            assert match, self.output()[-3000:]
            password = match.group(1)
            assert (self.tmp / "demo-password.txt").read_text().strip() == password
            web = requests.Session()
            page = web.get(f"{self.base}/login", timeout=10).text
            answer = web.post(f"{self.base}/login", timeout=30, allow_redirects=False, data={
                "email": "demo@example.com", "password": password,
                "csrf_token": CSRF.search(page).group(1)})
            assert answer.status_code in (302, 303), answer.text[:2000]
            page = web.get(f"{self.base}/account", timeout=10).text
            answer = web.post(f"{self.base}/account/tokens", timeout=10, data={
                "name": "launcher test", "scope": "write",
                "csrf_token": CSRF.search(page).group(1)})
            assert answer.status_code == 200, answer.text[:2000]
            self._token = NEW_TOKEN.search(answer.text).group(1).strip()
        return self._token

    def api(self, method: str, path: str, **kw) -> requests.Response:
        return requests.request(method, f"{self.base}/api{path}", timeout=10,
                                headers={"Authorization": f"Bearer {self.token()}"}, **kw)

    def request_report(self) -> int:
        order = self.api("POST", "/orders", json={"customer": "ACME", "items": [
            {"product": "Tea", "quantity": 2, "unit_price": "12.50"}]})
        assert order.status_code == 201, order.text
        job = self.api("POST", "/reports", json={"kind": "order", "format": "csv",
                                                 "order_id": order.json()["id"]})
        assert job.status_code == 202, job.text
        return job.json()["id"]

    def wait_completed(self, job_id: int, timeout: float = 45) -> dict:
        def completed():
            job = self.api("GET", f"/reports/{job_id}").json()
            assert job["status"] in ("PENDING", "PROCESSING", "COMPLETED"), job
            return job if job["status"] == "COMPLETED" else None

        return wait_for(completed, timeout, f"report {job_id} completed on {self.name}",
                        interval=0.2)


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    """Two launchers on one machine, each on its port and database, sharing one
    run folder (as two `make run` in one checkout share instance/)."""
    run_dir = tmp_path_factory.mktemp("run")
    one = Launcher(tmp_path_factory.mktemp("one"), run_dir, "one")
    two = Launcher(tmp_path_factory.mktemp("two"), run_dir, "two")
    try:
        one.start()
        two.start()
        one.wait_ready()
        two.wait_ready()
        yield one, two
    finally:
        for launcher in (one, two):
            launcher.stop()


def test_two_launchers_on_one_machine_keep_their_own_sockets_names_and_jobs(pair):
    one, two = pair
    for launcher in pair:
        assert launcher.answers()
        ctl = launcher.run_dir / f"gunicorn-{launcher.port}.ctl"
        assert f"Control socket listening at {ctl}" in launcher.output()
        assert stat.S_ISSOCK(ctl.stat().st_mode)
        assert f"worker-{launcher.port}@" in " ".join(argv_of(launcher.child("worker")))
        assert (str(launcher.run_dir / f"celerybeat-schedule-{launcher.port}")
                in argv_of(launcher.child("beat")))
    jobs = [(launcher, launcher.request_report()) for launcher in pair]
    for launcher, job_id in jobs:
        assert launcher.wait_completed(job_id)["size"] > 0
    assert one.answers() and two.answers()


def niceness(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[16])


def test_the_worker_and_its_pool_run_below_the_web_servers_cpu_priority(pair):
    """Page polls and new requests come first on a busy machine; the worker's
    pool processes inherit its niceness."""
    launcher = pair[0]
    web, worker = launcher.child("web"), launcher.child("worker")
    pool = children_of(worker)
    assert pool, "the worker has no pool processes"
    assert niceness(worker) == niceness(web) + 10
    assert {niceness(p) for p in pool} == {niceness(worker)}
    assert niceness(launcher.child("beat")) == niceness(web)


def test_a_killed_worker_is_restarted_while_the_web_keeps_serving(pair):
    one, _ = pair
    assert one.wait_completed(one.request_report())["status"] == "COMPLETED"
    worker = one.child("worker")
    pool = descendants(worker)
    assert pool, "a prefork worker has pool processes"
    before = one.output()

    os.kill(worker, signal.SIGKILL)
    wait_for(lambda: "* worker exited with -9 (killed by SIGKILL); restarting in 1 s"
             in one.output()[len(before):], 10, "the death logged")
    # the web goes on serving, and takes a job, while no worker runs
    assert one.answers()
    job_id = one.request_report()
    assert one.answers()
    wait_for(lambda: "* worker restarted (pid " in one.output()[len(before):], 15,
             "the worker restarted")
    assert one.child("worker") != worker
    assert not any(running(pid) for pid in pool), "the dead worker's pool was left behind"
    assert one.wait_completed(job_id)["status"] == "COMPLETED"
    assert "web exited" not in one.output() and "beat exited" not in one.output()


def test_a_killed_web_server_is_restarted(pair):
    _, two = pair
    web = two.child("web")
    web_workers = descendants(web)
    before = two.output()

    os.kill(web, signal.SIGKILL)
    wait_for(lambda: "* web exited with -9 (killed by SIGKILL); restarting in 1 s"
             in two.output()[len(before):], 10, "the death logged")
    wait_for(lambda: not any(running(pid) for pid in web_workers), 5,
             "the dead gunicorn's workers gone")
    wait_for(two.answers, 30, "the web answering again")
    assert two.child("web") != web
    assert two.wait_completed(two.request_report())["status"] == "COMPLETED"


def test_ctrl_c_stops_everything_even_a_child_waiting_to_restart(pair):
    # last in this module: it stops both launchers (the fixture then has nothing to do)
    one, two = pair
    os.kill(one.child("beat"), signal.SIGKILL)
    wait_for(lambda: "* beat exited with -9" in one.output(), 5, "the death logged")
    everything = {launcher.name: descendants(launcher.proc.pid) for launcher in pair}
    # gunicorn and its 2 workers, the celery worker and its pool (and two's beat)
    assert len(everything["one"]) >= 5 and len(everything["two"]) >= 6, everything

    for launcher in pair:  # both at once, as two terminals would
        launcher.proc.proc.send_signal(signal.SIGINT)
    started = time.monotonic()
    for launcher in pair:
        code = launcher.proc.proc.wait(max(0.1, 20 - (time.monotonic() - started)))
        assert code == 0, launcher.output()[-3000:]
        wait_for(lambda pids=everything[launcher.name]: not any(map(running, pids)), 2,
                 f"every child of {launcher.name} gone")
        assert "restarted" not in launcher.output().split("* stopping", 1)[1]
        assert not (launcher.run_dir / f"gunicorn-{launcher.port}.ctl").exists()
